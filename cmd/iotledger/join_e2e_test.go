package main_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
)

// TestJoin runs four validators of the real binary (`iotledger testnet -n
// 4`) that take a snapshot every 5 blocks, commits readings through node0
// under steady load, and has two more nodes join the running network as a
// user would (`iotledger init --join`, then `iotledger start`): one by
// block sync (it replays every block), one by state sync (a threshold of 10
// blocks: it restores the newest snapshot, then replays the blocks after
// it). Both catch up; at the end every node holds the same block records
// (the state-synced one from its snapshot down to block 1 as app records,
// without CometBFT's blocks below it), the same log, and every acknowledged
// reading; a receipt from below the state-synced node's first block is a
// clear 410, from a node with the full history a receipt; `audit` is clean
// on both joiners.
func TestJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	_, nodes := testonly.Testnet(t, 4, "e2e-join")
	for _, n := range nodes {
		// A snapshot every 5 blocks, and enough of them kept that the one
		// a joiner picks is still there after CometBFT's 15 s of discovery.
		setConfig(t, n.Home, "interval = 10000", "interval = 5")
		setConfig(t, n.Home, "keep_recent = 2", "keep_recent = 20")
	}
	clients := make([]*client.Client, len(nodes))
	for i, n := range nodes {
		n.Start(t, "start")
		clients[i] = client.New(n.URL())
	}
	all := []int{0, 1, 2, 3}
	waitHeights(t, ctx, clients, all, 2, "the first blocks")

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
	// Past the state-sync threshold of 10 blocks, with snapshots taken.
	waitHeights(t, ctx, clients, all, 16, "16 blocks")

	// Two nodes join, as the README says: init --join, then start.
	dir := t.TempDir()
	blockHome, stateHome := filepath.Join(dir, "joiner-block"), filepath.Join(dir, "joiner-state")
	rpc0, rpc1 := "http://"+nodes[0].RPCAddr, "http://"+nodes[1].RPCAddr
	out := testonly.MustRun(t, "init", "--home", blockHome, "--join", rpc0, "--moniker", "joiner-block")
	if !strings.Contains(out, "block sync: the chain is at height") {
		t.Fatalf("init --join below the threshold does not say it block-syncs:\n%s", out)
	}
	out = testonly.MustRun(t, "init", "--home", stateHome, "--join", rpc0, "--join", rpc1, "--state-sync-threshold", "10", "--moniker", "joiner-state")
	m := regexp.MustCompile(`trusted block (\d+), header hash ([0-9A-F]{64})`).FindStringSubmatch(out)
	if !strings.Contains(out, "state sync: the chain is at height") || m == nil {
		t.Fatalf("init --join above the threshold does not say it state-syncs from a trusted block:\n%s", out)
	}
	trusted, _ := strconv.ParseInt(m[1], 10, 64)
	if trusted%5 != 0 {
		t.Errorf("trusted block %d is not a snapshot height (every 5 blocks)", trusted)
	}
	joinAt := time.Now()
	byBlock := testonly.StartNode(t, blockHome, "start")
	byState := testonly.StartNode(t, stateHome, "start")
	jb, js := client.New(byBlock.URL()), client.New(byState.URL())
	caughtBlock := waitCaughtUp(t, ctx, clients[0], jb)
	caughtState := waitCaughtUp(t, ctx, clients[0], js)

	// The state-synced node restored a snapshot: it holds no CometBFT
	// block below it, and says so for an early reading's receipt.
	first := keys[0].DeviceID()
	_, err := js.Receipt(ctx, first, 1)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 410 || !strings.Contains(ce.Detail, "joined the network by state sync") || !strings.Contains(ce.Detail, "Ask a node with the full history") {
		t.Errorf("receipt of seq 1 from the state-synced node: %v; want 410 naming state sync and what to do", err)
	}
	for name, c := range map[string]*client.Client{"node0": clients[0], "the block-synced node": jb} {
		if _, err := c.Receipt(ctx, first, 1); err != nil {
			t.Errorf("receipt of seq 1 from %s: %v", name, err)
		}
	}

	// A few blocks under load with the joiners following, then stop the
	// load and let every node commit what was acknowledged.
	everyone := append(append([]*client.Client{}, clients...), jb, js)
	idx := []int{0, 1, 2, 3, 4, 5}
	waitHeights(t, ctx, everyone, idx, maxHeight(t, ctx, everyone, idx)+2, "blocks with the joiners")
	l.stop()
	hEnd := maxHeight(t, ctx, everyone, idx) + 1
	waitHeights(t, ctx, everyone, idx, hEnd, "the last block")

	// Same block records everywhere; below the state-synced node's first
	// block it has the app's records (from the snapshot) but not
	// CometBFT's block: its hash, proposer and transactions.
	var below int64 // blocks 1..below have no CometBFT block on the state-synced node
	for h := int64(1); h <= hEnd; h++ {
		want := block(t, ctx, clients[0], h)
		for i, c := range everyone[1:] {
			got := block(t, ctx, c, h)
			opts := []cmp.Option{}
			if c == js && len(got.Hash) == 0 && h == below+1 {
				below = h
				opts = append(opts, cmpopts.IgnoreFields(client.Block{}, "Hash", "Proposer", "NumTxs", "Transactions"))
			}
			if d := cmp.Diff(got, want, opts...); d != "" {
				t.Fatalf("block %d: node %d differs from node0 (-node +node0):\n%s", h, i+1, d)
			}
		}
	}
	if below < trusted {
		t.Errorf("the state-synced node holds CometBFT's blocks from %d on; want none at or below the trusted snapshot block %d", below+1, trusted)
	}
	acked, lost := 0, 0
	l.mu.Lock()
	for _, k := range keys {
		for name, c := range map[string]*client.Client{"the block-synced node": jb, "the state-synced node": js} {
			got := committedReadings(t, ctx, c, k.DeviceID())
			for seq, a := range l.acked[k.DeviceID()] {
				if gi, ok := got[seq]; !ok || gi != a.index {
					lost++
					t.Errorf("%s: %s seq %d acknowledged at log index %d, found: %v at %d", name, k.DeviceID(), seq, a.index, ok, gi)
				}
			}
		}
		acked += len(l.acked[k.DeviceID()])
	}
	l.mu.Unlock()
	st0, err := clients[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*client.Client{"block-synced": jb, "state-synced": js} {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Height == st0.Height && (!bytes.Equal(st.AppHash, st0.AppHash) || st.LogSize != st0.LogSize) {
			t.Errorf("%s node at height %d: app hash %x, log size %d; node0 %x, %d", name, st.Height, st.AppHash, st.LogSize, st0.AppHash, st0.LogSize)
		}
	}

	byBlock.Stop(t)
	byState.Stop(t)
	for _, home := range []string{blockHome, stateHome} {
		out := testonly.MustRun(t, "audit", "--home", home)
		if !strings.Contains(out, "clean:") {
			t.Errorf("audit of %s:\n%s", home, out)
		}
		if home == stateHome && !strings.Contains(out, "below this node's first block") {
			t.Errorf("audit of the state-synced node does not say which blocks it has no header for:\n%s", out)
		}
	}
	t.Logf("join: %d readings acknowledged, %d lost on the joiners; block sync caught up %.1f s after start, state sync (snapshot of block %d) %.1f s; blocks 1-%d identical on 6 nodes (the state-synced one without CometBFT's blocks 1-%d); test took %.1f s",
		acked, lost, caughtBlock.Sub(joinAt).Seconds(), trusted, caughtState.Sub(joinAt).Seconds(), hEnd, below, time.Since(began).Seconds())
	for _, n := range nodes {
		n.Stop(t)
	}
}

// setConfig replaces old by new in a home's iotledger.toml.
func setConfig(t *testing.T, home, old, new string) {
	t.Helper()
	p := filepath.Join(home, "config", "iotledger.toml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", p, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
