package mqtt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/ratelimit"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/verdict"
)

// Deps are what the broker needs from the node: two calls, so two functions.
type Deps struct {
	// Submit checks and queues readings: ingest's Submit. The broker calls
	// it with one reading and wait false, and retries on ingest.ErrBusy.
	Submit func(ctx context.Context, raws [][]byte, wait bool) ([]verdict.Verdict, error)
	// Device returns a device's record from committed state, or nil when no
	// device has that id: the read side's (query.Reader.Device).
	Device func(id string) (*state.Device, error)
}

// Sizes of the broker's queues.
const (
	noticeQueue      = 8192 // receipts and errors waiting to be published to the bridge; to devices, at least this
	maxUnacked       = 128  // QoS 1 messages a device has not acknowledged; more are not sent to it
	kickQueue        = 1024 // revoked or rotated devices waiting to be disconnected
	bridgePublishers = 4    // bridge publishes in flight at once (QoS 1 waits for PUBACK)
	shutdownGrace    = time.Second
	publishTimeout   = 10 * time.Second
	sweepEvery       = time.Second // how often runSweep looks
	heldTTL          = time.Hour   // a refusal notice is held this long for its device at most, as long as a session lives
)

// Broker is the MQTT intake of one node: an embedded broker, a bridge to an
// operator's broker, or both. New makes it, Start runs it, Close stops it.
type Broker struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	now  func() time.Time // the wall clock; tests replace it

	server  *mochi.Server            // nil when the embedded broker is off
	ln      *listener                // set by Start
	tls     *tls.Config              // nil: plain TCP
	limiter *ratelimit.Keyed[string] // the devices' rates (cfg.RatePerDevice, cfg.Burst)
	pending *pendingTable
	mail    *mailbox // refusal notices held for devices on the embedded broker
	owedMax int      // readings waiting for their outcome and notices held, per device, before its PUBACKs wait

	publishDropped atomic.Bool  // set by the hook when mochi dropped a refusal notice: deliver stops
	haltLogged     atomic.Int64 // Since (unix ns) of the halt last logged

	gather      chan *gathered // readings waiting for a Submit call
	gatherers   int            // goroutines making Submit calls: one per core
	gathering   atomic.Bool    // set by Start: submitOne gathers
	embeddedOut *outbox        // to devices on the embedded broker
	bridgeOut   chan notice    // to the operator's broker
	kick        chan string    // device ids to disconnect

	bridge      *autopaho.ConnectionManager // set by Start
	bridgeReady chan struct{}               // closed once the bridge has subscribed
	readyOnce   sync.Once

	ctx    context.Context // ends when Close begins: stops retries and loops
	cancel context.CancelFunc
	wg     sync.WaitGroup // the broker's own goroutines

	mu      sync.Mutex // guards started and closed
	started bool
	closed  bool

	stats counters
}

type counters struct {
	received, queued, refused, rateLimited, busy, owedWaits, halted, abandoned, connectsRefused, dropped atomic.Uint64
}

// Stats are counters since New, for metrics.
type Stats struct {
	Received        uint64 // readings published to the broker or bridge
	Queued          uint64 // readings handed to ingest
	Refused         uint64 // readings answered on the errors topic at once
	RateWaits       uint64 // times a reading waited for the device's rate (the broker's or the chain's) before its PUBACK
	BusyRetries     uint64 // Submit calls answered busy
	OwedWaits       uint64 // times a reading waited because its device had owedMax notices and readings outstanding
	Halted          uint64 // readings not acknowledged because consensus has halted
	Abandoned       uint64 // readings neither queued nor answered (waited too long, halted, shutdown): not acknowledged
	ConnectsRefused uint64 // CONNECTs refused
	NoticesDropped  uint64 // receipts and twin messages not sent because their queue was full; refusal notices expired or over the mailbox's bound
	NoticesHeld     int    // refusal notices held for devices that have not taken them yet
	PendingEvicted  uint64 // queued readings forgotten before their outcome (table full or too old), each answered not_committed
	Pending         int    // queued readings waiting for their outcome
}

// notice is a message for a device's receipts or errors topic.
type notice struct {
	device  string
	topic   string
	payload []byte
	retain  bool // kept by the broker for devices that subscribe later
	refusal bool // a message for the errors topic: never dropped while it can be held
}

// New makes a broker; nothing listens or connects before Start. Committed
// and DevicesChanged may be called at any time, before Start and after Close.
func New(cfg Config, deps Deps, log *slog.Logger) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if deps.Submit == nil || deps.Device == nil {
		return nil, errors.New("mqtt: Deps.Submit and Deps.Device are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broker{
		cfg:         cfg,
		deps:        deps,
		log:         log,
		now:         time.Now,
		limiter:     ratelimit.New[string](cfg.RatePerDevice, cfg.Burst, max(cfg.MaxClients, 1<<16), ratelimit.Reset), // the bridge has no client limit
		pending:     newPendingTable(cfg.PendingMax, cfg.PendingTTL),
		mail:        newMailbox(cfg.PendingMax),
		owedMax:     2*cfg.Burst + 4096,
		gather:      make(chan *gathered, gatherMax),
		gatherers:   runtime.GOMAXPROCS(0),
		embeddedOut: newOutbox(max(cfg.PendingMax, noticeQueue)),
		bridgeOut:   make(chan notice, noticeQueue),
		kick:        make(chan string, kickQueue),
		bridgeReady: make(chan struct{}),
		ctx:         ctx,
		cancel:      cancel,
	}
	if cfg.Enabled {
		var err error
		if b.tls, err = serverTLS(cfg); err != nil {
			cancel()
			return nil, err
		}
		b.server = mochi.New(&mochi.Options{
			Capabilities: capabilities(cfg),
			InlineClient: true, // receipts and errors are published by the broker itself
			// mochi logs every refused or broken client as a warning:
			// useful when debugging, noise under attack.
			Logger:                 slog.New(debugHandler{log.Handler()}),
			SysTopicResendInterval: 3600, // nobody may read $SYS; do not stop the world every second for it
		})
		if err := b.server.AddHook(&hook{b: b}, nil); err != nil {
			cancel()
			return nil, fmt.Errorf("mqtt: %w", err)
		}
	}
	return b, nil
}

// capabilities are the embedded broker's limits: small per-client buffers,
// so one slow or silent client costs little and never blocks another.
func capabilities(cfg Config) *mochi.Capabilities {
	c := mochi.NewDefaultServerCapabilities()
	c.MaximumClients = int64(cfg.MaxClients)
	c.MaximumPacketSize = uint32(cfg.MaxPacketBytes) // larger: the connection is closed before the packet is read
	c.MaximumClientWritesPending = 256               // messages queued to one client; more are dropped for it alone
	c.MaximumInflight = 1024                         // unacknowledged QoS 1 messages kept for one client
	c.ReceiveMaximum = 32                            // unacknowledged QoS 1 publishes from one client
	c.MaximumSessionExpiryInterval = 3600            // a persistent session lives an hour after its device leaves
	c.MaximumMessageExpiryInterval = 3600            // a receipt waits an hour at most for its device
	c.TopicAliasMaximum = 0                          // topics are short; aliases would dodge the topic checks
	c.SharedSubAvailable = 0
	// Retained messages are on for the broker's own twin/desired messages, so
	// a device that subscribes gets its latest desired state at once. A
	// device's own publishes are never retained: OnPublish answers every
	// one of them itself (rejected or ignored), and mochi retains only what
	// its hook passes on.
	c.RetainAvailable = 1
	c.MaximumQos = 2 // QoS 2 publishes get PUBREC, PUBREL, PUBCOMP; readings are idempotent by (device, seq), so it buys nothing over QoS 1
	c.MinimumProtocolVersion = 4
	return c
}

// Start listens (embedded broker) and connects (bridge). ctx bounds the
// start only: the broker runs until Close. The bridge connects in the
// background and reconnects by itself; see WaitBridge.
func (b *Broker) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started || b.closed {
		return errors.New("mqtt: Start called twice or after Close")
	}
	b.started = true
	if err := ctx.Err(); err != nil {
		return err
	}
	b.startGathering()
	b.wg.Go(b.runSweep)
	if b.server != nil {
		var lc net.ListenConfig
		nl, err := lc.Listen(ctx, "tcp", b.cfg.Addr)
		if err != nil {
			return fmt.Errorf("mqtt: listen on %s: %w; pick another address with --mqtt-addr, or turn the broker off", b.cfg.Addr, err)
		}
		b.ln = newListener(nl, b.cfg.ConnectTimeout, b.cfg.WriteTimeout, b.log)
		var ln net.Listener = b.ln
		if b.tls != nil {
			// The handshake runs at the first read, within the CONNECT
			// deadline the listener sets.
			ln = tls.NewListener(b.ln, b.tls)
		}
		if err := b.server.AddListener(listeners.NewNet("iotledger", ln)); err != nil {
			b.ln.closeAll()
			return fmt.Errorf("mqtt: %w", err)
		}
		if err := b.server.Serve(); err != nil {
			b.ln.closeAll()
			return fmt.Errorf("mqtt: %w", err)
		}
		b.wg.Go(b.runEmbedded)
		b.log.Info("mqtt: broker listening", "addr", b.ln.Addr().String(), "tls", b.tls != nil, "client_certs", b.tls != nil && b.tls.ClientCAs != nil)
	}
	if b.cfg.Bridge.URL != "" {
		if err := b.startBridge(); err != nil {
			return err
		}
	}
	return nil
}

// Addr is the embedded broker's listening address ("" when it is off or
// not started).
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ln == nil {
		return ""
	}
	return b.ln.Addr().String()
}

// Close disconnects every client and the bridge and waits for the broker's
// goroutines. Readings being retried are not acknowledged, so their senders
// send them again.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	ln := b.ln
	b.mu.Unlock()

	b.cancel()
	if ln != nil {
		// mochi sends each client a DISCONNECT, which waits for a client
		// that stopped reading: give them shutdownGrace, then cut.
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.server.Close()
		}()
		t := time.NewTimer(shutdownGrace)
		select {
		case <-done:
		case <-t.C:
			ln.closeAll()
			<-done
		}
		t.Stop()
		ln.closeAll()
	}
	if b.bridge != nil {
		<-b.bridge.Done()
	}
	b.wg.Wait()
	return nil
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	return Stats{
		Received:        b.stats.received.Load(),
		Queued:          b.stats.queued.Load(),
		Refused:         b.stats.refused.Load(),
		RateWaits:       b.stats.rateLimited.Load(),
		BusyRetries:     b.stats.busy.Load(),
		OwedWaits:       b.stats.owedWaits.Load(),
		Halted:          b.stats.halted.Load(),
		Abandoned:       b.stats.abandoned.Load(),
		ConnectsRefused: b.stats.connectsRefused.Load(),
		NoticesDropped:  b.stats.dropped.Load(),
		NoticesHeld:     int(b.mail.total.Load()),
		PendingEvicted:  b.pending.evictions(),
		Pending:         b.pending.len(),
	}
}

// Committed publishes the answers to readings that came in over MQTT, from
// a committed block's outcomes: a receipt for each accepted or duplicate
// reading, an error for each rejected one. It never blocks: the node calls
// it on the commit path.
func (b *Broker) Committed(outcomes []app.Outcome) {
	for _, m := range b.pending.takeOutcomes(outcomes) {
		o := m.outcome
		switch o.Status {
		case verdict.Accepted, verdict.Duplicate:
			b.notify(m.entry.sinks, receiptNotice(m.entry.device, m.entry.seq, o.Index, o.Height, o.Status))
		default:
			seq := m.entry.seq
			b.notify(m.entry.sinks, errorNotice(m.entry.device, &seq, o.Code.String(), o.Detail))
		}
	}
}

// DevicesChanged disconnects devices that were revoked or whose key was
// rotated: the token they connected with no longer stands. It never blocks.
func (b *Broker) DevicesChanged(changes []app.DeviceChange) {
	if b.server == nil {
		return
	}
	for _, c := range changes {
		if c.Device == nil || (c.Action != "revoked" && c.Action != "rotated") {
			continue
		}
		select {
		case b.kick <- c.Device.ID:
		default:
			b.stats.dropped.Add(1)
		}
	}
}

// TwinsChanged publishes each committed change of a desired state to the
// device's twin/desired topic, retained, so a device that is offline gets
// the latest when it subscribes. It never blocks.
func (b *Broker) TwinsChanged(changes []app.TwinChange) {
	for _, c := range changes {
		if c.Side != state.SideDesired {
			continue
		}
		b.notify(sinkEmbedded, notice{device: c.Device, topic: mqttwire.TwinDesiredTopic(c.Device), retain: true,
			payload: mustJSON(mqttwire.TwinDesiredMessage{Version: c.Version, Height: c.Height, State: c.State})})
	}
}

// pubAnswer is how the broker answers one published reading.
type pubAnswer struct {
	ack  bool         // acknowledge the PUBLISH: the reading was queued or answered
	code packets.Code // when acknowledged: MQTT 5 PUBACK reason (0 when queued or a duplicate)
	err  error        // when not acknowledged: why
}

// Why a reading was neither queued nor answered, so not acknowledged.
var (
	errBusyTimeout = errors.New("mqtt: the node's queue stayed full")
	errRateTimeout = errors.New("mqtt: the device's rate leaves no room for the reading within busy_timeout")
	errOwedTimeout = errors.New("mqtt: the refusal notices owed to the device stayed undelivered")
)

// receive handles a reading published on topic. busyFor bounds how long it
// waits (0: until Close). It never panics, and hands Submit only readings
// that decode and belong to the topic's device (its bytes as published:
// ingest decodes them).
func (b *Broker) receive(ctx context.Context, s sink, topic string, payload []byte, busyFor time.Duration) pubAnswer {
	id, ok := readingsDevice(topic)
	if !ok {
		return pubAnswer{ack: true, code: packets.ErrTopicNameInvalid}
	}
	return b.handle(ctx, s, id, payload, busyFor)
}

// handle handles a reading published on device id's readings topic. A
// reading is acknowledged only once it is queued or answered, and only
// when the broker has room to hold the device's refusal notice should the
// ledger refuse it later; until then it waits (backpressure), and past
// busyFor it is not acknowledged at all (pubAnswer.err says why).
func (b *Broker) handle(ctx context.Context, s sink, id string, payload []byte, busyFor time.Duration) pubAnswer {
	b.stats.received.Add(1)
	p := b.patience(ctx, busyFor)
	abandon := func(err error) pubAnswer {
		b.stats.abandoned.Add(1)
		return pubAnswer{err: err}
	}
	if s == sinkEmbedded {
		if err := b.waitOwed(p, id); err != nil {
			return abandon(err)
		}
	}
	if err := b.waitRate(p, id); err != nil {
		return abandon(err)
	}
	// The topic's device must be the reading's. Peek reads the device and
	// seq of a reading in the form Sign writes without decoding it (ingest
	// decodes it, once); a reading in another encoding, or none, is
	// decoded here, for its device or its refusal.
	dev, seq, ok := reading.Peek(payload)
	mine := ok && string(dev) == id
	if !ok {
		sr, err := reading.Decode(payload)
		if err != nil {
			code := verdict.CodeMalformedReading
			if errors.Is(err, reading.ErrTooLarge) {
				code = verdict.CodeReadingTooLarge
			}
			return b.refuse(s, id, nil, code.String(), err.Error(), packets.ErrPayloadFormatInvalid)
		}
		dev, seq, mine = []byte(sr.Device), sr.Seq, sr.Device == id
	}
	if !mine {
		other := string(dev)
		return b.refuse(s, id, &seq, mqttwire.ReasonDeviceMismatch, fmt.Sprintf(
			"the reading is for device %s but was published on the topic of %s; publish it on %s", other, id, mqttwire.ReadingsTopic(other)),
			packets.ErrNotAuthorized)
	}
	raw := bytes.Clone(payload) // ingest keeps it; the MQTT library owns payload
	h := sha256.Sum256(raw)
	// Track the reading before it is queued: its block may be committed
	// before Submit returns.
	b.forgotten(b.pending.add(h, id, seq, s, b.now()), forgotFull)
	r, err := b.submit(p, s, raw)
	if err != nil {
		b.pending.drop(h, s)
		return abandon(err)
	}
	switch r.Status {
	case verdict.Accepted, verdict.Duplicate:
		sinks := s
		if e, ok := b.pending.take(h); ok {
			sinks |= e.sinks
		}
		b.notify(sinks, receiptNotice(id, seq, r.Index, r.Height, r.Status))
		return pubAnswer{ack: true, code: packets.CodeSuccess}
	case verdict.Rejected:
		sinks := s
		if e, ok := b.pending.take(h); ok {
			sinks |= e.sinks
		}
		return b.refuse(sinks, id, &seq, r.Code.String(), r.Detail, pubackCode(r.Code))
	default: // pending: queued, Committed answers
		b.stats.queued.Add(1)
		return pubAnswer{ack: true, code: packets.CodeSuccess}
	}
}

// pubackCode is the MQTT 5 PUBACK reason for a reading the ledger refused.
func pubackCode(c verdict.Code) packets.Code {
	switch c {
	case verdict.CodeMalformedReading, verdict.CodeReadingTooLarge:
		return packets.ErrPayloadFormatInvalid
	case verdict.CodeUnregisteredDevice, verdict.CodeRevokedDevice, verdict.CodeBadSignature, verdict.CodeKeyRotated:
		return packets.ErrNotAuthorized
	case verdict.CodeRateLimited:
		return packets.ErrQuotaExceeded
	default:
		return packets.ErrImplementationSpecificError
	}
}

// patience bounds the waits of one reading: for room in the mailbox, for a
// token of the device's rate, for room in the node's queue.
type patience struct {
	ctx      context.Context
	done     <-chan struct{} // the broker's: Close
	deadline time.Time       // zero: wait until ctx or Close ends
}

func (b *Broker) patience(ctx context.Context, busyFor time.Duration) *patience {
	p := &patience{ctx: ctx, done: b.ctx.Done()}
	if busyFor > 0 {
		p.deadline = time.Now().Add(busyFor)
	}
	return p
}

// left is how long the reading may still wait (a day when unbounded).
func (p *patience) left() time.Duration {
	if p.deadline.IsZero() {
		return 24 * time.Hour
	}
	return time.Until(p.deadline)
}

// sleep waits d, or less when the reading's time runs out first; it
// returns timeout when the time ran out, or the error of ctx or Close.
func (p *patience) sleep(d time.Duration, timeout error) error {
	left := p.left()
	if left <= 0 {
		return timeout
	}
	t := time.NewTimer(min(d, left))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	case <-p.done:
		return context.Canceled
	}
}

// waitOwed waits while the broker holds as many refusal notices and
// readings waiting for their outcome for device id as it may (owedMax), or
// the mailbox is full: an acknowledged reading always has room for the
// notice of its refusal.
func (b *Broker) waitOwed(p *patience, id string) error {
	wait := 5 * time.Millisecond
	for b.mail.full() || b.pending.waiting(id)+b.mail.count(id) >= b.owedMax {
		b.stats.owedWaits.Add(1)
		if err := p.sleep(wait, errOwedTimeout); err != nil {
			return err
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
	return nil
}

// waitRate takes a token of device id's rate, waiting for one if need be:
// a reading over the rate is held back, not refused.
func (b *Broker) waitRate(p *patience, id string) error {
	for {
		d := b.limiter.Take(id, b.now())
		if d == 0 {
			return nil
		}
		b.stats.rateLimited.Add(1)
		if d > p.left() {
			return errRateTimeout // it would not come in time: do not hold the device for nothing
		}
		// A quarter second at most between looks, so a clock that moves
		// otherwise than expected (tests) is seen.
		if err := p.sleep(min(d, 250*time.Millisecond), errRateTimeout); err != nil {
			return err
		}
	}
}

// submit queues one reading, waiting while the node's queue is full or
// the chain's rate limit (ingest's early check of params.device_rate_per_s)
// refuses it: this is the backpressure, as the PUBLISH is not acknowledged
// meanwhile. While consensus has halted, a device's reading is not queued
// (*ingest.HaltedError); the bridge's waits.
func (b *Broker) submit(p *patience, s sink, raw []byte) (verdict.Verdict, error) {
	wait := 5 * time.Millisecond
	for {
		rs, err := b.submitOne(p.ctx, raw)
		timeout := errBusyTimeout
		var halted *ingest.HaltedError
		switch {
		case err == nil && len(rs) == 1:
			if rs[0].Status != verdict.Rejected || rs[0].Code != verdict.CodeRateLimited {
				return rs[0], nil
			}
			b.stats.rateLimited.Add(1)
			timeout = errRateTimeout
		case err == nil:
			b.log.Error("mqtt: Submit returned the wrong number of results", "want", 1, "got", len(rs))
			return verdict.Verdict{}, fmt.Errorf("mqtt: Submit returned %d results for 1 reading", len(rs))
		case errors.Is(err, ingest.ErrBusy):
			b.stats.busy.Add(1)
		case errors.As(err, &halted):
			b.halted(halted)
			if s != sinkBridge {
				return verdict.Verdict{}, err
			}
			wait = max(wait, 100*time.Millisecond)
		default:
			if p.ctx.Err() == nil && b.ctx.Err() == nil {
				b.log.Error("mqtt: submit", "err", err)
			}
			return verdict.Verdict{}, err
		}
		if err := p.sleep(wait, timeout); err != nil {
			return verdict.Verdict{}, err
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// halted counts a reading refused while consensus has halted, and logs
// the halt once, not once per reading.
func (b *Broker) halted(e *ingest.HaltedError) {
	b.stats.halted.Add(1)
	since := e.Since.UnixNano()
	if b.haltLogged.Swap(since) != since {
		b.log.Warn("mqtt: consensus has halted; readings are not acknowledged until it recovers: devices on the embedded broker are disconnected (MQTT 5: reason 0x89 Server busy) and send them again later, the bridge waits",
			"since", e.Since.UTC().Format(time.RFC3339), "reason", e.Reason)
	}
}

// refuse answers a reading on the device's errors topic and returns the
// answer that acknowledges it: MQTT 5 clients get code, with the reason
// and detail as its reason string.
func (b *Broker) refuse(s sink, id string, seq *uint64, reason, detail string, code packets.Code) pubAnswer {
	b.stats.refused.Add(1)
	b.notify(s, errorNotice(id, seq, reason, detail))
	return pubAnswer{ack: true, code: packets.Code{Code: code.Code, Reason: reason + ": " + detail}}
}

// Why the broker forgot a reading before its outcome.
const (
	forgotFull = iota // the pending table was full
	forgotOld         // older than cfg.PendingTTL
)

// forgotten answers readings the broker stopped waiting for with reason
// not_committed, as the device would otherwise never hear of them.
func (b *Broker) forgotten(entries []pendingEntry, why int) {
	for _, e := range entries {
		seq := e.seq
		var detail string
		if why == forgotFull {
			detail = fmt.Sprintf("this node tracks at most %d readings waiting for their block (mqtt.pending_max) and stopped waiting for seq %d before it was committed; ", b.cfg.PendingMax, seq)
		} else {
			detail = fmt.Sprintf("seq %d was queued %v ago and this node has not seen it committed (mqtt.pending_ttl): it may be lost (the mempool refused it, or consensus halted); ", seq, b.cfg.PendingTTL)
		}
		b.notify(e.sinks, errorNotice(e.device, &seq, mqttwire.ReasonNotCommitted, detail+
			"send it again: a resend of a committed reading is answered duplicate with its receipt"))
	}
}

// notify queues n for the destinations in sinks. A refusal notice for the
// embedded broker is held in the mailbox until its device takes it; a
// receipt (or twin message) whose queue is full is dropped.
func (b *Broker) notify(sinks sink, n notice) {
	if sinks&sinkEmbedded != 0 && b.server != nil {
		switch {
		case n.refusal:
			if !b.mail.put(n.device, n.payload, b.now(), true) {
				b.stats.dropped.Add(1)
				b.log.Warn("mqtt: refusal notice dropped: the broker holds as many as it may for devices that do not take them (mqtt.pending_max)",
					"device", n.device, "held", b.mail.total.Load())
			}
		case !b.embeddedOut.push(n):
			b.stats.dropped.Add(1)
		}
	}
	if sinks&sinkBridge != 0 && b.cfg.Bridge.URL != "" {
		select {
		case b.bridgeOut <- n:
		default:
			b.stats.dropped.Add(1)
		}
	}
}

// runEmbedded publishes notices to devices and disconnects kicked ones.
func (b *Broker) runEmbedded() {
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-b.embeddedOut.ready:
			ns := b.embeddedOut.take()
			// A device's notices one after another: they queue for its
			// connection together, and mochi writes what is queued for a
			// connection in one system call (a block answers a device's
			// several readings at once).
			slices.SortStableFunc(ns, func(x, y notice) int { return strings.Compare(x.device, y.device) })
			for _, n := range ns {
				b.publish(n)
			}
		case <-b.mail.ready:
			for _, id := range b.mail.takeDirty() {
				b.deliver(id)
			}
		case id := <-b.kick:
			if cl, ok := b.server.Clients.Get(id); ok {
				cl.Stop(packets.ErrNotAuthorized) // closes the connection; the device must connect again with a new token
				b.log.Info("mqtt: disconnected device after a change of its record", "device", id)
			}
		}
	}
}

// runSweep forgets, once a second, the readings that waited longer than
// cfg.PendingTTL for their outcome (answering them not_committed) and the
// refusal notices held longer than heldTTL, and retries the delivery of
// held notices.
func (b *Broker) runSweep() {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
			now := b.now()
			b.forgotten(b.pending.expire(now), forgotOld)
			if b.server == nil {
				continue
			}
			if n := b.mail.expire(now.Add(-heldTTL)); n > 0 {
				b.stats.dropped.Add(uint64(n))
				b.log.Warn("mqtt: refusal notices expired undelivered: their devices did not read their errors topic (subscribe at QoS 1) within the hour",
					"notices", n)
			}
			b.mail.wakeAll()
		}
	}
}

// publish sends a receipt or twin message to its device, if connected.
func (b *Broker) publish(n notice) {
	// mochi drops a message for a client whose queue is full, but takes
	// the client's lock, which a write to a client that does not read
	// holds, to number a QoS 1 message. A client that reads acknowledges:
	// one with maxUnacked messages unanswered gets no more, so the
	// publisher never waits for it.
	if cl, ok := b.server.Clients.Get(n.device); ok && cl.State.Inflight.Len() >= maxUnacked && !n.retain {
		b.stats.dropped.Add(1)
		return
	}
	if err := b.server.Publish(n.topic, n.payload, n.retain, 1); err != nil {
		b.log.Warn("mqtt: publish", "topic", n.topic, "err", err)
	}
}

// deliver hands device id's held refusal notices to its connection, as
// many as it has room for: it must be connected, subscribed to its errors
// topic, and have fewer than maxUnacked messages unacknowledged. What is
// not handed over stays held; the hook tells when to try again (an
// acknowledgement, a new session, a subscription), and so does runSweep.
func (b *Broker) deliver(id string) {
	topic := mqttwire.ErrorsTopic(id)
	cl, ok := b.server.Clients.Get(id)
	if !ok || cl.Closed() {
		return
	}
	if _, ok := b.server.Topics.Subscribers(topic).Subscriptions[id]; !ok {
		return
	}
	// mochi's count of a client's unacknowledged messages misses those
	// whose packet id the client used for a publish of its own meanwhile;
	// the mailbox counts its own.
	held := b.mail.take(id, maxUnacked-max(cl.State.Inflight.Len(), b.mail.inFlight(id)))
	for i, h := range held {
		b.publishDropped.Store(false)
		if err := b.server.Publish(topic, h.payload, false, 1); err != nil {
			b.log.Warn("mqtt: publish", "topic", topic, "err", err)
		}
		if b.publishDropped.Load() {
			// The client's queue is full (mochi dropped the notice, and
			// the hook held it again): hold the rest too.
			for _, r := range held[i+1:] {
				b.mail.put(id, r.payload, r.since, false)
			}
			return
		}
	}
}

func receiptNotice(id string, seq, index uint64, height int64, status verdict.Status) notice {
	return notice{device: id, topic: mqttwire.ReceiptsTopic(id), payload: mustJSON(mqttwire.ReceiptMessage{
		Seq:     seq,
		Index:   index,
		Height:  height,
		Receipt: verdict.ReceiptPath(id, seq),
		Status:  status,
	})}
}

func errorNotice(id string, seq *uint64, reason, detail string) notice {
	return notice{device: id, topic: mqttwire.ErrorsTopic(id), refusal: true,
		payload: mustJSON(mqttwire.ErrorMessage{Seq: seq, Reason: reason, Detail: detail})}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("mqtt: encode " + err.Error()) // plain structs of strings and numbers always encode
	}
	return b
}

// debugHandler logs everything at debug level: mochi's own messages.
type debugHandler struct{ h slog.Handler }

func (d debugHandler) Enabled(ctx context.Context, _ slog.Level) bool {
	return d.h.Enabled(ctx, slog.LevelDebug)
}

func (d debugHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	return d.h.Handle(ctx, r)
}

func (d debugHandler) WithAttrs(as []slog.Attr) slog.Handler { return debugHandler{d.h.WithAttrs(as)} }
func (d debugHandler) WithGroup(n string) slog.Handler       { return debugHandler{d.h.WithGroup(n)} }
