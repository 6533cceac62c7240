package node

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/keybox"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
)

// The key box (package keybox, docs/PRIVATE.md): the wrapped stream keys
// of private readings, in data/keybox/, outside every store. The node
// opens it after the app store (its sweep erases the files of epochs
// erased while the node was down), adds its reactor to CometBFT's switch
// (channel keybox.Channel), tells it of each committed block's erasures
// and commitments (Committed), serves it to the API (api.StreamKeys), and
// closes it after CometBFT stopped.

// KeyboxDir is where the key box lives inside a home.
func KeyboxDir(home string) string { return filepath.Join(home, "data", "keybox") }

// KeyboxReactorName is the key box reactor's name on CometBFT's switch.
const KeyboxReactorName = "KEYBOX"

// openKeybox opens the home's key box over committed state, and its
// reactor.
func (n *Node) openKeybox(log *slog.Logger) error {
	r := epochReader{n.app.Reader()}
	box, err := keybox.Open(KeyboxDir(n.home), r, log.With("component", "keybox"), keybox.Options{})
	if err != nil {
		return fmt.Errorf("node: %w; the key box is data/keybox in the home: check its permissions", err)
	}
	n.keys = box
	n.keyReactor = keybox.NewReactor(box, r, log.With("component", "keybox"), keybox.ReactorOptions{})
	n.metrics.reg.MustRegister(keyboxCollector{box, n.keyReactor})
	box.Start()
	return nil
}

// keyboxCollector exposes the key box's counts on /metrics.
type keyboxCollector struct {
	box     *keybox.Box
	reactor *keybox.Reactor
}

var (
	keyboxKeysDesc = prometheus.NewDesc("iotledger_keybox_keys_total",
		"Wrapped stream keys the key box stored (written and synced), held (for a commitment not yet on the ledger), refused, "+
			"erased (files removed for erased epochs), dropped (held past their time, or not matching the commitment that committed) "+
			"and found damaged (removed, then asked of the peers again), since the node started.",
		[]string{"event"}, nil)
	keyboxHeldDesc = prometheus.NewDesc("iotledger_keybox_held_keys",
		"Wrapped stream keys held in memory until their commitments commit.", nil, nil)
	keyboxPeerDesc = prometheus.NewDesc("iotledger_keybox_peer_total",
		"The key box reactor's traffic with peers since the node started: keys sent, received, stored and refused; "+
			"slots asked for (wants sent) and asked of this node (wants received); messages dropped (over a peer's rate, or full queues) "+
			"and malformed ones (the peer is disconnected).",
		[]string{"event"}, nil)
)

func (c keyboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- keyboxKeysDesc
	ch <- keyboxHeldDesc
	ch <- keyboxPeerDesc
}

func (c keyboxCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.box.Stats()
	for _, e := range []struct {
		event string
		n     uint64
	}{{"stored", st.Stored}, {"held", st.Held}, {"refused", st.Refused}, {"erased", st.Erased}, {"dropped", st.Dropped}, {"damaged", st.Corrupt}} {
		ch <- prometheus.MustNewConstMetric(keyboxKeysDesc, prometheus.CounterValue, float64(e.n), e.event)
	}
	held, _ := c.box.HeldCount()
	ch <- prometheus.MustNewConstMetric(keyboxHeldDesc, prometheus.GaugeValue, float64(held))
	rs := c.reactor.Stats()
	for _, e := range []struct {
		event string
		n     uint64
	}{{"keys_sent", rs.KeysSent}, {"keys_received", rs.KeysReceived}, {"keys_stored", rs.KeysStored}, {"keys_refused", rs.KeysRefused},
		{"wants_sent", rs.WantsSent}, {"wants_received", rs.WantsReceived}, {"dropped", rs.Dropped}, {"malformed", rs.Malformed}} {
		ch <- prometheus.MustNewConstMetric(keyboxPeerDesc, prometheus.CounterValue, float64(e.n), e.event)
	}
}

// closeKeybox stops the key box's worker, once CometBFT no longer
// commits blocks (and before the app store closes: the worker reads it).
func (n *Node) closeKeybox() {
	if n.keys != nil {
		n.keys.Close()
	}
}

// keyboxCommitted tells the key box what a committed block did to the
// epochs: erasures, and the epochs whose recipients got commitments (a
// device's stream key, an owner's grant with wraps of past epochs). It
// never blocks (Box.Committed queues).
func (n *Node) keyboxCommitted(height int64, devices []app.DeviceChange) {
	if n.keys == nil {
		return
	}
	var c keybox.Commit
	for _, d := range devices {
		if d.Access == nil || d.Device == nil {
			continue
		}
		switch d.Action {
		case state.ActionErased:
			c.Erased = append(c.Erased, keybox.Erasure{Device: d.Device.ID, Epochs: d.Access.Epochs})
		case state.ActionStreamKey:
			c.Committed = append(c.Committed, keybox.Span{Device: d.Device.ID, From: d.Access.Epoch, To: d.Access.Epoch})
		case state.ActionGranted:
			c.Committed = append(c.Committed, keybox.Span{Device: d.Device.ID, From: d.Access.Epoch, To: d.Device.StreamEpoch})
		}
	}
	c.Height = height
	n.keys.Committed(c)
}

// PutStreamKey implements api.StreamKeys.
func (n *Node) PutStreamKey(s keybox.Slot, wrapped []byte) (keybox.Outcome, error) {
	return n.keys.Put(s, wrapped)
}

// StreamKey implements api.StreamKeys.
func (n *Node) StreamKey(s keybox.Slot) (*keybox.Key, error) { return n.keys.Get(s) }

// Keybox is the node's key box.
func (n *Node) Keybox() *keybox.Box { return n.keys }

// KeyboxReactor is the node's key box reactor.
func (n *Node) KeyboxReactor() *keybox.Reactor { return n.keyReactor }

var _ api.StreamKeys = (*Node)(nil)

// epochReader reads epochs of committed state for the key box
// (keybox.Ledger and keybox.Epochs).
type epochReader struct{ r *query.Reader }

func (e epochReader) Epoch(device string, n uint64) (*state.Epoch, error) {
	return e.r.Epoch(device, n)
}

// EpochsAfter reads the epoch records (q/<device>/<be64 epoch>) after
// epoch n of device, in key order, which is (device, epoch) order: device
// ids hold no "/".
func (e epochReader) EpochsAfter(device string, n uint64, limit int) ([]keybox.DeviceEpoch, error) {
	lower := []byte(state.PrefixEpoch)
	if device != "" {
		if n == ^uint64(0) {
			lower = state.PrefixEnd(string(state.EpochPrefix(device)))
		} else {
			lower = state.EpochKey(device, n+1)
		}
	}
	it, err := e.r.Committed().DB().NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: state.PrefixEnd(state.PrefixEpoch)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []keybox.DeviceEpoch
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		k := it.Key()
		rest := k[len(state.PrefixEpoch):]
		if len(rest) < 10 || rest[len(rest)-9] != '/' {
			return nil, fmt.Errorf("%w: epoch key %q", state.ErrCorrupt, k)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		ep, err := state.DecodeEpoch(k, v)
		if err != nil {
			return nil, err
		}
		if num := binary.BigEndian.Uint64(rest[len(rest)-8:]); num != ep.Number {
			return nil, fmt.Errorf("%w: epoch key %q holds epoch %d", state.ErrCorrupt, k, ep.Number)
		}
		out = append(out, keybox.DeviceEpoch{Device: string(rest[:len(rest)-9]), Epoch: ep})
	}
	return out, it.Error()
}
