package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/tx"
)

// NetworkReport is the result of BenchNetwork: the single-node bench's
// figures, with the same JSON keys, measured on a local network of
// validators, and what the network adds.
//
// Each validator is its own process, the load generator another (this
// one). So the CPU figures are exact, not estimated: cpu_s_per_1000 is all
// validators and the load generator, cpu_s_per_1000_node all validators
// (their summed user and system time), loadgen_cpu_share the load
// generator's share. peak_rss_bytes is the sum of the validators' peak
// resident memory; disk (bytes_per_reading, store_bytes_per_reading) is
// per validator, the average of all.
type NetworkReport struct {
	*Report
	Validators int `json:"validators"`
	// LoadNode is the validator whose API took the load; throughput is
	// counted from its log.
	LoadNode           string  `json:"load_node"`
	AllBytesPerReading float64 `json:"bytes_per_reading_all_validators"`
	// PeakRSSPerValidator is each validator's peak resident memory.
	PeakRSSPerValidator []int64 `json:"peak_rss_bytes_per_validator"`
	// Heights are the validators' heights when the load was over, and
	// AppHash the app hash they all hold at the lowest of them.
	Heights []int64 `json:"heights"`
	AppHash string  `json:"app_hash"`
}

// BenchNetwork is Bench on a local network of validators (2 to 7) instead
// of one node: it writes their homes as `iotledger testnet` does (one
// genesis, loopback ports from a free base port, persistent peers), starts
// each as a child process (`iotledger start`, this same executable), sends
// the load to node0's API and measures the same figures. The homes are
// removed afterwards. See NetworkReport for what the figures cover.
//
// Child processes rather than nodes inside this process: each validator
// then has its own heap, garbage collector and scheduler, as on separate
// machines, instead of one Go runtime for all; a validator's CPU time is
// read exactly from /proc instead of estimated from a profile; and a
// validator that fails while stopping (CometBFT can touch a closed store
// while its peers go away) cannot take the figures down with it.
func BenchNetwork(ctx context.Context, c BenchConfig, validators int) (*NetworkReport, error) {
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
	if validators < 2 || validators > node.MaxTestnetValidators {
		return nil, fmt.Errorf("sim: --validators %d: want 2 to %d (1 is the single-node bench)", validators, node.MaxTestnetValidators)
	}
	if c.Contract != nil {
		return nil, errors.New("sim: --contract and --validators do not go together yet: measure a contract's cost on one node (without --validators)")
	}
	if c.Via == ViaMQTT {
		if err := checkOpenFiles(c.Devices, fmt.Sprintf("bench --via mqtt --devices %d (one connection a device)", c.Devices), "simulate fewer devices"); err != nil {
			return nil, err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sim: find the iotledger executable to start the validators: %w", err)
	}
	s := c.Schedule.withDefaults()

	dir, err := os.MkdirTemp("", "iotledger-bench-net-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	homes, err := benchTestnet(dir, validators)
	if err != nil {
		return nil, err
	}
	procs := make([]*validatorProc, len(homes))
	defer func() {
		for _, p := range procs {
			if p != nil {
				p.kill()
			}
		}
	}()
	for i, h := range homes {
		cfg, err := node.LoadConfig(h.Home)
		if err != nil {
			return nil, err
		}
		// Requests wait for commit however long it takes, as in Bench.
		cfg.API.WaitTimeout = node.Duration{Duration: benchWait}
		cfg.Ingest.MaxMempoolBytes = benchMempoolBytes
		if err := node.WriteConfig(filepath.Join(h.Home, "config", node.ConfigFile), cfg); err != nil {
			return nil, err
		}
		if err := tuneConsensus(h.Home); err != nil {
			return nil, err
		}
		if procs[i], err = startValidator(ctx, exe, h, c.Progress); err != nil {
			return nil, err
		}
	}
	s.Timeout = benchWait + 30*time.Second
	api := "http://" + homes[0].API
	c.progress("bench: %d validators started in %s, each its own process; load through %s's API %s", validators, dir, homes[0].Name, api)
	apis := make([]*client.Client, len(homes))
	for i, h := range homes {
		apis[i] = client.New("http://" + h.API)
	}
	if err := waitHeights(ctx, apis, 2, time.Minute); err != nil {
		return nil, err
	}
	rpc0, err := rpchttp.New("http://" + homes[0].RPC)
	if err != nil {
		return nil, err
	}

	send, err := NewSender(c.Via, Endpoints{API: api, MQTT: "tcp://" + homes[0].MQTT, InFlight: s.InFlight})
	if err != nil {
		return nil, err
	}
	defer send.Close()
	chain := orderedChain{}
	for _, h := range homes {
		r, err := rpchttp.New("http://" + h.RPC)
		if err != nil {
			return nil, err
		}
		chain.nodes = append(chain.nodes, r)
	}
	p, err := prepare(ctx, c.Config, chain, APILookup(APIClient(api)))
	if err != nil {
		return nil, err
	}
	if err := connect(ctx, c.Config, send, p); err != nil {
		return nil, err
	}
	c.progress("bench: measuring the Ed25519 verification ceiling for %v", c.CeilingTime)
	ceil, err := VerifyCeiling(ctx, p.fleet, p.raws, c.CeilingTime)
	if err != nil {
		return nil, err
	}

	data := make([]string, len(homes))
	before := make([]int64, len(homes))
	beforeStores := make([]map[string]int64, len(homes))
	for i, h := range homes {
		data[i] = filepath.Join(h.Home, "data")
		if before[i], beforeStores[i], err = dataSizes(data[i]); err != nil {
			return nil, err
		}
	}
	logSize := APILogSize(apis[0])
	logBefore, err := logSize(ctx)
	if err != nil {
		return nil, err
	}
	var w netWindow
	w.procs = procs
	s.OnWindow = w.mark
	s.Committed = logSize
	c.progress("bench: sending %d readings/s for %v via %s to %s of %d validators", int(s.Rate), s.Duration, c.Via, homes[0].Name, validators)
	st, err := Run(ctx, s, p.raws, send)
	if err != nil {
		return nil, err
	}
	if !settleRPC(ctx, rpc0, settleTime) {
		c.progress("bench: %s's mempool was not empty %v after the load; stopping anyway", homes[0].Name, settleTime)
	}
	r := &NetworkReport{Validators: validators, LoadNode: homes[0].Name}
	if r.Heights, r.AppHash, err = agree(ctx, apis); err != nil {
		return nil, err
	}
	logAfter, err := logSize(ctx)
	if err != nil {
		return nil, err
	}
	logReadings := logAfter - logBefore
	for _, p := range procs {
		rss, err := p.peakRSS()
		if err != nil {
			return nil, err
		}
		r.PeakRSSPerValidator = append(r.PeakRSSPerValidator, rss)
	}
	for _, p := range procs {
		p.stopping.Store(true) // peers going away are logged as errors
	}
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].stop(); err != nil {
			c.progress("bench: %s: %v (the figures stand: the load was over)", homes[i].Name, err)
		}
	}
	var grew int64
	storeGrew := map[string]int64{}
	for i := range homes {
		after, afterStores, err := dataSizes(data[i])
		if err != nil {
			return nil, err
		}
		grew += after - before[i]
		for _, name := range Stores {
			storeGrew[name] += afterStores[name] - beforeStores[i][name]
		}
	}

	r.Report = &Report{
		Figures:           *newFigures(c.Config, s, p, st),
		VerifyCeilingPerS: ceil.PerSecond,
		VerifyBatch:       ceil.Batch,
		Cores:             ceil.Cores,
		LogReadings:       logReadings,
	}
	for _, b := range r.PeakRSSPerValidator {
		r.PeakRSSBytes += b
	}
	if ceil.PerSecond > 0 {
		r.Ratio = r.CommittedPerS / ceil.PerSecond
	}
	if logReadings > 0 {
		per := func(b int64) float64 { return float64(b) / float64(logReadings) / float64(validators) }
		r.BytesPerReading = per(grew)
		r.AllBytesPerReading = r.BytesPerReading * float64(validators)
		r.StoreBytesPerReading = map[string]float64{}
		for _, name := range Stores {
			r.StoreBytesPerReading[name] = per(storeGrew[name])
		}
	}
	self, nodes, err := w.result()
	if err != nil {
		return nil, err
	}
	all := self + nodes
	r.CPUSeconds = all.Seconds()
	if st.CommittedInWindow > 0 && all > 0 {
		per := func(d time.Duration) float64 { return d.Seconds() / (float64(st.CommittedInWindow) / 1000) }
		r.CPUPer1000 = per(all)
		n := per(nodes)
		share := self.Seconds() / all.Seconds()
		r.CPUPer1000Node, r.LoadgenShare = &n, &share
	}
	return r, nil
}

// orderedChain registers the fleet on a network of validators: it sends
// each transaction to every validator's RPC, node0 first, before the next
// one. CometBFT keeps no order between transactions that reach a mempool
// from different peers (seen here: a proposer held nonce 999 of the
// registering account before nonce 149, and the block refused it as
// wrong_nonce), so gossip alone can reorder a run of consecutive nonces;
// sent to each validator in order, every mempool holds them in order.
// Waiting for a commit is waiting for the account's nonce to pass the
// transaction's.
type orderedChain struct {
	nodes []*rpchttp.HTTP // node0 first
}

func (c orderedChain) Status(ctx context.Context) (*ctypes.ResultStatus, error) {
	return c.nodes[0].Status(ctx)
}

func (c orderedChain) ABCIQuery(ctx context.Context, path string, data cmtbytes.HexBytes) (*ctypes.ResultABCIQuery, error) {
	return c.nodes[0].ABCIQuery(ctx, path, data)
}

func (c orderedChain) BroadcastTxSync(ctx context.Context, raw types.Tx) (*ctypes.ResultBroadcastTx, error) {
	r, err := c.nodes[0].BroadcastTxSync(ctx, raw)
	if err != nil || r.Code != 0 {
		return r, err
	}
	for _, n := range c.nodes[1:] {
		// Gossip may have brought it first: "already exists in cache".
		if _, err := n.BroadcastTxSync(ctx, raw); err != nil && !strings.Contains(err.Error(), "already exists in cache") {
			return nil, err
		}
	}
	return r, nil
}

func (c orderedChain) BroadcastTxCommit(ctx context.Context, raw types.Tx) (*ctypes.ResultBroadcastTxCommit, error) {
	t, err := tx.Decode(raw)
	if err != nil || t.Signed == nil {
		return nil, fmt.Errorf("sim: not a signed transaction: %v", err)
	}
	r, err := c.BroadcastTxSync(ctx, raw)
	if err != nil {
		return nil, err
	}
	out := &ctypes.ResultBroadcastTxCommit{CheckTx: abci.CheckTxResponse{Code: r.Code, Log: r.Log}, Hash: r.Hash}
	if r.Code != 0 {
		return out, nil
	}
	deadline := time.Now().Add(settleTime)
	for {
		n, err := accountNonce(ctx, c, t.Signed.Account)
		if err != nil {
			return nil, err
		}
		if n > t.Signed.Nonce {
			st, err := c.Status(ctx)
			if err != nil {
				return nil, err
			}
			out.Height = st.SyncInfo.LatestBlockHeight
			return out, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("sim: account %s still at nonce %d %v after sending nonce %d: a registration was refused in a block", t.Signed.Account, n, settleTime, t.Signed.Nonce)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// benchProposeTimeout is the validators' consensus.timeout_propose in the
// bench. A testnet's 1 s (chosen so that a stopped validator's turn to
// propose costs little) is too short under load on a shared machine: a
// proposal of several MB then reaches the other validators in more than a
// second, they prevote nil, the round fails, and the next proposer makes
// an even larger block (measured on 2 cores at 5,000 readings/s offered:
// 926 committed/s in a run with 1 s, 1,056 to 2,790 in three with 3 s; see
// BENCHMARKS.md). 3 s is CometBFT's default.
const benchProposeTimeout = 3 * time.Second

// benchMempoolBytes is node0's [ingest] max_mempool_bytes in the bench:
// one full block (genesis block.max_bytes). With a single node's 24 MiB,
// an overloaded network's validators spend the machine checking a mempool
// backlog that gossip brings them, and blocks stall (measured on 2 cores,
// 5,000 readings/s offered: 276 and 1,056 committed/s with 24 MiB; 722,
// 1,800 and 2,703 with 8 MiB, the excess answered busy).
const benchMempoolBytes = 8 << 20

// tuneConsensus sets the bench's consensus timeouts in a home's config.toml.
func tuneConsensus(home string) error {
	cc, err := node.LoadCometConfig(home)
	if err != nil {
		return err
	}
	cc.Consensus.TimeoutPropose = benchProposeTimeout
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cc)
	return nil
}

// benchTestnet writes the homes of a local testnet into dir, on a base port
// whose ports are all free (drawn again while one is taken).
func benchTestnet(dir string, validators int) ([]node.TestnetNode, error) {
	for try := 0; ; try++ {
		out := filepath.Join(dir, fmt.Sprintf("net%d", try))
		base := 20000 + rand.IntN(1200)*10 // below Linux's ephemeral ports
		homes, _, err := node.Testnet(out, node.TestnetOptions{Validators: validators, ChainID: benchChainID, BasePort: base})
		if err == nil {
			return homes, nil
		}
		if !strings.Contains(err.Error(), "is taken") || try == 10 {
			return nil, err
		}
		os.RemoveAll(out)
	}
}

// validatorProc is a validator running as a child process.
type validatorProc struct {
	name     string
	stopping atomic.Bool // its log's errors are expected now
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	out      tail
}

// tail keeps the last lines a process wrote, for error messages.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, s)
	if len(t.lines) > 20 {
		t.lines = t.lines[1:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// startValidator runs `exe start --home HOME` and returns once it says it
// is running. Its log goes to progress (if set) prefixed with its name. It
// is killed if this process dies.
func startValidator(ctx context.Context, exe string, h node.TestnetNode, progress io.Writer) (*validatorProc, error) {
	p := &validatorProc{name: h.Name, done: make(chan struct{})}
	p.cmd = exec.Command(exe, "start", "--home", h.Home)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IOTLEDGER_") { // the home's own addresses, not the caller's
			env = append(env, kv)
		}
	}
	p.cmd.Env = env
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("sim: start %s: %w", h.Name, err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			p.out.add(line)
			if strings.Contains(line, "press Ctrl-C to stop") {
				once.Do(func() { close(ready) })
			}
			if progress != nil && !p.stopping.Load() && strings.Contains(line, "level=") && !strings.Contains(line, "level=INFO") {
				fmt.Fprintf(progress, "%s: %s\n", h.Name, line)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	select {
	case <-ready:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("sim: %s exited before it was running:\n%s", h.Name, &p.out)
	case <-time.After(time.Minute):
		p.kill()
		return nil, fmt.Errorf("sim: %s not running after a minute:\n%s", h.Name, &p.out)
	case <-ctx.Done():
		p.kill()
		return nil, ctx.Err()
	}
}

// stop interrupts the validator and waits for it to exit, killing it after
// 30 s. It reports an exit other than a clean one.
func (p *validatorProc) stop() error {
	p.stopping.Store(true)
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
		return errors.New("did not stop within 30 s of SIGINT; killed")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("exited with status %d while stopping:\n%s", code, &p.out)
	}
	return nil
}

func (p *validatorProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// cpu is the validator's CPU time so far, user and system, from
// /proc/PID/stat.
func (p *validatorProc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("sim: CPU time of %s: %w", p.name, err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("sim: CPU time of %s: short /proc stat", p.name)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("sim: CPU time of %s: bad /proc stat", p.name)
	}
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// peakRSS is the validator's peak resident memory (VmHWM).
func (p *validatorProc) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("sim: memory of %s: %w", p.name, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("sim: memory of %s: VmHWM %q", p.name, v)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("sim: memory of %s: no VmHWM", p.name)
}

// netWindow measures the CPU time of this process (the load generator) and
// of the validators over the measured window.
type netWindow struct {
	procs []*validatorProc

	mu                   sync.Mutex // guards the fields below
	selfStart, selfEnd   time.Duration
	nodesStart, nodesEnd time.Duration
	opened, closed       bool
	err                  error
}

func (w *netWindow) mark(open bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	self, err := cpuTime()
	if err != nil {
		w.err = err
		return
	}
	var nodes time.Duration
	for _, p := range w.procs {
		t, err := p.cpu()
		if err != nil {
			w.err = err
			return
		}
		nodes += t
	}
	if open {
		w.selfStart, w.nodesStart, w.opened = self, nodes, true
		return
	}
	w.selfEnd, w.nodesEnd, w.closed = self, nodes, true
}

func (w *netWindow) result() (self, nodes time.Duration, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, 0, w.err
	}
	if !w.opened || !w.closed {
		return 0, 0, errors.New("sim: the measured window did not open and close")
	}
	return w.selfEnd - w.selfStart, w.nodesEnd - w.nodesStart, nil
}

// waitHeights waits, for at most d, until every node has committed block h.
func waitHeights(ctx context.Context, apis []*client.Client, h int64, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		low := int64(-1)
		for _, c := range apis {
			st, err := c.Status(ctx)
			m := int64(0)
			if err == nil {
				m = st.Height
			}
			if low < 0 || m < low {
				low = m
			}
		}
		if low >= h {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sim: the validators did not reach height %d within %v (lowest at %d): do they reach each other on loopback?", h, d, low)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// settleRPC waits, for at most d, until a node's mempool is empty.
func settleRPC(ctx context.Context, rpc *rpchttp.HTTP, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		r, err := rpc.NumUnconfirmedTxs(ctx)
		if err == nil && r.Total == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// agree returns the nodes' heights and the app hash they all hold at the
// lowest of them, or an error if they differ there.
func agree(ctx context.Context, apis []*client.Client) ([]int64, string, error) {
	heights := make([]int64, len(apis))
	low := int64(-1)
	for i, c := range apis {
		st, err := c.Status(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("sim: status of node%d: %w", i, err)
		}
		heights[i] = st.Height
		if low < 0 || st.Height < low {
			low = st.Height
		}
	}
	var want string
	for i, c := range apis {
		b, err := c.Block(ctx, low)
		if err != nil {
			return nil, "", fmt.Errorf("sim: block %d of node%d: %w", low, i, err)
		}
		got := fmt.Sprintf("%X", b.AppHash)
		if i == 0 {
			want = got
		} else if got != want {
			return nil, "", fmt.Errorf("sim: node%d's app hash at height %d is %s, node0's %s: the validators disagree", i, low, got, want)
		}
	}
	return heights, want, nil
}

// WriteText writes the report for a person: the single-node bench's
// lines, each saying what it covers on a network.
func (r *NetworkReport) WriteText(w io.Writer) {
	r.Figures.WriteText(w)
	fmt.Fprintf(w, "ceiling:     %.0f readings/s: Ed25519 (ZIP 215) verification on all %d cores doing nothing else, batches of %d, measured before the load\n",
		r.VerifyCeilingPerS, r.Cores, r.VerifyBatch)
	fmt.Fprintf(w, "ratio:       %.3f (committed per second / ceiling; every validator verifies every reading)\n", r.Ratio)
	if r.CPUPer1000Node != nil {
		fmt.Fprintf(w, "cpu:         %.3f s per 1000 committed readings for all %d validators and the load generator; the validators alone %.3f s (each its own process, measured exactly; the load generator had %.0f%%)\n",
			r.CPUPer1000, r.Validators, *r.CPUPer1000Node, 100**r.LoadgenShare)
	}
	var stores []string
	for _, name := range Stores {
		stores = append(stores, fmt.Sprintf("%s %.0f", name, r.StoreBytesPerReading[name]))
	}
	times := 0.0
	if r.ReadingBytes > 0 {
		times = r.BytesPerReading / r.ReadingBytes
	}
	fmt.Fprintf(w, "disk:        %.0f bytes per reading per validator, all stores (%.1f times the reading; %d readings appended to the log): %s; all %d validators %.0f\n",
		r.BytesPerReading, times, r.LogReadings, strings.Join(stores, ", "), r.Validators, r.AllBytesPerReading)
	var per []string
	for _, b := range r.PeakRSSPerValidator {
		per = append(per, fmt.Sprintf("%.0f", float64(b)/(1<<20)))
	}
	fmt.Fprintf(w, "memory:      %.0f MiB peak resident, the %d validators' peaks added up (%s MiB)\n", float64(r.PeakRSSBytes)/(1<<20), r.Validators, strings.Join(per, ", "))
	fmt.Fprintf(w, "network:     %d validators on loopback, each its own process, the load through %s's API; heights when the load was over %v, app hash %s on all at height %d\n",
		r.Validators, r.LoadNode, r.Heights, r.AppHash, minOf(r.Heights))
}

func minOf(xs []int64) int64 {
	m := int64(-1)
	for _, x := range xs {
		if m < 0 || x < m {
			m = x
		}
	}
	return m
}
