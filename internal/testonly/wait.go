package testonly

import (
	"context"
	"testing"
	"time"

	"github.com/iotledger/iotledger/client"
)

// WaitHeight returns once the node behind c has committed block h,
// watching its event stream rather than polling.
func WaitHeight(t testing.TB, ctx context.Context, c *client.Client, h int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.Status(ctx); err != nil {
		t.Fatal(err)
	} else if st.Height >= h {
		return
	}
	for e := range events {
		var b struct {
			Height int64 `json:"height"`
		}
		if e.Type == "block" && e.Decode(&b) == nil && b.Height >= h {
			return
		}
	}
	t.Fatalf("event stream ended before block %d: %v", h, ctx.Err())
}

// Poll calls cond every 100 ms until it holds, failing the test when ctx
// ends first; what names the wait, and the failure gives cond's last error.
func Poll(t testing.TB, ctx context.Context, what string, cond func() (bool, error)) {
	t.Helper()
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last error: %v)", what, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
