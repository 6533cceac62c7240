package tlog

import (
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// FuzzLog builds a log from blocks described by the fuzz input and checks it
// against the reference tree of merkle/testonly. Each input byte c is one
// block of c&0x3f leaves; c>>6 says what happens to it:
//
//	0: commit and Apply
//	1: Write into a batch that is dropped uncommitted (no trace expected)
//	2: commit and Apply, then reopen the db
//	3: commit, no Apply, then reopen the db (a crash between the two)
//
// Seeds are in testdata/fuzz/FuzzLog.
func FuzzLog(f *testing.F) {
	f.Fuzz(func(t *testing.T, blocks []byte) {
		if len(blocks) > 64 {
			blocks = blocks[:64]
		}
		s := newMemStore(t)
		l := s.openLog()
		ref := testonly.New(rfc6962.DefaultHasher)
		sizes := []uint64{0}
		for b, c := range blocks {
			st := l.Begin()
			leaves := make([][]byte, c&0x3f)
			for i := range leaves {
				// The block number makes a dropped leaf differ from the leaf
				// later committed at the same index.
				leaves[i] = fmt.Appendf(nil, "%d/%d/%x", st.Size(), b, blocks[:b%5])
				st.Append(leaves[i])
			}
			switch c >> 6 {
			case 0, 2:
				s.commit(st)
				if err := l.Apply(st); err != nil {
					t.Fatalf("Apply: %v", err)
				}
			case 1:
				batch := s.db.NewBatch()
				if err := st.Write(batch); err != nil {
					t.Fatalf("Write: %v", err)
				}
				if err := batch.Close(); err != nil {
					t.Fatalf("Batch.Close: %v", err)
				}
				continue
			case 3:
				s.commit(st)
			}
			ref.AppendData(leaves...)
			if c>>6 >= 2 {
				s.reopen()
				l = s.openLog()
			}
			if sizes[len(sizes)-1] != ref.Size() {
				sizes = append(sizes, ref.Size())
			}
		}
		checkLog(t, l, ref, sizes, nil)
		s.checkKeys(ref.Size())
	})
}
