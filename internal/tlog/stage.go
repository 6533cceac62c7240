package tlog

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/transparency-dev/merkle/compact"
)

// Stage holds the appends of one block on top of the committed state of a
// Log. It is not safe for concurrent use; the Log it came from is.
type Stage struct {
	log  *Log
	base uint64         // committed size when the stage began
	rng  *compact.Range // [0, base+staged leaves)

	leaves [][]byte // staged leaf data; leaves[i] is leaf base+i
	arena  []byte   // backing store of the copies in leaves
	nodes  []node   // every node the compact range created, in creation order

	visit compact.VisitFn // s.record, bound once to avoid an allocation per Append
}

// node is a node of the tree created by a staged append.
type node struct {
	id   compact.NodeID
	hash []byte
}

func (s *Stage) record(id compact.NodeID, hash []byte) {
	s.nodes = append(s.nodes, node{id: id, hash: hash})
}

// Append stages leaf as the next leaf of the log and returns its index. It
// copies leaf, so the caller may reuse it. The leaf is hashed with the RFC
// 6962 leaf hash, SHA-256(0x00 || leaf).
func (s *Stage) Append(leaf []byte) uint64 {
	index := s.rng.End()
	s.leaves = append(s.leaves, s.keep(leaf))
	if err := s.rng.Append(hasher.HashLeaf(leaf), s.visit); err != nil {
		// Unreachable: the range was built by RangeFactory.NewRange, which
		// checked its hashes against its size.
		panic(fmt.Sprintf("tlog: append leaf %d: %v", index, err))
	}
	return index
}

// Leaf returns the data of leaf index: a leaf this stage appended, or a
// committed one (as Log.Leaf returns it). The caller must not change it.
func (s *Stage) Leaf(index uint64) ([]byte, error) {
	if index < s.base {
		return s.log.Leaf(index)
	}
	if i := index - s.base; i < uint64(len(s.leaves)) {
		return s.leaves[i], nil
	}
	return nil, fmt.Errorf("%w: index %d, size %d", ErrLeafOutOfRange, index, s.Size())
}

// arenaChunk is the size of the chunks that hold copies of staged leaves:
// copying into chunks, unlike growing one buffer, never copies a leaf twice.
const arenaChunk = 64 << 10

// keep returns a copy of leaf.
func (s *Stage) keep(leaf []byte) []byte {
	if cap(s.arena)-len(s.arena) < len(leaf) {
		s.arena = make([]byte, 0, max(arenaChunk, len(leaf)))
	}
	s.arena = append(s.arena, leaf...)
	return s.arena[len(s.arena)-len(leaf) : len(s.arena) : len(s.arena)]
}

// WriteBytes estimates how many bytes Write puts into a batch, so the
// caller can size it once.
func (s *Stage) WriteBytes() int {
	n := 16
	for _, leaf := range s.leaves {
		n += len(leaf) + 2*(maxKeyLen+8) + hasher.Size() // leaf key and value, leaf hash
	}
	return n + len(s.nodes)/8*(maxKeyLen+8+hasher.Size()) // generous for the stored interior nodes
}

// Size returns the size of the log with the staged leaves.
func (s *Stage) Size() uint64 { return s.rng.End() }

// Root returns the root of the log with the staged leaves. It costs one
// hash per level of the right border, so call it once per block.
func (s *Stage) Root() []byte { return rootOf(s.rng) }

// Write puts the staged leaves, the node hashes they created at the stored
// levels (the leaf hashes at level 0 and every stride-th level above) and
// the new size into b. The caller commits b; the
// Stage does not.
//
// The only read is of the stored size: Write returns ErrStaleStage, and puts
// nothing, if the db no longer holds the size the stage began on, because
// another stage's batch was committed since (a missed Apply, or two stages
// begun on one state). Committing such a stage would overwrite committed
// leaves.
func (s *Stage) Write(b *pebble.Batch) error {
	stored, err := readSize(s.log.db)
	if err != nil {
		return err
	}
	if stored != s.base {
		return fmt.Errorf("%w: stage begun at size %d, db holds size %d", ErrStaleStage, s.base, stored)
	}
	key := make([]byte, 0, maxKeyLen)
	for i, leaf := range s.leaves {
		key = leafKey(key[:0], s.base+uint64(i))
		if err := b.Set(key, leaf, nil); err != nil {
			return err
		}
	}
	for _, n := range s.nodes {
		if !storedLevel(n.id.Level) {
			continue
		}
		key = nodeKey(key[:0], n.id)
		if err := b.Set(key, n.hash, nil); err != nil {
			return err
		}
	}
	return b.Set(sizeKey, binary.BigEndian.AppendUint64(nil, s.rng.End()), nil)
}
