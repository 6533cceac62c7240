package keybox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/conn"
	gogotypes "github.com/cosmos/gogoproto/types"

	"github.com/iotledger/iotledger/internal/ratelimit"
	"github.com/iotledger/iotledger/internal/state"
)

// The key box's reactor passes wrapped keys between nodes on a p2p
// channel of its own (Channel). Each message is a gogoproto BytesValue
// (the envelope CometBFT's switch needs) whose bytes are one
// deterministic CBOR map (wire.go):
//
//	{1: keys = [{1: device, 2: epoch, 3: recipient, 4: wrapped key (bstr)}, ...],   at most MaxKeysPerMessage
//	 2: wants = [{1: device, 2: epoch, 3: recipient}, ...]}                           at most MaxWantsPerMessage
//
// A node sends keys: each key it takes from a client (Put, or a held key
// whose commitment committed) to every peer, each key it takes from a
// peer to every other peer, and the keys a peer wants that it has. It
// sends wants: after a block that committed commitments it has no file
// for, when a client asks for a committed key it has no file for, and
// from a scan of every committed epoch (a pass every ScanEvery, read in
// parts ScanSoon apart; a pass starts when a peer connects). A key from a
// peer is taken only when its commitment is on this node's ledger, for an
// epoch not erased (Box.PutCommitted); anything else is refused and
// counted. A message that does not decode, or exceeds the bounds, stops
// the peer (a node running this code never sends one). Each peer's
// messages are rate limited (ReactorOptions.PeerRate); what exceeds it,
// or finds the reactor's queue full, is dropped and counted, never waited
// for: Receive runs on the peer's connection, which consensus shares.

// Channel is the key box's p2p channel.
const Channel = byte(0x70)

// Bounds of the reactor's messages.
const (
	MaxKeysPerMessage  = 32
	MaxWantsPerMessage = 128
	// MaxMessageBytes bounds a message (the channel's receive capacity):
	// MaxKeysPerMessage keys of MaxWrappedBytes and their slots, or
	// MaxWantsPerMessage slots.
	MaxMessageBytes = 96 << 10
)

// Epochs is what the reactor's scan reads of committed state: epoch
// records in (device, epoch) order.
type Epochs interface {
	// EpochsAfter returns up to limit committed epochs after epoch n of
	// device ("" and 0: from the first), in (device, epoch) order.
	EpochsAfter(device string, n uint64, limit int) ([]DeviceEpoch, error)
}

// DeviceEpoch is a device's epoch record.
type DeviceEpoch struct {
	Device string
	Epoch  *state.Epoch
}

// ReactorOptions configure a Reactor. The zero value is usable.
type ReactorOptions struct {
	// ScanEvery is how often the scan asks peers for the keys this node
	// lacks once a pass over every epoch found none; ScanSoon how soon the
	// next part of a pass comes otherwise. Zero means DefaultScanEvery and
	// DefaultScanSoon.
	ScanEvery, ScanSoon time.Duration
	// ScanEpochs is how many epoch records one part of a scan reads. Zero
	// means DefaultScanEpochs.
	ScanEpochs int
	// PeerRate and PeerBurst bound each peer's messages a second. Zero
	// means DefaultPeerRate and DefaultPeerBurst.
	PeerRate  float64
	PeerBurst int
	// Now is the rate limit's clock; nil means time.Now.
	Now func() time.Time
}

// Defaults of ReactorOptions.
const (
	DefaultScanEvery  = 30 * time.Second
	DefaultScanSoon   = 2 * time.Second
	DefaultScanEpochs = 1024
	DefaultPeerRate   = 20
	DefaultPeerBurst  = 40
)

// queue sizes: messages waiting for the worker, and slots to ask for.
const (
	inboundQueue = 256
	askQueue     = 64
	// maxScanWants bounds the slots one part of a scan asks for.
	maxScanWants = 4 * MaxWantsPerMessage
	// maxPeers bounds the rate limit's table of peers.
	maxPeers = 1024
)

// Reactor passes wrapped keys between nodes (see above). Add it to
// CometBFT's switch (nm.CustomReactors); the switch starts and stops it.
type Reactor struct {
	p2p.BaseReactor

	box    *Box
	epochs Epochs
	log    *slog.Logger
	opts   ReactorOptions
	limit  *ratelimit.Keyed[p2p.ID]

	in      chan inbound
	asks    chan []Slot
	scanNow chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}

	// the scan's cursor: the last epoch record a part read (worker only)
	cursorDevice string
	cursorEpoch  uint64

	stats reactorCounters
}

type inbound struct {
	peer p2p.Peer
	b    []byte
}

// ReactorStats count what the reactor did since it started.
type ReactorStats struct {
	KeysSent, KeysReceived, KeysStored, KeysRefused uint64
	WantsSent, WantsReceived                        uint64
	Dropped, Malformed                              uint64
}

type reactorCounters struct {
	keysSent, keysReceived, keysStored, keysRefused atomic.Uint64
	wantsSent, wantsReceived                        atomic.Uint64
	dropped, malformed                              atomic.Uint64
}

// NewReactor returns the reactor of box, whose scan reads epochs. It sets
// the box's hooks (Box.SetHooks): keys the box stores go to the peers, and
// slots it lacks are asked of them.
func NewReactor(box *Box, epochs Epochs, log *slog.Logger, opts ReactorOptions) *Reactor {
	if opts.ScanEvery <= 0 {
		opts.ScanEvery = DefaultScanEvery
	}
	if opts.ScanSoon <= 0 {
		opts.ScanSoon = DefaultScanSoon
	}
	if opts.ScanEpochs <= 0 {
		opts.ScanEpochs = DefaultScanEpochs
	}
	if opts.PeerRate <= 0 {
		opts.PeerRate = DefaultPeerRate
	}
	if opts.PeerBurst <= 0 {
		opts.PeerBurst = DefaultPeerBurst
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Reactor{box: box, epochs: epochs, log: log, opts: opts,
		limit: ratelimit.New[p2p.ID](opts.PeerRate, opts.PeerBurst, maxPeers, ratelimit.Share),
		in:    make(chan inbound, inboundQueue), asks: make(chan []Slot, askQueue), scanNow: make(chan struct{}, 1)}
	r.BaseReactor = *p2p.NewBaseReactor("Keybox", r)
	box.SetHooks(r.stored, r.lacking)
	return r
}

// Stats returns the reactor's counts.
func (r *Reactor) Stats() ReactorStats {
	c := &r.stats
	return ReactorStats{
		KeysSent: c.keysSent.Load(), KeysReceived: c.keysReceived.Load(), KeysStored: c.keysStored.Load(), KeysRefused: c.keysRefused.Load(),
		WantsSent: c.wantsSent.Load(), WantsReceived: c.wantsReceived.Load(),
		Dropped: c.dropped.Load(), Malformed: c.malformed.Load(),
	}
}

// GetChannels implements p2p.Reactor: one channel of low priority (the
// consensus channels come first) whose messages are BytesValues of at
// most MaxMessageBytes.
func (r *Reactor) GetChannels() []*conn.ChannelDescriptor {
	return []*conn.ChannelDescriptor{{
		ID:                  Channel,
		Priority:            1,
		SendQueueCapacity:   64,
		RecvBufferCapacity:  MaxMessageBytes,
		RecvMessageCapacity: MaxMessageBytes,
		MessageType:         &gogotypes.BytesValue{},
	}}
}

// OnStart starts the reactor's worker (service.Service, called by Start).
func (r *Reactor) OnStart() error {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go r.run(ctx)
	return nil
}

// OnStop stops the worker and waits for it.
func (r *Reactor) OnStop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
}

// AddPeer implements p2p.Reactor: a new peer may have what this node
// lacks, so the scan runs soon.
func (r *Reactor) AddPeer(p2p.Peer) {
	select {
	case r.scanNow <- struct{}{}:
	default:
	}
}

// Receive implements p2p.Reactor. It never blocks: a message over the
// peer's rate, or that finds the queue full, is dropped and counted.
func (r *Reactor) Receive(e p2p.Envelope) {
	if e.ChannelID != Channel {
		return
	}
	m, ok := e.Message.(*gogotypes.BytesValue)
	if !ok {
		r.stats.malformed.Add(1)
		r.stopPeer(e.Src, fmt.Errorf("keybox: a message of type %T; want a BytesValue", e.Message))
		return
	}
	if e.Src == nil {
		return
	}
	if r.limit.Take(e.Src.ID(), r.opts.Now()) > 0 {
		r.stats.dropped.Add(1)
		return
	}
	select {
	case r.in <- inbound{peer: e.Src, b: m.Value}:
	default:
		r.stats.dropped.Add(1)
	}
}

func (r *Reactor) stopPeer(p p2p.Peer, err error) {
	r.log.Warn("keybox: a peer sent a message that breaks the key box's protocol; disconnecting it", "peer", peerID(p), "err", err)
	if r.Switch != nil && p != nil {
		r.Switch.StopPeerForError(p, err)
	}
}

func peerID(p p2p.Peer) string {
	if p == nil {
		return ""
	}
	return string(p.ID())
}

func (r *Reactor) run(ctx context.Context) {
	defer close(r.done)
	timer := time.NewTimer(r.opts.ScanSoon)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-r.in:
			r.handle(m)
		case slots := <-r.asks:
			r.want(slots)
		case <-r.scanNow:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(r.scan())
		case <-timer.C:
			timer.Reset(r.scan())
		}
	}
}

// handle answers one peer's message.
func (r *Reactor) handle(m inbound) {
	msg, err := decodeMessage(m.b)
	if err != nil {
		r.stats.malformed.Add(1)
		r.stopPeer(m.peer, err)
		return
	}
	var fresh []wireKey
	for _, k := range msg.Keys {
		r.stats.keysReceived.Add(1)
		s := k.slot()
		stored, err := r.box.PutCommitted(s, k.Wrapped)
		if ref, ok := errors.AsType[*RefusedError](err); ok {
			r.stats.keysRefused.Add(1)
			if ref.Reason == ReasonMismatch || ref.Reason == ReasonMalformed {
				r.log.Warn("keybox: refused a wrapped key from a peer", "peer", peerID(m.peer), "slot", s.String(), "why", ref.Detail)
			} else {
				r.log.Debug("keybox: refused a wrapped key from a peer", "peer", peerID(m.peer), "slot", s.String(), "why", ref.Detail)
			}
			continue
		}
		if err != nil {
			r.log.Error("keybox: storing a wrapped key from a peer failed", "peer", peerID(m.peer), "slot", s.String(), "err", err)
			continue
		}
		if stored {
			r.stats.keysStored.Add(1)
			fresh = append(fresh, k)
		}
	}
	r.sendKeys(fresh, m.peer, false)
	if len(msg.Wants) > 0 {
		r.stats.wantsReceived.Add(uint64(len(msg.Wants)))
		var have []wireKey
		for _, w := range msg.Wants {
			s := w.slot()
			b, err := r.box.load(s)
			if err != nil {
				r.log.Error("keybox: reading a wrapped key a peer asked for failed", "slot", s.String(), "err", err)
				continue
			}
			if b != nil {
				have = append(have, wireKey{Device: s.Device, Epoch: s.Epoch, Recipient: s.Recipient, Wrapped: b})
			}
		}
		r.sendKeys(have, m.peer, true)
	}
}

// stored is the box's hook for a key it took from a client: every peer
// gets it.
func (r *Reactor) stored(s Slot, wrapped []byte) {
	r.sendKeys([]wireKey{{Device: s.Device, Epoch: s.Epoch, Recipient: s.Recipient, Wrapped: wrapped}}, nil, false)
}

// lacking is the box's hook for committed slots it has no file for: the
// worker asks the peers. Never blocks: when the queue is full, the scan
// asks later.
func (r *Reactor) lacking(slots []Slot) {
	select {
	case r.asks <- slots:
	default:
		r.stats.dropped.Add(1)
	}
}

// sendKeys sends keys to peer only (only), or to every peer but peer.
func (r *Reactor) sendKeys(keys []wireKey, peer p2p.Peer, only bool) {
	for len(keys) > 0 {
		n := min(len(keys), MaxKeysPerMessage)
		b := encodeMessage(&message{Keys: keys[:n]})
		sent := r.send(b, peer, only)
		r.stats.keysSent.Add(uint64(n * sent))
		keys = keys[n:]
	}
}

// want asks every peer for slots.
func (r *Reactor) want(slots []Slot) {
	for len(slots) > 0 {
		n := min(len(slots), MaxWantsPerMessage)
		ws := make([]wireSlot, n)
		for i, s := range slots[:n] {
			ws[i] = wireSlot{Device: s.Device, Epoch: s.Epoch, Recipient: s.Recipient}
		}
		sent := r.send(encodeMessage(&message{Wants: ws}), nil, false)
		r.stats.wantsSent.Add(uint64(n * sent))
		slots = slots[n:]
	}
}

// send sends a message to peer only, or to every peer but peer, without
// waiting (a full send queue drops it); it returns to how many it went.
func (r *Reactor) send(b []byte, peer p2p.Peer, only bool) int {
	env := p2p.Envelope{ChannelID: Channel, Message: &gogotypes.BytesValue{Value: b}}
	if only {
		if peer != nil && peer.TrySend(env) {
			return 1
		}
		return 0
	}
	if r.Switch == nil {
		return 0
	}
	sent := 0
	for _, p := range r.Switch.Peers().Copy() {
		if p == peer {
			continue
		}
		if p.TrySend(env) {
			sent++
		} else {
			r.stats.dropped.Add(1)
		}
	}
	return sent
}

// scan reads the next part of the committed epochs, asks the peers for
// the committed keys this node has no file for, and returns when to scan
// again: soon while a pass is under way or finds keys to ask for, else
// after ScanEvery (a key that no peer has is asked for once a pass). A
// node without peers does not scan.
func (r *Reactor) scan() time.Duration {
	if r.Switch == nil || r.Switch.Peers().Size() == 0 {
		return r.opts.ScanEvery
	}
	es, err := r.epochs.EpochsAfter(r.cursorDevice, r.cursorEpoch, r.opts.ScanEpochs)
	if err != nil {
		r.log.Error("keybox: reading committed epochs failed; the scan tries again later", "err", err)
		return r.opts.ScanEvery
	}
	var lacking []Slot
	for _, de := range es {
		if de.Epoch == nil {
			continue
		}
		lacking = append(lacking, r.box.lackingOf(de.Device, de.Epoch)...)
		r.cursorDevice, r.cursorEpoch = de.Device, de.Epoch.Number
		if len(lacking) >= maxScanWants {
			break
		}
	}
	whole := len(es) < r.opts.ScanEpochs && len(lacking) < maxScanWants
	if whole {
		r.cursorDevice, r.cursorEpoch = "", 0 // the pass is over: the next starts from the first
	}
	r.want(lacking)
	if !whole {
		return r.opts.ScanSoon
	}
	return r.opts.ScanEvery
}
