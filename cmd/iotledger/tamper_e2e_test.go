package main_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/testonly"
)

// TestFaultDiskTampering is issue 5's fourth fault test: a byte of one
// stored reading is changed on a stopped validator's disk; `iotledger
// start` refuses to run (it checks the store against the committed
// headers before CometBFT starts) without signing anything, naming the
// reading; `iotledger audit` names it too; the other three keep
// committing; and the README's way back (move the data folder aside but
// for the signing state, start again) rebuilds the node from its peers.
// Then issue 13's damaged tables (damagedTables): a byte flipped inside a
// table of an app store and of a block store.
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

	damagedTables(t, f)
}

// damagedTables is issue 13's third fault, on the stopped testnet of
// TestFaultDiskTampering: a byte flipped inside a table of node3's app
// store (the change above passes Pebble's checksums; this one does not).
// start and audit panicked with a stack trace; now audit exits 3 naming
// the table, its damaged block and keys, and start refuses the same way,
// signing nothing. A byte flipped inside a table of node2's block store:
// audit names it too (exit 3), and start either refuses with exit 3 or,
// if it reads nothing there, runs; never a panic or a stack trace.
func damagedTables(t *testing.T, f *faultNet) {
	// Each start writes its stores' logs out to tables: have some.
	testonly.StartAll(t, f.nodes, "start")
	for _, n := range f.nodes {
		n.Stop(t)
	}
	noTrace := func(what, out string) {
		t.Helper()
		if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
			t.Errorf("%s printed a panic or a stack trace:\n%s", what, out)
		}
	}

	node3 := f.nodes[3]
	table := largestFile(t, filepath.Join(node3.Home, "data", "iotledger.db"), ".sst")
	flipMiddle(t, table)
	signed := validatorState(t, node3.Home)
	out, code := audit(t, node3.Home)
	noTrace("audit of a damaged app store table", out)
	if code != 3 || !strings.Contains(out, "FOUND damaged table "+table+": ") || !strings.Contains(out, "block ") || !strings.Contains(out, node.ResyncSection) {
		t.Errorf("audit of a damaged table: exit %d, want 3 and a FOUND line naming %s, its block and the resync section:\n%s", code, table, out)
	}
	t.Logf("audit said: %s", strings.TrimSpace(out))
	out, code, ran := startOrRefuse(t, node3)
	noTrace("start on a damaged app store table", out)
	if ran || code != 3 || !strings.Contains(out, table) || !strings.Contains(out, "iotledger audit --home "+node3.Home) || !strings.Contains(out, node.ResyncSection) {
		t.Errorf("start on a damaged table: ran %v, exit %d; want a refusal (exit 3) naming %s, audit and the resync section:\n%s", ran, code, table, out)
	}
	if got := validatorState(t, node3.Home); got != signed {
		t.Errorf("the refused start signed: priv_validator_state went from %s to %s", signed, got)
	}
	t.Logf("start said: %s", strings.TrimSpace(out))

	node2 := f.nodes[2]
	table = largestFile(t, filepath.Join(node2.Home, "data", "blockstore.db"), ".sst")
	flipMiddle(t, table)
	out, code = audit(t, node2.Home)
	noTrace("audit of a damaged block store table", out)
	if code != 3 || !strings.Contains(out, "FOUND damaged table "+table+": ") {
		t.Errorf("audit of a damaged block store table: exit %d, want 3 and a FOUND line naming %s:\n%s", code, table, out)
	}
	t.Logf("audit said: %s", strings.TrimSpace(out))
	out, code, ran = startOrRefuse(t, node2)
	noTrace("start on a damaged block store table", out)
	if !ran && (code != 3 || !strings.Contains(out, filepath.Join(node2.Home, "data", "blockstore.db"))) {
		t.Errorf("start on a damaged block store table: exit %d, want it to run or to refuse with exit 3 naming the table:\n%s", code, out)
	}
	t.Logf("start on the damaged block store: ran %v, exit %d: %s", ran, code, strings.TrimSpace(out))
}

// largestFile is the largest file of dir named *ext.
func largestFile(t *testing.T, dir, ext string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+ext))
	var best string
	var size int64 = -1
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Size() > size {
			best, size = f, st.Size()
		}
	}
	if best == "" {
		t.Fatalf("no %s file in %s", ext, dir)
	}
	return best
}

// flipMiddle flips one bit of the byte in the middle of file.
func flipMiddle(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x04
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// startOrRefuse runs `iotledger start` on n's home and ports: if it
// refuses, its output and exit code; if it runs, it is stopped with
// SIGINT at once (ran).
func startOrRefuse(t *testing.T, n *testonly.Node) (out string, code int, ran bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testonly.Binary(t), "start", "--home", n.Home, "--api-addr", n.APIAddr, "--rpc-addr", n.RPCAddr,
		"--p2p-addr", n.P2PAddr, "--mqtt-addr", n.MQTTAddr)
	var b strings.Builder
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "press Ctrl-C to stop") {
			ran = true
			cmd.Process.Signal(os.Interrupt)
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return b.String(), code, ran
}
