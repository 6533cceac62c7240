package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/internal/testonly"
)

// TestFaultDiskTampering is issue 5's fourth fault test: a byte of one
// stored reading is changed on a stopped validator's disk; `iotledger
// start` refuses to run (it checks the store against the committed
// headers before CometBFT starts) without signing anything, naming the
// reading; `iotledger audit` names it too; the other three keep
// committing; and the README's way back (move the data folder aside but
// for the signing state, start again) rebuilds the node from its peers.
func TestFaultDiskTampering(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	f := startFaultNet(t, ctx, 4, "e2e-tamper", "sensor-a")
	l := startFaultLoad(ctx, f.clients[:1], f.keys, 2)
	defer l.stop()
	l.waitAcked(t, ctx, 60)

	// The victim: an acknowledged reading in the middle of the log.
	l.mu.Lock()
	dev := f.keys[0].DeviceID()
	var seqs []uint64
	for seq := range l.acked[dev] {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return l.acked[dev][seqs[i]].index < l.acked[dev][seqs[j]].index })
	seq := seqs[len(seqs)/2]
	a := l.acked[dev][seq]
	l.mu.Unlock()
	const victim = 3
	home := f.nodes[victim].Home
	waitHeights(t, ctx, f.clients, []int{victim}, a.height+1, "the header that commits the reading's block")
	f.nodes[victim].Stop(t)
	signed := validatorState(t, home)
	testonly.ChangeReading(t, home, a.index)
	where := fmt.Sprintf("reading at log index %d (device %s, seq %d)", a.index, dev, seq)

	// start refuses, before CometBFT runs: the validator signs nothing.
	tried := time.Now()
	out, code := testonly.Run(t, "start", "--home", home)
	refusedIn := time.Since(tried)
	if code == 0 || !strings.Contains(out, where) || !strings.Contains(out, "iotledger audit --home "+home) {
		t.Fatalf("start on the changed store: exit %d, want a refusal naming the %s and audit:\n%s", code, where, out)
	}
	t.Logf("start said: %s", strings.TrimSpace(out))
	if got := validatorState(t, home); got != signed {
		t.Errorf("the refused start signed: priv_validator_state went from %s to %s", signed, got)
	}

	// audit names the reading and its block.
	out, code = audit(t, home)
	if want := fmt.Sprintf("FOUND block %d, %s: stored reading was changed", a.height, where); code != 3 || !strings.Contains(out, want) {
		t.Fatalf("audit: exit %d, want 3 and %q:\n%s", code, want, out)
	}

	// The other three keep committing.
	others := f.except(victim)
	h := maxHeight(t, ctx, f.clients, others)
	waitHeights(t, ctx, f.clients, others, h+3, "three blocks without node3")

	// The way back (README): keep the signing state, move the rest of the
	// data folder aside, start again: the node replays the chain from its
	// peers.
	data := filepath.Join(home, "data")
	aside := filepath.Join(home, "data.changed")
	if err := os.Rename(data, aside); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(filepath.Join(aside, "priv_validator_state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "priv_validator_state.json"), state, 0o600); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	f.nodes[victim].Restart(t, "start")
	waitCaughtUp(t, ctx, f.clients[0], f.clients[victim])
	recovered := time.Since(restarted)
	l.stop()
	hEnd := maxHeight(t, ctx, f.clients, f.all) + 1
	waitHeights(t, ctx, f.clients, f.all, hEnd, "the last block")
	rep := checkNoLoss(t, ctx, f, l, f.all)
	sameBlocks(t, ctx, f.clients, f.all, hEnd)
	for _, n := range f.nodes {
		n.Stop(t)
	}
	if out, code := audit(t, home); code != 0 {
		t.Errorf("audit of the rebuilt node3: exit %d\n%s", code, out)
	}
	t.Logf("fault test 4 (a stored reading changed on node3's disk): %s; start refused in %.1f s naming the %s, signing nothing; "+
		"audit exit 3 naming it; the other 3 committed on; rebuilt from its peers and caught up %.1f s after restart, audit clean; test took %.1f s",
		rep, refusedIn.Seconds(), where, recovered.Seconds(), time.Since(began).Seconds())
}
