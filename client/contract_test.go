package client_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
	"github.com/iotledger/iotledger/internal/state"
)

func TestContracts(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	var ids []string
	after := uint64(0)
	for range 5 {
		p, err := c.Contracts(t.Context(), after, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range p.Contracts {
			ids = append(ids, k.ID) // a ContractSummary has no document (no Source field)
		}
		after = p.Next
		if !p.More {
			break
		}
	}
	if diff := cmp.Diff(ids, []string{"ctr-1", "ctr-2"}); diff != "" || after != 2 {
		t.Errorf("paged ids, ending at next %d (-got +want):\n%s", after, diff)
	}
	want, _ := l.Contract("ctr-1")
	p, err := c.Contracts(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Contracts[0]; uint64(got.Balance) != want.Balance || got.Owner != want.Owner || got.State["paid"] != json.Number("200") {
		t.Errorf("ctr-1 listed as %+v, want %+v", got, want)
	}
}

func TestContract(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	got, err := c.Contract(t.Context(), "ctr-1")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := l.Contract("ctr-1")
	if diff := cmp.Diff(mirror(t, got), mirror(t, api.Contract(want))); diff != "" {
		t.Errorf("contract (-got +want):\n%s", diff)
	}
	if got.Source != apitest.TipSource {
		t.Errorf("source %q, want the document", got.Source)
	}
	_, err = c.Contract(t.Context(), "ctr-9")
	wantError(t, err, 404, api.KindNotFound, client.ErrNotFound)
	_, err = c.Contract(t.Context(), "ctr-x/../../status")
	wantError(t, err, 400, api.KindInvalidID, nil)
}

func TestContractEvents(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	var got []uint64
	after := uint64(0)
	for range 5 {
		p, err := c.ContractEvents(t.Context(), "ctr-1", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			got = append(got, e.N)
		}
		after = p.Next
		if !p.More {
			break
		}
	}
	if diff := cmp.Diff(got, []uint64{1, 2, 3}); diff != "" {
		t.Errorf("paged events (-got +want):\n%s", diff)
	}
	l.AddContractEvent("ctr-1", 12, "paid", map[string]any{"amount": int64(5)})
	p, err := c.ContractEvents(t.Context(), "ctr-1", after, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []client.ContractEvent{{Contract: "ctr-1", N: 4, Height: 12, Trigger: "pay", Name: "paid", Fields: map[string]any{"amount": json.Number("5")}}}
	if diff := cmp.Diff(p.Events, want); diff != "" || p.Next != 4 {
		t.Errorf("events after %d, next %d (-got +want):\n%s", after, p.Next, diff)
	}
	_, err = c.ContractEvents(t.Context(), "ctr-9", 0, 0)
	wantError(t, err, 404, api.KindNotFound, client.ErrNotFound)
}

// TestContractEventLive decodes a contract_event of the event stream.
func TestContractEventLive(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	l.Publish(api.Event{Type: "contract_event", Data: &state.Event{Contract: "ctr-1", N: 7, Height: 20, Tx: -1, Trigger: "tick", Name: "check", Fields: map[string]any{"ok": true}}})
	ev, ok := <-events
	if !ok {
		t.Fatalf("stream ended: %v", ctx.Err())
	}
	var got client.ContractEvent
	if err := ev.Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := client.ContractEvent{Contract: "ctr-1", N: 7, Height: 20, Tx: -1, Trigger: "tick", Name: "check", Fields: map[string]any{"ok": true}}
	if diff := cmp.Diff(got, want); ev.Type != "contract_event" || diff != "" {
		t.Errorf("event %s (-got +want):\n%s", ev.Type, diff)
	}
}
