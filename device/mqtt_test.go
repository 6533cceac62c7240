package device_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/mqtt"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/verdict"
)

// mqttNode starts a node with a registered device dev1 and returns the node
// and the device's key.
func mqttNode(t *testing.T) (*testonly.Node, *keystore.Key) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	n, k, _ := testonly.DeviceNode(t, "device-mqtt")
	return n, k
}

func newMQTT(t *testing.T, o device.MQTTOptions) *device.MQTT {
	t.Helper()
	tr, err := device.NewMQTT(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// bounded is the test's context with a bound, so that a broken test fails
// instead of hanging.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// A device sends readings to a real node over MQTT: a good reading is
// committed and answered Accepted, a resend of it Duplicate with the same
// place in the log, and a reading with a bad signature Rejected with the
// ledger's reason.
func TestMQTTNode(t *testing.T) {
	n, k := mqttNode(t)
	ctx := bounded(t)
	tr := newMQTT(t, device.MQTTOptions{URL: "tcp://" + n.MQTTAddr, Key: k.Private, Wait: 30 * time.Second})
	s, err := device.NewSigner(k.Private, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	for range 3 {
		raw, _, err := s.Sign(map[string]any{"temp": 21.5}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	raws[2][len(raws[2])-1] ^= 1 // the last byte is the signature's

	got, err := tr.Send(ctx, raws)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("%d answers for 3 readings: %+v", len(got), got)
	}
	for i, a := range got[:2] {
		want := "/v1/devices/" + k.DeviceID() + "/readings/" + []string{"1", "2"}[i] + "/receipt"
		if a.Status != device.Accepted || a.Height <= 0 || a.Receipt != want {
			t.Errorf("reading %d: %+v, want accepted in a block, receipt at %s", i+1, a, want)
		}
	}
	if got[0].Index == got[1].Index {
		t.Errorf("readings 1 and 2 both at log index %d", got[0].Index)
	}
	if a := got[2]; a.Status != device.Rejected || a.Reason != "bad_signature" || a.Detail == "" {
		t.Errorf("reading with a bad signature: %+v, want rejected for bad_signature with a detail", a)
	}

	again, err := tr.Send(ctx, raws[:1])
	if err != nil {
		t.Fatalf("Send again: %v", err)
	}
	if a := again[0]; a.Status != device.Duplicate || a.Index != got[0].Index || a.Receipt != got[0].Receipt {
		t.Errorf("resend: %+v, want a duplicate at index %d, receipt %s", a, got[0].Index, got[0].Receipt)
	}
}

// A Sender over MQTT drains its outbox into a real node.
func TestMQTTSender(t *testing.T) {
	n, k := mqttNode(t)
	ctx := bounded(t)
	s, err := device.NewSender(device.Options{
		Key:       k.Private,
		Dir:       filepath.Join(t.TempDir(), "state"),
		Transport: newMQTT(t, device.MQTTOptions{URL: "tcp://" + n.MQTTAddr, Key: k.Private}),
		BatchSize: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 10 {
		if _, err := s.Record(ctx, map[string]any{"n": i}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v (stats %+v)", err, s.Stats())
	}
	if st := s.Stats(); st.Acknowledged != 10 || st.Rejected != 0 || st.Outbox != 0 {
		t.Errorf("stats %+v, want 10 acknowledged, none rejected, an empty outbox", st)
	}
}

// A device the ledger does not know is refused at CONNECT: an error that
// says so, and not one to retry on a timer.
func TestMQTTUnregisteredDevice(t *testing.T) {
	n, _ := mqttNode(t)
	key := newKey(9)
	tr := newMQTT(t, device.MQTTOptions{URL: "tcp://" + n.MQTTAddr, Key: key})
	_, err := tr.Send(bounded(t), signedBy(t, key, 1))
	if err == nil || !strings.Contains(err.Error(), "0x87") || !strings.Contains(err.Error(), "register the device") {
		t.Fatalf("Send = %v, want a refusal (0x87) that says to register the device", err)
	}
	if _, ok := errors.AsType[*device.RetryError](err); ok {
		t.Errorf("Send = %v, a *RetryError; want a plain error", err)
	}
}

func signedBy(t *testing.T, key ed25519.PrivateKey, n int) [][]byte {
	t.Helper()
	s := newSigner(t, key, "", "")
	var raws [][]byte
	for range n {
		raw, _, err := s.Sign(map[string]any{"temp": 21.5}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	return raws
}

// fakeLedger is the part of a node the embedded broker needs, with a
// Submit the test chooses.
type fakeLedger struct {
	key       ed25519.PrivateKey
	submit    func(raw []byte) (verdict.Verdict, error)
	submitted chan []byte
}

func (l *fakeLedger) deps() mqtt.Deps {
	id := address.Device(l.key.Public().(ed25519.PublicKey))
	return mqtt.Deps{
		Submit: func(_ context.Context, raws [][]byte, _ bool) ([]verdict.Verdict, error) {
			out := make([]verdict.Verdict, len(raws))
			for i, raw := range raws {
				r, err := l.submit(raw)
				if err != nil {
					return nil, err
				}
				out[i] = r
				if l.submitted != nil {
					l.submitted <- raw
				}
			}
			return out, nil
		},
		Device: func(got string) (*state.Device, error) {
			if got != id {
				return nil, nil
			}
			return &state.Device{ID: id, Key: l.key.Public().(ed25519.PublicKey), Status: state.StatusActive}, nil
		},
	}
}

// startBroker runs the node's embedded broker on a free loopback port.
func startBroker(t *testing.T, l *fakeLedger, busy time.Duration) *mqtt.Broker {
	t.Helper()
	cfg := mqtt.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.BusyTimeout = busy
	b, err := mqtt.New(cfg, l.deps(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// When the node's queue stays full, the broker disconnects the device with
// 0x89 Server busy: Send answers a *RetryError.
func TestMQTTBusy(t *testing.T) {
	key := newKey(10)
	b := startBroker(t, &fakeLedger{key: key, submit: func([]byte) (verdict.Verdict, error) { return verdict.Verdict{}, ingest.ErrBusy }}, 50*time.Millisecond)
	tr := newMQTT(t, device.MQTTOptions{URL: "tcp://" + b.Addr(), Key: key})
	got, err := tr.Send(bounded(t), signedBy(t, key, 2))
	re, ok := errors.AsType[*device.RetryError](err)
	if !ok {
		t.Fatalf("Send = %+v, %v; want a *device.RetryError", got, err)
	}
	if !strings.Contains(re.Error(), "0x89") {
		t.Errorf("error %q does not name the reason 0x89", re)
	}
}

// While the node's consensus has halted, the broker disconnects the device
// with 0x89 and the halt's reason: Send answers a *RetryError, and the
// Sender keeps the readings.
func TestMQTTHalted(t *testing.T) {
	key := newKey(12)
	b := startBroker(t, &fakeLedger{key: key, submit: func([]byte) (verdict.Verdict, error) {
		return verdict.Verdict{}, &ingest.HaltedError{Since: time.Unix(1767225600, 0), Reason: "CONSENSUS FAILURE: disk full"}
	}}, time.Second)
	tr := newMQTT(t, device.MQTTOptions{URL: "tcp://" + b.Addr(), Key: key})
	got, err := tr.Send(bounded(t), signedBy(t, key, 2))
	re, ok := errors.AsType[*device.RetryError](err)
	if !ok {
		t.Fatalf("Send = %+v, %v; want a *device.RetryError", got, err)
	}
	if !strings.Contains(re.Error(), "0x89") || !strings.Contains(re.Error(), "disk full") {
		t.Errorf("error %q does not name the reason 0x89 and the halt", re)
	}
}

// A reading the node queued but stopped waiting for (mqtt.pending_ttl) is
// answered not_committed on the errors topic: Send answers Pending, so the
// Sender sends it again, rather than a rejection for the dead letters.
func TestMQTTNotCommitted(t *testing.T) {
	key := newKey(13)
	l := &fakeLedger{key: key, submit: func(raw []byte) (verdict.Verdict, error) {
		return verdict.Verdict{Status: "pending"}, nil // queued, never committed
	}}
	cfg := mqtt.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.PendingTTL = time.Second
	b, err := mqtt.New(cfg, l.deps(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	tr := newMQTT(t, device.MQTTOptions{URL: "tcp://" + b.Addr(), Key: key, Wait: time.Minute})
	got, err := tr.Send(bounded(t), signedBy(t, key, 3))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Status != device.Pending || !strings.Contains(got[0].Detail, "send it again") {
		t.Errorf("answer %+v, want Pending saying to send it again", got[0])
	}
}

// An answer that comes after Send gave up on it is kept: the next Send of
// that reading is answered with it.
func TestMQTTLateAnswer(t *testing.T) {
	key := newKey(11)
	l := &fakeLedger{key: key, submitted: make(chan []byte, 10), submit: func(raw []byte) (verdict.Verdict, error) {
		return verdict.Verdict{Status: "pending"}, nil // queued; the test commits it
	}}
	b := startBroker(t, l, time.Second)
	tr := newMQTT(t, device.MQTTOptions{URL: "tcp://" + b.Addr(), Key: key, Wait: time.Minute})
	ctx := bounded(t)
	raws := signedBy(t, key, 1)

	// The first Send gives up once the reading is queued, before its block.
	first, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		select {
		case <-l.submitted:
		case <-first.Done():
		}
	}()
	got, err := tr.Send(first, raws)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Status != device.Pending {
		t.Fatalf("before the commit: %+v, want pending", got[0])
	}
	r, err := reading.Decode(raws[0])
	if err != nil {
		t.Fatal(err)
	}
	b.Committed([]app.Outcome{{Verdict: verdict.Verdict{Device: r.Device, Seq: r.Seq, Status: "accepted", Index: 7, Height: 3}, Hash: sha256.Sum256(raws[0])}})

	got, err = tr.Send(ctx, raws)
	if err != nil {
		t.Fatal(err)
	}
	want := device.Answer{Status: device.Accepted, Index: 7, Height: 3, Receipt: "/v1/devices/" + r.Device + "/readings/1/receipt"}
	if diff := cmp.Diff(got[0], want); diff != "" {
		t.Errorf("after the commit (-got +want):\n%s", diff)
	}
}

// Readings the transport cannot publish for its device are answered at
// once, without the broker.
func TestMQTTRefusesOtherDevices(t *testing.T) {
	key := newKey(12)
	tr := newMQTT(t, device.MQTTOptions{URL: "tcp://127.0.0.1:1", Key: key})
	got, err := tr.Send(bounded(t), [][]byte{[]byte("not a reading"), signedBy(t, newKey(13), 1)[0]})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Status != device.Rejected || got[0].Reason != "malformed_reading" {
		t.Errorf("garbage: %+v, want rejected as malformed_reading", got[0])
	}
	if got[1].Status != device.Rejected || got[1].Reason != "device_mismatch" || !strings.Contains(got[1].Detail, tr.ID()) {
		t.Errorf("another device's reading: %+v, want rejected as device_mismatch naming %s", got[1], tr.ID())
	}
}

func TestMQTTOptions(t *testing.T) {
	key := newKey(14)
	tests := []struct {
		name string
		o    device.MQTTOptions
		want string // in the error
	}{
		{"no URL", device.MQTTOptions{Key: key}, "MQTTOptions.URL is empty"},
		{"no key", device.MQTTOptions{URL: "tcp://127.0.0.1:1883"}, "MQTTOptions.Key"},
		{"http URL", device.MQTTOptions{URL: "http://127.0.0.1:1883", Key: key}, `scheme "http"`},
		{"no port", device.MQTTOptions{URL: "tcp://127.0.0.1", Key: key}, "want a host and a port"},
		{"token too long", device.MQTTOptions{URL: "tcp://127.0.0.1:1883", Key: key, TokenTTL: time.Hour}, "MQTTOptions.TokenTTL"},
		{"bad id", device.MQTTOptions{URL: "tcp://127.0.0.1:1883", Key: key, ID: "sensor-1"}, "MQTTOptions.ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := device.NewMQTT(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewMQTT = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
