package api_test

import (
	"bufio"
	"context"
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
	t *testing.T
	r *bufio.Reader
}

// next returns the next event, or the comment ":..." of a heartbeat.
func (s *sse) next() (typ, data string) {
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
				return typ, data
			}
		case strings.HasPrefix(line, ":"):
			if typ == "" {
				return line, ""
			}
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
	for {
		if typ, data = s.next(); !strings.HasPrefix(typ, ":") {
			return typ, data
		}
	}
}

// subscribe opens GET /v1/events on base until ctx is done.
func subscribe(t *testing.T, ctx context.Context, client *http.Client, base string) *sse {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
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

	type event struct{ Type, Data string }
	var got []event
	for range 3 {
		typ, data := s.nextEvent()
		got = append(got, event{typ, data})
	}
	want := []event{
		{"block", `{"height":43}`},
		{"reading", `{"device":"` + apitest.DeviceID(0) + `","note":"two\nlines","seq":107,"status":"accepted"}`},
		{"block", `{"height":44}`},
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
