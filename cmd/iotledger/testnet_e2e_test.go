package main_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
)

// TestTestnetCrash runs the real binary as four validators on loopback
// (`iotledger testnet -n 4`), sends readings through node0's API, and
// checks issue 5's first fault test: SIGKILL a validator under steady load;
// the other three keep committing; the killed node restarts, catches up,
// and has the same block record (app hash, log root, block hash) as the
// others at every height; no acknowledged reading is lost.
func TestTestnetCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	_, nodes := testonly.Testnet(t, 4, "e2e-testnet")
	clients := make([]*client.Client, len(nodes))
	for i, n := range nodes {
		n.Start(t, "start")
		clients[i] = client.New(n.URL())
	}
	all := []int{0, 1, 2, 3}
	waitHeights(t, ctx, clients, all, 2, "the first blocks")

	// As a user would: device keys in node0's home, registered by the
	// owner key testnet put there, through node0's API.
	home0 := nodes[0].Home
	var keys []*keystore.Key
	for _, name := range []string{"sensor-a", "sensor-b"} {
		testonly.MustRun(t, "keys", "new", name, "--home", home0)
		testonly.MustRun(t, "device", "register", "--owner", "owner", "--key", name, "--home", home0)
		k, err := keystore.Load(home0, name)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}

	l := startFaultLoad(ctx, clients[:1], keys, 2)
	defer l.stop()
	l.waitAcked(t, ctx, 100)
	sameAppHash(t, ctx, clients)

	// SIGKILL node3 under load; the other three keep committing.
	const victim = 3
	others := []int{0, 1, 2}
	hKill := maxHeight(t, ctx, clients, others)
	ackedBefore := l.ackedCount()
	nodes[victim].Kill()
	killedAt := time.Now()
	waitHeights(t, ctx, clients, others, hKill+5, "five blocks without node3")
	outage := time.Since(killedAt)
	ackedDuring := l.ackedCount() - ackedBefore
	blocksDuring := maxHeight(t, ctx, clients, others) - hKill

	// Restart it; it catches up with the chain's tip.
	restarted := time.Now()
	nodes[victim].Restart(t, "start")
	caughtUp := waitCaughtUp(t, ctx, clients[0], clients[victim])
	recovery := caughtUp.Sub(restarted)

	// A few more blocks under load with node3 back, then stop the load
	// and let every node commit what was acknowledged.
	hBack := maxHeight(t, ctx, clients, all) + 2
	waitHeights(t, ctx, clients, all, hBack, "blocks with node3 back")
	l.stop()
	hEnd := maxHeight(t, ctx, clients, all) + 1
	waitHeights(t, ctx, clients, all, hEnd, "the last block")

	// Every node has the same block record at every height from 1 to hEnd.
	for h := int64(1); h <= hEnd; h++ {
		want := block(t, ctx, clients[0], h)
		for i := 1; i < len(clients); i++ {
			if diff := cmp.Diff(block(t, ctx, clients[i], h), want); diff != "" {
				t.Fatalf("block %d: node%d differs from node0 (-node%d +node0):\n%s", h, i, i, diff)
			}
		}
	}

	// No acknowledged reading is lost, on any node.
	l.mu.Lock()
	defer l.mu.Unlock()
	committed, lost := 0, 0
	for i, c := range clients {
		n := 0
		for _, k := range keys {
			got := committedReadings(t, ctx, c, k.DeviceID())
			n += len(got)
			for seq, a := range l.acked[k.DeviceID()] {
				if gotIdx, ok := got[seq]; !ok || gotIdx != a.index {
					lost++
					t.Errorf("node%d: %s seq %d acknowledged at log index %d, found: %v at %d", i, k.DeviceID(), seq, a.index, ok, gotIdx)
				}
			}
		}
		if i == 0 {
			committed = n
		} else if n != committed {
			t.Errorf("node%d holds %d of the readings, node0 %d", i, n, committed)
		}
	}
	acked := 0
	for _, m := range l.acked {
		acked += len(m)
	}
	t.Logf("fault test 1 (SIGKILL 1 of 4 validators under load): readings sent %d, acknowledged %d, committed %d, lost %d; "+
		"%d acknowledged and %d blocks committed in %.1f s without node3; node3 caught up %.1f s after restart; "+
		"blocks 1-%d identical on all 4 nodes; test took %.1f s",
		l.sent, acked, committed, lost, ackedDuring, blocksDuring, outage.Seconds(), recovery.Seconds(), hEnd, time.Since(began).Seconds())
	if l.err != nil {
		t.Error(l.err)
	}
	if acked == 0 || ackedDuring == 0 {
		t.Errorf("acknowledged %d readings, %d without node3; want some of each", acked, ackedDuring)
	}
	for _, n := range nodes {
		n.Stop(t)
	}
}

// waitHeights waits until each node in which has committed block h.
func waitHeights(t *testing.T, ctx context.Context, clients []*client.Client, which []int, h int64, what string) {
	t.Helper()
	for _, i := range which {
		testonly.Poll(t, ctx, fmt.Sprintf("%s: node%d at height %d", what, i, h), func() (bool, error) {
			st, err := clients[i].Status(ctx)
			return err == nil && st.Height >= h, err
		})
	}
}

// maxHeight is the highest height the nodes in which report.
func maxHeight(t *testing.T, ctx context.Context, clients []*client.Client, which []int) int64 {
	t.Helper()
	var h int64
	for _, i := range which {
		st, err := clients[i].Status(ctx)
		if err != nil {
			t.Fatalf("node%d status: %v", i, err)
		}
		h = max(h, st.Height)
	}
	return h
}

// waitCaughtUp waits until node's height reaches ref's, and returns when.
func waitCaughtUp(t *testing.T, ctx context.Context, ref, node *client.Client) time.Time {
	t.Helper()
	testonly.Poll(t, ctx, "the restarted node to catch up", func() (bool, error) {
		want, err := ref.Status(ctx)
		if err != nil {
			return false, err
		}
		got, err := node.Status(ctx)
		return err == nil && !got.CatchingUp && got.Height >= want.Height, err
	})
	return time.Now()
}

// sameAppHash checks that the app hash each node reports in its status is
// the one every other node has at that height.
func sameAppHash(t *testing.T, ctx context.Context, clients []*client.Client) {
	t.Helper()
	for i, c := range clients {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for j, other := range clients {
			var b *client.Block
			testonly.Poll(t, ctx, fmt.Sprintf("block %d on node%d", st.Height, j), func() (bool, error) {
				var err error
				b, err = other.Block(ctx, st.Height)
				return err == nil, err
			})
			if got := b.AppHash; !bytes.Equal(got, st.AppHash) {
				t.Fatalf("height %d: node%d's status has app hash %x, node%d's block record %x", st.Height, i, st.AppHash, j, got)
			}
		}
	}
}

func block(t *testing.T, ctx context.Context, c *client.Client, h int64) *client.Block {
	t.Helper()
	b, err := c.Block(ctx, h)
	if err != nil {
		t.Fatalf("block %d: %v", h, err)
	}
	return b
}

// committedReadings returns a device's committed readings on a node: seq
// to log index.
func committedReadings(t *testing.T, ctx context.Context, c *client.Client, id string) map[uint64]uint64 {
	t.Helper()
	out := map[uint64]uint64{}
	q := client.ReadingQuery{From: 1, Limit: 1000}
	for {
		p, err := c.Readings(ctx, id, q)
		if err != nil {
			t.Fatalf("readings of %s: %v", id, err)
		}
		for _, r := range p.Readings {
			out[r.Seq] = r.Index
		}
		if p.Next == nil {
			return out
		}
		q.From = *p.Next
	}
}
