package device

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/verdict"
)

// DefaultMQTTWait is how long the MQTT transport's Send waits for the
// answers of a batch by default: a few blocks.
const DefaultMQTTWait = 10 * time.Second

// Other defaults of MQTTOptions.
const (
	defaultTokenTTL      = 5 * time.Minute
	defaultKeepAlive     = 60 * time.Second
	defaultSessionExpiry = time.Hour
)

// maxEarlyAnswers bounds the answers kept for readings no Send is waiting
// for (a late answer to a reading answered Pending, or one published while
// the device was away); the next Send of that reading takes it.
const maxEarlyAnswers = 4096

// MQTTOptions configure the MQTT transport. URL and Key are required; a
// zero value of any other field means its default.
type MQTTOptions struct {
	// URL is the node's MQTT broker: tcp://HOST:PORT (or mqtt://), or
	// tls://HOST:PORT (or ssl://, mqtts://) through TLS.
	URL string
	Key ed25519.PrivateKey // the device's key: it signs the token of each connection
	ID  string             // the device's id on the ledger; "" means the id of Key (see NewSigner)
	TLS *tls.Config        // for tls:// URLs; nil means the system's roots

	// Wait is how long Send waits for the answers of a batch; readings
	// without one by then are Pending. Default DefaultMQTTWait.
	Wait time.Duration
	// TokenTTL is the lifetime of the token made for each connection, at
	// most mqttwire.MaxTokenTTL. Default 5 minutes.
	TokenTTL time.Duration
	// KeepAlive is the MQTT keep alive asked for; the node may shorten
	// it. Default 60 s.
	KeepAlive time.Duration
	// SessionExpiry is how long the broker keeps the device's session (its
	// subscriptions and the answers published meanwhile) after a
	// connection ends; the node keeps it an hour at most. Default an hour.
	SessionExpiry time.Duration
	// OnDesired, if set, is called with each desired state the node
	// publishes for the device (its twin: mqttwire.TwinDesiredTopic), the
	// latest one as soon as the device connects (see Connect). It runs on
	// the connection's goroutine: hand long work elsewhere. Report the
	// state the device then has with ReportState.
	OnDesired func(mqttwire.TwinDesiredMessage)
	Log       *slog.Logger // default: no logs
}

// validate names the first bad field.
func (o *MQTTOptions) validate() error {
	switch {
	case o.URL == "":
		return errors.New("device: MQTTOptions.URL is empty; give the node's broker, as in tcp://127.0.0.1:1883")
	case len(o.Key) != ed25519.PrivateKeySize:
		return fmt.Errorf("device: MQTTOptions.Key has %d bytes, want an Ed25519 private key of %d", len(o.Key), ed25519.PrivateKeySize)
	case o.Wait < 0:
		return fmt.Errorf("device: MQTTOptions.Wait is %v, want 0 (the default, %v) or more", o.Wait, DefaultMQTTWait)
	case o.TokenTTL < 0 || o.TokenTTL > mqttwire.MaxTokenTTL:
		return fmt.Errorf("device: MQTTOptions.TokenTTL is %v, want 0 (the default, %v) up to %v", o.TokenTTL, defaultTokenTTL, mqttwire.MaxTokenTTL)
	case o.KeepAlive < 0 || o.KeepAlive > 65535*time.Second:
		return fmt.Errorf("device: MQTTOptions.KeepAlive is %v, want 0 (the default, %v) up to 65535s", o.KeepAlive, defaultKeepAlive)
	case o.SessionExpiry < 0 || o.SessionExpiry > 0xfffffffe*time.Second:
		return fmt.Errorf("device: MQTTOptions.SessionExpiry is %v, want 0 (the default, %v) or more", o.SessionExpiry, defaultSessionExpiry)
	}
	return nil
}

// MQTT is the Transport over a node's MQTT broker (eclipse/paho.golang,
// MQTT 5). It connects on the first Send, and again on the Send after a
// connection ended, as the device itself: client id and user name are the
// device id, the password a fresh token (mqttwire.Token). It keeps its
// session on the broker (clean start off, SessionExpiry), subscribes at
// QoS 1 to the device's receipts and errors topics, and publishes each
// reading of a batch at QoS 1 to the readings topic, at most as many
// unacknowledged at once as the broker allows.
//
// Send matches the messages that arrive by sequence number: a receipt
// answers Accepted or Duplicate, an error message Rejected with its reason
// (not_committed, which says the node stopped waiting for the reading's
// block, answers Pending).
// Readings without a message within Wait are Pending: the Sender sends them
// again, and the node answers a resend of a committed reading with a
// duplicate receipt. A message that arrives after its Send gave up is kept
// for the next Send of that reading, which then needs no publish.
//
// A refused CONNECT (unregistered or revoked device, token refused) is an
// error that says why; the Sender keeps the readings and tries again
// later. A connection the broker ends is an error too: with 0x89 Server
// busy (the node's queue stayed full) a *RetryError, and the readings not
// acknowledged are sent again after the Sender's backoff.
type MQTT struct {
	o        MQTTOptions
	id       string
	readings string // the topics of the device
	receipts string
	errTopic string
	twin     string
	log      *slog.Logger
	wake     chan struct{} // an answer arrived; capacity 1

	mu      sync.Mutex // guards the fields below
	conn    *mqttConn  // nil before the first connection
	answers map[uint64]Answer
	wanted  map[uint64]bool // the readings the running Send waits for
	closed  bool
}

// mqttConn is one connection to the broker.
type mqttConn struct {
	c     *paho.Client
	ended chan struct{} // closed once the connection ended, after why is set
	once  sync.Once
	why   error
}

func (mc *mqttConn) end(err error) {
	mc.once.Do(func() {
		mc.why = err
		close(mc.ended)
	})
}

func (mc *mqttConn) alive() bool {
	select {
	case <-mc.ended:
		return false
	default:
		return true
	}
}

// NewMQTT returns the transport that sends a device's readings to the MQTT
// broker at o.URL. It connects on the first Send; Close disconnects.
func NewMQTT(o MQTTOptions) (*MQTT, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if _, err := brokerAddr(o.URL); err != nil {
		return nil, err
	}
	id := o.ID
	if id == "" {
		id = address.Device(o.Key.Public().(ed25519.PublicKey))
	}
	if err := address.ParseDevice(id); err != nil {
		return nil, fmt.Errorf("device: MQTTOptions.ID: %w", err)
	}
	o.Wait = cmpOr(o.Wait, DefaultMQTTWait)
	o.TokenTTL = cmpOr(o.TokenTTL, defaultTokenTTL)
	o.KeepAlive = cmpOr(o.KeepAlive, defaultKeepAlive)
	o.SessionExpiry = cmpOr(o.SessionExpiry, defaultSessionExpiry)
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &MQTT{
		o:        o,
		id:       id,
		readings: mqttwire.ReadingsTopic(id),
		receipts: mqttwire.ReceiptsTopic(id),
		errTopic: mqttwire.ErrorsTopic(id),
		twin:     mqttwire.TwinDesiredTopic(id),
		log:      log,
		wake:     make(chan struct{}, 1),
		answers:  map[uint64]Answer{},
	}, nil
}

// brokerAddr checks a broker URL and returns its HOST:PORT.
func brokerAddr(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("device: MQTT broker URL %q: %v; want tcp://HOST:PORT or tls://HOST:PORT", raw, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "tcp", "mqtt", "tls", "ssl", "mqtts":
	default:
		return "", fmt.Errorf("device: MQTT broker URL %q: scheme %q, want tcp, mqtt, tls, ssl or mqtts", raw, u.Scheme)
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return "", fmt.Errorf("device: MQTT broker URL %q: want a host and a port, as in tcp://127.0.0.1:1883", raw)
	}
	return u.Host, nil
}

func isTLS(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "tls", "ssl", "mqtts":
		return true
	}
	return false
}

// ID is the device id the transport connects as.
func (m *MQTT) ID() string { return m.id }

// Send implements Transport.
func (m *MQTT) Send(ctx context.Context, raws [][]byte) ([]Answer, error) {
	out := make([]Answer, len(raws))
	seqs := make([]uint64, len(raws))
	open := make([]bool, len(raws)) // published and still without an answer
	for i, raw := range raws {
		r, err := reading.Decode(raw)
		switch {
		case err != nil:
			out[i] = Answer{Status: Rejected, Reason: verdict.CodeMalformedReading.String(), Detail: err.Error()}
		case r.Device != m.id:
			out[i] = Answer{Status: Rejected, Reason: mqttwire.ReasonDeviceMismatch, Detail: fmt.Sprintf(
				"the reading is for device %s but this transport connects as %s; send it with a transport of its own device", r.Device, m.id)}
		default:
			seqs[i], open[i] = r.Seq, true
		}
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	m.wanted = map[uint64]bool{}
	left := 0
	for i := range raws {
		if open[i] {
			m.wanted[seqs[i]] = true
			left++
		}
	}
	left -= m.take(seqs, open, out) // answers that came before
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.wanted = nil
		m.mu.Unlock()
	}()
	if left == 0 {
		return out, nil
	}

	mc, err := m.connection(ctx)
	if err != nil {
		return nil, err
	}
	for i, raw := range raws {
		if !open[i] {
			continue
		}
		// AsyncSend returns once the PUBLISH is written; it waits first
		// while the broker's receive maximum of unacknowledged publishes
		// is reached. The answer is the receipt or error message.
		if _, err := mc.c.PublishWithOptions(ctx, &paho.Publish{Topic: m.readings, QoS: 1, Payload: raw},
			paho.PublishOptions{Method: paho.PublishMethod_AsyncSend}); err != nil {
			if ctx.Err() != nil {
				break // answer what is known
			}
			if errors.Is(err, paho.ErrInvalidArguments) {
				return nil, fmt.Errorf("device: publish to %s: %w", m.readings, err)
			}
			// The connection failed: it ends, and says why.
			select {
			case <-mc.ended:
				return nil, mc.why
			case <-ctx.Done():
				return nil, fmt.Errorf("device: publish to %s: %w", m.readings, err)
			}
		}
	}

	timer := time.NewTimer(m.o.Wait)
	defer timer.Stop()
	for {
		m.mu.Lock()
		left -= m.take(seqs, open, out)
		m.mu.Unlock()
		if left == 0 {
			return out, nil
		}
		select {
		case <-m.wake:
			continue
		case <-mc.ended:
			// Answers that came before the end are kept for the next Send.
			return nil, mc.why
		case <-timer.C:
		case <-ctx.Done():
		}
		for i := range out {
			if open[i] {
				out[i] = Answer{Status: Pending, Detail: "no receipt or error message arrived in time; send the reading again"}
			}
		}
		return out, nil
	}
}

// take fills out with the answers that arrived for the open readings and
// returns how many it filled. m.mu must be held.
func (m *MQTT) take(seqs []uint64, open []bool, out []Answer) int {
	n := 0
	for i, seq := range seqs {
		if !open[i] {
			continue
		}
		if a, ok := m.answers[seq]; ok {
			delete(m.answers, seq)
			out[i], open[i] = a, false
			n++
		}
	}
	return n
}

// connection returns the live connection, connecting if there is none.
func (m *MQTT) connection(ctx context.Context) (*mqttConn, error) {
	m.mu.Lock()
	mc := m.conn
	m.mu.Unlock()
	if mc != nil && mc.alive() {
		return mc, nil
	}
	mc, err := m.connect(ctx)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		_ = mc.c.Disconnect(&paho.Disconnect{})
		return nil, ErrClosed
	}
	m.conn = mc
	return mc, nil
}

// connect dials the broker, connects as the device and subscribes to its
// receipts and errors topics.
func (m *MQTT) connect(ctx context.Context) (*mqttConn, error) {
	addr, _ := brokerAddr(m.o.URL) // checked by NewMQTT
	var conn net.Conn
	var err error
	if isTLS(m.o.URL) {
		cfg := m.o.TLS.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		d := tls.Dialer{Config: cfg}
		conn, err = d.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn = packets.NewThreadSafeConn(conn) // a tls.Conn takes one writer at a time
		}
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("device: reach the MQTT broker %s: %w", m.o.URL, err)
	}
	tok, err := mqttwire.Token(m.o.Key, m.id, time.Now(), m.o.TokenTTL)
	if err != nil {
		conn.Close()
		return nil, err
	}
	mc := &mqttConn{ended: make(chan struct{})}
	mc.c = paho.NewClient(paho.ClientConfig{
		Conn:              conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){m.received},
		OnServerDisconnect: func(d *paho.Disconnect) {
			mc.end(m.disconnected(d))
		},
		OnClientError: func(err error) {
			mc.end(fmt.Errorf("device: MQTT connection to %s lost: %w; the readings are sent again", m.o.URL, err))
		},
	})
	expiry := uint32(m.o.SessionExpiry / time.Second)
	ca, err := mc.c.Connect(ctx, &paho.Connect{
		ClientID:     m.id,
		Username:     m.id,
		UsernameFlag: true,
		Password:     []byte(tok),
		PasswordFlag: true,
		CleanStart:   false, // keep the session: answers published while the device was away arrive
		KeepAlive:    uint16(m.o.KeepAlive / time.Second),
		// RequestProblemInfo: the broker's reason strings (why it refused
		// a reading or disconnected the device) reach the errors Send
		// returns; paho's zero value would ask the broker to leave them out.
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry, RequestProblemInfo: true},
	})
	if err != nil {
		return nil, m.refused(ca, err)
	}
	subs := []paho.SubscribeOptions{{Topic: m.receipts, QoS: 1}, {Topic: m.errTopic, QoS: 1}}
	if m.o.OnDesired != nil {
		subs = append(subs, paho.SubscribeOptions{Topic: m.twin, QoS: 1})
	}
	sa, err := mc.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs})
	if err == nil && len(sa.Reasons) != len(subs) {
		err = fmt.Errorf("%d answers for %d topics", len(sa.Reasons), len(subs))
	}
	if err == nil {
		for _, r := range sa.Reasons {
			if r >= 0x80 {
				err = fmt.Errorf("refused with reason 0x%02x; the broker must let a device read its own topics", r)
			}
		}
	}
	if err != nil {
		_ = mc.c.Disconnect(&paho.Disconnect{})
		return nil, fmt.Errorf("device: subscribe to the device's topics (%s, %s...): %w", m.receipts, m.errTopic, err)
	}
	m.log.Debug("device: MQTT connected", "broker", m.o.URL, "device", m.id, "session_present", ca.SessionPresent)
	return mc, nil
}

// refused is the error of a failed CONNECT: what the broker said, and what
// to do about it.
func (m *MQTT) refused(ca *paho.Connack, err error) error {
	if ca == nil {
		return fmt.Errorf("device: connect to the MQTT broker %s as %s: %w", m.o.URL, m.id, err)
	}
	var rs string
	if ca.Properties != nil {
		rs = ca.Properties.ReasonString
	}
	what := fmt.Sprintf("device: the MQTT broker %s refused device %s: %s", m.o.URL, m.id, reason(ca.ReasonCode, rs))
	switch ca.ReasonCode {
	case 0x85:
		return errors.New(what + "; the client id must be the device id (dev1...)")
	case 0x86:
		return errors.New(what + "; the token was refused: check the device's clock and that Key is the device's current key")
	case 0x87:
		return errors.New(what + "; register the device on the ledger (a revoked device cannot connect)")
	case 0x88, 0x89:
		return &RetryError{Err: errors.New(what + "; the node is unavailable or busy: try again later")}
	}
	return errors.New(what)
}

// disconnected is the error of a connection the broker ended.
func (m *MQTT) disconnected(d *paho.Disconnect) error {
	var rs string
	if d.Properties != nil {
		rs = d.Properties.ReasonString
	}
	what := fmt.Sprintf("device: the MQTT broker %s disconnected device %s: %s", m.o.URL, m.id, reason(d.ReasonCode, rs))
	switch d.ReasonCode {
	case 0x89:
		return &RetryError{Err: errors.New(what + "; the node was busy: the readings it did not acknowledge are sent again later")}
	case 0x87:
		return errors.New(what + "; the device was revoked or its key rotated: connect with its current key")
	}
	return errors.New(what + "; the readings are sent again")
}

// reason is an MQTT reason code with the broker's reason string, if any.
func reason(code byte, text string) string {
	if text == "" {
		return fmt.Sprintf("reason 0x%02x", code)
	}
	return fmt.Sprintf("reason 0x%02x (%s)", code, text)
}

// received handles a message on the device's receipts or errors topic.
func (m *MQTT) received(pr paho.PublishReceived) (bool, error) {
	p := pr.Packet
	var seq uint64
	var a Answer
	switch p.Topic {
	case m.receipts:
		var rm mqttwire.ReceiptMessage
		if err := json.Unmarshal(p.Payload, &rm); err != nil {
			m.log.Warn("device: unreadable receipt message", "topic", p.Topic, "err", err)
			return true, nil
		}
		seq = rm.Seq
		a = Answer{Index: rm.Index, Height: rm.Height, Receipt: rm.Receipt}
		switch rm.Status {
		case mqttwire.StatusAccepted:
			a.Status = Accepted
		case mqttwire.StatusDuplicate:
			a.Status = Duplicate
		default:
			a.Status, a.Detail = Pending, fmt.Sprintf("receipt message with status %q, which this package does not know", rm.Status)
		}
	case m.twin:
		var dm mqttwire.TwinDesiredMessage
		if err := json.Unmarshal(p.Payload, &dm); err != nil {
			m.log.Warn("device: unreadable desired state", "topic", p.Topic, "err", err)
			return true, nil
		}
		if m.o.OnDesired != nil {
			m.o.OnDesired(dm)
		}
		return true, nil
	case m.errTopic:
		var em mqttwire.ErrorMessage
		if err := json.Unmarshal(p.Payload, &em); err != nil || em.Seq == nil {
			// Without a seq it answers no reading: the payload did not
			// decode, which a reading that Send decoded always does.
			m.log.Warn("device: error message for no reading", "payload", string(p.Payload), "err", err)
			return true, nil
		}
		seq = *em.Seq
		a = Answer{Status: Rejected, Reason: em.Reason, Detail: em.Detail}
		if em.Reason == mqttwire.ReasonNotCommitted {
			// The node stopped waiting for the reading's block: not a
			// refusal, a reading to send again.
			a = Answer{Status: Pending, Detail: em.Detail}
		}
	default:
		return false, nil
	}
	m.mu.Lock()
	if m.wanted[seq] || len(m.answers) < maxEarlyAnswers {
		m.answers[seq] = a
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return true, nil
}

// Connect connects to the broker now rather than at the first Send: a
// device that wants its desired state (OnDesired) before it has readings to
// send calls it once.
func (m *MQTT) Connect(ctx context.Context) error {
	_, err := m.connection(ctx)
	return err
}

// Close disconnects from the broker. The broker keeps the session for
// SessionExpiry, so answers published meanwhile reach a transport that
// connects again as the device.
func (m *MQTT) Close() error {
	m.mu.Lock()
	m.closed = true
	mc := m.conn
	m.conn = nil
	m.mu.Unlock()
	if mc == nil || !mc.alive() {
		return nil
	}
	err := mc.c.Disconnect(&paho.Disconnect{ReasonCode: 0})
	mc.end(ErrClosed)
	return err
}
