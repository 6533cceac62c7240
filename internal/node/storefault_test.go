package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/reading"
)

// commitReadings submits count readings of dev from seq on, in batches of
// five (a few blocks), and waits until the last is committed and the
// header after it too. It returns the height of that header.
func commitReadings(t *testing.T, n *node.Node, dev ed25519.PrivateKey, seq uint64, count int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var last int64
	for i := 0; i < count; i += 5 {
		var raws [][]byte
		for j := i; j < min(i+5, count); j++ {
			r, err := reading.Sign(reading.Reading{Seq: seq + uint64(j), Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 20.5, "n": j}}, dev)
			if err != nil {
				t.Fatal(err)
			}
			raws = append(raws, r)
		}
		res, err := n.Submit(ctx, raws, true)
		if err != nil || !res[len(res)-1].Located() {
			t.Fatalf("submit: %v %+v", err, res)
		}
		last = res[len(res)-1].Height
	}
	sub := n.Subscribe()
	defer sub.Cancel()
	waitForHeight(t, ctx, n, sub.Events, last+1)
	return last + 1
}

// tap is a log the test reads: a slog text handler's output, line by
// line, with a hook on each line.
type tap struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	onLine func(string)
}

func (w *tap) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	hook := w.onLine
	w.mu.Unlock()
	if hook != nil {
		hook(string(p))
	}
	return len(p), nil
}

func (w *tap) lines(substr string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, l := range strings.Split(w.buf.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

func startLogged(ctx context.Context, t *testing.T, home string, w io.Writer, edits ...func(*node.Config)) (*node.Node, error) {
	t.Helper()
	cfg := node.Default()
	cfg.API.Addr, cfg.RPCAddr, cfg.P2PAddr, cfg.MQTT.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	for _, e := range edits {
		e(&cfg)
	}
	n, err := node.Start(ctx, home, cfg, slog.New(slog.NewTextHandler(w, nil)))
	if err == nil {
		t.Cleanup(func() { n.Close() })
	}
	return n, err
}

// newestFile is the file of dir with the highest number among those named
// *ext (Pebble's tables and logs), and its size.
func newestFile(t *testing.T, dir, ext string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s file in %s: %v", ext, dir, err)
	}
	slices.Sort(files) // zero-padded numbers
	return files[len(files)-1]
}

func flipByte(t *testing.T, file string, at int64) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if at < 0 {
		at = int64(len(b)) / 2
	}
	b[at] ^= 0x10
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStartRefusesDamagedTable is issue 13's third fault: one byte of a
// table of the app store flipped on a stopped node. Start panicked with
// Pebble's checksum mismatch and a stack trace; now it refuses with a
// StoreCorruptError that names the table, the keys and what to do (exit
// code 3), and Audit, which reads every block of every table, names it
// too.
func TestStartRefusesDamagedTable(t *testing.T) {
	n, home := startNode(t)
	dev := registerDevices(t, t.Context(), n, 1)[0]
	commitReadings(t, n, dev, 1, 40)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	// A start writes the store's log out to a table.
	n, err := restart(t, home, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.Close()

	table := newestFile(t, node.AppDBDir(home), ".sst")
	flipByte(t, table, -1)

	_, err = restart(t, home, nil)
	var corrupt *node.StoreCorruptError
	if !errors.As(err, &corrupt) {
		t.Fatalf("start on a damaged table: %v, want a StoreCorruptError", err)
	}
	t.Logf("start refused: %v", err)
	for _, want := range []string{table, "iotledger audit --home " + home, node.ResyncSection, "keys "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q\nwant it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("refusal spans lines: %q", err)
	}
	if got := node.ExitCode(err); got != 3 {
		t.Errorf("ExitCode = %d, want 3", got)
	}

	r, err := node.Audit(t.Context(), home)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Damaged) != 1 || r.Damaged[0].File != table {
		t.Fatalf("audit found %v, want the one damaged table %s", r.Damaged, table)
	}
	t.Logf("audit: %s", r.Damaged[0])
}

// TestStartWarnsWhenStoreBehind is issue 13's fourth fault: a byte flipped
// early in the app store's log makes Pebble stop replaying it there, and
// the store silently went back some blocks (CometBFT replayed them, and
// nothing said so). Now start logs one WARN line with both heights and the
// number of blocks replayed, and iotledger_store_replayed_blocks says it;
// a signal during that start-up ends it at once; the next start replays
// the blocks, and the node holds the same blocks and app hashes as before,
// audit clean.
func TestStartWarnsWhenStoreBehind(t *testing.T) {
	n, home := startNode(t)
	dev := registerDevices(t, t.Context(), n, 1)[0]
	commitReadings(t, n, dev, 1, 10)
	n.Close()
	n, err := restart(t, home, nil) // the log so far goes to a table
	if err != nil {
		t.Fatal(err)
	}
	before := n.App().Meta().Height
	top := commitReadings(t, n, dev, 11, 30) // these blocks are in the new log only
	want, err := n.App().Reader().Block(top)
	if err != nil || want == nil {
		t.Fatalf("block %d: %v", top, err)
	}
	n.Close()

	log := newestFile(t, node.AppDBDir(home), ".log")
	flipByte(t, log, 100)

	// A signal while the store is behind: start-up ends at once, in the
	// store check (right after the WARN) or, with the check off, in
	// CometBFT's replay of the blocks (right after its handshake with the
	// app, which CometBFT logs at info).
	for _, tc := range []struct{ mode, line, step string }{
		{node.StoreCheckRecent, "behind", "checking the store"},
		{node.StoreCheckOff, "ABCI Handshake App Info", "starting CometBFT"},
	} {
		var first tap
		ctx, cancel := context.WithCancel(t.Context())
		first.onLine = func(l string) {
			if strings.Contains(l, tc.line) {
				cancel()
			}
		}
		began := time.Now()
		_, err = startLogged(ctx, t, home, &first, func(c *node.Config) { c.StoreCheck.Mode, c.Log.CometBFTLevel = tc.mode, "info" })
		cancel()
		var si *node.StartInterruptedError
		if !errors.As(err, &si) || !strings.Contains(si.Step, tc.step) {
			t.Fatalf("store check %s: start cancelled after the WARN: %v, want a StartInterruptedError while %s; log:\n%s", tc.mode, err, tc.step, first.buf.String())
		}
		t.Logf("store check %s: interrupted start-up ended %v after it began: %v", tc.mode, time.Since(began).Round(time.Millisecond), err)
	}

	var w tap
	n, err = startLogged(t.Context(), t, home, &w)
	if err != nil {
		t.Fatal(err)
	}
	warns := w.lines("level=WARN")
	if len(warns) != 1 {
		t.Fatalf("%d WARN lines, want 1:\n%s", len(warns), strings.Join(warns, "\n"))
	}
	m := regexp.MustCompile(`app_store_height=(\d+) block_store_height=(\d+) blocks_to_replay=(\d+)`).FindStringSubmatch(warns[0])
	if m == nil {
		t.Fatalf("WARN line %q: want both heights and the blocks to replay", warns[0])
	}
	appH, _ := strconv.ParseInt(m[1], 10, 64)
	storeH, _ := strconv.ParseInt(m[2], 10, 64)
	replayed, _ := strconv.ParseInt(m[3], 10, 64)
	t.Logf("%s", warns[0])
	if storeH < top || appH >= top || appH < before-1 || replayed != storeH-appH {
		t.Errorf("WARN says app store %d, block store %d, %d to replay; want the block store at %d or more and the app store back near %d", appH, storeH, replayed, top, before)
	}

	metrics := get(t, n.APIURL()+"/metrics")
	if want := "iotledger_store_replayed_blocks " + strconv.FormatInt(replayed, 10) + "\n"; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	if !strings.Contains(metrics, "# HELP iotledger_store_replayed_blocks ") {
		t.Error("/metrics: iotledger_store_replayed_blocks has no help text")
	}

	if h := n.App().Meta().Height; h < top {
		t.Errorf("after the replay the app store is at %d, want %d or more", h, top)
	}
	got, err := n.App().Reader().Block(top)
	if err != nil || got == nil || !bytes.Equal(got.AppHash, want.AppHash) || got.LogSize != want.LogSize {
		t.Errorf("block %d after the replay: %+v (%v), want %+v", top, got, err, want)
	}
	n.Close()
	r, err := node.Audit(t.Context(), home)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Damaged) > 0 || len(r.Findings) > 0 {
		t.Errorf("audit after the replay: damaged %v, findings %v", r.Damaged, r.Findings)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRunningNodeStopsOnDamagedTable: a table that turns bad under a
// running node (nothing start-up read): the first read that meets it
// reports the fault, StoreFailed closes, and StoreErr names the table
// (start and dev then stop the node with that line, exit code 3), instead
// of Pebble's panic.
func TestRunningNodeStopsOnDamagedTable(t *testing.T) {
	n, home := startNode(t)
	dev := registerDevices(t, t.Context(), n, 1)[0]
	commitReadings(t, n, dev, 1, 40)
	n.Close()
	n, err := restart(t, home, nil) // the log goes to a table
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	off := func(c *node.Config) { c.StoreCheck.Mode = node.StoreCheckOff } // start-up reads (and caches) little
	n, err = restart(t, home, off)
	if err != nil {
		t.Fatal(err)
	}
	table := newestFile(t, node.AppDBDir(home), ".sst")
	flipByte(t, table, -1)

	it, err := n.App().DB().NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	for ok := it.First(); ok; ok = it.Next() {
	}
	readErr := it.Error()
	it.Close()
	if readErr == nil {
		t.Fatal("a scan over a damaged table read no error")
	}
	select {
	case <-n.StoreFailed():
	case <-time.After(5 * time.Second):
		t.Fatal("the node did not report the damaged table")
	}
	var corrupt *node.StoreCorruptError
	if err := n.StoreErr(); !errors.As(err, &corrupt) || !strings.Contains(err.Error(), table) || node.ExitCode(err) != 3 {
		t.Errorf("StoreErr = %v, want a StoreCorruptError naming %s", err, table)
	}
	t.Logf("the running node stops with: %v", n.StoreErr())
}
