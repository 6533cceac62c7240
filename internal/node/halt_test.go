package node

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/prometheus/client_golang/prometheus"
)

// clock is a wall clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lockedBuffer is a log sink for handlers on several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the logged lines at level (such as "ERROR").
func (b *lockedBuffer) lines(level string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(l, "level="+level+" ") {
			out = append(out, l)
		}
	}
	return out
}

const testWindow = 30 * time.Second

// watchEnv is a haltWatch on a test clock, logging to logs, with its
// metrics on reg.
type watchEnv struct {
	w     *haltWatch
	clock *clock
	logs  *lockedBuffer
	reg   *prometheus.Registry
}

func newWatchEnv(t *testing.T) *watchEnv {
	t.Helper()
	e := &watchEnv{clock: &clock{t: time.Date(2026, time.December, 7, 19, 0, 0, 0, time.UTC)}, logs: &lockedBuffer{}, reg: prometheus.NewRegistry()}
	e.w = newHaltWatch(e.reg, testWindow, "/srv/iotledger/data", slog.New(slog.NewTextHandler(e.logs, nil)), e.clock.now)
	return e
}

// gauge is the value of the metric name.
func (e *watchEnv) gauge(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// wantHalted fails unless the watch reports a halt (or none, when
// contains is empty) whose reason holds each of contains, with the metrics
// to match.
func (e *watchEnv) wantHalted(t *testing.T, since time.Time, contains ...string) {
	t.Helper()
	h := e.w.Halted()
	halted, at := e.gauge(t, "iotledger_consensus_halted"), e.gauge(t, "iotledger_consensus_halted_since_timestamp_seconds")
	if len(contains) == 0 {
		if h != nil || halted != 0 || at != 0 || e.w.status() != nil {
			t.Fatalf("halted: %v (gauges %v, %v), want not halted", h, halted, at)
		}
		return
	}
	if h == nil {
		t.Fatalf("not halted, want halted since %v", since)
	}
	if want := float64(since.UnixMilli()) / 1000; !h.Since.Equal(since) || halted != 1 || at != want {
		t.Errorf("halted since %v (gauges %v, %v), want since %v (gauges 1, %v)", h.Since, halted, at, since, want)
	}
	for _, c := range contains {
		if !strings.Contains(h.Reason, c) {
			t.Errorf("reason %q lacks %q", h.Reason, c)
		}
	}
	if st := e.w.status(); st == nil || st.Reason != h.Reason || !st.Since.Equal(since) {
		t.Errorf("status %+v, want the halt", st)
	}
}

// tick moves the clock by d and takes sample s.
func (e *watchEnv) tick(d time.Duration, s haltSample) {
	e.clock.add(d)
	e.w.observe(s)
}

// TestHaltWatchStall: no block for a whole window while transactions wait
// is a halt, reported once; the next block clears it.
func TestHaltWatchStall(t *testing.T) {
	e := newWatchEnv(t)
	busy := haltSample{height: 7, mempool: 3, queued: 500, peers: 2}
	e.tick(0, busy)
	for range 29 {
		e.tick(time.Second, busy)
	}
	e.wantHalted(t, time.Time{}) // 29 s: not yet
	e.tick(time.Second, busy)
	since := e.clock.now()
	e.wantHalted(t, since, "no block for 30s after block 7", "3 transactions wait in the mempool and 500 readings in the queue", "(2 peers)",
		"quorum", "this clears when blocks come again", `"When consensus halts" in the README`)
	for range 60 {
		e.tick(time.Second, busy)
	}
	e.wantHalted(t, since, "no block for 30s") // the halt keeps the time it was noticed
	if errs := e.logs.lines("ERROR"); len(errs) != 1 || !strings.Contains(errs[0], "consensus halted: no block while transactions wait") {
		t.Errorf("ERROR lines %q, want one that says consensus halted", errs)
	}

	// A block: the halt clears, and says so once.
	e.tick(time.Second, haltSample{height: 8, mempool: 3})
	e.wantHalted(t, time.Time{})
	if infos := e.logs.lines("INFO"); len(infos) != 1 || !strings.Contains(infos[0], "consensus resumed") || !strings.Contains(infos[0], "halted_for=1m1s") {
		t.Errorf("INFO lines %q, want one that says consensus resumed", infos)
	}
	// The window starts again from that block.
	for range 29 {
		e.tick(time.Second, haltSample{height: 8, mempool: 3})
	}
	e.wantHalted(t, time.Time{})
	e.tick(time.Second, haltSample{height: 8, mempool: 3})
	e.wantHalted(t, e.clock.now(), "after block 8")
	if errs := e.logs.lines("ERROR"); len(errs) != 2 {
		t.Errorf("%d ERROR lines after the second halt, want 2: %q", len(errs), errs)
	}
}

// TestHaltWatchIdle: a node with nothing to commit is never halted, however
// long it goes without a block; when work comes after a long idle time,
// the window starts with the work, not with the last block.
func TestHaltWatchIdle(t *testing.T) {
	e := newWatchEnv(t)
	for range 600 {
		e.tick(time.Second, haltSample{height: 3})
	}
	e.wantHalted(t, time.Time{})
	// Work waits from the first sample that sees it: 29 s later, no halt.
	for range 30 {
		e.tick(time.Second, haltSample{height: 3, queued: 1})
	}
	e.wantHalted(t, time.Time{})
	// Work that comes and goes without a block does not add up.
	e.tick(time.Second, haltSample{height: 3})
	for range 30 {
		e.tick(time.Second, haltSample{height: 3, mempool: 1})
	}
	e.wantHalted(t, time.Time{})
	e.tick(time.Second, haltSample{height: 3, mempool: 1})
	e.wantHalted(t, e.clock.now(), "no block for 11m1s after block 3", "1 transactions wait")
}

// TestHaltWatchCatchingUp: a node catching up with the chain is not
// halted, however long transactions wait; a halt it had clears.
func TestHaltWatchCatchingUp(t *testing.T) {
	e := newWatchEnv(t)
	for range 300 {
		e.tick(time.Second, haltSample{height: 100, queued: 50, catchingUp: true})
	}
	e.wantHalted(t, time.Time{})

	// Caught up, stuck: halted after a window.
	for range 31 {
		e.tick(time.Second, haltSample{height: 100, mempool: 2})
	}
	e.wantHalted(t, e.clock.now(), "no block for 31s after block 100")
	// Catching up again (it fell behind a chain that moved on): the node
	// reports catching up, not halted.
	e.tick(time.Second, haltSample{height: 100, mempool: 2, catchingUp: true})
	e.wantHalted(t, time.Time{})
	if warns := e.logs.lines("WARN"); len(warns) != 1 || !strings.Contains(warns[0], "catching up") {
		t.Errorf("WARN lines %q, want one that says the node is catching up", warns)
	}
}

// TestHaltWatchFailure: a consensus failure halts at once, says what to do
// (for a full disk: free space, then restart), logs one ERROR line, and
// does not clear until restart: not by blocks, not by a second failure.
func TestHaltWatchFailure(t *testing.T) {
	e := newWatchEnv(t)
	e.tick(0, haltSample{height: 13, mempool: 40})
	e.clock.add(1500 * time.Millisecond)
	since := e.clock.now()
	cause := "pebble: fatal commit error: write /srv/iotledger/data/blockstore.db/000006.log: no space left on device"
	e.w.fail(cause)
	e.wantHalted(t, since, "consensus failure: "+cause, "The disk is full: free space on the file system of /srv/iotledger/data (df -h /srv/iotledger/data), then restart the node",
		`"When consensus halts" in the README`)
	e.w.fail("another panic")
	for h := int64(14); h < 20; h++ { // even blocks (there are none after a failure) do not clear it
		e.tick(time.Minute, haltSample{height: h, mempool: 40})
	}
	e.wantHalted(t, since, cause)
	errs := e.logs.lines("ERROR")
	if len(errs) != 1 || !strings.Contains(errs[0], "consensus halted: this node commits no more blocks and refuses readings until it is restarted") ||
		!strings.Contains(errs[0], "last_block=13") || !strings.Contains(errs[0], "df -h") {
		t.Errorf("ERROR lines %q, want one that says consensus halted and what to do", errs)
	}

	// A failure with another cause: find it and fix it, then restart.
	e = newWatchEnv(t)
	e.w.fail("runtime error: index out of range [3]\n\twith length 3")
	e.wantHalted(t, e.clock.now(), "consensus failure: runtime error: index out of range [3] with length 3. CometBFT stopped", "fix it, then restart the node")
	if h := e.w.Halted(); strings.Contains(h.Reason, "disk is full") {
		t.Errorf("reason %q", h.Reason)
	}

	// CometBFT's consensus WAL failure quotes a whole message before the
	// error: the reason keeps both ends, and knows the disk is full.
	e = newWatchEnv(t)
	e.w.fail("failed to write {BlockPart Part{#0\n  Bytes: " + strings.Repeat("A1B2", 5000) + "\n} msg to consensus WAL due to write data/cs.wal/wal: " +
		noSpace + "; check your file system and restart the node")
	e.wantHalted(t, e.clock.now(), "consensus failure: failed to write {BlockPart Part{#0 Bytes: A1B2", " ... ", "due to write data/cs.wal/wal: no space left on device; check your file system",
		"The disk is full")
	if h := e.w.Halted(); len(h.Reason) > 800 {
		t.Errorf("reason of %d bytes", len(h.Reason))
	}
}

// TestConsensusFailureLine: CometBFT's "CONSENSUS FAILURE!!!" line, logged
// through the node's cometLogger (as CometBFT does, from a child logger),
// halts the watch, at any cometbft_level; the node's one ERROR line
// replaces it, and its stack trace goes to debug. Other error lines do not
// halt.
func TestConsensusFailureLine(t *testing.T) {
	for _, level := range []string{"error", "none", "debug"} {
		t.Run(level, func(t *testing.T) {
			e := newWatchEnv(t)
			cl := newCometLogger(slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), level)
			cl.onFailure = e.w.fail
			consensus := cl.With("module", "consensus")
			consensus.Error("Error writing msg to consensus wal. WARNING: recover may not be possible for the current height",
				"err", "write data/cs.wal/wal: no space left on device", "msg", "{BlockPart H:17}")
			consensus.Error("Failed to write to WAL", "err", "write cs.wal: input/output error")
			if h := e.w.Halted(); h != nil {
				t.Fatalf("halted by an ordinary error line: %v", h)
			}
			// A write that found the disk full is a symptom: WARN.
			if warns := e.logs.lines("WARN"); level != "none" && (len(warns) != 1 || !strings.Contains(warns[0], "Error writing msg to consensus wal")) {
				t.Errorf("WARN lines %q, want CometBFT's failed WAL write", warns)
			}
			since := e.clock.now()
			cause := "pebble: fatal commit error: write blockstore.db/000006.log: no space left on device"
			consensus.Error("CONSENSUS FAILURE!!!", "err", cause, "stack", "goroutine 84 [running]:\nruntime/debug.Stack()")
			e.wantHalted(t, since, "consensus failure: "+cause, "free space")
			var halts []string
			for _, l := range e.logs.lines("ERROR") {
				if strings.Contains(l, "CONSENSUS FAILURE") || strings.Contains(l, "goroutine") {
					t.Errorf("ERROR line with CometBFT's failure or its stack: %s", l)
				}
				if strings.Contains(l, "consensus halted") {
					halts = append(halts, l)
				}
			}
			if len(halts) != 1 {
				t.Errorf("%d ERROR lines say consensus halted, want 1: %q", len(halts), halts)
			}
			if errs := e.logs.lines("ERROR"); level != "none" && len(errs) != 2 {
				t.Errorf("ERROR lines %q, want the input/output error and the halt", errs)
			}
			debug := e.logs.lines("DEBUG")
			if (level == "debug") != (len(debug) == 1 && strings.Contains(debug[0], "goroutine 84")) {
				t.Errorf("cometbft_level %s: DEBUG lines %q", level, debug)
			}
		})
	}
}

func TestStallWindow(t *testing.T) {
	ours := CometConfig(t.TempDir())
	for _, tc := range []struct {
		name string
		c    *cmtcfg.ConsensusConfig
		want time.Duration
	}{
		{"iotledger init", ours.Consensus, 31 * time.Second}, // 10 × (3 s + 100 ms)
		{"CometBFT default", cmtcfg.DefaultConsensusConfig(), 40 * time.Second},
		{"CometBFT test", cmtcfg.TestConsensusConfig(), minStallWindow},
	} {
		if got := StallWindow(tc.c); got != tc.want {
			t.Errorf("%s: StallWindow = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestReadmeHaltSection: the section every halt's reason points to exists.
func TestReadmeHaltSection(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readmeHalt, "When consensus halts") || !bytes.Contains(b, []byte("\n### When consensus halts\n")) {
		t.Errorf("the README has no section %q, which the halt reasons point to", readmeHalt)
	}
}
