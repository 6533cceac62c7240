package query_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/tlog"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

// logStore commits n readings of two devices to a log, a block of three
// at a time as Commit does (seq entries and leaves in one batch, the log
// applied after), and returns its reader and merkle's reference tree of
// the same leaves.
func logStore(t *testing.T, n int) (*query.Reader, *testonly.Tree, []string) {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := tlog.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	ref := testonly.New(rfc6962.DefaultHasher)
	var devices []string
	for i := 0; i < n; {
		height := int64(i/3 + 1)
		st, b := l.Begin(), db.NewBatch()
		for ; i < n && int64(i/3+1) == height; i++ {
			seed := sha256.Sum256(fmt.Appendf(nil, "log test device %d", i%2))
			key := ed25519.NewKeyFromSeed(seed[:])
			raw, err := reading.Sign(reading.Reading{Seq: uint64(100 + i), Time: int64(i), Data: map[string]any{"i": int64(i)}}, key)
			if err != nil {
				t.Fatal(err)
			}
			s, err := reading.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			devices = append(devices, s.Device)
			leaf := receipt.Leaf(key.Public().(ed25519.PublicKey), raw)
			idx := st.Append(leaf)
			ref.AppendData(leaf)
			if err := b.Set(state.SeqKey(s.Device, s.Seq), encode(t, &state.SeqEntry{Index: idx, Height: height}), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if err := l.Apply(st); err != nil {
			t.Fatal(err)
		}
	}
	return query.New(query.NewCommitted(db), l, func() state.Meta { return state.Meta{} }), ref, devices
}

// TestLogEntry finds each reading by its index, and checks its leaf hash
// against merkle's reference tree and its inclusion proof with merkle's
// verifier.
func TestLogEntry(t *testing.T) {
	const n = 13
	r, ref, devices := logStore(t, n)
	if got := r.LogSize(); got != n {
		t.Fatalf("LogSize %d, want %d", got, n)
	}
	for i := range uint64(n) {
		e, err := r.LogEntry(i)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if e.Index != i || e.Device != devices[i] || e.Seq != 100+i || e.Height != int64(i/3+1) {
			t.Errorf("entry %d: %+v, want device %s seq %d height %d", i, e, devices[i], 100+i, i/3+1)
		}
		if !bytes.Equal(e.LeafHash, ref.LeafHash(i)) {
			t.Errorf("entry %d: leaf hash %x, reference %x", i, e.LeafHash, ref.LeafHash(i))
		}
		for _, size := range []uint64{i + 1, n} {
			p, err := r.Log().InclusionProof(i, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, size, e.LeafHash, p, ref.HashAt(size)); err != nil {
				t.Errorf("entry %d in size %d: %v", i, size, err)
			}
		}
	}
	for _, i := range []uint64{n, n + 1, 1 << 63} {
		if e, err := r.LogEntry(i); !errors.Is(err, query.ErrPastLog) {
			t.Errorf("entry %d of %d: %+v, %v; want ErrPastLog", i, n, e, err)
		}
	}
}

// TestLogConsistency checks the proof between every pair of sizes (from 0,
// and from == to included) with merkle's verifier, the roots against its
// reference tree, and that a proof with a flipped bit is refused.
func TestLogConsistency(t *testing.T) {
	const n = 13
	r, ref, _ := logStore(t, n)
	for from := uint64(0); from <= n; from++ {
		for to := from; to <= n; to++ {
			c, err := r.LogConsistency(from, to)
			if err != nil {
				t.Fatalf("%d to %d: %v", from, to, err)
			}
			if c.From != from || c.To != to || !bytes.Equal(c.FromRoot, ref.HashAt(from)) || !bytes.Equal(c.ToRoot, ref.HashAt(to)) {
				t.Errorf("%d to %d: sizes %d %d, roots %x %x; reference roots %x %x", from, to, c.From, c.To, c.FromRoot, c.ToRoot, ref.HashAt(from), ref.HashAt(to))
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, from, to, c.Proof, c.FromRoot, c.ToRoot); err != nil {
				t.Errorf("%d to %d: %v", from, to, err)
			}
			if len(c.Proof) > 0 {
				c.Proof[len(c.Proof)-1][0] ^= 1
				if proof.VerifyConsistency(rfc6962.DefaultHasher, from, to, c.Proof, c.FromRoot, c.ToRoot) == nil {
					t.Errorf("%d to %d: a mutated proof verifies", from, to)
				}
			}
		}
	}
	if c, err := r.LogConsistency(0, 0); err != nil || !bytes.Equal(c.FromRoot, sha256.New().Sum(nil)) {
		t.Errorf("0 to 0: %+v, %v; want the empty tree's root, SHA-256 of nothing", c, err)
	}
	if c, err := r.LogConsistency(3, n+1); !errors.Is(err, query.ErrPastLog) {
		t.Errorf("3 to %d of %d: %+v, %v; want ErrPastLog", n+1, n, c, err)
	}
	if c, err := r.LogConsistency(5, 4); err == nil {
		t.Errorf("5 to 4: %+v, want an error", c)
	}
}
