package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

// scrape returns the node's GET /metrics.
func scrape(t *testing.T, n *node.Node) string {
	t.Helper()
	resp, err := http.Get(n.APIURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", resp.StatusCode, b)
	}
	return string(b)
}

// sample is the value of the sample named (with its labels, as the text
// format writes them) in body, and whether there is one.
func sample(body, series string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// waitSample scrapes n until the sample series holds a value ok accepts,
// for at most 30 s, and returns the body.
func waitSample(t *testing.T, n *node.Node, series string, ok func(float64) bool) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		body := scrape(t, n)
		if v, found := sample(body, series); found && ok(v) {
			return body
		}
		if time.Now().After(deadline) {
			v, found := sample(body, series)
			t.Fatalf("%s is %v (present: %v) after 30 s:\n%s", series, v, found, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsCometBFTInEveryNode: /metrics carries CometBFT's own metrics
// under their usual names, for each of two nodes in one process (CometBFT
// registers them on Prometheus's global registry, where a second node's
// would clash with the first's), each with its own values.
func TestMetricsCometBFTInEveryNode(t *testing.T) {
	a, _ := startNode(t)
	b, _ := startNode(t)
	positive := func(v float64) bool { return v > 0 }
	for name, n := range map[string]*node.Node{"first": a, "second": b} {
		// Two blocks: the block interval is observed from the second on.
		body := waitSample(t, n, `cometbft_consensus_latest_block_height{chain_id="test-chain"}`, func(v float64) bool { return v >= 2 })
		for _, series := range []string{
			`cometbft_consensus_height{chain_id="test-chain"}`,
			`cometbft_consensus_rounds{chain_id="test-chain"}`,
			`cometbft_consensus_validators{chain_id="test-chain"}`,
			`cometbft_p2p_peers{chain_id="test-chain"}`,
			`cometbft_mempool_size{chain_id="test-chain"}`,
			`cometbft_mempool_size_bytes{chain_id="test-chain"}`,
			`cometbft_consensus_block_interval_seconds_count{chain_id="test-chain"}`,
			`cometbft_consensus_missing_validators{chain_id="test-chain"}`,
			"iotledger_height",
			"go_goroutines",
		} {
			if _, ok := sample(body, series); !ok {
				t.Errorf("%s node: /metrics lacks %s", name, series)
			}
		}
		cometHeight, _ := sample(body, `cometbft_consensus_latest_block_height{chain_id="test-chain"}`)
		if own := float64(n.App().Meta().Height); cometHeight > own+1 || cometHeight < own-1 {
			t.Errorf("%s node: cometbft_consensus_latest_block_height %v, its app is at %v: another node's value?", name, cometHeight, own)
		}
		if v, _ := sample(body, `cometbft_consensus_validators{chain_id="test-chain"}`); !positive(v) {
			t.Errorf("%s node: cometbft_consensus_validators = %v, want 1", name, v)
		}
	}
}

// device registers a new device through n and returns its key.
func device(t *testing.T, n *node.Node, owner ed25519.PrivateKey, seed byte, nonce uint64) ed25519.PrivateKey {
	t.Helper()
	dev := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))
	pub := dev.Public().(ed25519.PublicKey)
	reg := &tx.RegisterDevice{Key: pub, DeviceSig: ed25519.Sign(dev, tx.RegistrationMessage("test-chain", address.Account(owner.Public().(ed25519.PublicKey)), pub))}
	raw, err := tx.Sign(owner, tx.TypeRegisterDevice, "test-chain", nonce, reg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := n.BroadcastTx(t.Context(), raw)
	if err != nil || !res.Committed || res.Code != 0 {
		t.Fatalf("register device: %+v, %v", res, err)
	}
	return dev
}

func signReading(t *testing.T, dev ed25519.PrivateKey, seq uint64, at time.Time) []byte {
	t.Helper()
	r, err := reading.Sign(reading.Reading{Seq: seq, Time: at.UnixMilli(), Data: map[string]any{"temp": 20.5}}, dev)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMetricsReadingsByOutcome: each reading is counted once, under its
// outcome, whether it was answered at intake or in a block and whether
// its sender waited; transactions are counted apart from readings.
func TestMetricsReadingsByOutcome(t *testing.T) {
	n, _ := startNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	owner := ed25519.NewKeyFromSeed(make([]byte, 32))
	dev := device(t, n, owner, 1, 0)
	// The same registration again: refused (its nonce is used), a
	// transaction's refusal, not a reading's.
	pub := dev.Public().(ed25519.PublicKey)
	again, err := tx.Sign(owner, tx.TypeRegisterDevice, "test-chain", 0, &tx.RegisterDevice{Key: pub,
		DeviceSig: ed25519.Sign(dev, tx.RegistrationMessage("test-chain", address.Account(owner.Public().(ed25519.PublicKey)), pub))})
	if err != nil {
		t.Fatal(err)
	}
	res, err := n.BroadcastTx(ctx, again)
	if err != nil || res.Code == 0 {
		t.Fatalf("registration sent again: %+v, %v; want a refusal", res, err)
	}
	refusal := res.Name

	now := time.Now()
	good := []([]byte){signReading(t, dev, 1, now), signReading(t, dev, 2, now), signReading(t, dev, 3, now)}
	forged := signReading(t, dev, 4, now)
	forged[len(forged)-1] ^= 1 // the signature's last byte
	stranger := signReading(t, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32)), 1, now)
	// Passes intake (which does not know the block's time) and is refused
	// in its block, to a sender who waits: counted once, not by the
	// answer and again by the block.
	stale := signReading(t, dev, 5, now.Add(-48*time.Hour))

	if _, err := n.Submit(ctx, good, true); err != nil {
		t.Fatal(err)
	}
	rs, err := n.Submit(ctx, [][]byte{good[0], forged, stranger, stale}, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, string(r.Status)+" "+r.Code.String())
	}
	if want := "duplicate duplicate,rejected bad_signature,rejected unregistered_device,rejected time_out_of_window"; strings.Join(got, ",") != want {
		t.Fatalf("answers %q, want %q", strings.Join(got, ","), want)
	}
	// Without waiting: a refusal at intake is counted all the same.
	if _, err := n.Submit(ctx, [][]byte{forged}, false); err != nil {
		t.Fatal(err)
	}

	body := scrape(t, n)
	for series, want := range map[string]float64{
		"iotledger_readings_committed_total":                                          3,
		"iotledger_readings_duplicate_total":                                          1,
		`iotledger_readings_rejected_total{reason="bad_signature"}`:                   2,
		`iotledger_readings_rejected_total{reason="unregistered_device"}`:             1,
		`iotledger_readings_rejected_total{reason="time_out_of_window"}`:              1,
		`iotledger_readings_rejected_total{reason="rate_limited"}`:                    0,
		`iotledger_txs_total{result="ok",type="register_device"}`:                     1,
		fmt.Sprintf(`iotledger_txs_total{result=%q,type="register_device"}`, refusal): 1,
		"iotledger_log_size":                       3,
		"iotledger_ingest_queue_readings":          0,
		"iotledger_ingest_queue_capacity_readings": float64(node.Default().Ingest.QueueSize),
		"iotledger_mqtt_connections":               0,
	} {
		if v, ok := sample(body, series); !ok || v != want {
			t.Errorf("%s = %v (present: %v), want %v", series, v, ok, want)
		}
	}
	// No transaction code under readings.
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "iotledger_readings_rejected_total{") {
			for _, txCode := range []string{"wrong_nonce", "device_exists", "not_owner", "insufficient_funds", "malformed_tx", refusal} {
				if strings.Contains(line, `"`+txCode+`"`) {
					t.Errorf("a transaction's code among readings: %s", line)
				}
			}
		}
	}
	if h, ok := sample(body, "iotledger_height"); !ok || h < 1 || h > float64(n.App().Meta().Height) {
		t.Errorf("iotledger_height = %v (present: %v), want the app's height %d", h, ok, n.App().Meta().Height)
	}
	if ts, ok := sample(body, "iotledger_last_block_timestamp_seconds"); !ok || time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Errorf("iotledger_last_block_timestamp_seconds = %v (present: %v), want about now", ts, ok)
	}
}

// TestMetricsBuildAndDisk: the build and the data folder's file system.
func TestMetricsBuildAndDisk(t *testing.T) {
	n, _ := startNode(t)
	body := scrape(t, n)
	info := regexp.MustCompile(`(?m)^iotledger_build_info\{goversion="([^"]+)",revision="([^"]+)",version="([^"]+)"\} 1$`).FindStringSubmatch(body)
	if info == nil {
		t.Fatalf("no iotledger_build_info{goversion,revision,version} 1:\n%s", body)
	}
	if info[1] != runtime.Version() {
		t.Errorf("goversion %q, want %q", info[1], runtime.Version())
	}
	free, ok1 := sample(body, "iotledger_data_free_bytes")
	size, ok2 := sample(body, "iotledger_data_capacity_bytes")
	if !ok1 || !ok2 || free <= 0 || size < free {
		t.Errorf("iotledger_data_free_bytes %v of iotledger_data_capacity_bytes %v (present: %v, %v), want 0 < free <= capacity", free, size, ok1, ok2)
	}
}

// TestMetricsPromtool: `promtool check metrics` finds nothing to say about
// iotledger's own metrics (CometBFT's keep the names CometBFT gives them,
// so they are left out). Where promtool is missing the test fails in CI
// (CI set) and is skipped elsewhere.
func TestMetricsPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool is not installed (Debian: apt-get install prometheus): %v", err)
		}
		t.Skip("promtool is not installed (Debian: apt-get install prometheus); CI runs this")
	}
	n, _ := startNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	owner := ed25519.NewKeyFromSeed(make([]byte, 32))
	dev := device(t, n, owner, 1, 0)
	if _, err := n.Submit(ctx, [][]byte{signReading(t, dev, 1, time.Now())}, true); err != nil {
		t.Fatal(err)
	}
	scrape(t, n) // so the next one holds a request duration too
	var own strings.Builder
	families := map[string]bool{}
	for _, line := range strings.Split(scrape(t, n), "\n") {
		name := line
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name = rest
		} else if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name = rest
		}
		if strings.HasPrefix(name, "iotledger_") {
			own.WriteString(line + "\n")
			families[strings.FieldsFunc(name, func(r rune) bool { return r == ' ' || r == '{' })[0]] = true
		}
	}
	if len(families) < 15 {
		t.Fatalf("only %d iotledger_ series in /metrics:\n%s", len(families), own.String())
	}
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(own.String())
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s\non:\n%s", err, out, own.String())
	}
}
