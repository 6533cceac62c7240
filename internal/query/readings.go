package query

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/tlog"
	"github.com/iotledger/iotledger/reading"
)

// Stored is a committed reading as the ledger holds it.
type Stored struct {
	Index  uint64
	Height int64
	Key    []byte // the device key it was verified with
	Raw    []byte // the COSE_Sign1 reading
	*reading.Signed
}

// Reading returns a committed reading, or nil if (device, seq) was never committed.
func (r *Reader) Reading(id string, seq uint64) (*Stored, error) {
	p, err := r.c.SharedProgress(id)
	if err != nil {
		return nil, err
	}
	e, err := state.FindSeq(r.c, p, id, seq)
	if err != nil || e == nil {
		return nil, err
	}
	s, err := r.stored(*e)
	if errors.Is(err, ErrPastLog) {
		return nil, nil // its block is being committed: not yet, to readers
	}
	return s, err
}

// stored returns the reading e locates. Commit writes a block's seq
// records in the block's batch and moves the log's size after it, so for
// a moment a seq record may point past the log: stored then returns
// ErrPastLog (wrapped), and callers treat the reading as not committed
// yet rather than as a fault.
func (r *Reader) stored(e state.SeqEntry) (*Stored, error) {
	leaf, err := r.log.Leaf(e.Index)
	if errors.Is(err, tlog.ErrLeafOutOfRange) {
		return nil, fmt.Errorf("%w: %v", ErrPastLog, err)
	} else if err != nil {
		return nil, err
	}
	return storedLeaf(e, leaf)
}

// storedLeaf is the reading of leaf, which e locates.
func storedLeaf(e state.SeqEntry, leaf []byte) (*Stored, error) {
	key, raw, err := state.SplitLeaf(leaf)
	if err != nil {
		return nil, fmt.Errorf("query: leaf %d: %w", e.Index, err)
	}
	s, err := reading.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("query: leaf %d holds an undecodable reading: %w", e.Index, err)
	}
	return &Stored{Index: e.Index, Height: e.Height, Key: key, Raw: raw, Signed: s}, nil
}

// ReadingRange selects a device's readings: by sequence number (From, To
// inclusive) or, when ByTime, by device time in unix ms (From, To
// inclusive). Results come in sequence order.
type ReadingRange struct {
	ByTime   bool
	From, To uint64 // seq range, or time range as unix ms when ByTime
	// StartSeq, when ByTime, skips readings below this seq: a time query
	// continues from the next cursor of its previous page this way.
	StartSeq uint64
	Limit    int
}

// Readings returns up to q.Limit readings and, if there are more, the seq to
// continue from.
func (r *Reader) Readings(id string, q ReadingRange) ([]*Stored, *uint64, error) {
	prefix := state.SeqPrefix(id)
	lower := append(append([]byte(nil), prefix...), be64(q.StartSeq)...)
	upper := append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if !q.ByTime {
		lower = append(append([]byte(nil), prefix...), be64(q.From)...)
		if q.To < ^uint64(0) {
			upper = append(append([]byte(nil), prefix...), be64(q.To+1)...)
		}
	}
	it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	var out []*Stored
	for ok := it.First(); ok; ok = it.Next() {
		var e state.SeqEntry
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, nil, err
		}
		if err := dcbor.DecMode.Unmarshal(v, &e); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", state.ErrCorrupt, err)
		}
		if q.ByTime && (e.Time < int64(q.From) || e.Time > int64(q.To)) {
			continue
		}
		seq := binary.BigEndian.Uint64(it.Key()[len(prefix):])
		if len(out) == q.Limit {
			return out, &seq, nil
		}
		s, err := r.stored(e)
		if errors.Is(err, ErrPastLog) {
			continue // its block is being committed
		} else if err != nil {
			return nil, nil, err
		}
		out = append(out, s)
	}
	return out, nil, it.Error()
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// Proof is the app's part of a receipt: the reading, its leaf and the block
// whose app hash commits to the log that holds it.
type Proof struct {
	Stored *Stored
	Block  *state.Block
	Path   [][]byte // inclusion proof of Stored.Index in a log of Block.LogSize
}

// Proof returns the inclusion proof of a committed reading against the log
// as of the block that committed it, or nil if (device, seq) is unknown.
func (r *Reader) Proof(id string, seq uint64) (*Proof, error) {
	s, err := r.Reading(id, seq)
	if err != nil || s == nil {
		return nil, err
	}
	b, err := r.Block(s.Height)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("query: no record of block %d", s.Height)
	}
	path, err := r.log.InclusionProof(s.Index, b.LogSize)
	if err != nil {
		return nil, err
	}
	return &Proof{Stored: s, Block: b, Path: path}, nil
}
