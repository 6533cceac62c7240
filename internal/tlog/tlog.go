package tlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

var (
	// ErrLeafOutOfRange reports a leaf index at or past the size it was
	// asked about.
	ErrLeafOutOfRange = errors.New("tlog: leaf out of range")
	// ErrSizeOutOfRange reports a tree size larger than the committed size,
	// or tree sizes given in the wrong order.
	ErrSizeOutOfRange = errors.New("tlog: size out of range")
	// ErrStaleStage reports a Stage that is not based on the committed log:
	// passed to Apply when it was not begun on the current committed state
	// (applied twice, a sibling stage applied first, or a stage of another
	// Log), or passed to Write when the db holds another size than the one
	// it began on.
	ErrStaleStage = errors.New("tlog: stage not based on the committed log")
	// ErrCorrupt reports a store that breaks the invariants of the package
	// comment: a missing or malformed key below the committed size. The node
	// cannot serve the log and should stop.
	ErrCorrupt = errors.New("tlog: store corrupt")
)

// LeafError is returned by Audit when a stored leaf's data no longer hashes
// to the stored leaf hash.
type LeafError struct {
	Index    uint64
	Stored   []byte // leaf hash stored at level 0
	Computed []byte // RFC 6962 leaf hash of the stored leaf data
}

func (e *LeafError) Error() string {
	return fmt.Sprintf("tlog: leaf %d: stored hash %x, data hashes to %x", e.Index, e.Stored, e.Computed)
}

var (
	hasher  = rfc6962.DefaultHasher
	factory = &compact.RangeFactory{Hash: hasher.HashChildren}
)

// Log is the committed state of the log: its size, root and the compact
// range of its right border. Read methods are safe for concurrent use with
// each other and with a Stage being built, written and applied.
type Log struct {
	db *pebble.DB

	mu   sync.RWMutex
	size uint64
	root []byte
	rng  *compact.Range // [0, size); never mutated once published
}

// Open loads the log from db. An empty db (no "t/s" key) is an empty log.
// The compact range of the right border is read from the stored nodes of the
// size's decomposition; leaves are not rehashed.
func Open(db *pebble.DB) (*Log, error) {
	size, err := readSize(db)
	if err != nil {
		return nil, err
	}
	hashes, err := readNodes(db, compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	rng, err := factory.NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("%w: right border of size %d: %v", ErrCorrupt, size, err)
	}
	return &Log{db: db, size: size, root: rootOf(rng), rng: rng}, nil
}

// Size returns the committed number of leaves.
func (l *Log) Size() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.size
}

// Root returns the committed root hash; the RFC 6962 empty root (SHA-256 of
// nothing) for size 0.
func (l *Log) Root() []byte {
	_, root := l.committed()
	return root
}

// committed returns the committed size and a copy of the committed root.
func (l *Log) committed() (uint64, []byte) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.size, bytes.Clone(l.root)
}

// Begin starts staging the appends of one block on top of the committed
// state. The Stage is owned by one goroutine; the Log stays readable.
func (l *Log) Begin() *Stage {
	l.mu.RLock()
	rng := cloneRange(l.rng)
	l.mu.RUnlock()
	s := &Stage{log: l, base: rng.End(), rng: rng}
	s.visit = s.record
	return s
}

// Apply makes s the committed state. Call it only after the batch that
// s.Write filled has been committed to the db. It returns ErrStaleStage,
// and changes nothing, if s was not begun on the current committed state.
func (l *Log) Apply(s *Stage) error {
	if s.log != l {
		return fmt.Errorf("%w: stage of another log", ErrStaleStage)
	}
	rng := cloneRange(s.rng) // s may keep appending; the published range must not change
	root := rootOf(rng)
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.base != l.size {
		return fmt.Errorf("%w: stage begun at size %d, committed size is %d", ErrStaleStage, s.base, l.size)
	}
	l.size, l.root, l.rng = rng.End(), root, rng
	return nil
}

// Leaf returns a copy of the stored data of leaf index.
func (l *Log) Leaf(index uint64) ([]byte, error) {
	if size := l.Size(); index >= size {
		return nil, fmt.Errorf("%w: index %d, size %d", ErrLeafOutOfRange, index, size)
	}
	v, closer, err := l.db.Get(leafKey(nil, index))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: leaf %d missing", ErrCorrupt, index)
	} else if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte{}, v...), nil
}

// RootAt returns the root of the first size leaves, folded from the stored
// roots of the perfect subtrees that make up [0, size).
func (l *Log) RootAt(size uint64) ([]byte, error) {
	cur, root := l.committed()
	switch {
	case size > cur:
		return nil, fmt.Errorf("%w: size %d, committed size %d", ErrSizeOutOfRange, size, cur)
	case size == cur:
		return root, nil
	}
	hashes, err := readNodes(l.db, compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	rng, err := factory.NewRange(0, size, hashes)
	if err != nil {
		return nil, err // unreachable: RangeNodes gave exactly the needed nodes
	}
	return rootOf(rng), nil
}

// InclusionProof returns the RFC 6962 inclusion proof of leaf index in the
// tree of the given size, verifiable with proof.VerifyInclusion.
func (l *Log) InclusionProof(index, size uint64) ([][]byte, error) {
	if cur := l.Size(); size > cur {
		return nil, fmt.Errorf("%w: size %d, committed size %d", ErrSizeOutOfRange, size, cur)
	}
	if index >= size {
		return nil, fmt.Errorf("%w: index %d, size %d", ErrLeafOutOfRange, index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err // unreachable: index < size checked above
	}
	return l.rehash(nodes)
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees
// of size1 and size2 leaves, verifiable with proof.VerifyConsistency. It is
// empty when size1 is 0 or equal to size2.
func (l *Log) ConsistencyProof(size1, size2 uint64) ([][]byte, error) {
	if cur := l.Size(); size2 > cur {
		return nil, fmt.Errorf("%w: size %d, committed size %d", ErrSizeOutOfRange, size2, cur)
	}
	if size1 > size2 {
		return nil, fmt.Errorf("%w: size1 %d > size2 %d", ErrSizeOutOfRange, size1, size2)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err // unreachable: size1 <= size2 checked above
	}
	return l.rehash(nodes)
}

func (l *Log) rehash(nodes proof.Nodes) ([][]byte, error) {
	hashes, err := readNodes(l.db, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, hasher.HashChildren)
}

// readSize reads the committed size; 0 if the key is absent.
func readSize(db *pebble.DB) (uint64, error) {
	v, closer, err := db.Get(sizeKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: size value has %d bytes, want 8", ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// stride is the spacing of the interior levels that are stored: besides
// the leaf hashes (level 0), only nodes whose level is a multiple of stride
// are kept. A node of another level is folded from the at most
// 2^(stride-1) stored nodes below it, which lie next to each other in the
// key space. This keeps about 1/15 of an interior node per leaf instead of
// one, for a few more hashes per proof node.
const stride = 4

// storedLevel reports whether nodes of level are written to the db.
func storedLevel(level uint) bool { return level%stride == 0 }

// readNodes returns the hashes of ids, in order: stored ones as copies,
// the others folded from the stored level below.
func readNodes(db *pebble.DB, ids []compact.NodeID) ([][]byte, error) {
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := readNode(db, id)
		if err != nil {
			return nil, err
		}
		hashes[i] = h
	}
	return hashes, nil
}

// readNode returns the hash of node id.
func readNode(db *pebble.DB, id compact.NodeID) ([]byte, error) {
	base := id.Level - id.Level%stride // the stored level at or below id
	n := uint64(1) << (id.Level - base)
	first := compact.NewNodeID(base, id.Index<<(id.Level-base))
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: nodeKey(nil, first),
		UpperBound: nodeKey(nil, compact.NewNodeID(base, first.Index+n)),
	})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	level := make([][]byte, 0, n)
	key := make([]byte, 0, maxKeyLen)
	it.First()
	for j := range n {
		child := compact.NewNodeID(base, first.Index+j)
		v, err := iterValue(it, nodeKey(key[:0], child))
		if err != nil {
			return nil, fmt.Errorf("%w: node (level %d, index %d) missing", ErrCorrupt, child.Level, child.Index)
		}
		if len(v) != hasher.Size() {
			return nil, fmt.Errorf("%w: node (level %d, index %d) has %d bytes, want %d", ErrCorrupt, child.Level, child.Index, len(v), hasher.Size())
		}
		level = append(level, bytes.Clone(v))
		it.Next()
	}
	for len(level) > 1 { // fold pairwise up to id's level
		for j := range len(level) / 2 {
			level[j] = hasher.HashChildren(level[2*j], level[2*j+1])
		}
		level = level[:len(level)/2]
	}
	return level[0], nil
}

// rootOf returns the root of a compact range that begins at 0.
func rootOf(rng *compact.Range) []byte {
	if rng.End() == 0 {
		return hasher.EmptyRoot()
	}
	root, err := rng.GetRootHash(nil)
	if err != nil {
		// Unreachable: every range in this package begins at 0.
		panic(fmt.Sprintf("tlog: root of range [%d, %d): %v", rng.Begin(), rng.End(), err))
	}
	return root
}

// cloneRange copies rng so that appending to the copy leaves rng unchanged.
// Range.Append reuses the backing array of its hash list, so sharing it
// between two ranges is unsafe; the hashes themselves are never modified.
func cloneRange(rng *compact.Range) *compact.Range {
	c, err := factory.NewRange(rng.Begin(), rng.End(), append([][]byte(nil), rng.Hashes()...))
	if err != nil {
		panic(fmt.Sprintf("tlog: clone range: %v", err)) // unreachable: rng is valid
	}
	return c
}
