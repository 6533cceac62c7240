package sim

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/packets"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/reading"
)

// Sizes and times of the MQTT sender.
const (
	connectWorkers   = 64               // connections being set up at once
	handshakeTimeout = 15 * time.Second // bound on one connection's CONNECT and SUBSCRIBE
	tokenTTL         = 5 * time.Minute  // lifetime of a device's token
	pingEvery        = time.Minute      // a connection that sent nothing for this long sends PINGREQ
	readBuffer       = 512              // bytes of a connection's read buffer: answers are small
)

// Reasons of readings the MQTT sender could not deliver. The simulator does
// not send them again (it is open-loop), so they are counted as rejected.
const (
	// ReasonDisconnected is the reason of readings whose device's
	// connection ended before they were answered, or before they were sent.
	ReasonDisconnected = "disconnected"
	// ReasonUnknownDevice is the reason of readings of a device the sender
	// has no connection for.
	ReasonUnknownDevice = "unknown_device"
)

// Connector is a Sender that must connect each device of the fleet before
// it sends: Simulate and Bench call Connect once the fleet is registered
// and its readings signed, before the measured window.
type Connector interface {
	Connect(ctx context.Context, f *Fleet) error
}

// MQTT returns a sender that publishes readings to the node's MQTT broker at
// brokerURL (tcp://HOST:PORT, on loopback). Connect connects every device of
// the fleet as itself (client id = device id, a token signed with its key as
// password, MQTT 5), up to 64 at a time, and subscribes it at QoS 1 (see
// Endpoints.ReceiptQoS) to its receipts and errors topics. Send publishes each reading at QoS 1 on its
// device's connection and returns once each reading is answered, by a
// receipt (committed) or an error message (refused), matched by device and
// sequence number, or when ctx ends (Pending). A connection costs one
// goroutine and a small buffer: ten thousand devices are ten thousand
// connections.
func MQTT(brokerURL string) (*MQTTSender, error) {
	if err := CheckLoopback(brokerURL); err != nil {
		return nil, err
	}
	u, err := url.Parse(brokerURL)
	if err != nil || (u.Scheme != "tcp" && u.Scheme != "mqtt") || u.Port() == "" {
		return nil, fmt.Errorf("sim: --mqtt %q: want tcp://HOST:PORT of the node's broker, as in tcp://127.0.0.1:1883", brokerURL)
	}
	return &MQTTSender{url: brokerURL, addr: u.Host, receiptQoS: 1, stop: make(chan struct{})}, nil
}

// MQTTSender is the sender over MQTT; see MQTT.
type MQTTSender struct {
	url        string
	addr       string
	receiptQoS byte // of the receipts and errors subscriptions; MQTT returns 1

	conns map[string]*simConn // by device id; set by Connect, then read only
	byDev []*simConn          // by the device's index in the fleet
	stop  chan struct{}       // closed by Close: stops the pinger
	wg    sync.WaitGroup      // the connections' readers and the pinger

	// The run's readings as Presign made them, set by plan: reading k is
	// device k mod len(byDev)'s, with seq firstSeq + k/len(byDev). Send
	// finds a batch's place among them without decoding its readings.
	all      [][]byte
	firstSeq uint64
}

// simConn is one device's connection.
type simConn struct {
	id       string
	conn     net.Conn
	r        *bufio.Reader
	readings string        // the device's readings topic
	quota    chan struct{} // a slot per QoS 1 publish the broker has not acknowledged
	lastSent atomic.Int64  // unix nanoseconds of the last write

	wmu    sync.Mutex // serialises writes, and guards nextID
	nextID uint16

	mu    sync.Mutex         // guards waits and ended
	waits map[uint64]waitRef // readings published and not yet answered, by seq
	ended string             // why the connection ended ("" while it lives): the reason of its readings
	done  chan struct{}      // closed when the connection ended
}

// waitRef is where the answer to a reading goes: fate i of a Send.
type waitRef struct {
	w *waiter
	i int
}

// waiter collects the fates of one Send.
type waiter struct {
	mu     sync.Mutex // guards the fields below
	fates  []Fate
	left   int
	closed bool          // Send stopped waiting; later answers are dropped
	done   chan struct{} // closed when left reaches 0
}

func (w *waiter) set(i int, f Fate) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.fates[i].Status != "" {
		return
	}
	w.fates[i] = f
	if w.left--; w.left == 0 {
		close(w.done)
	}
}

// Connect connects every device of f, up to connectWorkers at a time. On
// error the connections made so far are closed.
func (s *MQTTSender) Connect(ctx context.Context, f *Fleet) error {
	if s.conns != nil {
		return errors.New("sim: MQTT sender connected twice")
	}
	if err := checkOpenFiles(f.Len(), fmt.Sprintf("--devices %d over MQTT", f.Len()), "or simulate fewer devices"); err != nil {
		return err
	}
	conns := make([]*simConn, f.Len())
	err := forEach(ctx, f.Len(), connectWorkers, func(i int) error {
		c, err := s.dial(ctx, f, i)
		if err != nil {
			return err
		}
		conns[i] = c
		return nil
	})
	s.conns = make(map[string]*simConn, len(conns))
	s.byDev = conns
	for _, c := range conns {
		if c == nil {
			continue
		}
		s.conns[c.id] = c
		s.wg.Go(func() { loadgen(c.read) })
	}
	if err != nil {
		s.Close()
		return err
	}
	s.wg.Go(func() { loadgen(s.ping) })
	return nil
}

// loadgen runs f with the load generator's profile label, so that a CPU
// profile tells its share from the node's.
func loadgen(f func()) {
	pprof.Do(context.Background(), pprof.Labels(ProfileLabel, ProfileValue), func(context.Context) { f() })
}

// plan tells Send where the run's readings come from: raws as Presign
// signed them for the fleet Connect connected, from sequence number
// firstSeq.
func (s *MQTTSender) plan(raws [][]byte, firstSeq uint64) {
	s.all, s.firstSeq = raws, firstSeq
}

// locate returns the connection and sequence number of reading i of a
// batch. Run sends batches that are slices of the planned readings: a
// batch's place among them follows from its capacity, and is checked by
// identity; any other reading is decoded.
func (s *MQTTSender) locate(batch [][]byte, i int) (*simConn, uint64, error) {
	if n := len(s.byDev); n > 0 {
		lo := len(s.all) - cap(batch)
		if lo >= 0 && lo+len(batch) <= len(s.all) && &batch[0] == &s.all[lo] {
			k := lo + i
			return s.byDev[k%n], s.firstSeq + uint64(k/n), nil
		}
	}
	r, err := reading.Decode(batch[i])
	if err != nil {
		return nil, 0, err
	}
	return s.conns[r.Device], r.Seq, nil
}

// dial connects device i of f and subscribes it to its answers.
func (s *MQTTSender) dial(ctx context.Context, f *Fleet, i int) (*simConn, error) {
	id := f.ID(i)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("sim: connect device %s to the MQTT broker %s: %w", id, s.url, err)
	}
	c := &simConn{
		id:       id,
		conn:     conn,
		r:        bufio.NewReaderSize(conn, readBuffer),
		readings: mqttwire.ReadingsTopic(id),
		waits:    map[uint64]waitRef{},
		done:     make(chan struct{}),
	}
	if err := c.handshake(f, i, s.receiptQoS); err != nil {
		conn.Close()
		return nil, fmt.Errorf("sim: connect device %s to the MQTT broker %s: %w", id, s.url, err)
	}
	return c, nil
}

// handshake sends CONNECT and SUBSCRIBE and reads their answers.
func (c *simConn) handshake(f *Fleet, i int, qos byte) error {
	_ = c.conn.SetDeadline(time.Now().Add(handshakeTimeout))
	defer c.conn.SetDeadline(time.Time{})
	tok, err := mqttwire.Token(f.keys[i], c.id, time.Now(), tokenTTL)
	if err != nil {
		return err
	}
	cp := &packets.Connect{
		ProtocolName: "MQTT", ProtocolVersion: 5, ClientID: c.id, CleanStart: true,
		Username: c.id, UsernameFlag: true, Password: []byte(tok), PasswordFlag: true,
		Properties: &packets.Properties{},
	}
	if _, err := cp.WriteTo(c.conn); err != nil {
		return err
	}
	p, err := packets.ReadPacket(c.r)
	if err != nil {
		return fmt.Errorf("read CONNACK: %w", err)
	}
	ca, ok := p.Content.(*packets.Connack)
	if !ok {
		return fmt.Errorf("got packet type %d instead of CONNACK", p.Type)
	}
	if ca.ReasonCode >= 0x80 {
		why := ""
		if ca.Properties != nil {
			why = ca.Properties.ReasonString
		}
		return fmt.Errorf("refused with reason 0x%02x (%s); is the device registered on this node's chain?", ca.ReasonCode, why)
	}
	quota := 65535 // MQTT 5's default receive maximum
	if ca.Properties != nil && ca.Properties.ReceiveMaximum != nil {
		quota = int(*ca.Properties.ReceiveMaximum)
	}
	c.quota = make(chan struct{}, quota)
	sub := &packets.Subscribe{PacketID: 1, Properties: &packets.Properties{}, Subscriptions: []packets.SubOptions{
		{Topic: mqttwire.ReceiptsTopic(c.id), QoS: qos},
		{Topic: mqttwire.ErrorsTopic(c.id), QoS: qos},
	}}
	if _, err := sub.WriteTo(c.conn); err != nil {
		return err
	}
	p, err = packets.ReadPacket(c.r)
	if err != nil {
		return fmt.Errorf("read SUBACK: %w", err)
	}
	sa, ok := p.Content.(*packets.Suback)
	if !ok || len(sa.Reasons) != 2 || sa.Reasons[0] >= 0x80 || sa.Reasons[1] >= 0x80 {
		return fmt.Errorf("subscribing to the device's receipts and errors was refused: %v", p)
	}
	c.nextID = 1
	c.lastSent.Store(time.Now().UnixNano())
	return nil
}

// Send implements Sender.
func (s *MQTTSender) Send(ctx context.Context, raws [][]byte) ([]Fate, error) {
	if s.conns == nil {
		return nil, errors.New("sim: the MQTT sender sends only after Connect")
	}
	w := &waiter{fates: make([]Fate, len(raws)), left: len(raws), done: make(chan struct{})}
	if len(raws) == 0 {
		return w.fates, nil
	}
	type sent struct {
		c   *simConn
		seq uint64
	}
	refs := make([]sent, len(raws))
	for i, raw := range raws {
		if ctx.Err() != nil {
			break // the rest are Pending
		}
		c, seq, err := s.locate(raws, i)
		if err != nil {
			return nil, fmt.Errorf("sim: reading %d of the batch does not decode: %w", i, err)
		}
		if c == nil {
			w.set(i, Fate{Status: client.Rejected, Reason: ReasonUnknownDevice, At: time.Now()})
			continue
		}
		switch reason := c.publish(ctx, raw, seq, waitRef{w, i}); reason {
		case "":
			refs[i] = sent{c, seq}
		case errCanceled:
		default:
			w.set(i, Fate{Status: client.Rejected, Reason: reason, At: time.Now()})
		}
	}
	select {
	case <-w.done:
	case <-ctx.Done():
	}
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	for i, f := range w.fates {
		if f.Status == "" {
			w.fates[i] = Fate{Status: client.Pending, At: time.Now()}
			if c := refs[i].c; c != nil {
				c.forget(refs[i].seq, w)
			}
		}
	}
	return w.fates, nil
}

// errCanceled is what publish returns when ctx ended before the reading
// was sent: it is Pending.
const errCanceled = "\x00canceled"

// publish sends one reading at QoS 1 and records where its answer goes. It
// returns "" once sent, errCanceled if ctx ended first, or the reason of a
// reading it could not send.
func (c *simConn) publish(ctx context.Context, raw []byte, seq uint64, ref waitRef) string {
	select {
	case c.quota <- struct{}{}: // released by the PUBACK
	case <-c.done:
		return c.reason()
	case <-ctx.Done():
		return errCanceled
	}
	c.mu.Lock()
	if c.ended != "" {
		c.mu.Unlock()
		return c.ended
	}
	c.waits[seq] = ref // before the PUBLISH: the answer may come at once
	c.mu.Unlock()

	c.wmu.Lock()
	id := c.nextID
	if c.nextID++; c.nextID == 0 {
		c.nextID = 1
	}
	_, err := c.conn.Write(publishPacket(c.readings, id, raw))
	c.wmu.Unlock()
	if err != nil {
		c.end(ReasonDisconnected)
		return c.reason()
	}
	c.lastSent.Store(time.Now().UnixNano())
	return ""
}

// publishPacket encodes an MQTT 5 PUBLISH at QoS 1 without properties.
func publishPacket(topic string, id uint16, payload []byte) []byte {
	n := 2 + len(topic) + 2 + 1 + len(payload)
	b := make([]byte, 0, 1+4+n)
	b = append(b, 0x32) // PUBLISH, QoS 1
	b = binary.AppendUvarint(b, uint64(n))
	b = binary.BigEndian.AppendUint16(b, uint16(len(topic)))
	b = append(b, topic...)
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, 0) // no properties
	return append(b, payload...)
}

// forget drops the wait of reading seq if it is w's.
func (c *simConn) forget(seq uint64, w *waiter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ref, ok := c.waits[seq]; ok && ref.w == w {
		delete(c.waits, seq)
	}
}

func (c *simConn) reason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

// end marks the connection ended for reason and answers its readings in
// flight with it.
func (c *simConn) end(reason string) {
	c.mu.Lock()
	if c.ended != "" {
		c.mu.Unlock()
		return
	}
	c.ended = reason
	waits := c.waits
	c.waits = map[uint64]waitRef{}
	close(c.done)
	c.mu.Unlock()
	c.conn.Close()
	now := time.Now()
	for _, ref := range waits {
		ref.w.set(ref.i, Fate{Status: client.Rejected, Reason: reason, At: now})
	}
}

// read handles what the broker sends until the connection ends: PUBACKs
// free publish slots, receipts and error messages answer readings.
func (c *simConn) read() {
	var body, acks []byte
	for {
		// The PUBACKs of what one read brought in go out in one write, as
		// an MQTT client library's buffered writer sends them.
		if len(acks) > 0 && c.r.Buffered() == 0 {
			c.wmu.Lock()
			_, err := c.conn.Write(acks)
			c.wmu.Unlock()
			if err != nil {
				c.end(ReasonDisconnected)
				return
			}
			acks = acks[:0]
		}
		typ, n, err := readHeader(c.r)
		if err != nil {
			c.end(ReasonDisconnected)
			return
		}
		if cap(body) < n {
			body = make([]byte, n)
		}
		body = body[:n]
		if _, err := io.ReadFull(c.r, body); err != nil {
			c.end(ReasonDisconnected)
			return
		}
		switch typ >> 4 {
		case packets.PUBACK:
			select {
			case <-c.quota:
			default:
			}
		case packets.PUBLISH:
			var err error
			if acks, err = c.answer(typ, body, acks); err != nil {
				c.end(ReasonDisconnected)
				return
			}
		case packets.DISCONNECT:
			reason := ReasonDisconnected
			if len(body) > 0 && body[0] == 0x89 {
				reason = ReasonBusy // the node's queue stayed full
			}
			c.end(reason)
			return
		}
	}
}

// readHeader reads an MQTT fixed header: the first byte and the remaining
// length.
func readHeader(r *bufio.Reader) (byte, int, error) {
	typ, err := r.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, 0, err
	}
	if n > 1<<20 {
		return 0, 0, fmt.Errorf("sim: MQTT packet of %d bytes from the broker", n)
	}
	return typ, int(n), nil
}

// answer handles a PUBLISH from the broker: a receipt or an error message.
// It appends its PUBACK (QoS 1) to acks, which the caller writes, and
// hands its fate to the waiting Send.
func (c *simConn) answer(typ byte, body []byte, acks []byte) ([]byte, error) {
	at := time.Now()
	if len(body) < 2 {
		return acks, errors.New("short PUBLISH")
	}
	tl := int(binary.BigEndian.Uint16(body))
	if len(body) < 2+tl {
		return acks, errors.New("short PUBLISH")
	}
	topic, rest := body[2:2+tl], body[2+tl:]
	if (typ>>1)&3 > 0 {
		if len(rest) < 2 {
			return acks, errors.New("short PUBLISH")
		}
		id := rest[:2]
		rest = rest[2:]
		acks = append(acks, packets.PUBACK<<4, 2, id[0], id[1])
	}
	pl, k := binary.Uvarint(rest) // the properties' length
	if k <= 0 || uint64(len(rest)-k) < pl {
		return acks, errors.New("short PUBLISH")
	}
	payload := rest[k+int(pl):]

	var seq uint64
	var f Fate
	switch {
	case strings.HasSuffix(string(topic), "/receipts"):
		var m mqttwire.ReceiptMessage
		if json.Unmarshal(payload, &m) != nil {
			return acks, nil
		}
		seq, f = m.Seq, Fate{Status: m.Status, At: at}
	case strings.HasSuffix(string(topic), "/errors"):
		var m mqttwire.ErrorMessage
		if json.Unmarshal(payload, &m) != nil || m.Seq == nil {
			return acks, nil
		}
		seq, f = *m.Seq, Fate{Status: client.Rejected, Reason: m.Reason, At: at}
	default:
		return acks, nil
	}
	c.mu.Lock()
	ref, ok := c.waits[seq]
	if ok {
		delete(c.waits, seq)
	}
	c.mu.Unlock()
	if ok {
		ref.w.set(ref.i, f)
	}
	return acks, nil
}

// ping keeps idle connections alive: the broker closes a connection that
// sends nothing for one and a half times its keep alive (5 minutes at most).
func (s *MQTTSender) ping() {
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			for _, c := range s.conns {
				if now.Sub(time.Unix(0, c.lastSent.Load())) < pingEvery {
					continue
				}
				c.wmu.Lock()
				_, err := c.conn.Write([]byte{packets.PINGREQ << 4, 0})
				c.wmu.Unlock()
				if err != nil {
					c.end(ReasonDisconnected)
				}
			}
		}
	}
}

// Close disconnects every device and waits for the connections' readers.
func (s *MQTTSender) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
		close(s.stop)
	}
	for _, c := range s.conns {
		_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second)) // a writer stuck on a full socket lets go
		c.wmu.Lock()
		_, _ = c.conn.Write([]byte{packets.DISCONNECT << 4, 0})
		c.wmu.Unlock()
		c.end(ReasonDisconnected)
	}
	s.wg.Wait()
	return nil
}
