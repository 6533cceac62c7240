package tlog

import (
	"bytes"
	"errors"
	"testing"
)

// TestStageLeaf: a stage reads a leaf it appended and a committed one
// alike (the app compares a resent reading with its original, which may
// sit earlier in the same block), and nothing past its size.
func TestStageLeaf(t *testing.T) {
	s := newMemStore(t)
	l := s.openLog()
	s.block(l, nil, [][]byte{[]byte("leaf 0"), []byte("leaf 1")})
	st := l.Begin()
	st.Append([]byte("leaf 2"))
	for i, want := range []string{"leaf 0", "leaf 1", "leaf 2"} {
		got, err := st.Leaf(uint64(i))
		if err != nil || !bytes.Equal(got, []byte(want)) {
			t.Errorf("Leaf(%d) = %q, %v; want %q", i, got, err, want)
		}
	}
	if _, err := st.Leaf(3); !errors.Is(err, ErrLeafOutOfRange) {
		t.Errorf("Leaf(3) of a stage of size 3: %v, want ErrLeafOutOfRange", err)
	}
}
