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
	"github.com/iotledger/iotledger/internal/registry"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/reading"
)

// Deps are what the broker needs from the node: two calls, so two functions.
type Deps struct {
	// Submit checks and queues readings: ingest's Submit. The broker calls
	// it with one reading and wait false, and retries on ingest.ErrBusy.
	Submit func(ctx context.Context, raws [][]byte, wait bool) ([]ingest.Result, error)
	// Device returns a device's record from committed state, or nil when no
	// device has that id: the app's Device.
	Device func(id string) (*registry.Device, error)
}

// Sizes of the broker's queues.
const (
	noticeQueue      = 8192 // receipts and errors waiting to be published to the bridge; to devices, at least this
	maxUnacked       = 128  // QoS 1 messages a device has not acknowledged; more are not sent to it
	kickQueue        = 1024 // revoked or rotated devices waiting to be disconnected
	bridgePublishers = 4    // bridge publishes in flight at once (QoS 1 waits for PUBACK)
	shutdownGrace    = time.Second
	publishTimeout   = 10 * time.Second
)

var errBusyTimeout = errors.New("mqtt: the node's queue stayed full")

// Broker is the MQTT intake of one node: an embedded broker, a bridge to an
// operator's broker, or both. New makes it, Start runs it, Close stops it.
type Broker struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	now  func() time.Time // the wall clock; tests replace it

	server  *mochi.Server // nil when the embedded broker is off
	ln      *listener     // set by Start
	tls     *tls.Config   // nil: plain TCP
	limiter *limiter
	pending *pendingTable

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
	received, queued, refused, rateLimited, busy, abandoned, connectsRefused, dropped atomic.Uint64
}

// Stats are counters since New, for metrics.
type Stats struct {
	Received        uint64 // readings published to the broker or bridge
	Queued          uint64 // readings handed to ingest
	Refused         uint64 // readings answered on the errors topic at once
	RateLimited     uint64 // of Refused, over the device's rate
	BusyRetries     uint64 // Submit calls answered busy
	Abandoned       uint64 // readings neither queued nor answered (queue full too long, shutdown): not acknowledged
	ConnectsRefused uint64 // CONNECTs refused
	NoticesDropped  uint64 // receipts, errors and disconnects not sent because their queue was full
	PendingEvicted  uint64 // queued readings forgotten before their outcome (table full or too old)
	Pending         int    // queued readings waiting for their outcome
}

// notice is a message for a device's receipts or errors topic.
type notice struct {
	device  string
	topic   string
	payload []byte
	retain  bool // kept by the broker for devices that subscribe later
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
		limiter:     newLimiter(cfg.RatePerDevice, cfg.Burst, max(cfg.MaxClients, 1<<16)), // the bridge has no client limit
		pending:     newPendingTable(cfg.PendingMax, cfg.PendingTTL),
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
	c.MaximumQos = 1 // readings are idempotent by (device, seq): QoS 2 buys nothing
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
		RateLimited:     b.stats.rateLimited.Load(),
		BusyRetries:     b.stats.busy.Load(),
		Abandoned:       b.stats.abandoned.Load(),
		ConnectsRefused: b.stats.connectsRefused.Load(),
		NoticesDropped:  b.stats.dropped.Load(),
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
		case mqttwire.StatusAccepted, mqttwire.StatusDuplicate:
			b.notify(m.entry.sinks, receiptNotice(m.entry.device, m.entry.seq, o.Index, o.Height, o.Status))
		default:
			reason := o.Reason
			if reason == "" {
				reason = o.Code.String()
			}
			seq := m.entry.seq
			b.notify(m.entry.sinks, errorNotice(m.entry.device, &seq, reason, o.Detail))
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
		if c.Side != registry.SideDesired {
			continue
		}
		b.notify(sinkEmbedded, notice{device: c.Device, topic: mqttwire.TwinDesiredTopic(c.Device), retain: true,
			payload: mustJSON(mqttwire.TwinDesiredMessage{Version: c.Version, Height: c.Height, State: c.State})})
	}
}

// verdict is what became of one published reading.
type verdict struct {
	ack  bool         // acknowledge the PUBLISH: the reading was queued or answered
	code packets.Code // when acknowledged: MQTT 5 PUBACK reason (0 when queued or a duplicate)
	err  error        // when not acknowledged: why
}

// receive handles a reading published on topic. busyFor bounds how long it
// waits for room in the node's queue (0: until Close). It never panics, and
// hands Submit only readings that decode and belong to the topic's device.
func (b *Broker) receive(ctx context.Context, s sink, topic string, payload []byte, busyFor time.Duration) verdict {
	id, ok := readingsDevice(topic)
	if !ok {
		return verdict{ack: true, code: packets.ErrTopicNameInvalid}
	}
	return b.handle(ctx, s, id, payload, busyFor)
}

// handle handles a reading published on device id's readings topic.
func (b *Broker) handle(ctx context.Context, s sink, id string, payload []byte, busyFor time.Duration) verdict {
	b.stats.received.Add(1)
	now := b.now()
	if !b.limiter.allow(id, now) {
		b.stats.rateLimited.Add(1)
		b.refuse(s, id, seqOf(payload), mqttwire.ReasonRateLimited, fmt.Sprintf(
			"more than %g readings a second (burst %d) from device %s; this reading was not taken: send it again later",
			b.cfg.RatePerDevice, b.cfg.Burst, id))
		return verdict{ack: true, code: packets.ErrQuotaExceeded}
	}
	sr, err := reading.Decode(payload)
	if err != nil {
		code := app.CodeMalformedReading
		if errors.Is(err, reading.ErrTooLarge) {
			code = app.CodeReadingTooLarge
		}
		b.refuse(s, id, nil, code.String(), err.Error())
		return verdict{ack: true, code: packets.ErrPayloadFormatInvalid}
	}
	if sr.Device != id {
		seq := sr.Seq
		b.refuse(s, id, &seq, mqttwire.ReasonDeviceMismatch, fmt.Sprintf(
			"the reading is for device %s but was published on the topic of %s; publish it on %s", sr.Device, id, mqttwire.ReadingsTopic(sr.Device)))
		return verdict{ack: true, code: packets.ErrNotAuthorized}
	}
	raw := bytes.Clone(payload) // ingest keeps it; the MQTT library owns payload
	h := sha256.Sum256(raw)
	// Track the reading before it is queued: its block may be committed
	// before Submit returns.
	b.pending.add(h, id, sr.Seq, s, now)
	rs, err := b.submit(ctx, raw, busyFor)
	if err != nil {
		b.pending.drop(h, s)
		b.stats.abandoned.Add(1)
		return verdict{err: err}
	}
	r := rs[0]
	switch r.Status {
	case "accepted", "duplicate":
		sinks := s
		if e, ok := b.pending.take(h); ok {
			sinks |= e.sinks
		}
		b.notify(sinks, receiptNotice(id, sr.Seq, r.Index, r.Height, r.Status))
		return verdict{ack: true, code: packets.CodeSuccess}
	case "rejected":
		sinks := s
		if e, ok := b.pending.take(h); ok {
			sinks |= e.sinks
		}
		seq := sr.Seq
		b.stats.refused.Add(1)
		b.notify(sinks, errorNotice(id, &seq, r.Code.String(), r.Detail))
		return verdict{ack: true, code: pubackCode(r.Code)}
	default: // pending: queued, Committed answers
		b.stats.queued.Add(1)
		return verdict{ack: true, code: packets.CodeSuccess}
	}
}

// pubackCode is the MQTT 5 PUBACK reason for a reading the ledger refused.
func pubackCode(c app.Code) packets.Code {
	switch c {
	case app.CodeMalformedReading, app.CodeReadingTooLarge:
		return packets.ErrPayloadFormatInvalid
	case app.CodeUnregisteredDevice, app.CodeRevokedDevice, app.CodeBadSignature, app.CodeKeyRotated:
		return packets.ErrNotAuthorized
	case app.CodeRateLimited:
		return packets.ErrQuotaExceeded
	default:
		return packets.ErrImplementationSpecificError
	}
}

// submit queues one reading, waiting while the node's queue is full: this
// is the backpressure, as the PUBLISH is not acknowledged meanwhile.
func (b *Broker) submit(ctx context.Context, raw []byte, busyFor time.Duration) ([]ingest.Result, error) {
	var deadline <-chan time.Time
	wait := 5 * time.Millisecond
	for {
		rs, err := b.submitOne(ctx, raw)
		switch {
		case err == nil && len(rs) == 1:
			return rs, nil
		case err == nil:
			b.log.Error("mqtt: Submit returned the wrong number of results", "want", 1, "got", len(rs))
			return nil, fmt.Errorf("mqtt: Submit returned %d results for 1 reading", len(rs))
		case !errors.Is(err, ingest.ErrBusy):
			b.log.Error("mqtt: submit", "err", err)
			return nil, err
		}
		b.stats.busy.Add(1)
		if deadline == nil && busyFor > 0 {
			t := time.NewTimer(busyFor)
			defer t.Stop()
			deadline = t.C
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-deadline:
			t.Stop()
			return nil, errBusyTimeout
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

func (b *Broker) refuse(s sink, id string, seq *uint64, reason, detail string) {
	b.stats.refused.Add(1)
	b.notify(s, errorNotice(id, seq, reason, detail))
}

// notify queues n for the destinations in sinks; a full queue drops it.
func (b *Broker) notify(sinks sink, n notice) {
	if sinks&sinkEmbedded != 0 && b.server != nil && !b.embeddedOut.push(n) {
		b.stats.dropped.Add(1)
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
		case id := <-b.kick:
			if cl, ok := b.server.Clients.Get(id); ok {
				cl.Stop(packets.ErrNotAuthorized) // closes the connection; the device must connect again with a new token
				b.log.Info("mqtt: disconnected device after a change of its record", "device", id)
			}
		}
	}
}

// publish sends a notice to its device, if connected.
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

func receiptNotice(id string, seq, index uint64, height int64, status string) notice {
	return notice{device: id, topic: mqttwire.ReceiptsTopic(id), payload: mustJSON(mqttwire.ReceiptMessage{
		Seq:     seq,
		Index:   index,
		Height:  height,
		Receipt: fmt.Sprintf("/v1/devices/%s/readings/%d/receipt", id, seq),
		Status:  status,
	})}
}

func errorNotice(id string, seq *uint64, reason, detail string) notice {
	return notice{device: id, topic: mqttwire.ErrorsTopic(id), payload: mustJSON(mqttwire.ErrorMessage{Seq: seq, Reason: reason, Detail: detail})}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("mqtt: encode " + err.Error()) // plain structs of strings and numbers always encode
	}
	return b
}

// seqOf is the sequence number of payload if it decodes as a reading.
func seqOf(payload []byte) *uint64 {
	sr, err := reading.Decode(payload)
	if err != nil {
		return nil
	}
	return &sr.Seq
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
