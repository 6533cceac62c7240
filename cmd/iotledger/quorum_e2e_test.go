package main_test

import (
	"context"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/iotledger/iotledger/internal/testonly"
)

// TestFaultQuorumLoss is issue 5's second fault test: with two of four
// validators killed, commits stop (no block is committed by fewer than two
// thirds: the two left commit nothing, and every commit of the chain
// carries more than two thirds of the power); readings sent meanwhile are
// not acknowledged; with one back, commits resume, and every reading
// acknowledged before, and every one sent during the outage, is committed.
func TestFaultQuorumLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	f := startFaultNet(t, ctx, 4, "e2e-quorum", "sensor-a", "sensor-b")
	rpcs := make([]*rpchttp.HTTP, len(f.nodes))
	for i, n := range f.nodes {
		var err error
		if rpcs[i], err = rpchttp.New("http://" + n.RPCAddr); err != nil {
			t.Fatal(err)
		}
	}
	// Readings go through node0, which stays up.
	l := startFaultLoad(ctx, f.clients[:1], f.keys, 2)
	defer l.stop()
	l.waitAcked(t, ctx, 100)

	// Kill two of four. A block whose votes were all cast before the kill
	// may still commit; nothing after it can.
	alive := []int{0, 1}
	hKill := maxHeight(t, ctx, f.clients, alive)
	f.nodes[2].Kill()
	f.nodes[3].Kill()
	killed := time.Now()
	stuck, round := noCommitsFor(t, ctx, f.clients, rpcs, alive, hKill+1, 8*time.Second)

	// Nothing was acknowledged past the last block, and readings sent
	// meanwhile are answered pending (the API waits 10 s for a commit).
	l.mu.Lock()
	for dev, m := range l.acked {
		for seq, a := range m {
			if a.height > stuck {
				t.Errorf("%s seq %d acknowledged in block %d while the chain stood at %d", dev, seq, a.height, stuck)
			}
		}
	}
	l.mu.Unlock()
	testonly.Poll(t, ctx, "readings answered pending during the outage", func() (bool, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		n := 0
		for _, m := range l.pending {
			n += len(m)
		}
		return n > 0, nil
	})
	during := l.pendingNow()

	// Bring node3 back: three of four, commits resume.
	restarted := time.Now()
	outage := restarted.Sub(killed)
	f.nodes[3].Restart(t, "start")
	waitHeights(t, ctx, f.clients, []int{0, 1, 3}, stuck+2, "commits with node3 back")
	resumed := time.Since(restarted)

	// node2 too, so that all four can be compared; then stop the load and
	// let the last acknowledged readings' blocks commit everywhere.
	f.nodes[2].Restart(t, "start")
	waitCaughtUp(t, ctx, f.clients[0], f.clients[2])
	l.stop()
	hEnd := maxHeight(t, ctx, f.clients, f.all) + 1
	waitHeights(t, ctx, f.clients, f.all, hEnd, "the last block")

	rep := checkNoLoss(t, ctx, f, l, f.all)
	nDuring, missing := missingOf(t, ctx, f, during, "sent during the outage and answered pending")
	sameBlocks(t, ctx, f.clients, f.all, hEnd)
	fewest := commitsSigned(t, ctx, f.nodes[0].RPCAddr, nil, hEnd)
	t.Logf("fault test 2 (kill 2 of 4 validators, bring 1 back): %s; no block committed in %.1f s with 2 of 4 "+
		"(stuck at height %d, consensus waiting in round %d); %d readings sent during the outage answered pending, %d of them missing after; "+
		"commits resumed %.1f s after node3's restart; every commit of blocks 1-%d verified, the fewest signatures %d of 4; test took %.1f s",
		rep, outage.Seconds(), stuck, round, nDuring, missing, resumed.Seconds(), hEnd, fewest, time.Since(began).Seconds())
	if fewest < 3 {
		t.Errorf("a commit with %d of 4 signatures", fewest)
	}
	if rep.acked == 0 {
		t.Error("nothing acknowledged")
	}
	for _, n := range f.nodes {
		n.Stop(t)
	}
}
