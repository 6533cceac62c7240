package tlog

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/transparency-dev/merkle/compact"
)

// Audit reads every committed leaf in index order, recomputes its leaf hash
// from the stored data and compares it with the stored leaf hash, returning a
// *LeafError for the first mismatch. It does not trust stored interior nodes:
// roots come from a fresh compact range over the recomputed leaf hashes, and
// each stored interior node is compared with the node that range computes
// (ErrCorrupt naming the node on a mismatch), since proofs are served from
// them. At
// each of sizes (non-decreasing, at most Size()) it calls fn(size, root);
// an error from fn stops the audit and is returned as is.
func (l *Log) Audit(sizes []uint64, fn func(size uint64, root []byte) error) error {
	return l.AuditFrom(0, sizes, fn)
}

// AuditFrom is Audit of the leaves from index begin on: the compact range
// of [0, begin) is read from the stored nodes, as Open reads the right
// border, and trusted; the leaves from begin are rehashed and checked as
// Audit checks them. Every size in sizes must be at least begin. Report
// the root at begin (put begin first in sizes) and compare it with a
// committed root to know the stored border is genuine: then the whole tree
// up to the last size is, except the data of the leaves before begin.
func (l *Log) AuditFrom(begin uint64, sizes []uint64, fn func(size uint64, root []byte) error) error {
	size := l.Size()
	if begin > size {
		return fmt.Errorf("%w: audit from %d, committed size %d", ErrSizeOutOfRange, begin, size)
	}
	for i, s := range sizes {
		if s > size || s < begin {
			return fmt.Errorf("%w: audit size %d, want %d to the committed size %d", ErrSizeOutOfRange, s, begin, size)
		}
		if i > 0 && s < sizes[i-1] {
			return fmt.Errorf("%w: audit sizes not in order: %d after %d", ErrSizeOutOfRange, s, sizes[i-1])
		}
	}
	border, err := readNodes(l.db, compact.RangeNodes(0, begin, nil))
	if err != nil {
		return err
	}
	rng, err := factory.NewRange(0, begin, border)
	if err != nil {
		return fmt.Errorf("%w: right border of size %d: %v", ErrCorrupt, begin, err)
	}

	leaves, err := l.db.NewIter(&pebble.IterOptions{
		LowerBound: leafKey(nil, begin),
		UpperBound: leafKey(nil, size),
	})
	if err != nil {
		return err
	}
	defer leaves.Close()
	hashes, err := l.db.NewIter(&pebble.IterOptions{
		LowerBound: nodeKey(nil, compact.NewNodeID(0, begin)),
		UpperBound: nodeKey(nil, compact.NewNodeID(0, size)),
	})
	if err != nil {
		return err
	}
	defer hashes.Close()

	next := 0 // index into sizes of the next root to report
	report := func() error {
		for ; next < len(sizes) && sizes[next] == rng.End(); next++ {
			if err := fn(sizes[next], rootOf(rng)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := report(); err != nil {
		return err
	}

	// Stored interior nodes serve proofs: each must be the node the leaves
	// make. The compact range reports every node it completes.
	var nodeErr error
	nodeKeyBuf := make([]byte, 0, maxKeyLen)
	checkNode := func(id compact.NodeID, computed []byte) {
		if nodeErr != nil || id.Level == 0 || !storedLevel(id.Level) {
			return
		}
		v, closer, err := l.db.Get(nodeKey(nodeKeyBuf[:0], id))
		if errors.Is(err, pebble.ErrNotFound) {
			nodeErr = fmt.Errorf("%w: node (level %d, index %d) missing", ErrCorrupt, id.Level, id.Index)
			return
		} else if err != nil {
			nodeErr = err
			return
		}
		defer closer.Close()
		if !bytes.Equal(v, computed) {
			nodeErr = fmt.Errorf("%w: node (level %d, index %d) over leaves [%d, %d) is stored as %x, the leaves make %x",
				ErrCorrupt, id.Level, id.Index, id.Index<<id.Level, (id.Index+1)<<id.Level, v, computed)
		}
	}
	key := make([]byte, 0, maxKeyLen)
	leaves.First()
	hashes.First()
	for i := begin; i < size; i++ {
		data, err := iterValue(leaves, leafKey(key[:0], i))
		if err != nil {
			return err
		}
		computed := hasher.HashLeaf(data)
		stored, err := iterValue(hashes, nodeKey(key[:0], compact.NewNodeID(0, i)))
		if err != nil {
			return err
		}
		if !bytes.Equal(stored, computed) {
			return &LeafError{Index: i, Stored: bytes.Clone(stored), Computed: computed}
		}
		if err := rng.Append(computed, checkNode); err != nil {
			return err // unreachable: an empty range has no hashes to be wrong
		}
		if nodeErr != nil {
			return nodeErr
		}
		if err := report(); err != nil {
			return err
		}
		leaves.Next()
		hashes.Next()
	}
	return nil
}

// iterValue returns the value at it, which must be positioned at want.
func iterValue(it *pebble.Iterator, want []byte) ([]byte, error) {
	if !it.Valid() {
		if err := it.Error(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: key %q missing", ErrCorrupt, want)
	}
	if !bytes.Equal(it.Key(), want) {
		return nil, fmt.Errorf("%w: key %q missing, found %q", ErrCorrupt, want, it.Key())
	}
	return it.ValueAndErr()
}
