package query

import (
	"encoding/binary"
	"fmt"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/state"
)

// Blocks returns up to limit of the app's block records, newest first,
// from block from down (from 0 or past the latest: from the latest), and
// the height to continue from (0 on the last page).
func (r *Reader) Blocks(from int64, limit int) ([]*state.Block, int64, error) {
	var before []byte
	if from > 0 && from < 1<<62 {
		before = binary.BigEndian.AppendUint64(nil, uint64(from)+1)
	}
	bs, next, err := newestFirst(r.c.db, []byte(state.PrefixBlock), before, limit, decodeBlock)
	if err != nil || next == nil {
		return bs, 0, err
	}
	if len(next) != 8 {
		return nil, 0, fmt.Errorf("%w: block key %x", state.ErrCorrupt, next)
	}
	// next is the key of the last block returned: the next page ends below it.
	return bs, int64(binary.BigEndian.Uint64(next)) - 1, nil
}

func decodeBlock(v []byte) (*state.Block, error) {
	b := new(state.Block)
	if err := dcbor.DecMode.Unmarshal(v, b); err != nil {
		return nil, fmt.Errorf("%w: block: %v", state.ErrCorrupt, err)
	}
	return b, nil
}

// LatestReadings returns up to limit committed readings, newest first by
// log index, from index from down (from the newest when from is at or
// past the log's size), and the index to continue from (nil on the last
// page).
func (r *Reader) LatestReadings(from uint64, limit int) ([]*Stored, *uint64, error) {
	size := r.log.Size()
	if size == 0 {
		return nil, nil, nil
	}
	i := min(from, size-1)
	var out []*Stored
	for {
		if len(out) == limit {
			return out, &i, nil
		}
		s, err := r.leaf(i)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, s)
		if i == 0 {
			return out, nil, nil
		}
		i--
	}
}

// BlockReadings returns up to limit of the readings block b appended to
// the log, in log order from index from (below the block's first: from
// its first), and the index to continue from (nil on the last page).
func (r *Reader) BlockReadings(b *state.Block, from uint64, limit int) ([]*Stored, *uint64, error) {
	if b.Readings > b.LogSize {
		return nil, nil, fmt.Errorf("%w: block %d appended %d readings to a log of %d", state.ErrCorrupt, b.Height, b.Readings, b.LogSize)
	}
	first := b.LogSize - b.Readings
	var out []*Stored
	for i := max(from, first); i < b.LogSize; i++ {
		if len(out) == limit {
			return out, &i, nil
		}
		s, err := r.leaf(i)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, s)
	}
	return out, nil, nil
}

// leaf returns the committed reading at log index i, with its block.
func (r *Reader) leaf(i uint64) (*Stored, error) {
	l, err := r.committedLeaf(i)
	if err != nil {
		return nil, err
	}
	return storedLeaf(l.entry, l.raw)
}
