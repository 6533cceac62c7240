package node

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/ingest"
)

// A node knows when its consensus has halted, and says so everywhere: GET
// /v1/status (halted), GET /readyz (503), readings and transactions (503
// kind halted; ingest.Submit returns the HaltedError, which MQTT answers
// too), the metrics iotledger_consensus_halted and
// iotledger_consensus_halted_since_timestamp_seconds, and one ERROR line
// that says what happened and what to do. Two things halt it:
//
//   - A consensus failure: CometBFT's consensus routine recovered a panic
//     (a store write failed, such as on a full disk), logged "CONSENSUS
//     FAILURE!!!" and stopped. cometLogger sees that line and calls fail.
//     Only a restart clears it: CometBFT does not start consensus again.
//   - No block for StallWindow while transactions wait (in the mempool or
//     in ingest's queue): the watchdog, which samples CometBFT every
//     haltTick. The network lost its quorum, or this node is cut off from
//     it. It clears when blocks come again (a partition healed).
//
// A node with nothing to commit is never halted, however long it waits
// for a block; nor is a node catching up with the chain (block sync), which
// GET /v1/status and /readyz report as catching up instead. The watchdog
// runs on the node's wall clock: it is outside block execution.

// haltFactor is how many block times may pass without a block, while
// transactions wait, before the watchdog reports a halt. A block time is
// taken as timeout_propose + timeout_commit (3.1 s in the config init
// writes): the time of a height whose proposal is late. A height whose
// proposer is offline takes one more round (propose, prevote, precommit:
// 5 s, longer each round), and a full 8 MiB block takes a second or two
// to execute on two cores; ten block times allow several failed rounds and
// slow blocks before a live network is called halted, and still tell an
// operator within about half a minute.
const haltFactor = 10

// minStallWindow bounds the window from below for configurations with
// tiny timeouts (CometBFT's test config proposes after 40 ms), where ten
// block times would be shorter than executing one full block.
const minStallWindow = 15 * time.Second

// haltTick is how often the watchdog samples CometBFT.
const haltTick = time.Second

// StallWindow is how long no block may come while transactions wait
// before the watchdog reports consensus halted.
func StallWindow(c *cmtcfg.ConsensusConfig) time.Duration {
	return max(haltFactor*(c.TimeoutPropose+c.TimeoutCommit), minStallWindow)
}

// haltSample is what the watchdog reads from CometBFT and ingest each tick.
type haltSample struct {
	height     int64 // the latest block in CometBFT's block store
	mempool    int   // transactions in the mempool
	queued     int   // readings in ingest's queue
	catchingUp bool  // block sync (or state sync) is running
	peers      int
}

// haltWatch tracks whether consensus has halted. Its methods are safe for
// concurrent use: fail runs on CometBFT's consensus routine, observe on
// the watchdog's goroutine, Halted on requests.
type haltWatch struct {
	now    func() time.Time
	window time.Duration
	data   string // the node's data folder, named in what to do
	log    *slog.Logger
	// committed is the height of the last block the app committed, for
	// fail's line (nil: the last height observe saw). It must not wait for
	// a lock CometBFT may hold: fail runs while CometBFT's consensus
	// routine recovers a panic.
	committed func() int64
	gauge     prometheus.Gauge
	since     prometheus.Gauge

	mu       sync.Mutex          // guards the fields below
	height   int64               // the latest block seen
	blockAt  time.Time           // when it was first seen (zero: nothing seen yet)
	waitFrom time.Time           // since when transactions wait without a block; zero: none wait
	failure  *ingest.HaltedError // a consensus failure: until restart
	stall    *ingest.HaltedError // no block while transactions wait: until the next block

	cancel context.CancelFunc
	done   chan struct{}
}

func newHaltWatch(reg prometheus.Registerer, window time.Duration, data string, log *slog.Logger, now func() time.Time) *haltWatch {
	w := &haltWatch{now: now, window: window, data: data, log: log,
		gauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "iotledger_consensus_halted",
			Help: "1 while the node's consensus has halted (a consensus failure, or no block for several block times while transactions wait), else 0."}),
		since: prometheus.NewGauge(prometheus.GaugeOpts{Name: "iotledger_consensus_halted_since_timestamp_seconds",
			Help: "When the node noticed its consensus halted, unix seconds; 0 while it commits."}),
	}
	reg.MustRegister(w.gauge, w.since)
	return w
}

// Halted is the current halt, or nil: a consensus failure before a stall.
func (w *haltWatch) Halted() *ingest.HaltedError {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.halted()
}

func (w *haltWatch) halted() *ingest.HaltedError {
	if w.failure != nil {
		return w.failure
	}
	return w.stall
}

// status is Halted as GET /v1/status shows it.
func (w *haltWatch) status() *apiwire.Halt {
	h := w.Halted()
	if h == nil {
		return nil
	}
	return &apiwire.Halt{Since: h.Since.UTC(), Reason: h.Reason}
}

// fail records a consensus failure with its cause and logs the one line
// that says what to do. Only the first counts.
func (w *haltWatch) fail(cause string) {
	w.mu.Lock()
	if w.failure != nil {
		w.mu.Unlock()
		return
	}
	w.failure = &ingest.HaltedError{Since: w.now(), Reason: failureReason(cause, w.data)}
	w.stall = nil
	height, h := w.height, w.failure
	w.setGauges()
	w.mu.Unlock()
	if w.committed != nil {
		height = w.committed()
	}
	w.log.Error("consensus halted: this node commits no more blocks and refuses readings until it is restarted",
		"last_block", height, "reason", h.Reason)
}

// observe takes one sample: a new block clears a stall; transactions that
// waited a whole window without a block make one.
func (w *haltWatch) observe(s haltSample) {
	now := w.now()
	w.mu.Lock()
	var stalled, cleared *ingest.HaltedError
	if s.height != w.height || w.blockAt.IsZero() {
		w.height, w.blockAt, w.waitFrom = s.height, now, time.Time{}
		cleared, w.stall = w.stall, nil
	}
	switch {
	case s.catchingUp:
		// Blocks come by block sync, not from consensus: not a halt, and
		// the wait starts again once the node has caught up.
		w.blockAt, w.waitFrom = now, time.Time{}
		if w.stall != nil {
			cleared, w.stall = w.stall, nil
		}
	case s.mempool == 0 && s.queued == 0:
		w.waitFrom = time.Time{} // idle: nothing to commit, so no block is due
	default:
		if w.waitFrom.IsZero() {
			w.waitFrom = now
		}
		from := w.blockAt
		if w.waitFrom.After(from) {
			from = w.waitFrom
		}
		if w.stall == nil && w.failure == nil && now.Sub(from) >= w.window {
			w.stall = &ingest.HaltedError{Since: now, Reason: stallReason(now.Sub(w.blockAt), w.height, s)}
			stalled = w.stall
		}
	}
	height := w.height
	w.setGauges()
	w.mu.Unlock()
	switch {
	case stalled != nil:
		w.log.Error("consensus halted: no block while transactions wait; this node refuses readings until blocks come again",
			"last_block", height, "reason", stalled.Reason)
	case cleared != nil && s.catchingUp:
		w.log.Warn("consensus halt cleared: the node is catching up with the chain; it takes readings once it has caught up",
			"block", height, "halted_since", cleared.Since.UTC().Format(time.RFC3339))
	case cleared != nil:
		w.log.Info("consensus resumed: blocks are committed again and readings are taken",
			"block", height, "halted_for", now.Sub(cleared.Since).Round(time.Second).String())
	}
}

// setGauges shows the current halt in the metrics. The caller holds mu.
func (w *haltWatch) setGauges() {
	if h := w.halted(); h != nil {
		w.gauge.Set(1)
		w.since.Set(float64(h.Since.UnixMilli()) / 1000)
		return
	}
	w.gauge.Set(0)
	w.since.Set(0)
}

// start samples every tick until stop.
func (w *haltWatch) start(tick time.Duration, sample func() haltSample) {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.observe(sample())
			}
		}
	}()
}

// stop ends the sampling and waits for it.
func (w *haltWatch) stop() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
	}
}

// readmeHalt names the README section an operator reads when consensus halts.
const readmeHalt = `see "When consensus halts" in the README`

// noSpace is the text of ENOSPC, as Go and Pebble print it.
const noSpace = "no space left on device"

// failureReason says what a consensus failure with cause means and what to
// do: free space when the disk is full, else find and fix the cause.
func failureReason(cause, data string) string {
	full := strings.Contains(cause, noSpace)
	cause = strings.Join(strings.Fields(cause), " ") // one line
	if cause == "" {
		cause = "CometBFT gave no cause"
	}
	if len(cause) > 400 {
		// Such as CometBFT's "failed to write <a whole message> msg to
		// consensus WAL due to <the error>": keep both ends.
		cause = cause[:200] + " ... " + cause[len(cause)-200:]
	}
	if full {
		return fmt.Sprintf("consensus failure: %s. The disk is full: free space on the file system of %s (df -h %s), then restart the node; %s",
			cause, data, data, readmeHalt)
	}
	return fmt.Sprintf("consensus failure: %s. CometBFT stopped this node's consensus: find the cause in the log before this line (a disk or store error), fix it, then restart the node; %s",
		cause, readmeHalt)
}

// stallReason says what no block for idle while transactions wait means.
func stallReason(idle time.Duration, height int64, s haltSample) string {
	return fmt.Sprintf("no block for %s after block %d while %d transactions wait in the mempool and %d readings in the queue (%d peers): "+
		"the validators lack a quorum, or this node is cut off from them. Check this node's network and that validators holding more than two thirds "+
		"of the voting power run (GET /v1/validators); this clears when blocks come again; %s",
		idle.Round(time.Second), height, s.mempool, s.queued, s.peers, readmeHalt)
}

// haltSample reads what the watchdog needs from CometBFT and ingest.
func (n *Node) haltSample() haltSample {
	mp := n.cmt.Mempool()
	return haltSample{
		height:     n.cmt.BlockStore().Height(),
		mempool:    mp.Size(),
		queued:     n.ingest.QueueLen(),
		catchingUp: n.cmt.ConsensusReactor().WaitSync(),
		peers:      n.cmt.Switch().Peers().Size(),
	}
}

// Ready implements api.ReadyLedger: the checks of GET /readyz, in order
// store, sync, consensus, mempool.
func (n *Node) Ready(ctx context.Context) []apiwire.Check {
	m := n.app.Meta()
	store := apiwire.Check{Name: "store", OK: true, Detail: fmt.Sprintf("open, at block %d", m.Height)}
	if m.Height > 0 {
		if _, err := n.app.Reader().Block(m.Height); err != nil {
			n.log.Error("readiness: the store does not answer", "err", err)
			store = apiwire.Check{Name: "store", Detail: "the store does not answer reads: " + err.Error() + "; see the node's log, then restart the node"}
		}
	}
	sync := apiwire.Check{Name: "sync", OK: true, Detail: "in step with the chain"}
	if n.cmt.ConsensusReactor().WaitSync() {
		sync = apiwire.Check{Name: "sync", Detail: api.CatchingUpDetail(n.cmt.BlockStore().Height())}
	}
	consensus := apiwire.Check{Name: "consensus", OK: true, Detail: "committing blocks"}
	if h := n.halt.Halted(); h != nil {
		consensus = apiwire.Check{Name: "consensus", Detail: api.HaltedDetail(h.Since, h.Reason)}
	}
	mp, mc := n.cmt.Mempool(), n.cmtCfg.Mempool
	txs, bytes := mp.Size(), mp.SizeBytes()
	mempool := apiwire.Check{Name: "mempool", OK: txs < mc.Size && bytes < mc.MaxTxsBytes,
		Detail: fmt.Sprintf("%d of %d transactions, %d of %d bytes", txs, mc.Size, bytes, mc.MaxTxsBytes)}
	if !mempool.OK {
		mempool.Detail = "full (" + mempool.Detail + "): the node takes no more until blocks are committed; send readings to another node, or again after the Retry-After delay"
	}
	return []apiwire.Check{store, sync, consensus, mempool}
}

var _ api.ReadyLedger = (*Node)(nil)
