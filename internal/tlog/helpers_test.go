package tlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/testonly"
)

// store is a pebble db that a test can close and reopen in place.
type store struct {
	t   testing.TB
	fs  vfs.FS
	dir string
	db  *pebble.DB

	tune func(*pebble.Options) // if set, adjusts the options of each open
}

// newStore opens a db in a fresh t.TempDir, closed at cleanup.
func newStore(t testing.TB) *store {
	t.Helper()
	return openStore(t, vfs.Default, t.TempDir())
}

// newMemStore opens a db in memory, for tests that open many.
func newMemStore(t testing.TB) *store {
	t.Helper()
	return openStore(t, vfs.NewMem(), "db")
}

func openStore(t testing.TB, fs vfs.FS, dir string, tune ...func(*pebble.Options)) *store {
	t.Helper()
	s := &store{t: t, fs: fs, dir: dir}
	for _, f := range tune {
		s.tune = f
	}
	s.open()
	t.Cleanup(func() {
		if s.db != nil {
			if err := s.db.Close(); err != nil {
				t.Errorf("close db: %v", err)
			}
		}
	})
	return s
}

func (s *store) open() {
	s.t.Helper()
	opts := &pebble.Options{FS: s.fs, Logger: quietLogger{s.t}}
	if s.tune != nil {
		s.tune(opts)
	}
	db, err := pebble.Open(s.dir, opts)
	if err != nil {
		s.t.Fatalf("pebble.Open: %v", err)
	}
	s.db = db
}

// reopen closes the db and opens it again, like a node restart.
func (s *store) reopen() {
	s.t.Helper()
	if err := s.db.Close(); err != nil {
		s.t.Fatalf("close db: %v", err)
	}
	s.db = nil
	s.open()
}

// openLog opens the log in s.db.
func (s *store) openLog() *Log {
	s.t.Helper()
	l, err := Open(s.db)
	if err != nil {
		s.t.Fatalf("Open: %v", err)
	}
	return l
}

// commit writes st into a fresh batch and commits it, like the ABCI Commit.
func (s *store) commit(st *Stage) {
	s.t.Helper()
	b := s.db.NewBatch()
	defer b.Close()
	if err := st.Write(b); err != nil {
		s.t.Fatalf("Write: %v", err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		s.t.Fatalf("Commit: %v", err)
	}
}

// block stages leaves as one block, commits it and applies it to l, also
// appending them to ref when it is not nil.
func (s *store) block(l *Log, ref *testonly.Tree, leaves [][]byte) {
	s.t.Helper()
	st := l.Begin()
	for _, leaf := range leaves {
		st.Append(leaf)
	}
	s.commit(st)
	if err := l.Apply(st); err != nil {
		s.t.Fatalf("Apply: %v", err)
	}
	if ref != nil {
		ref.AppendData(leaves...)
	}
}

// set writes key directly, to corrupt the store.
func (s *store) set(key, value []byte) {
	s.t.Helper()
	if err := s.db.Set(key, value, pebble.Sync); err != nil {
		s.t.Fatalf("Set: %v", err)
	}
}

func (s *store) del(key []byte) {
	s.t.Helper()
	if err := s.db.Delete(key, pebble.Sync); err != nil {
		s.t.Fatalf("Delete: %v", err)
	}
}

// tlogKeys returns every key under "t/" in order.
func (s *store) tlogKeys() []string {
	s.t.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte("t/"), UpperBound: []byte("t0")})
	if err != nil {
		s.t.Fatalf("NewIter: %v", err)
	}
	var keys []string
	for it.First(); it.Valid(); it.Next() {
		keys = append(keys, string(it.Key()))
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		s.t.Fatalf("iterate: %v", err)
	}
	return keys
}

// seqLeaves returns n leaves numbered from first, of varying length
// (including empty).
func seqLeaves(first, n int) [][]byte {
	leaves := make([][]byte, n)
	for i := range leaves {
		j := first + i
		leaf := make([]byte, j%7)
		for k := range leaf {
			leaf[k] = byte(j + k*31)
		}
		leaves[i] = leaf
	}
	return leaves
}

// quietLogger drops pebble's informational logging.
type quietLogger struct{ t testing.TB }

func (quietLogger) Infof(string, ...any) {}

func (l quietLogger) Errorf(format string, args ...any) { l.t.Logf("pebble: "+format, args...) }

func (quietLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf("pebble: "+format, args...)) }

// checkKeys checks that the db holds exactly the keys of a log of size
// leaves: each leaf, each perfect node inside [0, size), and "t/s".
func (s *store) checkKeys(size uint64) {
	s.t.Helper()
	var leaves, nodes, sizes, want uint64
	for level := uint(0); size>>level > 0; level++ {
		if storedLevel(level) {
			want += size >> level
		}
	}
	for _, k := range s.tlogKeys() {
		key := []byte(k)
		switch {
		case len(key) == len(leafPrefix)+8 && k[:len(leafPrefix)] == leafPrefix:
			if index := binary.BigEndian.Uint64(key[len(leafPrefix):]); index >= size {
				s.t.Errorf("leaf key %d at or past size %d", index, size)
			}
			leaves++
		case len(key) == maxKeyLen && k[:len(nodePrefix)] == nodePrefix:
			level, index := uint(key[len(nodePrefix)]), binary.BigEndian.Uint64(key[len(nodePrefix)+1:])
			if _, end := compact.NewNodeID(level, index).Coverage(); end > size {
				s.t.Errorf("node key (%d, %d) past size %d", level, index, size)
			}
			if !storedLevel(level) {
				s.t.Errorf("node key (%d, %d) of a level that is not stored", level, index)
			}
			nodes++
		case k == string(sizeKey):
			sizes++
		default:
			s.t.Errorf("unexpected key %q", k)
		}
	}
	if leaves != size || nodes != want || sizes > 1 || size > 0 && sizes == 0 {
		s.t.Errorf("got %d leaf keys, %d node keys, %d size keys; want %d, %d, 1", leaves, nodes, sizes, size, want)
	}
}
