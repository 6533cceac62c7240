package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/sim"
)

// startNode initialises a home in a temp dir and starts a node on free
// loopback ports.
func startNode(t *testing.T) *node.Node {
	t.Helper()
	home := t.TempDir()
	if _, err := node.Init(home, node.InitOptions{ChainID: "sim-test", Moniker: "t"}); err != nil {
		t.Fatal(err)
	}
	cfg := node.Default()
	cfg.API.Addr, cfg.RPCAddr, cfg.P2PAddr, cfg.MQTT.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	n, err := node.Start(t.Context(), home, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// simulate runs one simulation against n, via cfg.Via.
func simulate(t *testing.T, ctx context.Context, n *node.Node, cfg sim.Config) *sim.Figures {
	t.Helper()
	api := "http://" + n.APIAddr()
	send, err := sim.NewSender(cfg.Via, sim.Endpoints{API: api, MQTT: "tcp://" + n.MQTTAddr(), InFlight: 8, ReceiptQoS: cfg.ReceiptQoS})
	if err != nil {
		t.Fatal(err)
	}
	defer send.Close()
	c := client.New(api)
	cfg.Schedule.Committed = sim.APILogSize(c)
	figs, err := sim.Simulate(ctx, cfg, n.RPC(), sim.APILookup(c), send)
	if err != nil {
		t.Fatal(err)
	}
	return figs
}

// checkAllCommitted checks that every offered reading was sent and
// committed, and that the latency figures are positive and ordered.
func checkAllCommitted(t *testing.T, f *sim.Figures, offered int) {
	t.Helper()
	if f.Offered != offered || f.Sent != offered || f.Committed != offered {
		t.Errorf("offered %d, sent %d, committed %d; want all %d", f.Offered, f.Sent, f.Committed, offered)
	}
	if f.Unsent != 0 || f.Duplicate != 0 || f.Pending != 0 || f.Lost != 0 || len(f.Rejected) != 0 {
		t.Errorf("unsent %d, duplicate %d, pending %d, lost %d, rejected %v (first error %q); want none",
			f.Unsent, f.Duplicate, f.Pending, f.Lost, f.Rejected, f.FirstErr)
	}
	if !(0 < f.P50Ms && f.P50Ms <= f.P90Ms && f.P90Ms <= f.P99Ms && f.P99Ms <= f.MaxMs) {
		t.Errorf("latency p50 %v, p90 %v, p99 %v, max %v ms; want 0 < p50 <= p90 <= p99 <= max", f.P50Ms, f.P90Ms, f.P99Ms, f.MaxMs)
	}
	if f.LatencyN == 0 || f.NotAckedInWindow != 0 {
		t.Errorf("latency over %d readings, %d more not answered committed; want some and none", f.LatencyN, f.NotAckedInWindow)
	}
	if f.CommittedPerS <= 0 || f.AckedPerS <= 0 || f.CommittedFrom != "log" {
		t.Errorf("%v committed/s by %s, %v answered committed/s; want both > 0, by the log", f.CommittedPerS, f.CommittedFrom, f.AckedPerS)
	}
}

func TestSimulateCommitsEveryReading(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	cfg := sim.Config{Devices: 20, Seed: "test", Via: sim.ViaHTTP, Schedule: sim.Schedule{Rate: 500, Duration: 2 * time.Second, Batch: 50}}
	f := simulate(t, ctx, n, cfg)
	if f.Registered != 20 {
		t.Errorf("registered %d devices, want 20", f.Registered)
	}
	checkAllCommitted(t, f, 1000)
	if f.WindowS < 1.5 || f.WindowS > 2 {
		t.Errorf("window %vs, want the 1.8s after the warm-up", f.WindowS)
	}

	// The same seed again: the same devices, already registered, and
	// sequence numbers past those of the first run.
	cfg.Schedule = sim.Schedule{Rate: 200, Duration: time.Second, Batch: 20}
	f = simulate(t, ctx, n, cfg)
	if f.Registered != 0 {
		t.Errorf("rerun registered %d devices, want 0", f.Registered)
	}
	checkAllCommitted(t, f, 200)
}

// Over MQTT each device connects as itself and learns every reading's fate
// from its receipts topic.
func TestSimulateOverMQTT(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	for _, qos := range []int{1, 0} {
		cfg := sim.Config{Devices: 25, Seed: fmt.Sprintf("mqtt-%d", qos), Via: sim.ViaMQTT, ReceiptQoS: qos,
			Schedule: sim.Schedule{Rate: 400, Duration: 2 * time.Second, Batch: 40}}
		f := simulate(t, ctx, n, cfg)
		if f.Registered != 25 || f.Via != sim.ViaMQTT {
			t.Errorf("receipts at QoS %d: registered %d devices via %s, want 25 via mqtt", qos, f.Registered, f.Via)
		}
		checkAllCommitted(t, f, 800)
	}
}

func TestBenchReportsEveryFigure(t *testing.T) {
	for _, via := range []string{sim.ViaHTTP, sim.ViaMQTT} {
		t.Run(via, func(t *testing.T) { benchReportsEveryFigure(t, via) })
	}
}

func benchReportsEveryFigure(t *testing.T, via string) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	r, err := sim.Bench(ctx, sim.BenchConfig{
		Config:      sim.Config{Devices: 10, Via: via, Schedule: sim.Schedule{Rate: 300, Duration: 2 * time.Second, Batch: 30}},
		CeilingTime: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"committed_per_s", "p50_ms", "p99_ms", "verify_ceiling_per_s", "ratio", "bytes_per_reading", "reading_bytes", "peak_rss_bytes", "cpu_s_per_1000"} {
		v, ok := got[k].(float64)
		if !ok || !(v > 0) {
			t.Errorf("%s = %v, want a number > 0\n%s", k, got[k], b)
		}
	}
	committed, ceiling := got["committed_per_s"].(float64), got["verify_ceiling_per_s"].(float64)
	if ratio := got["ratio"].(float64); math.Abs(ratio-committed/ceiling) > 1e-12*ratio {
		t.Errorf("ratio %v, want committed/ceiling = %v", ratio, committed/ceiling)
	}
	if got["committed"] != float64(600) || got["sent"] != float64(600) || got["via"] != via {
		t.Errorf("sent %v, committed %v via %v; want all 600 via %s", got["sent"], got["committed"], got["via"], via)
	}
	stores, _ := got["store_bytes_per_reading"].(map[string]any)
	for _, s := range sim.Stores {
		if _, ok := stores[s]; !ok {
			t.Errorf("store_bytes_per_reading lacks %s: %v", s, stores)
		}
	}
	// A tiny run has few profile samples: the load generator's may be none.
	if share, ok := got["loadgen_cpu_share"].(float64); ok && !(share >= 0 && share < 1) {
		t.Errorf("loadgen_cpu_share %v, want at least 0 and below 1", share)
	}
	t.Logf("%s", b)
}
