package main_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/reading"
)

type result struct {
	Device string  `json:"device"`
	Seq    uint64  `json:"seq"`
	Status string  `json:"status"`
	Reason string  `json:"reason"`
	Index  *uint64 `json:"index"`
	Height int64   `json:"height"`
}

// post sends readings as a JSON batch and waits for commit.
func post(ctx context.Context, url string, raws [][]byte) ([]result, error) {
	var body struct {
		Readings []string `json:"readings"`
	}
	for _, r := range raws {
		body.Readings = append(body.Readings, base64.StdEncoding.EncodeToString(r))
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/v1/readings", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("POST /v1/readings: %s", resp.Status)
	}
	var out struct {
		Results []result `json:"results"`
	}
	return out.Results, json.NewDecoder(resp.Body).Decode(&out)
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	home := t.TempDir()
	testonly.MustRun(t, "init", "--home", home, "--chain-id", "e2e-chain")
	testonly.MustRun(t, "keys", "new", "owner", "--home", home)
	testonly.MustRun(t, "keys", "new", "dev1", "--home", home)
	st, err := os.Stat(filepath.Join(home, "keys", "dev1.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v, want 0600", st.Mode().Perm(), err)
	}
	n := testonly.StartNode(t, home, "start")
	flags := []string{"--home", home, "--api", n.URL(), "--rpc", n.RPCAddr}
	out := testonly.MustRun(t, append([]string{"device", "register", "--owner", "owner", "--key", "dev1", "--label", "site=lab"}, flags...)...)
	if !strings.Contains(out, "registered device dev1") {
		t.Fatalf("register printed:\n%s", out)
	}
	k, err := keystore.Load(home, "dev1")
	if err != nil {
		t.Fatal(err)
	}
	id := k.DeviceID()
	out = testonly.MustRun(t, append([]string{"reading", "send", "--device", "dev1", "temp=21.5", "door=open"}, flags...)...)
	if !strings.HasPrefix(out, "accepted: device "+id+" seq 1") {
		t.Fatalf("reading send printed:\n%s", out)
	}
	out = testonly.MustRun(t, append([]string{"device", "list"}, flags...)...)
	if !strings.Contains(out, id) || !strings.Contains(out, "active") {
		t.Fatalf("device list printed:\n%s", out)
	}

	// Stream readings from a second goroutine; kill the node mid-stream.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var mu sync.Mutex
	acked := map[uint64]uint64{} // seq -> log index, acknowledged as committed
	var maxHeight int64
	streamCtx, stopStream := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	firstAcks := make(chan struct{})
	go func() {
		defer wg.Done()
		var once sync.Once
		for seq := uint64(100); streamCtx.Err() == nil && seq < 100000; seq += 10 {
			var raws [][]byte
			for s := seq; s < seq+10; s++ {
				r, err := reading.Sign(reading.Reading{Seq: s, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": float64(s) / 10}}, k.Private)
				if err != nil {
					t.Error(err)
					return
				}
				raws = append(raws, r)
			}
			rs, err := post(streamCtx, n.URL(), raws)
			if err != nil {
				return // the node was killed
			}
			mu.Lock()
			for _, r := range rs {
				if r.Status == "accepted" && r.Index != nil {
					acked[r.Seq] = *r.Index
					maxHeight = max(maxHeight, r.Height)
				}
			}
			if len(acked) >= 50 {
				once.Do(func() { close(firstAcks) })
			}
			mu.Unlock()
		}
	}()
	select {
	case <-firstAcks:
	case <-ctx.Done():
		t.Fatal("no readings acknowledged")
	}
	n.Kill()
	stopStream()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d readings acknowledged as committed before SIGKILL", len(acked))

	n.Restart(t, "start")
	testonly.WaitHeight(t, ctx, client.New(n.URL()), maxHeight+1) // receipts need the header of the block after
	genesis := node.GenesisFile(home)
	checked := 0
	for seq, idx := range acked {
		f := filepath.Join(t.TempDir(), "r.json")
		out := testonly.MustRun(t, append([]string{"receipt", id, fmt.Sprint(seq), "-o", f}, flags...)...)
		_ = out
		var rc struct {
			LeafIndex uint64 `json:"leaf_index"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(b, &rc)
		if rc.LeafIndex != idx {
			t.Errorf("seq %d: receipt leaf index %d, acknowledged %d", seq, rc.LeafIndex, idx)
		}
		vout := testonly.MustRun(t, "verify", f, "--genesis", genesis)
		if !strings.Contains(vout, "receipt verifies") {
			t.Errorf("verify printed:\n%s", vout)
		}
		checked++
		if checked == 1 {
			// Any byte changed: verify exits non-zero and names the check.
			bad := bytes.Replace(b, []byte(`"leaf_index": `+fmt.Sprint(idx)), []byte(`"leaf_index": `+fmt.Sprint(idx+1)), 1)
			if bytes.Equal(bad, b) {
				t.Fatal("could not mutate the receipt")
			}
			os.WriteFile(f, bad, 0o644)
			vout, code := testonly.Run(t, "verify", f, "--genesis", genesis)
			if code == 0 || !strings.Contains(vout, "FAIL inclusion in the log") {
				t.Errorf("verify of a mutated receipt: exit %d\n%s", code, vout)
			}
		}
		if checked == 5 {
			break // each receipt check runs two processes; five are plenty, the rest by API below
		}
	}
	// Every acknowledged reading is still there, at the same index.
	for seq, idx := range acked {
		resp, err := http.Get(fmt.Sprintf("%s/v1/devices/%s/readings/%d/receipt", n.URL(), id, seq))
		if err != nil {
			t.Fatal(err)
		}
		var rc struct {
			LeafIndex uint64 `json:"leaf_index"`
		}
		err = json.NewDecoder(resp.Body).Decode(&rc)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || rc.LeafIndex != idx {
			t.Errorf("seq %d after restart: %s, leaf %d (want %d), %v", seq, resp.Status, rc.LeafIndex, idx, err)
		}
	}
	n.Stop(t)
	out = testonly.MustRun(t, "audit", "--home", home)
	if !strings.Contains(out, "clean") {
		t.Fatalf("audit printed:\n%s", out)
	}

	// Tamper: change one byte of one stored reading; audit names it.
	var victim uint64
	for _, idx := range acked {
		victim = idx
		break
	}
	tamper(t, node.AppDBDir(home), victim)
	out, code := testonly.Run(t, "audit", "--home", home)
	if code == 0 || !strings.Contains(out, fmt.Sprintf("log index %d", victim)) || !strings.Contains(out, "block ") {
		t.Fatalf("audit after tampering: exit %d\n%s", code, out)
	}
}

// tamper flips one byte near the end of the stored leaf at index.
func tamper(t *testing.T, dir string, index uint64) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := binary.BigEndian.AppendUint64([]byte("t/l/"), index)
	v, closer, err := db.Get(key)
	if err != nil {
		t.Fatalf("leaf %d: %v", index, err)
	}
	b := append([]byte(nil), v...)
	closer.Close()
	b[len(b)-5] ^= 0x01
	if err := db.Set(key, b, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// TestDev runs `iotledger dev` as a new user would: it creates its home,
// registers five devices that send readings, stops cleanly on Ctrl-C and
// continues the same chain when run again.
func TestDev(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	home := filepath.Join(t.TempDir(), "devhome")
	n := testonly.StartNode(t, home, "dev")
	for _, want := range []string{"API:      http://" + n.APIAddr, "home:     " + home, "genesis:  " + node.GenesisFile(home)} {
		if !strings.Contains(n.Output(), want) {
			t.Errorf("dev output lacks %q:\n%s", want, n.Output())
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c := client.New(n.URL())
	page, err := c.Devices(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Devices) != 5 {
		t.Fatalf("dev registered %d devices, want 5", len(page.Devices))
	}
	waitReadings(t, ctx, c, 10)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n.Stop(t)
	if !strings.Contains(n.Output(), "stopped cleanly") {
		t.Errorf("dev did not say it stopped cleanly:\n%s", n.Output())
	}

	n.Restart(t, "dev")
	if strings.Contains(n.Output(), "created dev home") {
		t.Errorf("second run created the home again:\n%s", n.Output())
	}
	st2, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st2.ChainID != st.ChainID || st2.Height < st.Height || st2.LogSize < st.LogSize {
		t.Errorf("second run: chain %s height %d log %d; first run ended at chain %s height %d log %d",
			st2.ChainID, st2.Height, st2.LogSize, st.ChainID, st.Height, st.LogSize)
	}
	page, err = c.Devices(ctx, "", 100)
	if err != nil || len(page.Devices) != 5 {
		t.Fatalf("after restart: %d devices, %v; want the same 5", len(page.Devices), err)
	}
	waitReadings(t, ctx, c, 5)
	n.Stop(t)
}

// waitReadings waits for n committed readings on the event stream.
func waitReadings(t *testing.T, ctx context.Context, c *client.Client, n int) {
	t.Helper()
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for e := range events {
		if e.Type == "reading" {
			if seen++; seen == n {
				return
			}
		}
	}
	t.Fatalf("saw %d readings before the stream ended: %v", seen, ctx.Err())
}

func clientFor(n *testonly.Node) *client.Client { return client.New(n.URL()) }
