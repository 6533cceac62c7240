package tlog

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// checkLog compares every read of l at the given sizes (ascending, ending at
// l.Size()) with ref, and verifies the proofs. Indices and size pairs are
// sampled with r; tiny logs are checked exhaustively.
func checkLog(t *testing.T, l *Log, ref *testonly.Tree, sizes []uint64, r *rand.Rand) {
	t.Helper()
	if got, want := l.Size(), ref.Size(); got != want {
		t.Fatalf("Size() = %d, want %d", got, want)
	}
	if diff := cmp.Diff(l.Root(), ref.Hash()); diff != "" {
		t.Errorf("Root() mismatch (-got +want):\n%s", diff)
	}
	for _, size := range sizes {
		got, err := l.RootAt(size)
		if err != nil {
			t.Fatalf("RootAt(%d): %v", size, err)
		}
		if want := ref.HashAt(size); !bytes.Equal(got, want) {
			t.Errorf("RootAt(%d) mismatch (-got +want):\n%s", size, cmp.Diff(got, want))
		}
	}
	for _, size := range sizes {
		if size == 0 {
			continue
		}
		indices := []uint64{0, size - 1, size / 2}
		if size <= 16 {
			indices = indices[:0]
			for i := range size {
				indices = append(indices, i)
			}
		} else if r != nil {
			indices = append(indices, r.Uint64N(size), r.Uint64N(size))
		}
		for _, index := range indices {
			checkInclusion(t, l, ref, index, size)
		}
	}
	for i, size1 := range sizes {
		for _, size2 := range sizes[i:] {
			checkConsistency(t, l, ref, size1, size2)
		}
	}
	if r != nil && ref.Size() > 0 {
		for range 20 {
			size2 := 1 + r.Uint64N(ref.Size())
			size1 := r.Uint64N(size2 + 1)
			checkConsistency(t, l, ref, size1, size2)
			checkInclusion(t, l, ref, r.Uint64N(size2), size2)
		}
	}
}

func checkInclusion(t *testing.T, l *Log, ref *testonly.Tree, index, size uint64) {
	t.Helper()
	got, err := l.InclusionProof(index, size)
	if err != nil {
		t.Fatalf("InclusionProof(%d, %d): %v", index, size, err)
	}
	want, err := ref.InclusionProof(index, size)
	if err != nil {
		t.Fatalf("reference InclusionProof(%d, %d): %v", index, size, err)
	}
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("InclusionProof(%d, %d) mismatch (-got +want):\n%s", index, size, cmp.Diff(got, want))
	}
	leaf, err := l.Leaf(index)
	if err != nil {
		t.Fatalf("Leaf(%d): %v", index, err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, rfc6962.DefaultHasher.HashLeaf(leaf), got, ref.HashAt(size)); err != nil {
		t.Errorf("VerifyInclusion(%d, %d): %v", index, size, err)
	}
}

func checkConsistency(t *testing.T, l *Log, ref *testonly.Tree, size1, size2 uint64) {
	t.Helper()
	got, err := l.ConsistencyProof(size1, size2)
	if err != nil {
		t.Fatalf("ConsistencyProof(%d, %d): %v", size1, size2, err)
	}
	want, err := ref.ConsistencyProof(size1, size2)
	if err != nil {
		t.Fatalf("reference ConsistencyProof(%d, %d): %v", size1, size2, err)
	}
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("ConsistencyProof(%d, %d) mismatch (-got +want):\n%s", size1, size2, cmp.Diff(got, want))
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, got, ref.HashAt(size1), ref.HashAt(size2)); err != nil {
		t.Errorf("VerifyConsistency(%d, %d): %v", size1, size2, err)
	}
}

func randLeaf(r *rand.Rand) []byte {
	leaf := make([]byte, r.IntN(300))
	for i := range leaf {
		leaf[i] = byte(r.Uint32())
	}
	return leaf
}

func TestDifferential(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x7106))
			s := newMemStore(t)
			l := s.openLog()
			ref := testonly.New(rfc6962.DefaultHasher)
			sizes := []uint64{0}
			for range 2 + r.IntN(8) {
				st := l.Begin()
				if got, want := st.Size(), ref.Size(); got != want {
					t.Fatalf("Begin().Size() = %d, want %d", got, want)
				}
				committedRoot := l.Root()
				for range r.IntN(700) {
					leaf := randLeaf(r)
					want := ref.Size()
					if got := st.Append(leaf); got != want {
						t.Fatalf("Append() = %d, want %d", got, want)
					}
					ref.AppendData(leaf)
					if got, want := st.Root(), ref.Hash(); !bytes.Equal(got, want) {
						t.Fatalf("Stage.Root() at size %d mismatch (-got +want):\n%s", st.Size(), cmp.Diff(got, want))
					}
				}
				if got, want := l.Size(), sizes[len(sizes)-1]; got != want {
					t.Errorf("Size() while staging = %d, want committed %d", got, want)
				}
				if diff := cmp.Diff(l.Root(), committedRoot); diff != "" {
					t.Errorf("Root() changed while staging (-got +want):\n%s", diff)
				}
				s.commit(st)
				if err := l.Apply(st); err != nil {
					t.Fatalf("Apply: %v", err)
				}
				sizes = append(sizes, ref.Size())
			}
			checkLog(t, l, ref, sizes, r)
		})
	}
}

// TestSmallExhaustive checks every root, inclusion and consistency proof of
// every tree of up to 40 leaves, built in blocks of 0 to 4 leaves.
func TestSmallExhaustive(t *testing.T) {
	s := newMemStore(t)
	l := s.openLog()
	ref := testonly.New(rfc6962.DefaultHasher)
	for i := 0; ref.Size() < 40; i++ {
		s.block(l, ref, seqLeaves(int(ref.Size()), i%5))
		if diff := cmp.Diff(l.Root(), ref.Hash()); diff != "" {
			t.Fatalf("Root() at size %d mismatch (-got +want):\n%s", ref.Size(), diff)
		}
	}
	sizes := make([]uint64, ref.Size()+1)
	for i := range sizes {
		sizes[i] = uint64(i)
	}
	checkLog(t, l, ref, sizes, nil)
}

func TestEmpty(t *testing.T) {
	s := newStore(t)
	l := s.openLog()
	if got := l.Size(); got != 0 {
		t.Errorf("Size() = %d, want 0", got)
	}
	if diff := cmp.Diff(l.Root(), testonly.EmptyRootHash()); diff != "" {
		t.Errorf("Root() mismatch (-got +want):\n%s", diff)
	}
	got, err := l.RootAt(0)
	if err != nil {
		t.Fatalf("RootAt(0): %v", err)
	}
	if diff := cmp.Diff(got, testonly.EmptyRootHash()); diff != "" {
		t.Errorf("RootAt(0) mismatch (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(l.Begin().Root(), testonly.EmptyRootHash()); diff != "" {
		t.Errorf("Begin().Root() mismatch (-got +want):\n%s", diff)
	}

	// An empty block commits size 0 and nothing else.
	s.block(l, nil, nil)
	if diff := cmp.Diff(s.tlogKeys(), []string{"t/s"}); diff != "" {
		t.Errorf("keys after empty block (-got +want):\n%s", diff)
	}
	s.reopen()
	if got := s.openLog().Size(); got != 0 {
		t.Errorf("Size() after reopen = %d, want 0", got)
	}
}

// TestVectors checks roots against the RFC 6962 vectors of merkle/testonly.
func TestVectors(t *testing.T) {
	s := newStore(t)
	l := s.openLog()
	for i, leaf := range testonly.LeafInputs() {
		s.block(l, nil, [][]byte{leaf})
		if diff := cmp.Diff(l.Root(), testonly.RootHashes()[i+1]); diff != "" {
			t.Errorf("Root() at size %d mismatch (-got +want):\n%s", i+1, diff)
		}
	}
}

// storedState is what a reader can learn from a log.
type storedState struct {
	Size        uint64
	Root        []byte
	Roots       [][]byte   // RootAt(0..Size)
	Leaves      [][]byte   // Leaf(0..Size-1)
	Inclusion   [][][]byte // InclusionProof(i, Size)
	Consistency [][][]byte // ConsistencyProof(i, Size)
}

func readState(t *testing.T, l *Log) storedState {
	t.Helper()
	st := storedState{Size: l.Size(), Root: l.Root()}
	for i := range st.Size + 1 {
		root, err := l.RootAt(i)
		if err != nil {
			t.Fatalf("RootAt(%d): %v", i, err)
		}
		st.Roots = append(st.Roots, root)
		c, err := l.ConsistencyProof(i, st.Size)
		if err != nil {
			t.Fatalf("ConsistencyProof(%d, %d): %v", i, st.Size, err)
		}
		st.Consistency = append(st.Consistency, c)
		if i == st.Size {
			break
		}
		leaf, err := l.Leaf(i)
		if err != nil {
			t.Fatalf("Leaf(%d): %v", i, err)
		}
		st.Leaves = append(st.Leaves, leaf)
		p, err := l.InclusionProof(i, st.Size)
		if err != nil {
			t.Fatalf("InclusionProof(%d, %d): %v", i, st.Size, err)
		}
		st.Inclusion = append(st.Inclusion, p)
	}
	return st
}

func TestReopen(t *testing.T) {
	s := newStore(t)
	l := s.openLog()
	ref := testonly.New(rfc6962.DefaultHasher)
	sizes := []uint64{0}
	for _, n := range []int{5, 17, 0, 100, 1} {
		s.block(l, ref, seqLeaves(int(ref.Size()), n))
		sizes = append(sizes, ref.Size())
	}
	before := readState(t, l)
	keysBefore := s.tlogKeys()

	// A stage that is dropped after Append, and one whose batch is dropped
	// uncommitted, leave no trace in memory or in the db.
	dropped := l.Begin()
	for _, leaf := range seqLeaves(1000, 9) {
		dropped.Append(leaf)
	}
	uncommitted := l.Begin()
	for _, leaf := range seqLeaves(2000, 33) {
		uncommitted.Append(leaf)
	}
	b := s.db.NewBatch()
	if err := uncommitted.Write(b); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Batch.Close: %v", err)
	}
	if diff := cmp.Diff(readState(t, l), before); diff != "" {
		t.Errorf("state after dropped stages (-got +want):\n%s", diff)
	}

	s.reopen()
	l = s.openLog()
	if diff := cmp.Diff(readState(t, l), before); diff != "" {
		t.Errorf("state after reopen (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(s.tlogKeys(), keysBefore); diff != "" {
		t.Errorf("keys after reopen (-got +want):\n%s", diff)
	}
	s.checkKeys(before.Size)

	// The reopened log grows like the reference, so its compact range was
	// rebuilt correctly.
	for _, n := range []int{1, 30, 64} {
		s.block(l, ref, seqLeaves(int(ref.Size()), n))
		sizes = append(sizes, ref.Size())
	}
	checkLog(t, l, ref, sizes, rand.New(rand.NewPCG(1, 2)))
}

// TestDroppedStage checks that stages dropped before Apply, at any size of
// the right border, do not disturb the committed state the next stage grows.
func TestDroppedStage(t *testing.T) {
	s := newMemStore(t)
	l := s.openLog()
	ref := testonly.New(rfc6962.DefaultHasher)
	for i := range 12 {
		for _, n := range []int{1, 2, 9} {
			dropped := l.Begin()
			for _, leaf := range seqLeaves(5000, n) {
				dropped.Append(leaf)
			}
		}
		s.block(l, ref, seqLeaves(int(ref.Size()), 2*i+1))
		if got, want := l.Root(), ref.Hash(); !bytes.Equal(got, want) {
			t.Fatalf("Root() at size %d mismatch (-got +want):\n%s", ref.Size(), cmp.Diff(got, want))
		}
	}
}

// TestAppendCopies checks that the caller may reuse its buffer after Append.
func TestAppendCopies(t *testing.T) {
	s := newMemStore(t)
	l := s.openLog()
	ref := testonly.New(rfc6962.DefaultHasher)
	st := l.Begin()
	buf := make([]byte, 8)
	var want [][]byte
	for i := range 3 {
		for j := range buf {
			buf[j] = byte(i)
		}
		st.Append(buf)
		want = append(want, bytes.Clone(buf))
	}
	clear(buf)
	s.commit(st)
	if err := l.Apply(st); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	ref.AppendData(want...)
	if diff := cmp.Diff(l.Root(), ref.Hash()); diff != "" {
		t.Errorf("Root() mismatch (-got +want):\n%s", diff)
	}
	var got [][]byte
	for i := range uint64(3) {
		leaf, err := l.Leaf(i)
		if err != nil {
			t.Fatalf("Leaf(%d): %v", i, err)
		}
		got = append(got, leaf)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("leaves (-got +want):\n%s", diff)
	}
	if err := l.Audit(nil, nil); err != nil {
		t.Errorf("Audit: %v", err)
	}
}

// TestCommittedNotApplied is a crash between the batch commit and Apply:
// the next Open serves the committed block.
func TestCommittedNotApplied(t *testing.T) {
	s := newStore(t)
	l := s.openLog()
	ref := testonly.New(rfc6962.DefaultHasher)
	s.block(l, ref, seqLeaves(0, 10))

	st := l.Begin()
	leaves := seqLeaves(10, 7)
	for _, leaf := range leaves {
		st.Append(leaf)
	}
	ref.AppendData(leaves...)
	s.commit(st)
	if got, want := l.Size(), uint64(10); got != want {
		t.Errorf("Size() before Apply = %d, want %d", got, want)
	}

	s.reopen()
	l = s.openLog()
	checkLog(t, l, ref, []uint64{0, 10, 17}, nil)
}

func TestApplyStale(t *testing.T) {
	s := newStore(t)
	l := s.openLog()
	s.block(l, nil, seqLeaves(0, 3))

	first, second := l.Begin(), l.Begin()
	first.Append([]byte("a"))
	second.Append([]byte("b"))
	s.commit(first)
	if err := l.Apply(first); err != nil {
		t.Fatalf("Apply(first): %v", err)
	}
	root := l.Root()

	tests := []struct {
		name  string
		log   *Log
		stage *Stage
	}{
		{name: "sibling", log: l, stage: second},
		{name: "twice", log: l, stage: first},
		{name: "other log", log: newMemStore(t).openLog(), stage: l.Begin()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.log.Apply(tt.stage); !errors.Is(err, ErrStaleStage) {
				t.Errorf("Apply() = %v, want %v", err, ErrStaleStage)
			}
		})
	}
	if got, want := l.Size(), uint64(4); got != want {
		t.Errorf("Size() = %d, want %d", got, want)
	}
	if diff := cmp.Diff(l.Root(), root); diff != "" {
		t.Errorf("Root() changed (-got +want):\n%s", diff)
	}

	// Appending to an applied stage does not change the committed state.
	first.Append([]byte("c"))
	if diff := cmp.Diff(l.Root(), root); diff != "" {
		t.Errorf("Root() changed by appending to an applied stage (-got +want):\n%s", diff)
	}
	if got, want := l.Begin().Size(), uint64(4); got != want {
		t.Errorf("Begin().Size() = %d, want %d", got, want)
	}
}

// TestWriteStale checks that a stage begun on a state the db has moved past
// cannot be written, so it cannot overwrite committed leaves.
func TestWriteStale(t *testing.T) {
	tests := []struct {
		name  string
		apply bool // whether the first stage is applied after its commit
		stale func(l *Log, first, early *Stage) *Stage
	}{
		{
			name:  "sibling of an applied stage",
			apply: true,
			stale: func(_ *Log, _, early *Stage) *Stage { return early },
		},
		{
			name:  "begun after a missed Apply",
			apply: false,
			stale: func(l *Log, _, _ *Stage) *Stage { return l.Begin() },
		},
		{
			name:  "written again after Apply",
			apply: true,
			stale: func(_ *Log, first, _ *Stage) *Stage { return first },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newMemStore(t)
			l := s.openLog()
			s.block(l, nil, seqLeaves(0, 5))
			first, early := l.Begin(), l.Begin()
			first.Append([]byte("first"))
			early.Append([]byte("early"))
			s.commit(first)
			if tt.apply {
				if err := l.Apply(first); err != nil {
					t.Fatalf("Apply: %v", err)
				}
			}
			keys := s.tlogKeys()

			stale := tt.stale(l, first, early)
			stale.Append([]byte("stale"))
			b := s.db.NewBatch()
			defer b.Close()
			if err := stale.Write(b); !errors.Is(err, ErrStaleStage) {
				t.Errorf("Write() = %v, want %v", err, ErrStaleStage)
			}
			if got := b.Count(); got != 0 {
				t.Errorf("batch holds %d ops, want 0", got)
			}
			if err := b.Commit(pebble.Sync); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if diff := cmp.Diff(s.tlogKeys(), keys); diff != "" {
				t.Errorf("keys changed (-got +want):\n%s", diff)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	s := newStore(t)
	l := s.openLog()
	s.block(l, nil, seqLeaves(0, 10))

	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"Leaf at size", func() error { _, err := l.Leaf(10); return err }, ErrLeafOutOfRange},
		{"Leaf past size", func() error { _, err := l.Leaf(1 << 40); return err }, ErrLeafOutOfRange},
		{"RootAt past size", func() error { _, err := l.RootAt(11); return err }, ErrSizeOutOfRange},
		{"InclusionProof index at size", func() error { _, err := l.InclusionProof(10, 10); return err }, ErrLeafOutOfRange},
		{"InclusionProof index past size", func() error { _, err := l.InclusionProof(7, 5); return err }, ErrLeafOutOfRange},
		{"InclusionProof size 0", func() error { _, err := l.InclusionProof(0, 0); return err }, ErrLeafOutOfRange},
		{"InclusionProof size past Size", func() error { _, err := l.InclusionProof(0, 11); return err }, ErrSizeOutOfRange},
		{"ConsistencyProof size2 past Size", func() error { _, err := l.ConsistencyProof(1, 11); return err }, ErrSizeOutOfRange},
		{"ConsistencyProof size1 > size2", func() error { _, err := l.ConsistencyProof(6, 5); return err }, ErrSizeOutOfRange},
		{"Audit size past Size", func() error { return l.Audit([]uint64{11}, nil) }, ErrSizeOutOfRange},
		{"Audit sizes descending", func() error { return l.Audit([]uint64{5, 4}, nil) }, ErrSizeOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestCorrupt checks that a store breaking the invariants is reported as
// ErrCorrupt, not as bad input or a wrong answer.
func TestCorrupt(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(s *store)
		read    func(l *Log) error
	}{
		{
			name:    "size value",
			corrupt: func(s *store) { s.set(sizeKey, []byte{1, 2, 3}) },
		},
		{
			name:    "border node missing",
			corrupt: func(s *store) { s.del(nodeKey(nil, compact.NewNodeID(0, 33))) }, // 40 = 32+8; (3, 4) is folded from level 0
		},
		{
			name:    "border node short",
			corrupt: func(s *store) { s.set(nodeKey(nil, compact.NewNodeID(4, 1)), []byte{1}) }, // under (5, 0)
		},
		{
			name:    "leaf missing",
			corrupt: func(s *store) { s.del(leafKey(nil, 4)) },
			read:    func(l *Log) error { _, err := l.Leaf(4); return err },
		},
		{
			name:    "proof node missing",
			corrupt: func(s *store) { s.del(nodeKey(nil, compact.NewNodeID(0, 3))) }, // under sibling (1, 1)
			read:    func(l *Log) error { _, err := l.InclusionProof(0, 40); return err },
		},
		{
			name:    "RootAt node missing",
			corrupt: func(s *store) { s.del(nodeKey(nil, compact.NewNodeID(0, 1))) }, // under (2, 0)
			read:    func(l *Log) error { _, err := l.RootAt(5); return err },
		},
		{
			name:    "Audit leaf missing",
			corrupt: func(s *store) { s.del(leafKey(nil, 6)) },
			read:    func(l *Log) error { return l.Audit(nil, nil) },
		},
		{
			name:    "Audit leaf hash missing",
			corrupt: func(s *store) { s.del(nodeKey(nil, compact.NewNodeID(0, 5))) },
			read:    func(l *Log) error { return l.Audit(nil, nil) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newMemStore(t)
			s.block(s.openLog(), nil, seqLeaves(0, 40))
			tt.corrupt(s)
			if tt.read == nil {
				if _, err := Open(s.db); !errors.Is(err, ErrCorrupt) {
					t.Errorf("Open() = %v, want %v", err, ErrCorrupt)
				}
				return
			}
			l := s.openLog()
			if err := tt.read(l); !errors.Is(err, ErrCorrupt) {
				t.Errorf("got error %v, want %v", err, ErrCorrupt)
			}
		})
	}
}

// TestStoredLevels: only the leaf hashes and every stride-th level are
// written; the other nodes are folded on read, and a missing stored node
// above level 0 is reported as corruption.
func TestStoredLevels(t *testing.T) {
	s := newMemStore(t)
	l := s.openLog()
	s.block(l, nil, seqLeaves(0, 40))
	has := func(level uint, index uint64) bool {
		_, closer, err := s.db.Get(nodeKey(nil, compact.NewNodeID(level, index)))
		if err == nil {
			closer.Close()
		}
		return err == nil
	}
	for _, n := range []struct {
		level uint
		index uint64
		want  bool
	}{{0, 39, true}, {1, 0, false}, {3, 4, false}, {4, 0, true}, {4, 1, true}, {5, 0, false}} {
		if got := has(n.level, n.index); got != n.want {
			t.Errorf("node (%d, %d) stored = %v, want %v", n.level, n.index, got, n.want)
		}
	}
	s.del(nodeKey(nil, compact.NewNodeID(4, 0)))
	if _, err := l.RootAt(20); !errors.Is(err, ErrCorrupt) { // [0, 20) = (4, 0) + (2, 4)
		t.Errorf("RootAt(20) without node (4, 0) = %v, want %v", err, ErrCorrupt)
	}
}

// TestConcurrentReads reads and verifies proofs from another goroutine while
// blocks are staged, written and applied. Run with -race.
func TestConcurrentReads(t *testing.T) {
	s := newMemStore(t)
	l := s.openLog()
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- readLoop(l, done)
	}()

	r := rand.New(rand.NewPCG(3, 4))
	for range 40 {
		st := l.Begin()
		for range r.IntN(200) {
			st.Append(randLeaf(r))
		}
		st.Root()
		s.commit(st)
		if err := l.Apply(st); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	close(done)
	if err := <-errc; err != nil {
		t.Error(err)
	}
}

// readLoop checks, until done, that each committed state it sees proves its
// leaves and is consistent with the previous one.
func readLoop(l *Log, done <-chan struct{}) error {
	h := rfc6962.DefaultHasher
	var prevSize uint64
	prevRoot := h.EmptyRoot()
	for {
		select {
		case <-done:
			return nil
		default:
		}
		size := l.Size()
		root, err := l.RootAt(size)
		if err != nil {
			return err
		}
		c, err := l.ConsistencyProof(prevSize, size)
		if err != nil {
			return err
		}
		if err := proof.VerifyConsistency(h, prevSize, size, c, prevRoot, root); err != nil {
			return fmt.Errorf("consistency %d -> %d: %w", prevSize, size, err)
		}
		if size > 0 {
			index := (size * 7) / 13
			leaf, err := l.Leaf(index)
			if err != nil {
				return err
			}
			p, err := l.InclusionProof(index, size)
			if err != nil {
				return err
			}
			if err := proof.VerifyInclusion(h, index, size, h.HashLeaf(leaf), p, root); err != nil {
				return fmt.Errorf("inclusion %d in %d: %w", index, size, err)
			}
		}
		prevSize, prevRoot = size, root
	}
}

// TestWriteKeys pins the key layout of the package comment.
func TestWriteKeys(t *testing.T) {
	s := newMemStore(t)
	l := s.openLog()
	s.block(l, nil, [][]byte{[]byte("x"), []byte("y"), []byte("z")})
	want := []string{
		"t/l/\x00\x00\x00\x00\x00\x00\x00\x00",
		"t/l/\x00\x00\x00\x00\x00\x00\x00\x01",
		"t/l/\x00\x00\x00\x00\x00\x00\x00\x02",
		"t/n/\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		"t/n/\x00\x00\x00\x00\x00\x00\x00\x00\x01",
		"t/n/\x00\x00\x00\x00\x00\x00\x00\x00\x02",
		"t/s",
	}
	if diff := cmp.Diff(s.tlogKeys(), want); diff != "" {
		t.Errorf("keys (-got +want):\n%s", diff)
	}
	v, closer, err := s.db.Get(sizeKey)
	if err != nil {
		t.Fatalf("Get(t/s): %v", err)
	}
	defer closer.Close()
	if got, want := v, []byte{0, 0, 0, 0, 0, 0, 0, 3}; !bytes.Equal(got, want) {
		t.Errorf("t/s = %x, want %x", got, want)
	}
}
