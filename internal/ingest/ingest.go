// Package ingest takes readings from devices (HTTP, the dev simulator, later
// MQTT), checks each one cheaply, packs them into batch transactions and
// hands those to the local mempool; it then tells each caller what became
// of its reading once the block that holds it is committed.
//
// The model:
//
//  1. Submit hands the call's readings to the app's Precheck, one call
//     (App): it decodes each reading and applies the device rules against
//     committed state (registered, not revoked, signed by the current key;
//     the signature check fills the app's verify cache, so the node verifies
//     each reading once). A reading already committed (the same bytes) is
//     answered at once as a duplicate with the location of the original's
//     receipt; another reading under a committed (device, seq) that passes
//     the device rules is answered at once seq_reused, with the original's
//     location: its data cannot be stored. Ingest then applies the chain's
//     per-device rate limit, early, on the wall clock.
//  2. Good readings join a bounded queue; a full queue is backpressure
//     (ErrBusy), never a silent drop.
//  3. One goroutine cuts a batch when it holds MaxBatch readings or its first
//     reading has waited MaxDelay, has the app encode it (App.Batch, which
//     remembers the decoded readings for CheckTx and the block), and
//     broadcasts it. If CheckTx refuses a
//     batch (state changed since step 1), its readings are sent one by one so
//     each gets its own answer.
//  4. The app reports each committed block's outcomes through Committed;
//     waiting callers are matched by the SHA-256 of the reading's bytes.
//
// While the node's consensus has halted (the node tells ingest through
// WatchHalt), Submit takes nothing and returns a *HaltedError: a reading
// taken then could only wait for a block that does not come, and an answer
// "pending" would hide that from the device.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/verdict"
)

// Config sets batching; the defaults suit one node on two cores.
type Config struct {
	MaxBatch  int           // readings per batch transaction
	MaxDelay  time.Duration // longest a reading waits for its batch to fill
	QueueSize int           // readings queued before Submit answers ErrBusy
	// MaxMempoolBytes stops the batcher while the local mempool holds this
	// many bytes of transactions, until the next block is committed. Without
	// it a node that ingests faster than it commits would let its mempool
	// grow to CometBFT's cap (gigabytes), and memory and latency with it;
	// with it the queue fills and Submit answers ErrBusy instead. 0: no bound.
	MaxMempoolBytes int64
}

// DefaultConfig is what a node starts with: batches of 1,000 (about
// 230 KB), a queue of 2 s at 25,000 readings a second, and at most 24 MiB
// (about 100,000 readings, three 8 MiB blocks) waiting in the mempool, so
// the next blocks fill while one executes.
func DefaultConfig() Config {
	return Config{MaxBatch: 1000, MaxDelay: 50 * time.Millisecond, QueueSize: 50000, MaxMempoolBytes: 24 << 20}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.MaxBatch <= 0:
		return fmt.Errorf("ingest.max_batch is %d, want > 0", c.MaxBatch)
	case c.MaxDelay <= 0:
		return fmt.Errorf("ingest.max_delay is %v, want > 0", c.MaxDelay)
	case c.QueueSize < c.MaxBatch:
		return fmt.Errorf("ingest.queue_size %d is below max_batch %d", c.QueueSize, c.MaxBatch)
	case c.MaxMempoolBytes < 0:
		return fmt.Errorf("ingest.max_mempool_bytes is %d, want >= 0 (0: no bound)", c.MaxMempoolBytes)
	}
	return nil
}

// ErrBusy means the queue is full: retry later.
var ErrBusy = errors.New("ingest: queue full, retry later")

// HaltedError is what Submit returns while the node's consensus has
// halted (a consensus failure, or no block for several block times while
// transactions wait): nothing of the call is queued, since the node cannot
// commit it. Since is when the halt was noticed; Reason says why and what
// to do, for the client and the log.
type HaltedError struct {
	Since  time.Time
	Reason string
}

func (e *HaltedError) Error() string {
	return fmt.Sprintf("ingest: consensus halted since %s: %s", e.Since.UTC().Format(time.RFC3339), e.Reason)
}

// Halt returns Since and Reason, for callers that know the error by this
// method rather than by its type (the API, which does not import ingest).
func (e *HaltedError) Halt() (since time.Time, reason string) { return e.Since, e.Reason }

// ErrNotNow is what a Broadcast returns (wrapped) when the mempool takes
// nothing for a while: the node is catching up with the chain, or its
// mempool is full. The batcher keeps the batch and tries again, so the
// queue fills and Submit answers ErrBusy meanwhile: backpressure, and
// nothing queued is dropped.
var ErrNotNow = errors.New("ingest: the mempool takes no transactions now")

// notNowWait bounds the batcher's wait between tries while the mempool
// takes nothing.
const notNowWait = time.Second

// Broadcast hands a transaction to the mempool and returns CheckTx's verdict.
type Broadcast func(ctx context.Context, tx []byte) (code uint32, log string, err error)

// App is what ingest needs from the ledger; *app.App implements it. Both
// are called once per call or batch, never per reading.
type App interface {
	// Precheck decodes raws, verifies them in bulk and applies the rules
	// of committed state, writing each reading's verdict into out[i]:
	// verdict.Pending for one to queue. It returns the decoded readings
	// (for Batch) and the chain's rate limit.
	Precheck(raws [][]byte, out []verdict.Verdict) app.Checked
	// Batch encodes readings Precheck decoded as one batch transaction.
	Batch(ds []app.Decoded) []byte
}

// Ingest is the intake pipeline of one node.
type Ingest struct {
	app       App
	broadcast Broadcast
	cfg       Config
	log       *slog.Logger
	queue     chan item
	// checking bounds the Submits that decode and verify at once to the
	// number of cores: more would only queue for the CPU, and the node's
	// serial path (CheckTx of the batches, block execution) would wait
	// behind them.
	checking chan struct{}
	// mempoolBytes reports the bytes in the local mempool (nil: unknown);
	// committed wakes a batcher waiting for the mempool to drain.
	mempoolBytes func() int64
	committed    chan struct{}
	answered     func(verdict.Verdict) // see OnAnswered; nil: nobody listens
	// halted reports whether the node's consensus has halted (nil: never).
	halted func() *HaltedError

	mu      sync.Mutex // guards waiters
	waiters map[[32]byte]*flight

	limitMu sync.Mutex // guards limits
	limits  map[string]*state.Bucket

	cancel  context.CancelFunc
	done    chan struct{}
	stopped atomic.Bool // Close has begun: nothing will take readings from the queue
}

// flight is a reading handed to the mempool and not yet committed or
// refused, and who waits for it. A reading whose transaction the mempool
// dropped never gets an outcome: after InFlightTTL a resend queues it again,
// and sweep forgets it.
type flight struct {
	waiters []chan verdict.Verdict
	since   time.Time
}

// InFlightTTL is how long a reading counts as in flight without an outcome.
const InFlightTTL = 2 * time.Minute

// item is a queued reading as Precheck decoded it: the batch is built from
// it (App.Batch), and its Hash matches it to its outcome.
type item = app.Decoded

// New makes an ingest pipeline; Start runs it.
func New(a App, b Broadcast, cfg Config, log *slog.Logger) *Ingest {
	return &Ingest{app: a, broadcast: b, cfg: cfg, log: log, queue: make(chan item, cfg.QueueSize),
		checking: make(chan struct{}, runtime.GOMAXPROCS(0)), committed: make(chan struct{}, 1),
		waiters: map[[32]byte]*flight{}, limits: map[string]*state.Bucket{}}
}

// WatchMempool gives the batcher the size of the local mempool, in bytes,
// for Config.MaxMempoolBytes. Call it before Start.
func (in *Ingest) WatchMempool(bytes func() int64) { in.mempoolBytes = bytes }

// WatchHalt gives Submit the node's view of consensus: while halted
// returns a HaltedError, Submit returns it and takes nothing. Call it
// before Start.
func (in *Ingest) WatchHalt(halted func() *HaltedError) { in.halted = halted }

// Start runs the batcher until Close.
func (in *Ingest) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel, in.done = cancel, make(chan struct{})
	go func() {
		defer close(in.done)
		in.run(ctx)
	}()
}

// Close stops the batcher and waits for it. Readings still queued were not
// acknowledged as committed; their callers get "pending".
func (in *Ingest) Close() {
	if in.cancel != nil {
		in.stopped.Store(true)
		in.cancel()
		<-in.done
	}
}

// QueueLen is the number of readings waiting for a batch.
func (in *Ingest) QueueLen() int { return len(in.queue) }

// Submit checks and queues readings. With wait it blocks until each is
// committed or refused, or ctx ends (then "pending"). While the node's
// consensus has halted (WatchHalt) it returns a *HaltedError and queues
// nothing: a reading taken then would wait for a block that does not come.
func (in *Ingest) Submit(ctx context.Context, raws [][]byte, wait bool) ([]verdict.Verdict, error) {
	if in.halted != nil {
		if h := in.halted(); h != nil {
			return nil, h
		}
	}
	if len(raws) > cap(in.queue)-len(in.queue) {
		// No room for them now: answer before decoding and verifying
		// readings that would be verified again when they come back.
		return nil, ErrBusy
	}
	out := make([]verdict.Verdict, len(raws))
	chans := make([]chan verdict.Verdict, len(raws))
	var queued []item
	select {
	case in.checking <- struct{}{}:
	default:
		select {
		case in.checking <- struct{}{}:
		case <-ctx.Done():
			// The request waited its whole time for a core: the node is
			// saturated, which is ErrBusy, not a failure.
			return nil, ErrBusy
		}
	}
	checked := in.app.Precheck(raws, out) // decode and verify the request's readings in bulk, on all cores
	if checked.Err != nil {
		in.log.Error("ingest: read seq index", "err", checked.Err)
	}
	for i := range raws {
		if out[i].Status != verdict.Pending || !in.allow(&out[i], checked.RatePerS, checked.Burst) {
			continue
		}
		h := checked.Readings[i].Hash()
		ch := make(chan verdict.Verdict, 1)
		first := in.addWaiter(h, ch)
		chans[i] = ch
		if first {
			queued = append(queued, checked.Readings[i])
		}
	}
	<-in.checking
	if len(queued) > cap(in.queue)-len(in.queue) {
		in.unwind(checked.Readings, chans, queued)
		return nil, ErrBusy
	}
	for n, it := range queued {
		select {
		case in.queue <- it:
		default: // raced with another submitter for the last places
			in.unwind(checked.Readings, chans, queued[n:])
			return nil, ErrBusy
		}
	}
	for i, ch := range chans {
		if ch == nil { // answered by precheck: this call answers it now
			in.answer(out[i])
		}
	}
	if in.stopped.Load() {
		// Close raced with this call: the batcher may be gone already.
		in.abandon(nil)
	}
	for i, ch := range chans {
		if ch == nil {
			continue
		}
		if !wait {
			in.removeWaiter(checked.Readings[i].Hash(), ch)
			continue
		}
		select {
		case r := <-ch:
			// The same bytes: keep the device and seq precheck decoded,
			// which a refusal by CheckTx does not carry.
			r.Device, r.Seq = out[i].Device, out[i].Seq
			out[i] = r
		case <-ctx.Done():
			in.removeWaiter(checked.Readings[i].Hash(), ch)
		}
	}
	return out, nil
}

// unwind takes back a Submit that found the queue full: it drops the
// caller's waiters and forgets the readings it did not queue (answering
// "pending" to anyone who joined them meanwhile), so a retry queues them.
func (in *Ingest) unwind(ds []app.Decoded, chans []chan verdict.Verdict, notQueued []item) {
	for i, ch := range chans {
		if ch != nil {
			in.removeWaiter(ds[i].Hash(), ch)
		}
	}
	for i := range notQueued {
		in.resolve(notQueued[i].Hash(), verdict.Verdict{Status: verdict.Pending, Detail: ErrBusy.Error()})
	}
}

// allow applies the chain's per-device rate limit early, on the wall clock,
// so a flooding device is refused before its readings take mempool and
// block space: over the limit, it turns v (Pending) into the refusal. The
// app applies the same limit on block time.
func (in *Ingest) allow(v *verdict.Verdict, rate, burst int64) bool {
	if in.take(v.Device, rate, burst) {
		return true
	}
	v.Status, v.Code = verdict.Rejected, verdict.CodeRateLimited
	v.Detail = fmt.Sprintf("device %s sends faster than %d readings a second (burst %d); slow down and resend seq %d later", v.Device, rate, burst, v.Seq)
	return false
}

// take takes a token of device's bucket.
func (in *Ingest) take(device string, rate, burst int64) bool {
	in.limitMu.Lock()
	defer in.limitMu.Unlock()
	b := in.limits[device]
	if b == nil {
		if len(in.limits) >= maxLimited {
			clear(in.limits) // bounded: forgetting a bucket only refills it
		}
		b = &state.Bucket{}
		in.limits[device] = b
	}
	return b.Take(time.Now().UnixMilli(), rate, burst)
}

// maxLimited bounds the devices ingest keeps a rate-limit bucket for.
const maxLimited = 1 << 20

func (in *Ingest) addWaiter(h [32]byte, ch chan verdict.Verdict) (first bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f, pending := in.waiters[h]
	now := time.Now()
	if !pending {
		f = &flight{since: now}
		in.waiters[h] = f
	} else if now.Sub(f.since) > InFlightTTL {
		f.since, pending = now, false // lost in the mempool: queue it again
	}
	f.waiters = append(f.waiters, ch)
	return !pending
}

func (in *Ingest) removeWaiter(h [32]byte, ch chan verdict.Verdict) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f := in.waiters[h]
	if f == nil {
		return
	}
	// The entry stays, even without waiters, so the reading is not queued
	// twice while in flight; an outcome, a refusal or sweep deletes it.
	for i, w := range f.waiters {
		if w == ch {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			break
		}
	}
}

func (in *Ingest) resolve(h [32]byte, r verdict.Verdict) {
	in.mu.Lock()
	f := in.waiters[h]
	delete(in.waiters, h)
	in.mu.Unlock()
	if f == nil {
		return
	}
	for _, ch := range f.waiters {
		ch <- r // buffered, one result per channel
	}
}

// sweep forgets readings in flight for longer than InFlightTTL that nobody
// waits for.
func (in *Ingest) sweep(now time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for h, f := range in.waiters {
		if len(f.waiters) == 0 && now.Sub(f.since) > InFlightTTL {
			delete(in.waiters, h)
		}
	}
}

// InFlight is the number of readings handed on and not yet answered.
func (in *Ingest) InFlight() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.waiters)
}

// Committed matches a committed block's outcomes to waiting callers.
func (in *Ingest) Committed(outcomes []app.Outcome) {
	select {
	case in.committed <- struct{}{}:
	default: // a wake-up is pending already
	}
	for _, o := range outcomes {
		in.resolve(o.Hash, o.Verdict)
	}
}

func (in *Ingest) run(ctx context.Context) {
	batch := make([]item, 0, in.cfg.MaxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	sweeper := time.NewTicker(InFlightTTL / 2)
	defer sweeper.Stop()
	flush := func() {
		if len(batch) > 0 {
			in.send(ctx, batch)
			batch = batch[:0]
		}
	}
	for {
		select {
		case <-ctx.Done():
			in.abandon(batch)
			return
		case it := <-in.queue:
			if len(batch) == 0 {
				timer.Reset(in.cfg.MaxDelay)
			}
			batch = append(batch, it)
			if len(batch) >= in.cfg.MaxBatch {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		case now := <-sweeper.C:
			in.sweep(now)
		}
	}
}

// abandon answers the readings of an unsent batch, and those still queued,
// as pending: Close stops the batcher before they reach the mempool.
func (in *Ingest) abandon(batch []item) {
	r := verdict.Verdict{Status: verdict.Pending, Detail: "ingest stopped before the reading was sent; send it again"}
	for _, it := range batch {
		in.resolve(it.Hash(), r)
	}
	for {
		select {
		case it := <-in.queue:
			in.resolve(it.Hash(), r)
		default:
			return
		}
	}
}

// mempoolFull reports whether the batcher must wait for a block before
// sending more.
func (in *Ingest) mempoolFull() bool {
	return in.mempoolBytes != nil && in.cfg.MaxMempoolBytes > 0 && in.mempoolBytes() >= in.cfg.MaxMempoolBytes
}

func (in *Ingest) send(ctx context.Context, batch []item) {
	for in.mempoolFull() {
		select {
		case <-in.committed:
		case <-ctx.Done():
			in.abandon(batch) // Close: answer them pending
			return
		}
	}
	raw := in.app.Batch(batch)
	code, msg, err := in.broadcast(ctx, raw)
	for wait := 10 * time.Millisecond; errors.Is(err, ErrNotNow); wait = min(2*wait, notNowWait) {
		in.log.Debug("ingest: the mempool takes nothing now; the batch waits", "readings", len(batch), "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			in.abandon(batch) // Close: answer them pending
			return
		}
		code, msg, err = in.broadcast(ctx, raw)
	}
	if err == nil && code == 0 {
		return
	}
	if len(batch) == 1 {
		r := verdict.Verdict{Status: verdict.Rejected, Code: app.Code(code), Detail: msg}
		if err != nil {
			r.Status, r.Detail = verdict.Pending, "could not reach the mempool: "+err.Error()
			in.log.Warn("ingest: broadcast", "err", err)
		} else {
			in.answer(r)
		}
		in.resolve(batch[0].Hash(), r)
		return
	}
	in.log.Info("ingest: batch refused, sending readings one by one", "readings", len(batch), "code", code, "log", msg, "err", err)
	for _, it := range batch {
		in.send(ctx, []item{it})
	}
}
