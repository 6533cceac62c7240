package client_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
)

// next returns the next event, failing if the stream ended.
func next(t *testing.T, events <-chan client.Event) client.Event {
	t.Helper()
	ev, ok := <-events
	if !ok {
		t.Fatal("the stream ended")
	}
	return ev
}

// TestEventsResume resumes a stream with the last event's ID: the events
// committed while the client was away come once each, in order, then the
// live ones.
func TestEventsResume(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h1 := l.Publish(api.Event{Type: "block", Data: 1}, api.Event{Type: "reading", Device: apitest.DeviceID(0), Data: 2})
	last := next(t, events)
	if last.ID != fmt.Sprintf("%d-1", h1) || last.Type != "block" {
		t.Fatalf("first event %+v, want block %d-1", last, h1)
	}
	cancel()
	for range events {
	}
	if err := l.WaitSubscribers(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	h2 := l.Publish(api.Event{Type: "block", Data: 3}, api.Event{Type: "twin", Device: apitest.DeviceID(1), Data: 4})

	resumed, err := c.EventsWith(t.Context(), client.EventOptions{LastEventID: last.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WaitSubscribers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	h3 := l.Publish(api.Event{Type: "block", Data: 5})
	var got []string
	for range 4 {
		ev := next(t, resumed)
		got = append(got, ev.ID+" "+ev.Type+" "+string(ev.Data))
	}
	want := []string{fmt.Sprintf("%d-2 reading 2", h1), fmt.Sprintf("%d-1 block 3", h2), fmt.Sprintf("%d-2 twin 4", h2), fmt.Sprintf("%d-1 block 5", h3)}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("resumed after %s (-got +want):\n%s", last.ID, diff)
	}
}

// TestEventsFilter asks for one device's twin changes, replayed from the
// start of a block.
func TestEventsFilter(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	dev := apitest.DeviceID(1)
	h := l.Publish(
		api.Event{Type: "block", Data: 0},
		api.Event{Type: "twin", Device: apitest.DeviceID(0), Data: 1},
		api.Event{Type: "reading", Device: dev, Data: 2},
		api.Event{Type: "twin", Device: dev, Data: 3},
	)
	events, err := c.EventsWith(t.Context(), client.EventOptions{Types: []string{"twin"}, Device: dev, LastEventID: fmt.Sprintf("%d-0", h)})
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(t, events); ev.ID != fmt.Sprintf("%d-4", h) || string(ev.Data) != "3" {
		t.Errorf("filtered event %+v, want %d-4 with data 3", ev, h)
	}
}

// TestEventsRefused: a stream the node cannot start is an *Error.
func TestEventsRefused(t *testing.T) {
	c, l, _ := newNode(t, api.Options{EventReplayBlocks: 2})
	var h int64
	for range 4 {
		h = l.Publish(api.Event{Type: "block", Data: 0})
	}
	_, err := c.EventsWith(t.Context(), client.EventOptions{LastEventID: fmt.Sprintf("%d-1", h-3)})
	wantError(t, err, 410, api.KindEventIDExpired, nil)
	_, err = c.EventsWith(t.Context(), client.EventOptions{Types: []string{"blocks"}})
	wantError(t, err, 400, api.KindInvalidParameter, nil)
}
