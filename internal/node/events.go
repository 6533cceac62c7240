package node

import (
	"context"
	"fmt"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/verdict"
)

// eventSeq numbers the events of one block as they are published and
// replayed: the block, its accepted readings in log order, then its device
// changes, twin changes and contract events in execution order (the order
// of api.EventTypes). Live events and replayed ones are made by the same
// methods from the same values, so a replayed event is the live one.
type eventSeq struct {
	height int64
	n      uint32
}

func (s *eventSeq) next(typ, device string, data any) api.Event {
	s.n++
	return api.Event{ID: api.EventID{Height: s.height, N: s.n}, Type: typ, Device: device, Data: data}
}

func (s *eventSeq) block(b *state.Block) api.Event { return s.next("block", "", api.BlockEvent(b)) }

func (s *eventSeq) reading(v verdict.Verdict) api.Event {
	return s.next("reading", v.Device, apiwire.ReadingEvent(v))
}

func (s *eventSeq) device(c app.DeviceChange) api.Event {
	return s.next("device", c.Device.ID, api.DeviceEvent(c.Action, c.Device, c.Access, c.Height))
}

func (s *eventSeq) twin(c app.TwinChange) api.Event {
	return s.next("twin", c.Device, apiwire.TwinEvent{Device: c.Device, Side: c.Side, Version: c.Version, Height: c.Height, State: c.State})
}

func (s *eventSeq) contractEvent(e *state.Event) api.Event {
	return s.next("contract_event", "", api.ContractEvent(e))
}

// EventRange implements api.EventSource: blocks from the first with a
// feed in the store (state.Feed: blocks committed by a node from before
// feeds have none) to the last committed.
func (n *Node) EventRange() (first, last int64, err error) {
	last = n.app.Meta().Height // the store holds this block's feed: Commit writes it before the meta moves
	first, err = n.app.Reader().FirstFeed()
	return first, last, err
}

// ReplayEvents implements api.EventSource, from the blocks' feeds.
func (n *Node) ReplayEvents(ctx context.Context, from, to int64, emit func(*api.Event) error) error {
	r := n.app.Reader()
	for h := from; h <= to; h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		be, err := r.BlockEvents(h)
		if err != nil {
			return fmt.Errorf("node: events of block %d: %w", h, err)
		}
		if be == nil {
			return fmt.Errorf("node: events of block %d: the store holds no feed of it", h)
		}
		seq := eventSeq{height: h}
		evs := make([]api.Event, 0, 1+len(be.Readings)+len(be.Devices)+len(be.Twins)+len(be.Events))
		evs = append(evs, seq.block(be.Block))
		for _, v := range be.Readings {
			evs = append(evs, seq.reading(v))
		}
		for i := range be.Devices {
			evs = append(evs, seq.device(app.DeviceChange{Action: be.Devices[i].Action, Device: &be.Devices[i].Device, Access: be.Devices[i].Access, Height: h}))
		}
		for _, t := range be.Twins {
			evs = append(evs, seq.twin(app.TwinChange{Device: t.Device, Side: t.Side, Version: t.Change.Version, Height: t.Change.Height, State: t.Change.State}))
		}
		for _, e := range be.Events {
			evs = append(evs, seq.contractEvent(e))
		}
		for i := range evs {
			if err := emit(&evs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
