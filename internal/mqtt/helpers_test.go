package mqtt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/verdict"
)

// key returns the Ed25519 key of a fixed seed.
func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func deviceID(k ed25519.PrivateKey) string { return address.Device(k.Public().(ed25519.PublicKey)) }

var (
	sensor  = key(2) // a registered device
	other   = key(3) // another registered device
	retired = key(4) // a registered device, revoked
	spare   = key(5) // a device never registered
)

// ledger is a fake of what the broker needs from the node: the device
// records and Submit. By default Submit behaves like ingest for readings
// that pass its checks: it queues them ("pending"). Tests replace submit.
type ledger struct {
	mu      sync.Mutex // guards devices and submit
	devices map[string]*state.Device
	submit  func(raw []byte) (verdict.Verdict, error)

	submitted chan []byte // every reading Submit queued, in order
}

func newLedger() *ledger {
	l := &ledger{devices: map[string]*state.Device{}, submitted: make(chan []byte, 1000)}
	for _, k := range []ed25519.PrivateKey{sensor, other, retired} {
		l.devices[deviceID(k)] = &state.Device{ID: deviceID(k), Key: k.Public().(ed25519.PublicKey), Status: state.StatusActive}
	}
	l.devices[deviceID(retired)].Status = state.StatusRevoked
	return l
}

func (l *ledger) setSubmit(f func(raw []byte) (verdict.Verdict, error)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.submit = f
}

func (l *ledger) Device(id string) (*state.Device, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.devices[id]
	if d == nil {
		return nil, nil
	}
	c := *d
	return &c, nil
}

func (l *ledger) Submit(_ context.Context, raws [][]byte, wait bool) ([]verdict.Verdict, error) {
	if wait || len(raws) == 0 {
		return nil, errors.New("fake: want readings and wait false")
	}
	l.mu.Lock()
	f := l.submit
	l.mu.Unlock()
	if f == nil {
		f = queue
	}
	out := make([]verdict.Verdict, len(raws))
	for i, raw := range raws {
		r, err := f(raw)
		if err != nil {
			return nil, err // the whole call, as ingest refuses a call when its queue is full
		}
		out[i] = r
	}
	for i, r := range out {
		if r.Status == "pending" {
			l.submitted <- raws[i]
		}
	}
	return out, nil
}

// queue is Submit's default: a reading that decodes is queued.
func queue(raw []byte) (verdict.Verdict, error) {
	s, err := reading.Decode(raw)
	if err != nil {
		return verdict.Verdict{Status: "rejected", Code: app.CodeMalformedReading, Detail: err.Error()}, nil
	}
	return verdict.Verdict{Device: s.Device, Seq: s.Seq, Status: "pending"}, nil
}

func (l *ledger) deps() Deps { return Deps{Submit: l.Submit, Device: l.Device} }

// testConfig is the default configuration on a free loopback port.
func testConfig() Config {
	c := DefaultConfig()
	c.Addr = "127.0.0.1:0"
	return c
}

// startBroker starts a broker and closes it when the test ends. before,
// when not nil, runs between New and Start (to set the clock).
func startBroker(t *testing.T, cfg Config, l *ledger, before func(*Broker)) *Broker {
	t.Helper()
	b, err := New(cfg, l.deps(), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(b)
	}
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// ctx is the test's context with a bound, so that a broken test fails
// instead of hanging.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return c
}

func token(t *testing.T, k ed25519.PrivateKey, id string) string {
	t.Helper()
	tok, err := mqttwire.Token(k, id, time.Now(), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// device is an MQTT 5 client connected as a device.
type device struct {
	c    *paho.Client
	msgs chan *paho.Publish    // messages on the device's subscriptions
	disc chan *paho.Disconnect // a DISCONNECT from the broker
}

// connect connects an MQTT 5 client with client id id and password tok. It
// returns the CONNACK even when the broker refused the connection.
func connect(t *testing.T, addr, id, tok string) (*device, *paho.Connack, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	d := &device{msgs: make(chan *paho.Publish, 100), disc: make(chan *paho.Disconnect, 1)}
	d.c = paho.NewClient(paho.ClientConfig{
		Conn:               conn,
		OnServerDisconnect: func(p *paho.Disconnect) { d.disc <- p },
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			d.msgs <- pr.Packet
			return true, nil
		}},
	})
	ca, err := d.c.Connect(ctx(t), &paho.Connect{
		ClientID: id, KeepAlive: 30, CleanStart: true,
		Username: id, UsernameFlag: true,
		Password: []byte(tok), PasswordFlag: tok != "",
	})
	if err != nil {
		conn.Close()
		return nil, ca, err
	}
	t.Cleanup(func() { _ = d.c.Disconnect(&paho.Disconnect{}) })
	return d, ca, nil
}

// mustConnect connects device k with a valid token.
func mustConnect(t *testing.T, b *Broker, k ed25519.PrivateKey) *device {
	t.Helper()
	d, _, err := connect(t, b.Addr(), deviceID(k), token(t, k, deviceID(k)))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// subscribe subscribes d to filter and returns the SUBACK's reason code.
func (d *device) subscribe(t *testing.T, filter string) byte {
	t.Helper()
	sa, err := d.c.Subscribe(ctx(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
	if sa == nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
	return sa.Reasons[0]
}

// publish publishes payload at QoS 1 and returns the PUBACK's reason code.
func (d *device) publish(t *testing.T, topic string, payload []byte) (byte, error) {
	t.Helper()
	return d.publishQoS(t, 1, topic, payload)
}

// publishQoS publishes payload at qos and returns the reason code of the
// PUBACK (QoS 1), or of the PUBREC or PUBCOMP (QoS 2).
func (d *device) publishQoS(t *testing.T, qos byte, topic string, payload []byte) (byte, error) {
	t.Helper()
	// paho keeps waiting for the PUBACK of a lost connection (for a resend
	// on reconnect): stop waiting when the connection ends.
	pctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	go func() {
		select {
		case <-d.c.Done():
			cancel()
		case <-pctx.Done():
		}
	}()
	pr, err := d.c.Publish(pctx, &paho.Publish{Topic: topic, QoS: qos, Payload: payload})
	if pr == nil {
		return 0, err
	}
	return pr.ReasonCode, nil
}

// disconnected waits for the broker's DISCONNECT and returns it.
func (d *device) disconnected(t *testing.T) *paho.Disconnect {
	t.Helper()
	select {
	case p := <-d.disc:
		return p
	case <-ctx(t).Done():
		t.Fatal("no DISCONNECT from the broker")
		return nil
	}
}

// waitClosed waits until the broker has closed d's connection.
func (d *device) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-d.c.Done():
	case <-ctx(t).Done():
		t.Fatal("connection still open")
	}
}

// next returns the next message d receives.
func (d *device) next(t *testing.T) *paho.Publish {
	t.Helper()
	select {
	case m := <-d.msgs:
		return m
	case <-ctx(t).Done():
		t.Fatal("no message arrived")
		return nil
	}
}

func signed(t testing.TB, k ed25519.PrivateKey, seq uint64) []byte {
	t.Helper()
	raw, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(), Data: map[string]any{"t": 21.5}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func accepted(raw []byte, index uint64, height int64) app.Outcome {
	s, err := reading.Decode(raw)
	if err != nil {
		panic(err)
	}
	return app.Outcome{Verdict: verdict.Verdict{Device: s.Device, Seq: s.Seq, Status: "accepted", Index: index, Height: height}, Hash: sha256.Sum256(raw)}
}

func decodeJSON[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func ptr[T any](v T) *T { return &v }

// MQTT 3.1.1 by hand: paho.golang speaks MQTT 5 only.

func mqttString(s string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

func packet(typ byte, body []byte) []byte {
	out := []byte{typ}
	n := len(body)
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		out = append(out, d)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// connect311 is an MQTT 3.1.1 CONNECT with user name and password.
func connect311(id, user, password string) []byte {
	body := append(mqttString("MQTT"), 4, 0x80|0x40|0x02, 0, 30)
	body = append(body, mqttString(id)...)
	body = append(body, mqttString(user)...)
	body = append(body, mqttString(password)...)
	return packet(0x10, body)
}

// subscribe311 subscribes to filter at QoS 1 with packet id 1.
func subscribe311(filter string) []byte {
	body := append([]byte{0, 1}, mqttString(filter)...)
	return packet(0x82, append(body, 1))
}

// publish311 publishes payload at QoS 1 with packet id id.
func publish311(topic string, id uint16, payload []byte) []byte {
	body := binary.BigEndian.AppendUint16(mqttString(topic), id)
	return packet(0x32, append(body, payload...))
}

// publish311q2 publishes payload at QoS 2 with packet id id.
func publish311q2(topic string, id uint16, payload []byte) []byte {
	body := binary.BigEndian.AppendUint16(mqttString(topic), id)
	return packet(0x34, append(body, payload...))
}

// ack311 is a PUBACK (0x40), PUBREC (0x50), PUBREL (0x62) or PUBCOMP (0x70)
// for packet id id.
func ack311(typ byte, id uint16) []byte {
	return packet(typ, binary.BigEndian.AppendUint16(nil, id))
}

// logLines counts the log records whose message holds a text.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Message)
	return nil
}
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }

func (l *logLines) count(text string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, text) {
			n++
		}
	}
	return n
}

// poll waits until cond holds, failing the test after the bound of ctx.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	c := ctx(t)
	for !cond() {
		if c.Err() != nil {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readPacket reads one MQTT packet: its first byte and its body.
func readPacket(r *bufio.Reader) (byte, []byte, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for {
		d, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(d&0x7f) * mul
		if d&0x80 == 0 {
			break
		}
		mul *= 128
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return typ, body, nil
}

// raw311 is a raw MQTT 3.1.1 connection.
type raw311 struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *raw311 {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A bound on every read, so a broken test fails instead of hanging.
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	return &raw311{Conn: c, r: bufio.NewReader(c)}
}

func (c *raw311) send(t *testing.T, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// expect reads one packet and checks its type.
func (c *raw311) expect(t *testing.T, typ byte) []byte {
	t.Helper()
	got, body, err := readPacket(c.r)
	if err != nil {
		t.Fatalf("read packet: %v", err)
	}
	if got != typ {
		t.Fatalf("packet type %#x, want %#x (body %x)", got, typ, body)
	}
	return body
}

// closed reports how the connection ended: nil when the broker closed it.
func (c *raw311) closed() error {
	for {
		_, err := c.r.ReadByte()
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("connection not closed by the broker: %w", err)
		}
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}
