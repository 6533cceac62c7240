package testonly

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/iotledger/iotledger/mqttwire"
)

// MQTTConn is an MQTT client written by hand, for MQTT 3.1.1 and 5: a test
// decides when it reads and what it acknowledges, as a real device that
// stops reading its socket would (paho reads on its own).
type MQTTConn struct {
	net.Conn
	V5 bool
	r  *bufio.Reader
}

// MQTT control packet types (the high nibble of the first byte).
const (
	MQTTConnack    = 2
	MQTTPublish    = 3
	MQTTPuback     = 4
	MQTTPubrec     = 5
	MQTTPubrel     = 6
	MQTTPubcomp    = 7
	MQTTSuback     = 9
	MQTTDisconnect = 14
)

// MQTTPacket is a packet read from the broker, decoded as far as tests need.
type MQTTPacket struct {
	Type         byte // MQTTConnack, MQTTPublish, ...
	Flags        byte // the low nibble of the first byte
	ID           uint16
	Reason       byte   // CONNACK return or reason code; MQTT 5 reason of PUB*, SUBACK (the first) and DISCONNECT
	ReasonString string // MQTT 5 property Reason String
	Topic        string // PUBLISH
	QoS          byte   // PUBLISH
	Payload      []byte // PUBLISH
}

// DialMQTT connects to addr and sends CONNECT (MQTT 5 when v5, else 3.1.1)
// with the client id, user name and password, a clean session and a keep
// alive of 60 s. It returns the connection and the CONNACK; a refused
// CONNECT is an error naming the code.
func DialMQTT(ctx context.Context, addr string, v5 bool, id, user, password string) (*MQTTConn, error) {
	return dialMQTT(ctx, &net.Dialer{}, addr, v5, id, user, password)
}

// smallWindow is a dialer whose connections have a receive buffer of n
// bytes, set before the handshake so the window the peer sees stays that
// small: a device with a small TCP stack, or one that stops reading,
// fills it soon.
func smallWindow(n int) *net.Dialer {
	return &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n) })
		return errors.Join(err, serr)
	}}
}

func dialMQTT(ctx context.Context, d *net.Dialer, addr string, v5 bool, id, user, password string) (*MQTTConn, error) {
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &MQTTConn{Conn: nc, V5: v5, r: bufio.NewReader(nc)}
	level := byte(4)
	if v5 {
		level = 5
	}
	body := append(mqttString("MQTT"), level, 0x80|0x40|0x02, 0, 60)
	if v5 {
		body = append(body, 0) // no properties
	}
	body = append(body, mqttString(id)...)
	body = append(body, mqttString(user)...)
	body = append(body, mqttString(password)...)
	if _, err := c.Write(mqttPacket(0x10, body)); err != nil {
		nc.Close()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetReadDeadline(dl)
	}
	p, err := c.Next()
	_ = nc.SetReadDeadline(time.Time{})
	switch {
	case err != nil:
		nc.Close()
		return nil, fmt.Errorf("read CONNACK: %w", err)
	case p.Type != MQTTConnack:
		nc.Close()
		return nil, fmt.Errorf("packet type %d, want CONNACK", p.Type)
	case p.Reason != 0:
		nc.Close()
		return nil, fmt.Errorf("CONNECT refused with code %#x %s", p.Reason, p.ReasonString)
	}
	return c, nil
}

// Subscribe sends a SUBSCRIBE of filter at QoS qos with packet id id; the
// SUBACK arrives through Next.
func (c *MQTTConn) Subscribe(id uint16, filter string, qos byte) error {
	body := binary.BigEndian.AppendUint16(nil, id)
	if c.V5 {
		body = append(body, 0)
	}
	body = append(body, mqttString(filter)...)
	_, err := c.Write(mqttPacket(0x82, append(body, qos)))
	return err
}

// Publish sends a PUBLISH of payload on topic at QoS qos with packet id id.
func (c *MQTTConn) Publish(topic string, qos byte, id uint16, payload []byte) error {
	body := mqttString(topic)
	if qos > 0 {
		body = binary.BigEndian.AppendUint16(body, id)
	}
	if c.V5 {
		body = append(body, 0)
	}
	_, err := c.Write(mqttPacket(0x30|qos<<1, append(body, payload...)))
	return err
}

// Ack sends a PUBACK, PUBREC, PUBREL or PUBCOMP (MQTTPuback, ...) for id,
// with success.
func (c *MQTTConn) Ack(typ byte, id uint16) error {
	first := typ << 4
	if typ == MQTTPubrel {
		first |= 0x02
	}
	_, err := c.Write(mqttPacket(first, binary.BigEndian.AppendUint16(nil, id)))
	return err
}

// Next reads and decodes the next packet.
func (c *MQTTConn) Next() (*MQTTPacket, error) {
	first, err := c.r.ReadByte()
	if err != nil {
		return nil, err
	}
	n, err := readVarint(c.r)
	if err != nil {
		return nil, err
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return nil, err
	}
	p := &MQTTPacket{Type: first >> 4, Flags: first & 0x0f}
	b := &reader{b: body}
	switch p.Type {
	case MQTTConnack:
		b.byte() // session present
		p.Reason = b.byte()
		if c.V5 {
			p.ReasonString = b.props()
		}
	case MQTTPublish:
		p.QoS = p.Flags >> 1 & 3
		p.Topic = b.string()
		if p.QoS > 0 {
			p.ID = b.uint16()
		}
		if c.V5 {
			b.props()
		}
		p.Payload = b.rest()
	case MQTTPuback, MQTTPubrec, MQTTPubrel, MQTTPubcomp:
		p.ID = b.uint16()
		if c.V5 && b.left() > 0 {
			p.Reason = b.byte()
			if b.left() > 0 {
				p.ReasonString = b.props()
			}
		}
	case MQTTSuback:
		p.ID = b.uint16()
		if c.V5 {
			p.ReasonString = b.props()
		}
		p.Reason = b.byte()
	case MQTTDisconnect:
		if b.left() > 0 {
			p.Reason = b.byte()
			if b.left() > 0 {
				p.ReasonString = b.props()
			}
		}
	}
	if b.err != nil {
		return nil, fmt.Errorf("packet type %d: %w", p.Type, b.err)
	}
	return p, nil
}

// MQTTSeen is what a device saw from the broker, as Watch records it.
type MQTTSeen struct {
	mu       sync.Mutex
	Acks     map[uint16]byte                    // packet id of each PUBLISH acknowledged (PUBACK or PUBREC) -> MQTT 5 reason
	Errors   map[uint64]mqttwire.ErrorMessage   // messages on the errors topic, by seq
	Receipts map[uint64]mqttwire.ReceiptMessage // messages on the receipts topic, by seq
	Other    []string                           // anything else that arrived
	End      error                              // why reading stopped
	Closed   *MQTTPacket                        // the broker's DISCONNECT, if any
	// DeferAcks, while set, keeps Watch from acknowledging the messages
	// published to the device; ReleaseAcks acknowledges them.
	DeferAcks bool
	deferred  []uint16
	notify    chan struct{} // capacity 1: something changed
	topics    struct{ receipts, errors string }
}

// NewMQTTSeen records what device id sees.
func NewMQTTSeen(id string) *MQTTSeen {
	s := &MQTTSeen{Acks: map[uint16]byte{}, Errors: map[uint64]mqttwire.ErrorMessage{}, Receipts: map[uint64]mqttwire.ReceiptMessage{},
		notify: make(chan struct{}, 1)}
	s.topics.receipts, s.topics.errors = mqttwire.ReceiptsTopic(id), mqttwire.ErrorsTopic(id)
	return s
}

// Changed is signalled when something was recorded.
func (s *MQTTSeen) Changed() <-chan struct{} { return s.notify }

// Do runs f with the record locked.
func (s *MQTTSeen) Do(f func(s *MQTTSeen)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// Watch reads c until it ends, records what arrives in s and acknowledges
// each message published to the device at QoS 1 (and PUBREL for QoS 2
// publishes of its own, which the broker answered PUBREC). onAck, if not
// nil, runs for each acknowledgement of the device's own publishes. It
// returns when the connection ends.
func (c *MQTTConn) Watch(s *MQTTSeen, onAck func()) {
	for {
		p, err := c.Next()
		if err != nil {
			s.Do(func(s *MQTTSeen) { s.End = err })
			s.changed()
			return
		}
		switch p.Type {
		case MQTTPuback, MQTTPubrec:
			s.Do(func(s *MQTTSeen) { s.Acks[p.ID] = p.Reason })
			if p.Type == MQTTPubrec && p.Reason < 0x80 {
				err = c.Ack(MQTTPubrel, p.ID)
			}
			if onAck != nil {
				onAck()
			}
		case MQTTPublish:
			later := false
			s.Do(func(s *MQTTSeen) {
				s.record(p)
				if later = s.DeferAcks && p.QoS == 1; later {
					s.deferred = append(s.deferred, p.ID)
				}
			})
			if p.QoS == 1 && !later {
				err = c.Ack(MQTTPuback, p.ID)
			}
		case MQTTDisconnect:
			s.Do(func(s *MQTTSeen) { s.Closed = p })
		case MQTTSuback, MQTTPubcomp:
		default:
			s.Do(func(s *MQTTSeen) { s.Other = append(s.Other, fmt.Sprintf("packet type %d", p.Type)) })
		}
		s.changed()
		if err != nil {
			s.Do(func(s *MQTTSeen) { s.End = err })
			return
		}
	}
}

// ReleaseAcks ends DeferAcks and acknowledges what it held back.
func (s *MQTTSeen) ReleaseAcks(c *MQTTConn) error {
	var ids []uint16
	s.Do(func(s *MQTTSeen) { s.DeferAcks, ids, s.deferred = false, s.deferred, nil })
	for _, id := range ids {
		if err := c.Ack(MQTTPuback, id); err != nil {
			return err
		}
	}
	return nil
}

func (s *MQTTSeen) record(p *MQTTPacket) {
	switch p.Topic {
	case s.topics.errors:
		var m mqttwire.ErrorMessage
		if err := json.Unmarshal(p.Payload, &m); err != nil || m.Seq == nil {
			s.Other = append(s.Other, "error message "+string(p.Payload))
			return
		}
		s.Errors[*m.Seq] = m
	case s.topics.receipts:
		var m mqttwire.ReceiptMessage
		if err := json.Unmarshal(p.Payload, &m); err != nil {
			s.Other = append(s.Other, "receipt message "+string(p.Payload))
			return
		}
		s.Receipts[m.Seq] = m
	default:
		s.Other = append(s.Other, p.Topic+" "+string(p.Payload))
	}
}

func (s *MQTTSeen) changed() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// IsClosed reports whether err means the peer closed the connection.
func IsClosed(err error) bool {
	var op *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || (errors.As(err, &op) && !op.Timeout()) ||
		(err != nil && strings.Contains(err.Error(), "connection reset"))
}

func mqttString(s string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

func mqttPacket(first byte, body []byte) []byte {
	out := []byte{first}
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

func readVarint(r io.ByteReader) (int, error) {
	n, mul := 0, 1
	for i := 0; i < 4; i++ {
		d, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		n += int(d&0x7f) * mul
		if d&0x80 == 0 {
			return n, nil
		}
		mul *= 128
	}
	return 0, errors.New("malformed remaining length")
}

// reader decodes the body of a packet; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) left() int { return len(r.b) }

func (r *reader) next(n int) []byte {
	if r.err != nil || len(r.b) < n {
		if r.err == nil {
			r.err = io.ErrUnexpectedEOF
		}
		return make([]byte, n)
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte() byte     { return r.next(1)[0] }
func (r *reader) uint16() uint16 { return binary.BigEndian.Uint16(r.next(2)) }
func (r *reader) string() string { return string(r.next(int(r.uint16()))) }
func (r *reader) rest() []byte   { return r.next(len(r.b)) }
func (r *reader) varint() int {
	n, err := readVarint(r)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n
}

func (r *reader) ReadByte() (byte, error) {
	if len(r.b) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	return r.byte(), nil
}

// props reads MQTT 5 properties and returns the Reason String among them.
func (r *reader) props() string {
	end := len(r.b) - r.varint()
	var reason string
	for r.err == nil && len(r.b) > end {
		switch id := r.byte(); id {
		case 0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a: // one byte
			r.next(1)
		case 0x13, 0x21, 0x22, 0x23: // two bytes
			r.next(2)
		case 0x02, 0x11, 0x18, 0x27: // four bytes
			r.next(4)
		case 0x0b: // variable byte integer
			r.varint()
		case 0x1f:
			reason = r.string()
		case 0x03, 0x08, 0x12, 0x15, 0x1a, 0x1c: // string
			r.string()
		case 0x09, 0x16: // binary
			r.string()
		case 0x26: // string pair
			r.string()
			r.string()
		default:
			r.err = fmt.Errorf("unknown property %#x", id)
		}
	}
	return reason
}

// PlainDevice is a device that speaks plain MQTT, as the issue of readings
// lost in silence describes: it publishes its readings at QoS 1 (packet
// id = seq), subscribes to its receipts and errors, and after a lost
// connection connects again and resends only the readings that got no
// PUBACK. On its first connection it is deaf for a while: an MQTT 3.1.1
// device reads nothing at all, an MQTT 5 device (which must read its
// PUBACKs: it keeps at most 32 publishes unacknowledged, the broker's
// Receive Maximum) acknowledges nothing.
type PlainDevice struct {
	Addr     string
	V5       bool
	ID       string
	Token    func() (string, error) // a fresh password for each connection
	Readings [][]byte               // seq i+1 at index i
	Deaf     time.Duration
	// ReadBuffer, if not 0, is the receive buffer of the device's
	// connections in bytes (the kernel doubles it): a small TCP window.
	ReadBuffer int
	Seen       *MQTTSeen
	Logf       func(format string, args ...any)

	mu    sync.Mutex // guards conns
	conns int
}

// Connections is the number of connections the device made.
func (d *PlainDevice) Connections() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conns
}

// Acked reports how many of the device's readings got their PUBACK.
func (d *PlainDevice) Acked() int {
	n := 0
	d.Seen.Do(func(s *MQTTSeen) {
		for i := range d.Readings {
			if _, ok := s.Acks[uint16(i+1)]; ok {
				n++
			}
		}
	})
	return n
}

// Run runs the device until ctx ends.
func (d *PlainDevice) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := d.connection(ctx); err != nil && ctx.Err() == nil {
			d.Logf("device %s: %v; connecting again", d.ID, err)
			t := time.NewTimer(100 * time.Millisecond) // a device's reconnect backoff
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
	}
}

func (d *PlainDevice) connection(ctx context.Context) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	dialer := &net.Dialer{}
	if d.ReadBuffer > 0 {
		dialer = smallWindow(d.ReadBuffer)
	}
	c, err := dialMQTT(dctx, dialer, d.Addr, d.V5, d.ID, d.ID, tok)
	cancel()
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	d.mu.Lock()
	d.conns++
	n := d.conns
	d.mu.Unlock()
	if err := c.Subscribe(1, mqttwire.TopicPrefix+d.ID+"/#", 1); err != nil {
		return err
	}
	var todo []uint16
	d.Seen.Do(func(s *MQTTSeen) {
		for i := range d.Readings {
			if _, ok := s.Acks[uint16(i+1)]; !ok {
				todo = append(todo, uint16(i+1))
			}
		}
	})
	d.Logf("device %s: connection %d, %d readings to send", d.ID, n, len(todo))
	window := make(chan struct{}, 32)
	gone := make(chan struct{})
	defer close(gone)
	go func() {
		for _, seq := range todo {
			if d.V5 {
				select {
				case window <- struct{}{}:
				case <-gone:
					return
				}
			}
			if c.Publish(mqttwire.ReadingsTopic(d.ID), 1, seq, d.Readings[seq-1]) != nil {
				return
			}
		}
	}()
	onAck := func() {
		select {
		case <-window:
		default:
		}
	}
	if n == 1 && d.Deaf > 0 {
		deaf := time.NewTimer(d.Deaf)
		defer deaf.Stop()
		if !d.V5 {
			select {
			case <-deaf.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		} else {
			d.Seen.Do(func(s *MQTTSeen) { s.DeferAcks = true })
			go func() {
				select {
				case <-deaf.C:
					_ = d.Seen.ReleaseAcks(c)
				case <-gone:
				}
			}()
		}
	}
	c.Watch(d.Seen, onAck)
	var end error
	d.Seen.Do(func(s *MQTTSeen) { end = s.End })
	return fmt.Errorf("connection %d ended: %v", n, end)
}
