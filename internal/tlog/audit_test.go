package tlog

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// auditRoot is one call of Audit's fn.
type auditRoot struct {
	Size uint64
	Root []byte
}

// audit runs l.Audit and returns what fn saw.
func audit(l *Log, sizes []uint64) ([]auditRoot, error) {
	var got []auditRoot
	err := l.Audit(sizes, func(size uint64, root []byte) error {
		got = append(got, auditRoot{size, root})
		return nil
	})
	return got, err
}

// refRoots returns the reference roots at sizes.
func refRoots(ref *testonly.Tree, sizes []uint64) []auditRoot {
	var want []auditRoot
	for _, size := range sizes {
		want = append(want, auditRoot{size, ref.HashAt(size)})
	}
	return want
}

func TestAudit(t *testing.T) {
	h := rfc6962.DefaultHasher
	// Blocks of 0, 7, 100, 33 and 200 leaves: 340 leaves.
	build := func(t *testing.T) (*store, *Log, *testonly.Tree) {
		t.Helper()
		s := newMemStore(t)
		l := s.openLog()
		ref := testonly.New(h)
		for _, n := range []int{0, 7, 100, 33, 200} {
			s.block(l, ref, seqLeaves(int(ref.Size()), n))
		}
		return s, l, ref
	}
	sizes := []uint64{0, 0, 1, 7, 100, 107, 137, 138, 140, 340, 340}

	t.Run("clean log reports RootAt", func(t *testing.T) {
		_, l, ref := build(t)
		got, err := audit(l, sizes)
		if err != nil {
			t.Fatalf("Audit: %v", err)
		}
		var want []auditRoot
		for _, size := range sizes {
			root, err := l.RootAt(size)
			if err != nil {
				t.Fatalf("RootAt(%d): %v", size, err)
			}
			want = append(want, auditRoot{size, root})
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("Audit roots differ from RootAt (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(got, refRoots(ref, sizes)); diff != "" {
			t.Errorf("Audit roots differ from reference (-got +want):\n%s", diff)
		}
	})

	t.Run("no sizes", func(t *testing.T) {
		_, l, _ := build(t)
		if err := l.Audit(nil, nil); err != nil {
			t.Errorf("Audit(nil) = %v", err)
		}
	})

	leafTests := []struct {
		name  string
		index uint64
		edit  func(leaf []byte) []byte
	}{
		{"flip one byte", 137, func(leaf []byte) []byte { leaf[3] ^= 0x01; return leaf }},
		{"last leaf", 339, func(leaf []byte) []byte { leaf[0]++; return leaf }},
		{"grow empty leaf", 7, func(leaf []byte) []byte { return append(leaf, 0) }},
		{"truncate leaf", 6, func(leaf []byte) []byte { return leaf[:len(leaf)-1] }},
	}
	for _, tt := range leafTests {
		t.Run(tt.name, func(t *testing.T) {
			s, l, ref := build(t)
			leaf, err := l.Leaf(tt.index)
			if err != nil {
				t.Fatalf("Leaf(%d): %v", tt.index, err)
			}
			edited := tt.edit(leaf)
			s.set(leafKey(nil, tt.index), edited)

			got, err := audit(l, sizes)
			var leafErr *LeafError
			if !errors.As(err, &leafErr) {
				t.Fatalf("Audit() = %v, want *LeafError", err)
			}
			want := &LeafError{Index: tt.index, Stored: ref.LeafHash(tt.index), Computed: h.HashLeaf(edited)}
			if diff := cmp.Diff(leafErr, want); diff != "" {
				t.Errorf("LeafError mismatch (-got +want):\n%s", diff)
			}
			// Roots are reported up to the bad leaf, not past it.
			var before []uint64
			for _, size := range sizes {
				if size <= tt.index {
					before = append(before, size)
				}
			}
			if diff := cmp.Diff(got, refRoots(ref, before)); diff != "" {
				t.Errorf("roots before the bad leaf (-got +want):\n%s", diff)
			}
		})
	}

	t.Run("interior node checked", func(t *testing.T) {
		s, l, ref := build(t)
		// 100 = 64+32+4: RootAt(100) folds node (5, 2) from stored (4, 4) and (4, 5).
		s.set(nodeKey(nil, compact.NewNodeID(4, 4)), make([]byte, 32))
		root, err := l.RootAt(100)
		if err != nil {
			t.Fatalf("RootAt(100): %v", err)
		}
		if cmp.Equal(root, ref.HashAt(100)) {
			t.Fatalf("RootAt(100) did not read the corrupted node; the test proves nothing")
		}
		got, err := audit(l, sizes)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "node (level 4, index 4)") {
			t.Fatalf("Audit() = %v, want %v naming node (level 4, index 4)", err, ErrCorrupt)
		}
		// Roots are reported up to the leaf that completes the bad node.
		var before []uint64
		for _, size := range sizes {
			if size < 80 {
				before = append(before, size)
			}
		}
		if diff := cmp.Diff(got, refRoots(ref, before)); diff != "" {
			t.Errorf("Audit roots before the bad node (-got +want):\n%s", diff)
		}
	})

	t.Run("fn error stops the audit", func(t *testing.T) {
		_, l, _ := build(t)
		errStop := errors.New("stop")
		var seen []uint64
		err := l.Audit(sizes, func(size uint64, _ []byte) error {
			seen = append(seen, size)
			if size == 7 {
				return errStop
			}
			return nil
		})
		if !errors.Is(err, errStop) {
			t.Errorf("Audit() = %v, want %v", err, errStop)
		}
		if diff := cmp.Diff(seen, []uint64{0, 0, 1, 7}); diff != "" {
			t.Errorf("sizes seen (-got +want):\n%s", diff)
		}
	})
}

func TestAuditFrom(t *testing.T) {
	h := rfc6962.DefaultHasher
	build := func(t *testing.T) (*store, *Log, *testonly.Tree) {
		t.Helper()
		s := newMemStore(t)
		l := s.openLog()
		ref := testonly.New(h)
		for _, n := range []int{7, 100, 33, 200} {
			s.block(l, ref, seqLeaves(int(ref.Size()), n))
		}
		return s, l, ref
	}
	all := []uint64{0, 7, 107, 140, 340}

	for _, begin := range []uint64{0, 7, 107, 140, 339, 340} {
		t.Run(fmt.Sprintf("clean from %d", begin), func(t *testing.T) {
			_, l, ref := build(t)
			var sizes []uint64
			for _, s := range all {
				if s >= begin {
					sizes = append(sizes, s)
				}
			}
			if sizes[0] != begin {
				sizes = append([]uint64{begin}, sizes...)
			}
			var got []auditRoot
			err := l.AuditFrom(begin, sizes, func(size uint64, root []byte) error {
				got = append(got, auditRoot{size, root})
				return nil
			})
			if err != nil {
				t.Fatalf("AuditFrom(%d): %v", begin, err)
			}
			if diff := cmp.Diff(got, refRoots(ref, sizes)); diff != "" {
				t.Errorf("AuditFrom(%d) roots differ from reference (-got +want):\n%s", begin, diff)
			}
		})
	}

	t.Run("changed leaf after begin found", func(t *testing.T) {
		s, l, ref := build(t)
		leaf, _ := l.Leaf(120)
		leaf[0] ^= 1
		s.set(leafKey(nil, 120), leaf)
		err := l.AuditFrom(107, []uint64{107, 340}, func(uint64, []byte) error { return nil })
		want := &LeafError{Index: 120, Stored: ref.LeafHash(120), Computed: h.HashLeaf(leaf)}
		var got *LeafError
		if !errors.As(err, &got) {
			t.Fatalf("AuditFrom = %v, want %v", err, want)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("LeafError (-got +want):\n%s", diff)
		}
	})

	t.Run("changed leaf before begin not read", func(t *testing.T) {
		s, l, _ := build(t)
		leaf, _ := l.Leaf(20)
		leaf[0] ^= 1
		s.set(leafKey(nil, 20), leaf)
		if err := l.AuditFrom(107, []uint64{107, 340}, func(uint64, []byte) error { return nil }); err != nil {
			t.Errorf("AuditFrom(107) read leaf 20: %v", err)
		}
	})

	t.Run("changed border shows in the root at begin", func(t *testing.T) {
		s, l, ref := build(t)
		// 107 = 64+32+8+2+1: the border holds node (6, 0), folded from
		// stored level 4.
		s.set(nodeKey(nil, compact.NewNodeID(4, 1)), make([]byte, 32))
		var first []byte
		err := l.AuditFrom(107, []uint64{107}, func(_ uint64, root []byte) error { first = root; return nil })
		if cmp.Equal(first, ref.HashAt(107)) {
			t.Errorf("root at 107 is the reference root although the border was changed")
		}
		// The leaves up to 256 complete node (8, 0), which rests on the
		// changed border: its stored copy disagrees.
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "node (level 8, index 0)") {
			t.Errorf("AuditFrom = %v, want %v naming node (level 8, index 0)", err, ErrCorrupt)
		}
	})

	t.Run("bad arguments", func(t *testing.T) {
		_, l, _ := build(t)
		for _, tc := range []struct {
			begin uint64
			sizes []uint64
		}{{341, nil}, {100, []uint64{99}}, {100, []uint64{341}}} {
			if err := l.AuditFrom(tc.begin, tc.sizes, nil); !errors.Is(err, ErrSizeOutOfRange) {
				t.Errorf("AuditFrom(%d, %v) = %v, want %v", tc.begin, tc.sizes, err, ErrSizeOutOfRange)
			}
		}
	})
}
