package query

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/verdict"
)

// BlockEvents is what the node's observers were told of a committed block,
// read back from the store: the block record, the readings it accepted (in
// log order, as their verdicts), and its feed's device changes, twin
// changes and contract events, each in execution order.
type BlockEvents struct {
	Block    *state.Block
	Readings []verdict.Verdict
	Devices  []state.DeviceChange
	Twins    []TwinEvent
	Events   []*state.Event
}

// TwinEvent is one committed change of one side of a device's twin.
type TwinEvent struct {
	Device, Side string
	Change       *state.TwinChange
}

// FirstFeed returns the first block whose feed the store holds (blocks
// committed before feeds existed have none), or 0 if none has one.
func (r *Reader) FirstFeed() (int64, error) {
	it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: []byte(state.PrefixFeed), UpperBound: state.PrefixEnd(state.PrefixFeed)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.First() {
		return 0, it.Error()
	}
	k := it.Key()[len(state.PrefixFeed):]
	if len(k) != 8 {
		return 0, fmt.Errorf("%w: feed key %q", state.ErrCorrupt, it.Key())
	}
	return int64(binary.BigEndian.Uint64(k)), nil
}

// BlockEvents returns what observers were told of block h, or nil if the
// store holds no feed of h (it is not committed, or was committed before
// feeds existed).
func (r *Reader) BlockEvents(h int64) (*BlockEvents, error) {
	f, err := state.GetFeed(r.c, h)
	if err != nil || f == nil {
		return nil, err
	}
	b, err := state.GetBlock(r.c, h)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("%w: block %d has a feed but no block record", state.ErrCorrupt, h)
	}
	out := &BlockEvents{Block: b, Devices: f.Devices}
	if out.Readings, err = r.blockReadings(b); err != nil {
		return nil, err
	}
	if out.Twins, err = r.blockTwins(h, f.Twins); err != nil {
		return nil, err
	}
	for _, ref := range f.Events {
		v, err := r.c.Get(state.EventKey(ref.Contract, ref.N))
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, fmt.Errorf("%w: block %d's feed names event %d of %s, which the store lacks", state.ErrCorrupt, h, ref.N, ref.Contract)
		}
		e, err := state.DecodeEvent(v)
		if err != nil {
			return nil, err
		}
		out.Events = append(out.Events, e)
	}
	return out, nil
}

// blockReadings returns the verdicts of the readings block b appended to
// the log: the last b.Readings leaves of its log size.
func (r *Reader) blockReadings(b *state.Block) ([]verdict.Verdict, error) {
	if b.Readings == 0 {
		return nil, nil
	}
	if b.Readings > b.LogSize {
		return nil, fmt.Errorf("%w: block %d appended %d readings to a log of %d", state.ErrCorrupt, b.Height, b.Readings, b.LogSize)
	}
	from := b.LogSize - b.Readings
	leafKey := func(i uint64) []byte { return binary.BigEndian.AppendUint64([]byte(state.PrefixLogLeaf), i) }
	it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: leafKey(from), UpperBound: leafKey(b.LogSize)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := make([]verdict.Verdict, 0, b.Readings)
	for ok := it.First(); ok; ok = it.Next() {
		i := from + uint64(len(out))
		if k := it.Key(); binary.BigEndian.Uint64(k[len(state.PrefixLogLeaf):]) != i {
			return nil, fmt.Errorf("%w: leaf %d of block %d missing", state.ErrCorrupt, i, b.Height)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		device, seq, err := leafReading(i, v)
		if err != nil {
			return nil, err
		}
		out = append(out, verdict.Verdict{Device: string(device), Seq: seq, Status: verdict.Accepted, Code: verdict.CodeOK, Index: i, Height: b.Height})
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if uint64(len(out)) != b.Readings {
		return nil, fmt.Errorf("%w: block %d appended %d readings, the log holds %d of them", state.ErrCorrupt, b.Height, b.Readings, len(out))
	}
	return out, nil
}

// blockTwins returns the twin changes refs name: the k-th ref to a
// (device, side) is the k-th entry of that side's history at height h.
func (r *Reader) blockTwins(h int64, refs []state.TwinRef) ([]TwinEvent, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	type side struct{ device, side string }
	changes := map[side][]*state.TwinChange{} // per side, the changes at h not yet used, in slot order
	out := make([]TwinEvent, 0, len(refs))
	for _, ref := range refs {
		k := side{ref.Device, ref.Side}
		cs, ok := changes[k]
		if !ok {
			var err error
			if cs, err = r.twinChangesAt(ref.Device, ref.Side, h); err != nil {
				return nil, err
			}
		}
		if len(cs) == 0 {
			return nil, fmt.Errorf("%w: block %d's feed names more %s twin changes of %s than its history holds", state.ErrCorrupt, h, ref.Side, ref.Device)
		}
		out = append(out, TwinEvent{Device: ref.Device, Side: ref.Side, Change: cs[0]})
		changes[k] = cs[1:]
	}
	return out, nil
}

// twinChangesAt returns one side's history entries of block h, in slot order.
func (r *Reader) twinChangesAt(id, side string, h int64) ([]*state.TwinChange, error) {
	lower := binary.BigEndian.AppendUint64(state.TwinLogPrefix(id, side), uint64(h))
	it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: state.TwinLogKey(id, side, h+1, 0)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*state.TwinChange
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		c, err := state.DecodeTwinChange(v)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, it.Error()
}
