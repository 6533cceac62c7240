package tlog_test

import (
	"fmt"
	"log"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/iotledger/iotledger/internal/tlog"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

func Example() {
	db, err := pebble.Open("db", &pebble.Options{FS: vfs.NewMem(), Logger: quiet{}})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	l, err := tlog.Open(db)
	if err != nil {
		log.Fatal(err)
	}

	// One block: Begin, Append..., Write into the block's batch, commit, Apply.
	st := l.Begin()
	for _, r := range []string{"t=20.5", "t=20.7", "t=21.0"} {
		st.Append([]byte(r))
	}
	fmt.Printf("staged root %x\n", st.Root())
	b := db.NewBatch()
	if err := st.Write(b); err != nil {
		log.Fatal(err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		log.Fatal(err)
	}
	b.Close()
	if err := l.Apply(st); err != nil {
		log.Fatal(err)
	}

	// Prove that leaf 1 is in the log.
	leaf, err := l.Leaf(1)
	if err != nil {
		log.Fatal(err)
	}
	p, err := l.InclusionProof(1, l.Size())
	if err != nil {
		log.Fatal(err)
	}
	h := rfc6962.DefaultHasher
	err = proof.VerifyInclusion(h, 1, l.Size(), h.HashLeaf(leaf), p, l.Root())
	fmt.Printf("size %d, root %x\nleaf 1 %q, proof of %d hashes, verify: %v\n", l.Size(), l.Root(), leaf, len(p), err)
	// Output:
	// staged root 5d4d321f5875fb25cf8b0e3b6ce9db097e6f1568867f30ebba2062420ecc138f
	// size 3, root 5d4d321f5875fb25cf8b0e3b6ce9db097e6f1568867f30ebba2062420ecc138f
	// leaf 1 "t=20.7", proof of 2 hashes, verify: <nil>
}

type quiet struct{}

func (quiet) Infof(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(format string, args ...any) {
	log.Fatalf(format, args...)
}
