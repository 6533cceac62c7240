package node

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/verdict"
)

// drain returns what the channel holds now (up to its close): publishing
// is synchronous, so anything published is there.
func drain(ch <-chan api.Event) []api.Event {
	var out []api.Event
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return out // closed: nothing more will come
			}
			out = append(out, e)
		default:
			return out
		}
	}
}

// TestCommittedEvents checks that a committed block's events reach
// subscribers in the order of api.EventTypes, numbered from 1 in the
// block: the block, its accepted readings, device changes, twin changes
// and contract events.
func TestCommittedEvents(t *testing.T) {
	n := &Node{hub: newHub()}
	n.metrics = newMetrics(n)
	sub := n.Subscribe()
	defer sub.Cancel()
	b := &state.Block{Height: 12, Readings: 1}
	accepted := verdict.Verdict{Device: "dev1a", Seq: 3, Status: verdict.Accepted, Index: 9, Height: 12}
	outcomes := []app.Outcome{
		{Verdict: verdict.Verdict{Device: "dev1a", Seq: 2, Status: verdict.Rejected, Code: verdict.CodeRateLimited, Height: 12}},
		{Verdict: accepted},
	}
	devices := []app.DeviceChange{{Action: "registered", Device: &state.Device{ID: "dev1b"}, Height: 12}}
	twins := []app.TwinChange{{Device: "dev1a", Side: state.SideDesired, Version: 2, Height: 12}}
	emitted := []*state.Event{
		{Contract: "ctr-1", N: 4, Height: 12, Tx: 0, Trigger: "pay", Name: "paid", Fields: map[string]any{"amount": int64(100)}},
		{Contract: "ctr-2", N: 1, Height: 12, Tx: -1, Trigger: "tick", Name: "check", Fields: map[string]any{"height": int64(12)}},
	}
	n.hub.publish(api.Event{}) // not through Committed: shows that ids restart with each block
	drain(sub.Events)
	n.Committed(b, outcomes, devices)
	n.CommittedTwins(twins)
	n.CommittedEvents(emitted)
	n.CommittedEvents(nil)
	id := func(n uint32) api.EventID { return api.EventID{Height: 12, N: n} }
	want := []api.Event{
		{ID: id(1), Type: "block", Data: api.BlockEvent(b)},
		{ID: id(2), Type: "reading", Device: "dev1a", Data: apiwire.ReadingEvent(accepted)},
		{ID: id(3), Type: "device", Device: "dev1b", Data: apiwire.DeviceEvent{Action: "registered", Device: api.Device(devices[0].Device), Height: 12}},
		{ID: id(4), Type: "twin", Device: "dev1a", Data: apiwire.TwinEvent{Device: "dev1a", Side: state.SideDesired, Version: 2, Height: 12}},
		{ID: id(5), Type: "contract_event", Data: api.ContractEvent(emitted[0])},
		{ID: id(6), Type: "contract_event", Data: api.ContractEvent(emitted[1])},
	}
	if diff := cmp.Diff(drain(sub.Events), want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
}

// TestHubDropsAndTells fills a subscriber's buffer: the hub never waits,
// drops the rest, counts them, and signals the loss before the next event
// the subscriber gets.
func TestHubDropsAndTells(t *testing.T) {
	h := newHub()
	slow, fast := h.subscribe(), h.subscribe()
	defer slow.Cancel()
	for i := range hubBuffer + 2 {
		h.publish(api.Event{ID: api.EventID{Height: 1, N: uint32(i + 1)}})
		if i%64 == 0 {
			drain(fast.Events)
		}
	}
	if h.dropped != 2 {
		t.Errorf("dropped %d, want 2", h.dropped)
	}
	select {
	case <-slow.Lost:
	default:
		t.Fatal("the slow subscriber was not told of its loss")
	}
	select {
	case <-fast.Lost:
		t.Error("a subscriber that kept up was told of a loss")
	default:
	}
	if got := len(drain(slow.Events)); got != hubBuffer {
		t.Errorf("slow subscriber holds %d events, want %d", got, hubBuffer)
	}
	// After the drop it gets the next events, told before it sees them.
	h.publish(api.Event{ID: api.EventID{Height: 2, N: 1}})
	select {
	case <-slow.Lost:
		t.Error("told of a loss that did not happen")
	default:
	}
	fast.Cancel()
	fast.Cancel() // twice is harmless
	h.close()
	drain(fast.Events) // what it held before the cancel
	if _, ok := <-fast.Events; ok {
		t.Error("a cancelled subscription's channel is open")
	}
	drain(slow.Events)
	if _, ok := <-slow.Events; ok {
		t.Error("closing the hub leaves a subscription open")
	}
	if late := h.subscribe(); late.Events == nil {
		t.Error("subscribing to a closed hub returns no channel")
	} else if _, ok := <-late.Events; ok {
		t.Error("subscribing to a closed hub returns an open channel")
	}
}
