package query

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/tlog"
	"github.com/iotledger/iotledger/reading"
)

// ErrPastLog reports a log index or size past the committed log.
var ErrPastLog = errors.New("query: past the committed log")

// LogEntry is one reading of the log, found by its index: the device and
// seq it carries, the block that committed it, and its RFC 6962 leaf hash
// (of the leaf receipt.Leaf encodes: the device key and the reading).
type LogEntry struct {
	Index    uint64
	Device   string
	Seq      uint64
	Height   int64
	LeafHash []byte
}

// Consistency is the RFC 6962 consistency proof between the log's first
// From and first To leaves, with both roots (From 0: the empty log, whose
// root is the hash of nothing, and an empty proof).
type Consistency struct {
	From, To         uint64
	FromRoot, ToRoot []byte
	Proof            [][]byte
}

// LogSize returns the committed size of the reading log.
func (r *Reader) LogSize() uint64 { return r.log.Size() }

// LogEntry returns the reading at log index i; ErrPastLog (wrapped) if i
// is at or past the committed size.
func (r *Reader) LogEntry(i uint64) (*LogEntry, error) {
	l, err := r.committedLeaf(i)
	if err != nil {
		return nil, err
	}
	return &LogEntry{Index: i, Device: l.device, Seq: l.seq, Height: l.entry.Height, LeafHash: rfc6962.DefaultHasher.HashLeaf(l.raw)}, nil
}

// logLeaf is a committed log leaf, the reading it holds (device and seq)
// and the seq record that points back to it.
type logLeaf struct {
	raw    []byte
	device string
	seq    uint64
	entry  state.SeqEntry
}

// committedLeaf returns the leaf at log index i with its seq record;
// ErrPastLog (wrapped) if i is at or past the committed size, state.ErrCorrupt
// (wrapped) if the leaf and its seq record disagree.
func (r *Reader) committedLeaf(i uint64) (*logLeaf, error) {
	raw, err := r.log.Leaf(i)
	if errors.Is(err, tlog.ErrLeafOutOfRange) {
		return nil, fmt.Errorf("%w: %v", ErrPastLog, err)
	} else if err != nil {
		return nil, err
	}
	device, seq, err := leafReading(i, raw)
	if err != nil {
		return nil, err
	}
	// The log is applied after the batch that holds the seq entries of its
	// leaves commits, so a leaf below the size has its entry.
	e, err := state.GetSeq(r.c, string(device), seq)
	if err != nil {
		return nil, err
	}
	if e == nil || e.Index != i {
		return nil, fmt.Errorf("%w: leaf %d holds %s seq %d, whose seq record does not point back to it", state.ErrCorrupt, i, device, seq)
	}
	return &logLeaf{raw: raw, device: string(device), seq: seq, entry: *e}, nil
}

// LogConsistency returns the consistency proof between the log's sizes
// from and to (from <= to <= LogSize); ErrPastLog (wrapped) if to is past
// the committed size.
func (r *Reader) LogConsistency(from, to uint64) (*Consistency, error) {
	if from > to {
		return nil, fmt.Errorf("query: consistency from size %d to the smaller size %d", from, to)
	}
	if size := r.log.Size(); to > size {
		return nil, fmt.Errorf("%w: size %d, committed size %d", ErrPastLog, to, size)
	}
	p, err := r.log.ConsistencyProof(from, to)
	if err != nil {
		return nil, err
	}
	c := &Consistency{From: from, To: to, Proof: p}
	if c.FromRoot, err = r.log.RootAt(from); err != nil {
		return nil, err
	}
	if c.ToRoot, err = r.log.RootAt(to); err != nil {
		return nil, err
	}
	return c, nil
}

// leafReading is the device and sequence number of the reading a stored
// log leaf (index i) holds.
func leafReading(i uint64, leaf []byte) (device []byte, seq uint64, err error) {
	_, raw, err := state.SplitLeaf(leaf)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: leaf %d: %v", state.ErrCorrupt, i, err)
	}
	if device, seq, ok := reading.Peek(raw); ok {
		return device, seq, nil
	}
	s, err := reading.Decode(raw)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: leaf %d holds an undecodable reading: %v", state.ErrCorrupt, i, err)
	}
	return []byte(s.Device), s.Seq, nil
}
