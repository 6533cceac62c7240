package main_test

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFaultCrashLoop is issue 5's third fault test: during ingest through
// every node, a validator chosen at random is SIGKILLed at a random moment
// and restarted after a random pause, 20 times. Afterwards every reading
// acknowledged as committed is committed on every node at its index and
// has a receipt that verifies offline, the nodes hold the same blocks (so
// the same log sizes), and `iotledger audit` is clean on every node.
// Every restart also runs the start-time store check on a store killed
// mid-write. IOTLEDGER_FAULT_SEED replays a run; the seed is printed.
func TestFaultCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("IOTLEDGER_FAULT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("IOTLEDGER_FAULT_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (IOTLEDGER_FAULT_SEED=%d replays the same kill moments)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	f := startFaultNet(t, ctx, 4, "e2e-crashloop", "sensor-a", "sensor-b")
	l := startFaultLoad(ctx, f.clients, f.keys, 2) // sender i sends through node i
	defer l.stop()
	l.waitAcked(t, ctx, 40)

	const cycles = 20
	var kills [4]int
	var slowest time.Duration
	var ready time.Duration
	for c := range cycles {
		// Run for 0.5-3 s, kill a validator, leave it down 0-1.5 s.
		if !pause(ctx, time.Duration(500+rng.IntN(2500))*time.Millisecond) {
			t.Fatalf("cycle %d: %v", c, ctx.Err())
		}
		v := rng.IntN(len(f.nodes))
		kills[v]++
		f.nodes[v].Kill()
		if !pause(ctx, time.Duration(rng.IntN(1500))*time.Millisecond) {
			t.Fatalf("cycle %d: %v", c, ctx.Err())
		}
		start := time.Now()
		f.nodes[v].Restart(t, "start") // runs the store check first
		d := time.Since(start)
		ready += d
		slowest = max(slowest, d)
	}
	loopDone := time.Now()
	for _, i := range f.all {
		waitCaughtUp(t, ctx, f.clients[(i+1)%len(f.clients)], f.clients[i])
	}
	settled := time.Since(loopDone)
	l.stop()
	hEnd := maxHeight(t, ctx, f.clients, f.all) + 1
	waitHeights(t, ctx, f.clients, f.all, hEnd, "the last block")

	rep := checkNoLoss(t, ctx, f, l, f.all)
	sameBlocks(t, ctx, f.clients, f.all, hEnd) // block records carry the log size
	verified := verifyReceipts(t, ctx, f.clients[0], f.genesis, l)
	longest := longestGap(t, ctx, f, hEnd)
	for _, n := range f.nodes {
		n.Stop(t)
	}
	for i, n := range f.nodes {
		out, code := audit(t, n.Home)
		if code != 0 || !strings.Contains(out, "clean:") {
			t.Errorf("audit of node%d after the crash loop: exit %d\n%s", i, code, out)
		}
	}
	t.Logf("fault test 3 (%d SIGKILLs at random moments, seed %d; node0-3 killed %v times): %s; %d receipts fetched and verified; "+
		"restart to running %.1f s on average, %.1f s at most; all caught up %.1f s after the last restart; longest gap between blocks %.1f s; "+
		"blocks 1-%d identical on all 4 nodes, audit clean on all 4; answers %v; test took %.1f s",
		cycles, seed, kills, rep, verified, ready.Seconds()/cycles, slowest.Seconds(), settled.Seconds(), longest.Seconds(),
		hEnd, l.answers, time.Since(began).Seconds())
	if rep.acked == 0 || verified != rep.acked {
		t.Errorf("%d acknowledged, %d receipts verified", rep.acked, verified)
	}
}

// pause waits d, or until ctx ends (false). It sets the random moments of
// a fault, never waits for a condition.
func pause(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// longestGap is the longest time between consecutive blocks 1..h, by the
// block times the validators agreed on.
func longestGap(t *testing.T, ctx context.Context, f *faultNet, h int64) time.Duration {
	t.Helper()
	var longest time.Duration
	prev := block(t, ctx, f.clients[0], 1).TimeMs
	for height := int64(2); height <= h; height++ {
		b := block(t, ctx, f.clients[0], height)
		longest = max(longest, time.Duration(b.TimeMs-prev)*time.Millisecond)
		prev = b.TimeMs
	}
	return longest
}
