package main_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

// TestHaltDiskFull is issue 13's second fault: the disk fills while the
// node runs. It runs the binary on a home in a small tmpfs and sends
// readings until the disk is full and consensus halts (CometBFT's
// "CONSENSUS FAILURE!!!", a store write that found no space). Then the
// node says so everywhere: /v1/status halted with the reason, /readyz 503,
// readings 503 problem+json (kind halted, the reason, Retry-After) and
// none taken, the metric iotledger_consensus_halted 1, and one ERROR line
// that says to free space and restart. After the node is stopped, the
// tmpfs made larger and the node started again, nothing acknowledged is
// lost: every reading answered accepted is on the ledger at the index it
// was acknowledged with, and its receipt verifies; every reading answered
// pending, resent as the API's contract asks (a pending reading is not
// acknowledged: resend it until it is answered accepted or duplicate), is
// committed; and no reading the halted node refused was taken.
func TestHaltDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: the node's home is a small tmpfs this test mounts (mount -t tmpfs)")
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	mnt := t.TempDir()
	mountTmpfs(t, mnt, "40m")
	home := filepath.Join(mnt, "home")
	testonly.MustRun(t, "init", "--home", home, "--chain-id", "e2e-halt")
	// No per-device rate limit: four devices fill the disk in seconds.
	setGenesisParam(t, home, "device_rate_per_s", 0)
	testonly.MustRun(t, "keys", "new", "owner", "--home", home)
	n := testonly.StartNode(t, home, "start")
	c := client.New(n.URL())
	flags := []string{"--home", home, "--api", n.URL(), "--rpc", n.RPCAddr}
	var keys []*keystore.Key
	for i := range 4 {
		name := fmt.Sprintf("sensor-%d", i)
		testonly.MustRun(t, "keys", "new", name, "--home", home)
		testonly.MustRun(t, append([]string{"device", "register", "--owner", "owner", "--key", name}, flags...)...)
		k, err := keystore.Load(home, name)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if code, body := httpGet(t, ctx, n.URL()+"/readyz"); code != http.StatusOK {
		t.Fatalf("GET /readyz of a fresh node: %d %s", code, body)
	}

	// Fill the disk. Two devices wait for commit (accepted), two do not
	// (pending).
	l := startHaltLoad(ctx, c, keys)
	var st *client.Status
	testonly.Poll(t, ctx, "GET /v1/status to show consensus halted", func() (bool, error) {
		var err error
		st, err = c.Status(ctx)
		return err == nil && st.Halted != nil, err
	})
	seen := time.Now()
	l.stop()
	t.Logf("consensus halted at block %d after %.1f s of load: %s", st.Height, seen.Sub(l.began).Seconds(), l)
	t.Logf("GET /v1/status: halted since %s: %s", st.Halted.Since.Format(time.RFC3339), st.Halted.Reason)
	for _, want := range []string{"consensus failure", "no space left on device", "free space on the file system of " + filepath.Join(home, "data"), "restart the node", "When consensus halts"} {
		if !strings.Contains(st.Halted.Reason, want) {
			t.Errorf("halted reason %q lacks %q", st.Halted.Reason, want)
		}
	}
	if st.CatchingUp {
		t.Error("a halted node reports catching_up")
	}

	// Every answer says so.
	code, body := httpGet(t, ctx, n.URL()+"/readyz")
	t.Logf("GET /readyz: %d %s", code, body)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "urn:iotledger:problem:not-ready") || !strings.Contains(body, "consensus: consensus halted since") {
		t.Errorf("GET /readyz of a halted node: %d %s", code, body)
	}
	if code, body := httpGet(t, ctx, n.URL()+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz of a halted node: %d %s, want 200: the process serves", code, body)
	}
	refused := l.refusedAfter(t, ctx, n.URL(), keys[0], st.Halted.Reason)
	if code, body := httpGet(t, ctx, n.URL()+"/metrics"); code != http.StatusOK || !strings.Contains(body, "\niotledger_consensus_halted 1\n") {
		t.Errorf("GET /metrics of a halted node: %d, iotledger_consensus_halted 1 missing", code)
	}
	// One ERROR line, which says what happened and what to do.
	var errs []string
	for _, line := range strings.Split(n.Output(), "\n") {
		if strings.Contains(line, "CONSENSUS FAILURE") || strings.Contains(line, "goroutine ") {
			t.Errorf("the log holds CometBFT's failure line or a stack trace: %.300s", line)
		}
		if strings.Contains(line, "level=ERROR") {
			errs = append(errs, line)
		}
		if strings.Contains(line, "level=WARN") {
			t.Logf("the log warns: %.400s", line)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "consensus halted") || !strings.Contains(errs[0], "df -h") || !strings.Contains(errs[0], "restart the node") {
		t.Errorf("%d ERROR lines, want one that says consensus halted and what to do: %q", len(errs), errs)
	} else {
		t.Logf("the log says: %s", errs[0])
	}
	if l.accepted() == 0 || l.pendingCount() == 0 {
		t.Fatalf("the load saw no accepted or no pending readings before the halt: %s", l)
	}

	// Stop, free space, start again. The node stops within seconds; its
	// store may say on the way out that it could not write.
	code = n.StopExit(t)
	out := strings.Split(strings.TrimSpace(n.Output()), "\n")
	t.Logf("the halted node stopped with exit code %d; its last line: %s", code, out[len(out)-1])
	if out, err := exec.Command("mount", "-o", "remount,size=400m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount %s larger: %v %s", mnt, err, out)
	}
	n.Restart(t, "start")
	testonly.WaitHeight(t, ctx, c, st.Height+2)
	if st, err := c.Status(ctx); err != nil || st.Halted != nil {
		t.Fatalf("status after the restart: %+v, %v; want not halted", st, err)
	}
	testonly.Poll(t, ctx, "GET /readyz 200 after the restart", func() (bool, error) {
		code, _ := httpGet(t, ctx, n.URL()+"/readyz")
		return code == http.StatusOK, nil
	})

	// Nothing acknowledged is lost; nothing refused was taken.
	committed := map[string]map[uint64]uint64{}
	for _, k := range keys {
		committed[k.DeviceID()] = committedReadings(t, ctx, c, k.DeviceID())
	}
	for dev, seqs := range refused {
		for _, seq := range seqs {
			if _, ok := committed[dev][seq]; ok {
				t.Errorf("%s seq %d was refused by the halted node, yet it is committed", dev, seq)
			}
		}
	}
	gen, err := types.GenesisDocFromFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	verified := 0
	for dev, m := range l.acked {
		for seq, idx := range m {
			if got, ok := committed[dev][seq]; !ok || got != idx {
				t.Errorf("%s seq %d was answered accepted at log index %d; after the restart: committed %v, at %d", dev, seq, idx, ok, got)
				continue
			}
			if verified%25 == 0 || seq == l.lastAcked[dev] { // every 25th, and the last
				r, err := c.Receipt(ctx, dev, seq)
				if err != nil {
					t.Fatalf("receipt of %s seq %d: %v", dev, seq, err)
				}
				if _, err := receipt.Verify(r, gen); err != nil || r.LeafIndex != idx {
					t.Errorf("receipt of %s seq %d (leaf %d, acknowledged %d): %v", dev, seq, r.LeafIndex, idx, err)
				}
			}
			verified++
		}
	}
	// Pending readings: resent, each is accepted, or a duplicate of the
	// one committed before the halt.
	resent, dup := 0, 0
	for dev, m := range l.pending {
		var raws [][]byte
		var seqs []uint64
		for seq, raw := range m {
			raws, seqs = append(raws, raw), append(seqs, seq)
		}
		for len(raws) > 0 {
			k := min(len(raws), 1000)
			rs, err := c.Submit(ctx, raws[:k], true)
			if err != nil {
				t.Fatalf("resend of %d pending readings of %s: %v", k, dev, err)
			}
			for i, r := range rs {
				switch r.Status {
				case client.Accepted:
				case client.Duplicate:
					dup++
				default:
					t.Errorf("%s seq %d resent after the restart: %s %s %s", dev, seqs[i], r.Status, r.Reason, r.Detail)
				}
			}
			resent += k
			raws, seqs = raws[k:], seqs[k:]
		}
	}
	for dev, m := range l.pending {
		got := committedReadings(t, ctx, c, dev)
		for seq := range m {
			if _, ok := got[seq]; !ok {
				t.Errorf("%s seq %d, answered pending and resent, is not committed", dev, seq)
			}
		}
	}
	t.Logf("after the restart: %d readings answered accepted all committed at their index (%d receipts verified); %d answered pending resent: %d committed before the halt (duplicate), the rest accepted now; %d refused while halted, none committed; test took %.1f s",
		verified, verified/25+len(keys), resent, dup, len(refused[keys[0].DeviceID()]), time.Since(began).Seconds())
	n.Stop(t)
}

// mountTmpfs mounts a tmpfs of size on dir, unmounted at cleanup.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v %s", dir, err, out)
	}
	t.Cleanup(func() {
		// After the node's own cleanup (registered later, run first).
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	})
}

// setGenesisParam sets app_state.params.name in the home's genesis file.
func setGenesisParam(t *testing.T, home, name string, v any) {
	t.Helper()
	p := filepath.Join(home, "config", "genesis.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	g["app_state"].(map[string]any)["params"].(map[string]any)[name] = v
	if b, err = json.MarshalIndent(g, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// httpGet returns the status code and body of GET url.
func httpGet(t *testing.T, ctx context.Context, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// haltLoad sends readings from one sender per device until stopped,
// recording what was answered accepted (or duplicate) and pending.
type haltLoad struct {
	began  time.Time
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu        sync.Mutex
	acked     map[string]map[uint64]uint64 // device, seq: log index
	lastAcked map[string]uint64            // device: the highest seq acknowledged
	pending   map[string]map[uint64][]byte // device, seq: the reading
	answers   map[string]int               // what the node answered, counted by reading
	nextSeq   map[string]uint64            // device: the seq of refusedAfter's readings
}

func startHaltLoad(ctx context.Context, c *client.Client, keys []*keystore.Key) *haltLoad {
	ctx, cancel := context.WithCancel(ctx)
	l := &haltLoad{began: time.Now(), cancel: cancel, acked: map[string]map[uint64]uint64{}, lastAcked: map[string]uint64{},
		pending: map[string]map[uint64][]byte{}, answers: map[string]int{}, nextSeq: map[string]uint64{}}
	for d, k := range keys {
		dev := k.DeviceID()
		l.acked[dev], l.pending[dev] = map[uint64]uint64{}, map[uint64][]byte{}
		wait := d%2 == 0
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			seq := uint64(1)
			for ctx.Err() == nil {
				raws := make([][]byte, 0, 250)
				for range cap(raws) {
					r, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(),
						Data: map[string]any{"temp": float64(seq%1000) / 10, "note": "filling the disk of a node on a small tmpfs"}}, k.Private)
					if err != nil {
						panic(err)
					}
					raws = append(raws, r)
					seq++
				}
				rs, err := c.Submit(ctx, raws, wait)
				l.mu.Lock()
				l.nextSeq[dev] = seq
				switch {
				case errors.Is(err, client.ErrHalted):
					l.answers["503 halted"] += len(raws)
				case errors.Is(err, client.ErrBusy):
					l.answers["503 busy"] += len(raws)
				case err != nil && ctx.Err() != nil:
					l.answers["cut off by the end of the load"] += len(raws)
				case err != nil:
					l.answers["error: "+err.Error()] += len(raws)
				}
				for i, r := range rs {
					l.answers[string(r.Status)]++
					switch {
					case (r.Status == client.Accepted || r.Status == client.Duplicate) && r.Index != nil:
						l.acked[dev][r.Seq] = *r.Index
						l.lastAcked[dev] = max(l.lastAcked[dev], r.Seq)
					case r.Status == client.Pending:
						l.pending[dev][r.Seq] = raws[i]
					}
				}
				l.mu.Unlock()
				if err != nil && ctx.Err() == nil {
					select { // busy or halted: back off a little
					case <-ctx.Done():
					case <-time.After(200 * time.Millisecond):
					}
				}
			}
		}()
	}
	return l
}

func (l *haltLoad) stop() {
	l.once.Do(func() {
		l.cancel()
		l.wg.Wait()
	})
}

func (l *haltLoad) accepted() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.acked {
		n += len(m)
	}
	return n
}

func (l *haltLoad) pendingCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.pending {
		n += len(m)
	}
	return n
}

func (l *haltLoad) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("answers by reading %v", l.answers)
}

// refusedAfter sends fresh readings of k to the halted node in each form,
// waiting for commit and not, and checks that each is refused 503 kind
// halted with the reason and Retry-After. It returns them by device.
func (l *haltLoad) refusedAfter(t *testing.T, ctx context.Context, url string, k *keystore.Key, reason string) map[string][]uint64 {
	t.Helper()
	l.mu.Lock()
	seq := l.nextSeq[k.DeviceID()] + 1_000_000
	l.mu.Unlock()
	out := map[string][]uint64{}
	for _, tc := range []struct{ query, ct string }{
		{"", "application/json"}, {"?wait=false", "application/json"}, {"", "application/cose"}, {"?wait=false", "application/cose"},
	} {
		raw, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 20.5}}, k.Private)
		if err != nil {
			t.Fatal(err)
		}
		body := raw
		if tc.ct == "application/json" {
			body, _ = json.Marshal(map[string][]string{"readings": {base64.StdEncoding.EncodeToString(raw)}})
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/readings"+tc.query, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", tc.ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var p struct{ Type, Detail string }
		json.Unmarshal(b, &p)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Content-Type") != "application/problem+json" ||
			p.Type != "urn:iotledger:problem:halted" || !strings.Contains(p.Detail, reason) || resp.Header.Get("Retry-After") != "30" {
			t.Errorf("POST /v1/readings%s (%s) to a halted node: %s, Content-Type %q, Retry-After %q: %s",
				tc.query, tc.ct, resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), b)
		} else if len(out) == 0 {
			t.Logf("POST /v1/readings: %s, Retry-After %s: %s", resp.Status, resp.Header.Get("Retry-After"), bytes.TrimSpace(b))
		}
		out[k.DeviceID()] = append(out[k.DeviceID()], seq)
		seq++
	}
	return out
}

// TestHealthReadyDev: a fresh `dev` node serves /healthz at once and is
// ready (/readyz 200, every check named and passing) within seconds of its
// first block.
func TestHealthReadyDev(t *testing.T) {
	n, _ := testonly.DevNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if code, body := httpGet(t, ctx, n.URL()+"/healthz"); code != http.StatusOK || strings.TrimSpace(body) != `{"status":"serving"}` {
		t.Errorf("GET /healthz: %d %s", code, body)
	}
	testonly.WaitHeight(t, ctx, client.New(n.URL()), 1)
	first := time.Now()
	var body string
	testonly.Poll(t, ctx, "GET /readyz 200", func() (bool, error) {
		var code int
		code, body = httpGet(t, ctx, n.URL()+"/readyz")
		return code == http.StatusOK, nil
	})
	if d := time.Since(first); d > 5*time.Second {
		t.Errorf("ready %.1f s after the first block, want within 5 s", d.Seconds())
	}
	t.Logf("GET /readyz: %s", body)
	var r struct {
		Ready  bool `json:"ready"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range r.Checks {
		if !c.OK {
			t.Errorf("check %s not ok in a 200", c.Name)
		}
		names = append(names, c.Name)
	}
	if !r.Ready || strings.Join(names, ",") != "store,sync,consensus,mempool" {
		t.Errorf("readiness %s", body)
	}
}

// TestHaltNoQuorum is the watchdog's side of issue 13's second fault: one
// of two validators is killed, so the chain has no quorum. While nothing
// waits, node0 is idle, not halted, however long no block comes; once
// readings wait a whole stall window (ten block times) without a block,
// it reports consensus halted everywhere, as for a disk full. When the
// second validator is back, blocks come again, the halt clears by itself,
// and the readings answered pending meanwhile are committed.
func TestHaltNoQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	f := startFaultNet(t, ctx, 2, "e2e-stall", "sensor-a")
	cc, err := node.LoadCometConfig(f.nodes[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	window := node.StallWindow(cc.Consensus)
	c, k := f.clients[0], f.keys[0]

	f.nodes[1].Kill()
	stuck := maxHeight(t, ctx, f.clients, []int{0})
	// Idle: longer than the window without a block, and nothing waits.
	idle := time.Now().Add(window + 5*time.Second)
	for time.Now().Before(idle) {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Halted != nil {
			t.Fatalf("an idle node reported halted: %+v", st.Halted)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	if st, err := c.Status(ctx); err != nil || st.Height > stuck+1 {
		t.Fatalf("node0 committed alone: %+v, %v", st, err)
	}

	// Readings wait: halted after the window.
	var raws [][]byte
	for seq := uint64(1); seq <= 20; seq++ {
		r, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 19.5}}, k.Private)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, r)
	}
	rs, err := c.Submit(ctx, raws, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Status != client.Pending {
			t.Fatalf("reading sent without quorum: %+v, want pending", r)
		}
	}
	sent := time.Now()
	var st *client.Status
	testonly.Poll(t, ctx, "GET /v1/status to show consensus halted", func() (bool, error) {
		st, err = c.Status(ctx)
		return err == nil && st.Halted != nil, err
	})
	after := time.Since(sent)
	t.Logf("halted %.1f s after readings began to wait (window %v): %s", after.Seconds(), window, st.Halted.Reason)
	if after < window-2*time.Second {
		t.Errorf("halted %.1f s after readings began to wait, before the window of %v", after.Seconds(), window)
	}
	for _, want := range []string{"no block for", "transactions wait in the mempool", "quorum", "this clears when blocks come again"} {
		if !strings.Contains(st.Halted.Reason, want) {
			t.Errorf("halted reason %q lacks %q", st.Halted.Reason, want)
		}
	}
	if code, body := httpGet(t, ctx, f.nodes[0].URL()+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "consensus: consensus halted") {
		t.Errorf("GET /readyz: %d %s", code, body)
	}
	late, err := reading.Sign(reading.Reading{Seq: 21, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 19.5}}, k.Private)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(ctx, [][]byte{late}, false); !errors.Is(err, client.ErrHalted) {
		t.Errorf("a reading sent to the halted node: %v, want ErrHalted", err)
	}
	if code, body := httpGet(t, ctx, f.nodes[0].URL()+"/metrics"); !strings.Contains(body, "\niotledger_consensus_halted 1\n") {
		t.Errorf("GET /metrics: %d, iotledger_consensus_halted 1 missing", code)
	}

	// The second validator back: blocks come, the halt clears by itself.
	f.nodes[1].Restart(t, "start")
	testonly.Poll(t, ctx, "the halt to clear", func() (bool, error) {
		st, err = c.Status(ctx)
		return err == nil && st.Halted == nil && st.Height > stuck+1, err
	})
	testonly.Poll(t, ctx, "GET /readyz 200", func() (bool, error) {
		code, _ := httpGet(t, ctx, f.nodes[0].URL()+"/readyz")
		return code == http.StatusOK, nil
	})
	testonly.Poll(t, ctx, "the readings answered pending to be committed", func() (bool, error) {
		got := committedReadings(t, ctx, c, k.DeviceID())
		return len(got) == 20, nil
	})
	if rs, err := c.Submit(ctx, [][]byte{late}, true); err != nil || rs[0].Status != client.Accepted {
		t.Errorf("the reading refused while halted, sent again: %+v, %v", rs, err)
	}
	var errs, resumed []string
	for _, line := range strings.Split(f.nodes[0].Output(), "\n") {
		if strings.Contains(line, "level=ERROR") && strings.Contains(line, "consensus halted") {
			errs = append(errs, line) // (CometBFT logs the lost peer at ERROR too)
		}
		if strings.Contains(line, "consensus resumed") {
			resumed = append(resumed, line)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "consensus halted: no block while transactions wait") || len(resumed) != 1 {
		t.Errorf("node0's log: halted lines %q, resumed lines %q; want one of each", errs, resumed)
	} else {
		t.Logf("node0's log: %s\n%s", errs[0], resumed[0])
	}
	t.Logf("test took %.1f s", time.Since(began).Seconds())
	for _, n := range f.nodes {
		n.Stop(t)
	}
}
