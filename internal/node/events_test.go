package node

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/state"
)

// TestCommittedEvents checks that each contract event of a committed block
// reaches subscribers as a contract_event, in order.
func TestCommittedEvents(t *testing.T) {
	n := &Node{hub: newHub()}
	events, cancel := n.Subscribe()
	defer cancel()
	emitted := []*state.Event{
		{Contract: "ctr-1", N: 4, Height: 12, Tx: 0, Trigger: "pay", Name: "paid", Fields: map[string]any{"amount": int64(100)}},
		{Contract: "ctr-2", N: 1, Height: 12, Tx: -1, Trigger: "tick", Name: "check", Fields: map[string]any{"height": int64(12)}},
	}
	n.CommittedEvents(emitted)
	n.CommittedEvents(nil)
	var got []api.Event
	for range len(emitted) + 1 {
		select {
		case e := <-events:
			got = append(got, e)
		default: // publishing is synchronous: anything published is there
		}
	}
	want := []api.Event{{Type: "contract_event", Data: api.ContractEvent(emitted[0])}, {Type: "contract_event", Data: api.ContractEvent(emitted[1])}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
}
