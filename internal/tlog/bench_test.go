package tlog

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// BenchmarkAppend measures one leaf of 256 bytes through the whole path:
// Append, then every 1000 leaves Write into a batch, commit it (NoSync) and
// Apply.
func BenchmarkAppend(b *testing.B) {
	s := newStore(b)
	l := s.openLog()
	leaf := make([]byte, 256)
	st := l.Begin()
	flush := func() {
		batch := s.db.NewBatch()
		if err := st.Write(batch); err != nil {
			b.Fatal(err)
		}
		if err := batch.Commit(pebble.NoSync); err != nil {
			b.Fatal(err)
		}
		if err := batch.Close(); err != nil {
			b.Fatal(err)
		}
		if err := l.Apply(st); err != nil {
			b.Fatal(err)
		}
		st = l.Begin()
	}
	b.SetBytes(int64(len(leaf)))
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		binary.BigEndian.PutUint64(leaf, i)
		st.Append(leaf)
		if i%1000 == 999 {
			flush()
		}
	}
}

// BenchmarkStageAppend measures Append alone: the leaf hash and the compact
// range work, without the db.
func BenchmarkStageAppend(b *testing.B) {
	l := newMemStore(b).openLog()
	leaf := make([]byte, 256)
	st := l.Begin()
	b.SetBytes(int64(len(leaf)))
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		if i%1000 == 0 {
			st = l.Begin() // keep the staged data bounded, as blocks do
		}
		binary.BigEndian.PutUint64(leaf, i)
		st.Append(leaf)
	}
}

// benchLog returns a committed log of n 256-byte leaves on disk, compacted
// so that reads see a settled LSM rather than the L0 files of the load, in a
// db with a block cache of cacheMB megabytes (pebble's default is 8).
func benchLog(b *testing.B, n int, cacheMB int64) *Log {
	b.Helper()
	s := openStore(b, vfs.Default, b.TempDir(), func(o *pebble.Options) { o.CacheSize = cacheMB << 20 })
	l := s.openLog()
	leaf := make([]byte, 256)
	for done := 0; done < n; {
		st := l.Begin()
		for ; done < n && st.Size()-l.Size() < 10000; done++ {
			binary.BigEndian.PutUint64(leaf, uint64(done))
			st.Append(leaf)
		}
		batch := s.db.NewBatch()
		if err := st.Write(batch); err != nil {
			b.Fatal(err)
		}
		if err := batch.Commit(pebble.NoSync); err != nil {
			b.Fatal(err)
		}
		batch.Close()
		if err := l.Apply(st); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.db.Compact(b.Context(), []byte("t/"), []byte("t0"), true); err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkInclusionProof measures a proof of a scattered leaf in a log of
// 100k leaves.
func BenchmarkInclusionProof(b *testing.B) {
	const size = 100_000
	for _, cacheMB := range []int64{8, 64} {
		b.Run(fmt.Sprintf("cache=%dMB", cacheMB), func(b *testing.B) {
			l := benchLog(b, size, cacheMB)
			b.ReportAllocs()
			for i := uint64(0); b.Loop(); i++ {
				if _, err := l.InclusionProof((i*7919)%size, size); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConsistencyProof measures a proof between a scattered size and
// the full size of a log of 100k leaves.
func BenchmarkConsistencyProof(b *testing.B) {
	const size = 100_000
	l := benchLog(b, size, 64)
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		if _, err := l.ConsistencyProof(1+(i*7919)%(size-1), size); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAudit measures Audit of a committed log of 1M 256-byte leaves
// (about the size of a signed reading with its key): each leaf read,
// rehashed and compared, the stored interior nodes checked. The node's
// start check (AuditFrom over the newest readings) costs this per reading;
// ns/leaf is the figure to scale by.
func BenchmarkAudit(b *testing.B) {
	const size = 1_000_000
	l := benchLog(b, size, 8)
	sizes := []uint64{size}
	b.SetBytes(size * 256)
	b.ResetTimer()
	for b.Loop() {
		if err := l.Audit(sizes, func(uint64, []byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/size, "ns/leaf")
}
