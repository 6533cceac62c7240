package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/iotledger/iotledger/internal/node"
)

// Defaults of `iotledger bench`: about a minute on two cores.
const (
	BenchDevices  = 1000
	BenchRate     = 20000
	BenchDuration = 30 * time.Second
	// CeilingTime is how long the verification ceiling is measured.
	CeilingTime = 2 * time.Second
)

// BenchConfig is one benchmark: a simulation against a fresh node.
type BenchConfig struct {
	Config
	CeilingTime time.Duration // 0 means CeilingTime
	// CPUProfile, when set, receives the CPU profile of the measured
	// window (the whole process; the load generator's samples carry the
	// label ProfileLabel=ProfileValue).
	CPUProfile io.Writer
	// Log receives the node's log; nil means none.
	Log *slog.Logger
	// Contract, when set, is a contract document: after the plain run
	// the bench starts a second fresh node, deploys it there (funded from
	// a genesis account) before the load, and runs the same load again.
	// The simulated devices get the labels its triggers select, in both.
	Contract []byte
}

// Report is the result of Bench: the simulation's figures and the node's
// costs, all measured in the same run.
type Report struct {
	Figures

	// The machine's Ed25519 (ZIP 215) batch verification ceiling, measured
	// before the load, and the committed rate as a share of it.
	VerifyCeilingPerS float64 `json:"verify_ceiling_per_s"`
	VerifyBatch       int     `json:"verify_batch"`
	Cores             int     `json:"cores"`
	Ratio             float64 `json:"ratio"` // committed_per_s / verify_ceiling_per_s

	// CPU over the measured window, per 1,000 readings committed in it.
	// The load generator runs in the same process: CPUPer1000 counts both;
	// CPUPer1000Node leaves out the load generator's share of the window's
	// CPU profile samples (LoadgenShare), an estimate. Both are absent when
	// the profile could not be taken (another profile was running).
	CPUPer1000     float64  `json:"cpu_s_per_1000"`
	CPUPer1000Node *float64 `json:"cpu_s_per_1000_node,omitempty"`
	LoadgenShare   *float64 `json:"loadgen_cpu_share,omitempty"`
	CPUSeconds     float64  `json:"cpu_s_window"`

	// Disk the node's stores grew by during the run, per reading the log
	// grew by: all of HOME/data, and each store. LogReadings counts the
	// readings committed after their request stopped waiting too.
	LogReadings          uint64             `json:"log_readings"`
	BytesPerReading      float64            `json:"bytes_per_reading"`
	StoreBytesPerReading map[string]float64 `json:"store_bytes_per_reading"`

	// Peak resident memory of the process (VmHWM): node and load generator,
	// including the pre-signed readings (PresignedBytes at least).
	PeakRSSBytes int64 `json:"peak_rss_bytes"`

	// Contract is the second window's figures, with --contract.
	Contract *ContractFigures `json:"contract,omitempty"`
}

// Bench starts a fresh single-validator node in a temporary home on free
// loopback ports, runs the simulation against it and reports, from that one
// run, throughput, latency, the verification ceiling, CPU, disk and memory.
// The home is removed afterwards.
func Bench(ctx context.Context, c BenchConfig) (*Report, error) {
	if c.Seed == "" {
		c.Seed = DefaultSeed
	}
	if c.Via == "" {
		c.Via = ViaHTTP
	}
	if c.CeilingTime == 0 {
		c.CeilingTime = CeilingTime
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Contract == nil {
		return benchNode(ctx, c, "")
	}
	name, labels, err := contractLabels(c.Contract)
	if err != nil {
		return nil, err
	}
	c.Labels = labels
	plainCfg := c
	plainCfg.Contract, plainCfg.CPUProfile = nil, nil // the profile is the contract run's
	c.progress("bench: first run, without the contract")
	plain, err := benchNode(ctx, plainCfg, "")
	if err != nil {
		return nil, err
	}
	c.progress("bench: second run, on a fresh node with contract %s deployed before the load", name)
	with, err := benchNode(ctx, c, name)
	if err != nil {
		return nil, err
	}
	plain.Contract = contractFigures(plain, with)
	return plain, nil
}

// benchNode is one run of Bench on a fresh node; with a contract, it is
// deployed after the fleet is registered, before the load.
func benchNode(ctx context.Context, c BenchConfig, contractName string) (*Report, error) {
	if c.Via == ViaMQTT {
		// Both ends of every device's connection are in this process.
		if err := checkOpenFiles(2*c.Devices, fmt.Sprintf("bench --via mqtt --devices %d (node and load generator in one process: both ends of every device's connection)", c.Devices),
			"simulate fewer devices, or run the node (iotledger start) and the load (iotledger sim --via mqtt) as two processes"); err != nil {
			return nil, err
		}
	}
	s := c.Schedule.withDefaults()
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	home, err := os.MkdirTemp("", "iotledger-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	opts, err := benchGenesis(c)
	if err != nil {
		return nil, err
	}
	if _, err := node.Init(home, opts); err != nil {
		return nil, err
	}
	cfg := node.Default()
	cfg.API.Addr, cfg.RPCAddr, cfg.P2PAddr, cfg.MQTT.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	// Requests wait for commit however long it takes, so that a slow node
	// shows as latency rather than as readings answered "pending".
	cfg.API.WaitTimeout = node.Duration{Duration: benchWait}
	s.Timeout = benchWait + 30*time.Second
	n, err := node.Start(ctx, home, cfg, log)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	api := "http://" + n.APIAddr()
	c.progress("bench: node started in %s, API %s", home, api)

	// The sender first: an unavailable transport fails before any work.
	send, err := NewSender(c.Via, Endpoints{API: api, MQTT: "tcp://" + n.MQTTAddr(), InFlight: s.InFlight, ReceiptQoS: c.ReceiptQoS})
	if err != nil {
		return nil, err
	}
	defer send.Close()
	p, err := prepare(ctx, c.Config, n.RPC(), APILookup(APIClient(api)))
	if err != nil {
		return nil, err
	}
	if err := connect(ctx, c.Config, send, p); err != nil {
		return nil, err
	}
	var id string
	if c.Contract != nil {
		if id, err = deployContract(ctx, n, benchOwner(c.Seed), benchChainID, c.Contract); err != nil {
			return nil, err
		}
		c.progress("bench: deployed contract %s (%s)", id, contractName)
	}
	c.progress("bench: measuring the Ed25519 verification ceiling for %v", c.CeilingTime)
	ceil, err := VerifyCeiling(ctx, p.fleet, p.raws, c.CeilingTime)
	if err != nil {
		return nil, err
	}

	data := filepath.Join(home, "data")
	before, beforeStores, err := dataSizes(data)
	if err != nil {
		return nil, err
	}
	logBefore := n.App().Log().Size()
	var w cpuWindow
	s.OnWindow = w.mark
	s.Committed = func(context.Context) (uint64, error) { return n.App().Log().Size(), nil }
	c.progress("bench: sending %d readings/s for %v via %s", int(s.Rate), s.Duration, c.Via)
	st, err := Run(ctx, s, p.raws, send)
	if err != nil {
		return nil, err
	}
	if !settle(ctx, n, settleTime) {
		c.progress("bench: the node's mempool was not empty %v after the load; stopping it anyway", settleTime)
	}
	var cf *ContractFigures
	if c.Contract != nil {
		if cf, err = contractRun(n, id, contractName); err != nil {
			return nil, err
		}
	}
	logReadings := n.App().Log().Size() - logBefore
	if err := n.Close(); err != nil {
		return nil, fmt.Errorf("sim: stop the node: %w", err)
	}
	after, afterStores, err := dataSizes(data)
	if err != nil {
		return nil, err
	}
	rss, err := peakRSS()
	if err != nil {
		return nil, err
	}

	r := &Report{
		Figures:           *newFigures(c.Config, s, p, st),
		Contract:          cf,
		VerifyCeilingPerS: ceil.PerSecond,
		VerifyBatch:       ceil.Batch,
		Cores:             ceil.Cores,
		PeakRSSBytes:      rss,
	}
	if ceil.PerSecond > 0 {
		r.Ratio = r.CommittedPerS / ceil.PerSecond
	}
	r.LogReadings = logReadings
	if logReadings > 0 {
		per := func(b int64) float64 { return float64(b) / float64(logReadings) }
		r.BytesPerReading = per(after - before)
		r.StoreBytesPerReading = map[string]float64{}
		for _, name := range Stores {
			r.StoreBytesPerReading[name] = per(afterStores[name] - beforeStores[name])
		}
	}
	if c.CPUProfile != nil && w.profing {
		if _, err := c.CPUProfile.Write(w.prof.Bytes()); err != nil {
			return nil, fmt.Errorf("sim: write the CPU profile: %w", err)
		}
	}
	cpu, share, err := w.result()
	if err != nil {
		return nil, err
	}
	r.CPUSeconds = cpu.Seconds()
	if st.CommittedInWindow > 0 {
		r.CPUPer1000 = cpu.Seconds() / (float64(st.CommittedInWindow) / 1000)
		if share != nil {
			node := r.CPUPer1000 * (1 - *share)
			r.CPUPer1000Node, r.LoadgenShare = &node, share
		}
	}
	return r, nil
}

// benchWait is how long the bench node's API waits for a reading's commit.
const benchWait = 5 * time.Minute

// settleTime bounds the wait for the node's mempool to empty after the load.
const settleTime = time.Minute

// settle waits, for at most d, until the node's mempool is empty. A node
// stopped while CometBFT is still rechecking its mempool after a block can
// crash ("pebble: closed"); readings committed after the load also belong
// in the disk figures.
func settle(ctx context.Context, n *node.Node, d time.Duration) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := n.RPC().NumUnconfirmedTxs(ctx)
		if err == nil && r.Total == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// cpuWindow measures the process's CPU time over the measured window and
// profiles it, to estimate the load generator's share.
type cpuWindow struct {
	mu      sync.Mutex // guards the fields below
	start   time.Duration
	end     time.Duration
	opened  bool
	closed  bool
	prof    bytes.Buffer
	profing bool
	err     error
}

func (w *cpuWindow) mark(open bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, err := cpuTime()
	if err != nil {
		w.err = err
		return
	}
	if open {
		w.start, w.opened = t, true
		// Another profile may be running (go test -cpuprofile): then the
		// split is not reported.
		w.profing = pprof.StartCPUProfile(&w.prof) == nil
		return
	}
	if w.profing {
		pprof.StopCPUProfile()
	}
	w.end, w.closed = t, true
}

// result is the CPU time of the window and, if the profile was taken, the
// load generator's share of it.
func (w *cpuWindow) result() (time.Duration, *float64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, nil, w.err
	}
	if !w.opened || !w.closed {
		return 0, nil, errors.New("sim: the measured window did not open and close")
	}
	if !w.profing {
		return w.end - w.start, nil, nil
	}
	share, err := profileShare(w.prof.Bytes(), ProfileLabel, ProfileValue)
	if err != nil {
		return w.end - w.start, nil, nil // no split rather than no figures
	}
	return w.end - w.start, &share, nil
}

// WriteText writes the report for a person.
func (r *Report) WriteText(w io.Writer) {
	r.Figures.WriteText(w)
	fmt.Fprintf(w, "ceiling:     %.0f readings/s: Ed25519 (ZIP 215) verification on all %d cores doing nothing else, batches of %d, measured before the load\n",
		r.VerifyCeilingPerS, r.Cores, r.VerifyBatch)
	fmt.Fprintf(w, "ratio:       %.3f (committed per second / ceiling)\n", r.Ratio)
	if r.CPUPer1000Node != nil {
		fmt.Fprintf(w, "cpu:         %.3f s per 1000 committed readings for the whole process (node and load generator); node alone about %.3f s (the load generator had %.0f%% of the window's CPU profile samples)\n",
			r.CPUPer1000, *r.CPUPer1000Node, 100**r.LoadgenShare)
	} else {
		fmt.Fprintf(w, "cpu:         %.3f s per 1000 committed readings for the whole process (node and load generator; no profile to split them)\n", r.CPUPer1000)
	}
	var stores []string
	known := 0.0
	for _, name := range Stores {
		v := r.StoreBytesPerReading[name]
		known += v
		stores = append(stores, fmt.Sprintf("%s %.0f", name, v))
	}
	other := r.BytesPerReading - known
	if other > -0.5 && other < 0.5 {
		other = 0 // rounding, not a store
	}
	stores = append(stores, fmt.Sprintf("other %.0f", other))
	times := 0.0
	if r.ReadingBytes > 0 {
		times = r.BytesPerReading / r.ReadingBytes
	}
	fmt.Fprintf(w, "disk:        %.0f bytes per reading, all stores (%.1f times the reading; %d readings appended to the log): %s\n", r.BytesPerReading, times, r.LogReadings, strings.Join(stores, ", "))
	fmt.Fprintf(w, "memory:      %.0f MiB peak resident (VmHWM of the process: node and load generator, with %.0f MiB of pre-signed readings)\n",
		float64(r.PeakRSSBytes)/(1<<20), float64(r.PresignedBytes)/(1<<20))
	if r.Contract != nil {
		r.Contract.WriteText(w, r)
	}
}
