package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
)

// sse reads server-sent events.
type sse struct {
	t  *testing.T
	r  *bufio.Reader
	id string // the last event id the stream gave, as a browser keeps it
}

// next returns the next event, or the comment ":..." of a heartbeat.
func (s *sse) next() (typ, data string) {
	s.t.Helper()
	_, typ, data = s.nextID()
	return typ, data
}

// nextID is next with the event's id (empty for a comment).
func (s *sse) nextID() (id, typ, data string) {
	s.t.Helper()
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("read event: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if typ != "" {
				return id, typ, data
			}
		case strings.HasPrefix(line, ":"):
			if typ == "" {
				return "", line, ""
			}
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
			s.id = id
		case strings.HasPrefix(line, "event: "):
			typ = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		default:
			s.t.Fatalf("unexpected line %q", line)
		}
	}
}

// nextEvent skips heartbeats.
func (s *sse) nextEvent() (typ, data string) {
	s.t.Helper()
	_, typ, data = s.nextEventID()
	return typ, data
}

// nextEventID is nextEvent with the event's id.
func (s *sse) nextEventID() (id, typ, data string) {
	s.t.Helper()
	for {
		if id, typ, data = s.nextID(); !strings.HasPrefix(typ, ":") {
			if id == "" {
				s.t.Fatalf("event %s %s has no id", typ, data)
			}
			return id, typ, data
		}
	}
}

// subscribe opens GET /v1/events on base until ctx is done.
func subscribe(t *testing.T, ctx context.Context, client *http.Client, base string) *sse {
	t.Helper()
	return subscribeAt(t, ctx, client, base+"/v1/events", nil)
}

// subscribeAt opens the event stream url with the request headers h.
func subscribeAt(t *testing.T, ctx context.Context, client *http.Client, url string, h http.Header) *sse {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q, want text/event-stream", ct)
	}
	return &sse{t: t, r: bufio.NewReader(resp.Body)}
}

func TestEvents(t *testing.T) {
	e := newEnv(t, api.Options{Heartbeat: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := subscribe(t, ctx, e.srv.Client(), e.srv.URL)
	if err := e.ledger.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}

	e.ledger.Publish(api.Event{Type: "block", Data: map[string]any{"height": 43}})
	e.ledger.Publish(api.Event{Type: "reading", Data: map[string]any{"device": apitest.DeviceID(0), "seq": 107, "status": "accepted", "note": "two\nlines"}})
	e.ledger.Publish(api.Event{Type: "bad\ntype", Data: 1})      // dropped by the API
	e.ledger.Publish(api.Event{Type: "device", Data: func() {}}) // does not encode: dropped
	e.ledger.Publish(api.Event{Type: "block", Data: map[string]any{"height": 44}})

	type event struct{ ID, Type, Data string }
	var got []event
	for range 3 {
		id, typ, data := s.nextEventID()
		got = append(got, event{id, typ, data})
	}
	// Each Publish is a block of its own, after the fake's latest (42).
	want := []event{
		{"43-1", "block", `{"height":43}`},
		{"44-1", "reading", `{"device":"` + apitest.DeviceID(0) + `","note":"two\nlines","seq":107,"status":"accepted"}`},
		{"47-1", "block", `{"height":44}`},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "invalid type") || !strings.Contains(logs, "does not encode") {
		t.Errorf("dropped events are not logged:\n%s", logs)
	}

	// Heartbeats flow while nothing happens.
	deadline := time.After(5 * time.Second)
	for beats := 0; beats < 2; {
		select {
		case <-deadline:
			t.Fatal("no heartbeat")
		default:
		}
		if typ, _ := s.next(); typ == ": heartbeat" {
			beats++
		}
	}

	// The client goes: the API cancels its subscription.
	cancel()
	wait, stop := context.WithTimeout(t.Context(), 5*time.Second)
	defer stop()
	if err := e.ledger.WaitSubscribers(wait, 0); err != nil {
		t.Fatal(err)
	}
}

// TestEventsOutliveServerTimeouts runs the stream through HTTPServer with
// read and write timeouts far shorter than the stream.
func TestEventsOutliveServerTimeouts(t *testing.T) {
	e := newEnv(t, api.Options{Heartbeat: time.Hour})
	srv := e.api.HTTPServer("127.0.0.1:0")
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 || srv.WriteTimeout <= api.DefaultWaitTimeout {
		t.Errorf("HTTPServer timeouts: header %v, read %v, write %v, idle %v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	srv.ReadTimeout = 50 * time.Millisecond
	srv.WriteTimeout = 50 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	s := subscribe(t, t.Context(), http.DefaultClient, "http://"+ln.Addr().String())
	if err := e.ledger.WaitSubscribers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		time.Sleep(100 * time.Millisecond)
		e.ledger.Publish(api.Event{Type: "block", Data: i})
		if typ, data := s.nextEvent(); typ != "block" || data != string(rune('0'+i)) {
			t.Fatalf("event %d: %q %q", i, typ, data)
		}
	}
}

// blockEvents returns n events of the types given in turn, for Publish.
func blockEvents(n int, types ...string) []api.Event {
	evs := make([]api.Event, n)
	for i := range evs {
		evs[i] = api.Event{Type: types[i%len(types)], Data: i}
		if evs[i].Type != "block" {
			evs[i].Device = apitest.DeviceID(i % 2)
		}
	}
	return evs
}

// TestEventsResume drops a stream in the middle of a block, commits two
// more blocks, and resumes with Last-Event-ID (and with the last_event_id
// parameter): each event after the id comes exactly once, in chain order,
// the missed ones from the store, then the live ones.
func TestEventsResume(t *testing.T) {
	for _, by := range []string{"header", "parameter"} {
		t.Run(by, func(t *testing.T) {
			e := newEnv(t, api.Options{Heartbeat: time.Hour})
			ctx, cancel := context.WithCancel(t.Context())
			s := subscribe(t, ctx, e.srv.Client(), e.srv.URL)
			if err := e.ledger.WaitSubscribers(ctx, 1); err != nil {
				t.Fatal(err)
			}
			h1 := e.ledger.Publish(blockEvents(3, "block", "reading")...)
			if id, _, _ := s.nextEventID(); id != fmt.Sprintf("%d-1", h1) {
				t.Fatalf("first id %q, want %d-1", id, h1)
			}
			last := s.id
			cancel() // the client goes after one event of three
			if err := e.ledger.WaitSubscribers(t.Context(), 0); err != nil {
				t.Fatal(err)
			}
			h2 := e.ledger.Publish(blockEvents(2, "block", "twin")...)
			h3 := e.ledger.Publish(blockEvents(1, "block")...)

			url, hdr := e.srv.URL+"/v1/events", http.Header{"Last-Event-Id": {last}}
			if by == "parameter" {
				url, hdr = url+"?last_event_id="+last, nil
			}
			r := subscribeAt(t, t.Context(), e.srv.Client(), url, hdr)
			if err := e.ledger.WaitSubscribers(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			h4 := e.ledger.Publish(blockEvents(2, "block", "device")...)
			var got []string
			for range 2 + 2 + 1 + 2 {
				id, _, _ := r.nextEventID()
				got = append(got, id)
			}
			id := func(h int64, n int) string { return fmt.Sprintf("%d-%d", h, n) }
			want := []string{id(h1, 2), id(h1, 3), id(h2, 1), id(h2, 2), id(h3, 1), id(h4, 1), id(h4, 2)}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("ids after resuming at %s (-got +want):\n%s", last, diff)
			}
			// Nothing more: a heartbeat-free stream holds no duplicate.
			h5 := e.ledger.Publish(blockEvents(1, "block")...)
			if id, _, _ := r.nextEventID(); id != fmt.Sprintf("%d-1", h5) {
				t.Errorf("after the live events: %q, want %d-1", id, h5)
			}
		})
	}
}

// TestEventsCatchUpAfterDrops publishes more events in one block than a
// subscription holds: the ledger drops some for the stream, which refills
// the gap from the store, so the client still gets each once, in order.
func TestEventsCatchUpAfterDrops(t *testing.T) {
	e := newEnv(t, api.Options{Heartbeat: time.Hour})
	s := subscribe(t, t.Context(), e.srv.Client(), e.srv.URL)
	if err := e.ledger.WaitSubscribers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	const n = 50 * apitest.EventBuffer
	h := e.ledger.Publish(blockEvents(n, "block", "reading")...)
	h2 := e.ledger.Publish(blockEvents(1, "block")...)
	if e.ledger.Dropped() == 0 {
		t.Fatalf("no event was dropped: the test does not reach the catch-up")
	}
	for i := range n {
		if id, _, _ := s.nextEventID(); id != fmt.Sprintf("%d-%d", h, i+1) {
			t.Fatalf("event %d: id %q, want %d-%d", i, id, h, i+1)
		}
	}
	if id, _, _ := s.nextEventID(); id != fmt.Sprintf("%d-1", h2) {
		t.Fatalf("after the block: id %q, want %d-1", id, h2)
	}
}

// TestEventsFilters keeps the types and the device asked for, live and in
// replay; events that name no device (blocks) pass a device filter.
func TestEventsFilters(t *testing.T) {
	e := newEnv(t, api.Options{Heartbeat: time.Hour})
	dev := apitest.DeviceID(1)
	evs := []api.Event{
		{Type: "block", Data: 0},
		{Type: "reading", Device: apitest.DeviceID(0), Data: 1},
		{Type: "reading", Device: dev, Data: 2},
		{Type: "twin", Device: dev, Data: 3},
		{Type: "device", Device: dev, Data: 4},
		{Type: "contract_event", Data: 5},
	}
	h1 := e.ledger.Publish(evs...) // replayed
	start := fmt.Sprintf("%d-0", h1)
	cases := []struct {
		query string
		want  []string // data of h1's events kept, then h2's
	}{
		{"types=reading,twin&device=" + dev, []string{"2", "3"}},
		{"types=reading", []string{"1", "2"}},
		{"device=" + dev, []string{"0", "2", "3", "4", "5"}},
		{"types=block,contract_event", []string{"0", "5"}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s := subscribeAt(t, ctx, e.srv.Client(), e.srv.URL+"/v1/events?"+c.query+"&last_event_id="+start, nil)
			var got []string
			for range c.want {
				_, _, data := s.nextEventID()
				got = append(got, data)
			}
			if diff := cmp.Diff(got, c.want); diff != "" {
				t.Errorf("replayed (-got +want):\n%s", diff)
			}
			cancel()
		})
	}
	// Live: the filter drops what it does not keep, and the stream's ids
	// still move (an id-only message) so a resume starts near its end.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := subscribeAt(t, ctx, e.srv.Client(), e.srv.URL+"/v1/events?types=twin&device="+dev, nil)
	if err := e.ledger.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h2 := e.ledger.Publish(evs...)
	if id, typ, data := s.nextEventID(); id != fmt.Sprintf("%d-4", h2) || typ != "twin" || data != "3" {
		t.Errorf("live filtered event %s %s %s, want %d-4 twin 3", id, typ, data, h2)
	}
}

// TestEventsRefusals checks the answers to a stream that cannot start:
// each names what was wrong and what to do.
func TestEventsRefusals(t *testing.T) {
	e := newEnv(t, api.Options{EventReplayBlocks: 3})
	var last int64
	for range 5 {
		last = e.ledger.Publish(blockEvents(1, "block")...)
	}
	cases := []struct {
		name, path, lastID string
		status             int
		kind               string
		says               []string
	}{
		{"unknown type", "/v1/events?types=reading,blocks", "", 400, api.KindInvalidParameter,
			[]string{`"blocks" is not an event type`, "block, reading, device, twin, contract_event"}},
		{"empty type", "/v1/events?types=reading,", "", 400, api.KindInvalidParameter, []string{`"" is not an event type`}},
		{"bad device", "/v1/events?device=no%20such", "", 400, api.KindInvalidID, nil},
		{"bad id", "/v1/events", "12", 400, api.KindInvalidEventID, []string{`Last-Event-ID "12" is not an event id`, "<height>-<n>"}},
		{"bad id parameter", "/v1/events?last_event_id=x-1", "", 400, api.KindInvalidEventID, []string{`last_event_id "x-1"`}},
		{"id of another chain", "/v1/events", fmt.Sprintf("%d-1", last+100), 400, api.KindInvalidEventID, []string{"not from this chain"}},
		{"expired id", "/v1/events", fmt.Sprintf("%d-1", last-3), 410, api.KindEventIDExpired,
			[]string{fmt.Sprintf("blocks %d to %d only", last-2, last), "reconnect without an event id"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.lastID != "" {
				req.Header.Set("Last-Event-ID", c.lastID)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			p := answer{resp, b}.problem(t, c.status, c.kind)
			for _, s := range c.says {
				if !strings.Contains(p.Detail, s) {
					t.Errorf("detail %q does not say %q", p.Detail, s)
				}
			}
		})
	}
	// The oldest id within the bound still resumes.
	s := subscribeAt(t, t.Context(), e.srv.Client(), e.srv.URL+"/v1/events", http.Header{"Last-Event-Id": {fmt.Sprintf("%d-1", last-2)}})
	if id, _, _ := s.nextEventID(); id != fmt.Sprintf("%d-1", last-1) {
		t.Errorf("resumed at %d-1: first id %q, want %d-1", last-2, id, last-1)
	}
}
