package main_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/testonly"
)

// readingEvent is the data of a reading event, as far as this test reads it.
type readingEvent struct {
	Device string `json:"device"`
	Seq    uint64 `json:"seq"`
	Index  uint64 `json:"index"`
	Height int64  `json:"height"`
}

// nextReadings reads n reading events (decoded) and their ids.
func nextReadings(t *testing.T, events <-chan client.Event, n int) ([]readingEvent, string) {
	t.Helper()
	var out []readingEvent
	var last string
	for ev := range events {
		if ev.Type != "reading" {
			t.Fatalf("event %s of type %s passed the filter types=reading", ev.ID, ev.Type)
		}
		var r readingEvent
		if err := ev.Decode(&r); err != nil {
			t.Fatal(err)
		}
		out, last = append(out, r), ev.ID
		if len(out) == n {
			return out, last
		}
	}
	t.Fatalf("the stream ended after %d of %d readings", len(out), n)
	return nil, ""
}

// TestEventsResumeAcrossRestart follows the readings of a dev node,
// leaves, restarts the node, lets it commit more, and resumes with the
// last event's id: the log indexes of the readings received run on
// without a gap or a repeat, across the restart and the blocks committed
// while the client was away.
func TestEventsResumeAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	home := filepath.Join(t.TempDir(), "devhome")
	n := testonly.StartNode(t, home, "dev")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c := client.New(n.URL())
	filter := []string{"reading"}

	first, stop := context.WithCancel(ctx)
	events, err := c.EventsWith(first, client.EventOptions{Types: filter})
	if err != nil {
		t.Fatal(err)
	}
	got, last := nextReadings(t, events, 5)
	stop()
	for range events {
	}

	n.Stop(t)
	n.Restart(t, "dev")
	// Blocks commit while no one listens.
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testonly.WaitHeight(t, ctx, c, st.Height+3)
	away, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}

	resumed, err := c.EventsWith(ctx, client.EventOptions{Types: filter, LastEventID: last})
	if err != nil {
		t.Fatal(err)
	}
	more, _ := nextReadings(t, resumed, 20)
	if more[0].Height > away.Height {
		t.Fatalf("the first reading after resuming is from block %d, after block %d that the node had committed before the client came back: nothing was replayed", more[0].Height, away.Height)
	}
	got = append(got, more...)
	for i := 1; i < len(got); i++ {
		if got[i].Index != got[i-1].Index+1 {
			t.Fatalf("reading %d has log index %d after %d: a gap or a repeat (resumed after %s)\n%+v", i, got[i].Index, got[i-1].Index, last, got)
		}
	}
	n.Stop(t)
}
