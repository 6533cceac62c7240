package mqtt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/google/go-cmp/cmp"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/verdict"
)

func TestConnect(t *testing.T) {
	b := startBroker(t, testConfig(), newLedger(), nil)
	now := time.Now()
	mustToken := func(k []byte, id string, now time.Time, ttl time.Duration) string {
		tok, err := mqttwire.Token(k, id, now, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	id := deviceID(sensor)
	tests := []struct {
		name     string
		clientID string
		tok      string
		want     byte
	}{
		{"valid token", id, mustToken(sensor, id, now, 5*time.Minute), 0x00},
		{"clock 90 s behind, within the skew", id, mustToken(sensor, id, now.Add(-90*time.Second), time.Minute), 0x00},
		{"unregistered device", deviceID(spare), mustToken(spare, deviceID(spare), now, time.Minute), 0x87},
		{"revoked device", deviceID(retired), mustToken(retired, deviceID(retired), now, time.Minute), 0x87},
		{"expired token", id, mustToken(sensor, id, now.Add(-10*time.Minute), time.Minute), 0x86},
		{"clock 5 min ahead", id, mustToken(sensor, id, now.Add(5*time.Minute), 10*time.Minute), 0x86},
		{"forged token", id, mustToken(spare, id, now, time.Minute), 0x86},
		{"token of another device", id, mustToken(other, deviceID(other), now, time.Minute), 0x86},
		{"malformed token", id, "v1.123.abc", 0x86},
		{"no password", id, "", 0x86},
		{"client id not a device id", "sensor-1", mustToken(sensor, id, now, time.Minute), 0x85},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ca, err := connect(t, b.Addr(), tt.clientID, tt.tok)
			if ca == nil {
				t.Fatalf("no CONNACK: %v", err)
			}
			if ca.ReasonCode != tt.want {
				t.Errorf("CONNACK reason %#x, want %#x (%v)", ca.ReasonCode, tt.want, err)
			}
		})
	}
	if got := b.Stats().ConnectsRefused; got != uint64(len(tests)-2) {
		t.Errorf("ConnectsRefused = %d, want %d", got, len(tests)-2)
	}
}

func TestConnectMQTT311(t *testing.T) {
	b := startBroker(t, testConfig(), newLedger(), nil)
	id := deviceID(sensor)
	tests := []struct {
		name          string
		id, user, tok string
		want          byte // CONNACK return code
	}{
		{"valid token", id, id, token(t, sensor, id), 0},
		{"bad token", id, id, token(t, other, id), 4},
		{"user name not the device id", id, "admin", token(t, sensor, id), 4},
		{"revoked device", deviceID(retired), deviceID(retired), token(t, retired, deviceID(retired)), 5},
		{"unregistered device", deviceID(spare), deviceID(spare), token(t, spare, deviceID(spare)), 5},
		{"client id not a device id", "sensor-1", "sensor-1", token(t, sensor, id), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, b.Addr())
			c.send(t, connect311(tt.id, tt.user, tt.tok))
			ack := c.expect(t, 0x20)
			if diff := cmp.Diff([]byte{0, tt.want}, ack); diff != "" {
				t.Errorf("CONNACK body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConnectRefusesWill(t *testing.T) {
	b := startBroker(t, testConfig(), newLedger(), nil)
	id := deviceID(sensor)
	// MQTT 3.1.1 CONNECT with a will on another device's receipts topic.
	body := append(mqttString("MQTT"), 4, 0x80|0x40|0x04|0x02, 0, 30)
	body = append(body, mqttString(id)...)
	body = append(body, mqttString(mqttwire.ReceiptsTopic(deviceID(other)))...)
	body = append(body, mqttString(`{"status":"accepted"}`)...)
	body = append(body, mqttString(id)...)
	body = append(body, mqttString(token(t, sensor, id))...)
	c := dialRaw(t, b.Addr())
	c.send(t, packet(0x10, body))
	if diff := cmp.Diff([]byte{0, 5}, c.expect(t, 0x20)); diff != "" {
		t.Errorf("CONNACK body (-want +got):\n%s", diff)
	}
}

func TestTopicRules(t *testing.T) {
	l := newLedger()
	b := startBroker(t, testConfig(), l, nil)
	d := mustConnect(t, b, sensor)
	id, otherID := deviceID(sensor), deviceID(other)

	subs := []struct {
		filter string
		want   byte
	}{
		{mqttwire.ReceiptsTopic(id), 0x01},
		{mqttwire.ErrorsTopic(id), 0x01},
		{mqttwire.TopicPrefix + id + "/#", 0x01},
		{mqttwire.ReceiptsTopic(otherID), 0x87},
		{mqttwire.TopicPrefix + "+/receipts", 0x87},
		{"#", 0x87},
		{"$SYS/#", 0x87},
	}
	for _, s := range subs {
		if got := d.subscribe(t, s.filter); got != s.want {
			t.Errorf("SUBACK for %s: %#x, want %#x", s.filter, got, s.want)
		}
	}

	// Publishing anywhere but its own readings topic is refused, and the
	// reading never reaches Submit. mochi handles a PUBLISH, Submit
	// included, before it sends the PUBACK.
	for _, topic := range []string{mqttwire.ReadingsTopic(otherID), mqttwire.ReceiptsTopic(id), mqttwire.TopicPrefix + id + "/twin"} {
		code, err := d.publish(t, topic, signed(t, sensor, 1))
		if code != 0x87 {
			t.Errorf("PUBACK for %s: %#x (%v), want 0x87", topic, code, err)
		}
	}
	if n := len(l.submitted); n != 0 {
		t.Errorf("Submit got %d readings published on foreign topics", n)
	}
	raw := signed(t, sensor, 1)
	if code, err := d.publish(t, mqttwire.ReadingsTopic(id), raw); code != 0 {
		t.Fatalf("PUBACK on own readings topic: %#x (%v)", code, err)
	}
	if got := <-l.submitted; !bytes.Equal(got, raw) {
		t.Errorf("Submit got %x, want the published reading", got)
	}
}

func TestReceiptAfterCommit(t *testing.T) {
	l := newLedger()
	b := startBroker(t, testConfig(), l, nil)
	d := mustConnect(t, b, sensor)
	id := deviceID(sensor)
	d.subscribe(t, mqttwire.TopicPrefix+id+"/#")

	raw := signed(t, sensor, 7)
	if code, err := d.publish(t, mqttwire.ReadingsTopic(id), raw); code != 0 {
		t.Fatalf("PUBACK %#x (%v), want success", code, err)
	}
	if got := <-l.submitted; !bytes.Equal(got, raw) {
		t.Fatalf("Submit got %x, want the published reading", got)
	}
	// A block with a reading from elsewhere and ours.
	b.Committed([]app.Outcome{accepted(signed(t, other, 1), 41, 9), accepted(raw, 42, 9)})

	m := d.next(t)
	if m.Topic != mqttwire.ReceiptsTopic(id) || m.QoS != 1 || m.Retain {
		t.Errorf("message on %s QoS %d retain %v, want %s QoS 1 not retained", m.Topic, m.QoS, m.Retain, mqttwire.ReceiptsTopic(id))
	}
	want := mqttwire.ReceiptMessage{Seq: 7, Index: 42, Height: 9, Receipt: "/v1/devices/" + id + "/readings/7/receipt", Status: "accepted"}
	if diff := cmp.Diff(want, decodeJSON[mqttwire.ReceiptMessage](t, m.Payload)); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}
	if st := b.Stats(); st.Queued != 1 || st.Pending != 0 {
		t.Errorf("Stats: Queued %d Pending %d, want 1 and 0", st.Queued, st.Pending)
	}
}

func TestAnswers(t *testing.T) {
	id := deviceID(sensor)
	dup := func([]byte) (verdict.Verdict, error) {
		return verdict.Verdict{Device: id, Seq: 3, Status: "duplicate", Code: app.CodeDuplicate, Index: 17, Height: 4}, nil
	}
	badSig := func([]byte) (verdict.Verdict, error) {
		return verdict.Verdict{Device: id, Seq: 3, Status: "rejected", Code: app.CodeBadSignature, Detail: "signature does not verify"}, nil
	}
	tests := []struct {
		name    string
		submit  func([]byte) (verdict.Verdict, error)
		payload []byte
		puback  byte
		topic   string
		want    any
	}{
		{
			name: "duplicate", submit: dup, payload: signed(t, sensor, 3), puback: 0x00, topic: mqttwire.ReceiptsTopic(id),
			want: mqttwire.ReceiptMessage{Seq: 3, Index: 17, Height: 4, Receipt: "/v1/devices/" + id + "/readings/3/receipt", Status: "duplicate"},
		},
		{
			name: "refused by the ledger", submit: badSig, payload: signed(t, sensor, 3), puback: 0x87, topic: mqttwire.ErrorsTopic(id),
			want: mqttwire.ErrorMessage{Seq: ptr[uint64](3), Reason: "bad_signature", Detail: "signature does not verify"},
		},
		{
			name: "malformed", payload: []byte("{\"t\": 21.5}"), puback: 0x99, topic: mqttwire.ErrorsTopic(id),
			want: mqttwire.ErrorMessage{Reason: "malformed_reading"},
		},
		{
			name: "too large", payload: bytes.Repeat([]byte{0xa0}, 4097), puback: 0x99, topic: mqttwire.ErrorsTopic(id),
			want: mqttwire.ErrorMessage{Reason: "reading_too_large"},
		},
		{
			name: "another device's reading", payload: signed(t, other, 3), puback: 0x87, topic: mqttwire.ErrorsTopic(id),
			want: mqttwire.ErrorMessage{Seq: ptr[uint64](3), Reason: mqttwire.ReasonDeviceMismatch},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger()
			l.setSubmit(tt.submit)
			b := startBroker(t, testConfig(), l, nil)
			d := mustConnect(t, b, sensor)
			d.subscribe(t, mqttwire.TopicPrefix+id+"/#")
			if code, err := d.publish(t, mqttwire.ReadingsTopic(id), tt.payload); code != tt.puback {
				t.Errorf("PUBACK %#x (%v), want %#x", code, err, tt.puback)
			}
			m := d.next(t)
			if m.Topic != tt.topic {
				t.Fatalf("message on %s, want %s", m.Topic, tt.topic)
			}
			var got any
			if tt.topic == mqttwire.ReceiptsTopic(id) {
				got = decodeJSON[mqttwire.ReceiptMessage](t, m.Payload)
			} else {
				e := decodeJSON[mqttwire.ErrorMessage](t, m.Payload)
				if e.Detail == "" {
					t.Error("error message has no detail")
				}
				if _, ok := tt.want.(mqttwire.ErrorMessage); ok && tt.want.(mqttwire.ErrorMessage).Detail == "" {
					e.Detail = ""
				}
				got = e
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if n := len(l.submitted); n != 0 {
				t.Errorf("%d readings queued, want none", n)
			}
		})
	}
}

func TestRejectedAtCommit(t *testing.T) {
	l := newLedger()
	b := startBroker(t, testConfig(), l, nil)
	d := mustConnect(t, b, sensor)
	id := deviceID(sensor)
	d.subscribe(t, mqttwire.ErrorsTopic(id))
	raw := signed(t, sensor, 5)
	if code, _ := d.publish(t, mqttwire.ReadingsTopic(id), raw); code != 0 {
		t.Fatalf("PUBACK %#x, want success", code)
	}
	<-l.submitted
	b.Committed([]app.Outcome{{Verdict: verdict.Verdict{Device: id, Seq: 5, Status: "rejected", Code: app.CodeTimeOutOfWindow,
		Detail: "check the device clock", Height: 3}, Hash: sha256.Sum256(raw)}})
	want := mqttwire.ErrorMessage{Seq: ptr[uint64](5), Reason: "time_out_of_window", Detail: "check the device clock"}
	if diff := cmp.Diff(want, decodeJSON[mqttwire.ErrorMessage](t, d.next(t).Payload)); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

func TestOversizedPacket(t *testing.T) {
	l := newLedger()
	b := startBroker(t, testConfig(), l, nil)
	big := mustConnect(t, b, sensor)
	good := mustConnect(t, b, other)
	good.subscribe(t, mqttwire.ReceiptsTopic(deviceID(other)))

	// Over max_packet_bytes: mochi closes the connection before reading it.
	if code, err := big.publish(t, mqttwire.ReadingsTopic(deviceID(sensor)), make([]byte, testConfig().MaxPacketBytes+1)); err == nil {
		t.Errorf("oversized publish acknowledged with %#x, want the connection closed", code)
	}
	big.waitClosed(t)

	// The other device goes on as before.
	raw := signed(t, other, 1)
	if code, err := good.publish(t, mqttwire.ReadingsTopic(deviceID(other)), raw); code != 0 {
		t.Fatalf("PUBACK %#x (%v), want success", code, err)
	}
	<-l.submitted
	b.Committed([]app.Outcome{accepted(raw, 0, 1)})
	if m := good.next(t); m.Topic != mqttwire.ReceiptsTopic(deviceID(other)) {
		t.Errorf("message on %s, want the receipt", m.Topic)
	}
}

func TestGarbageOnThePort(t *testing.T) {
	cfg := testConfig()
	cfg.ConnectTimeout = 300 * time.Millisecond
	b := startBroker(t, cfg, newLedger(), nil)
	tests := []struct {
		name string
		data []byte
	}{
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"PUBLISH before CONNECT", publish311(mqttwire.ReadingsTopic(deviceID(sensor)), 1, []byte("x"))},
		{"CONNECT claiming 256 MB", []byte{0x10, 0xff, 0xff, 0xff, 0x7f, 0, 4}},
		{"bad remaining length", []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"CONNECT with a bad protocol name", packet(0x10, append(mqttString("HTTP"), 4, 2, 0, 30, 0, 1, 'x'))},
		{"half a CONNECT, then silence", []byte{0x10, 0x20, 0, 4, 'M'}},
		{"silence", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, b.Addr())
			if tt.data != nil {
				c.send(t, tt.data)
			}
			if err := c.closed(); err != nil {
				t.Error(err)
			}
		})
	}
	// The broker still serves devices.
	c := dialRaw(t, b.Addr())
	c.send(t, connect311(deviceID(sensor), deviceID(sensor), token(t, sensor, deviceID(sensor))))
	if diff := cmp.Diff([]byte{0, 0}, c.expect(t, 0x20)); diff != "" {
		t.Errorf("CONNACK body (-want +got):\n%s", diff)
	}
}

// events records the order of things that happen on several goroutines.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, s)
}

func (e *events) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

func TestBusyDelaysPuback(t *testing.T) {
	l := newLedger()
	var ev events
	release := make(chan struct{})
	busy := make(chan struct{}, 100)
	l.setSubmit(func(raw []byte) (verdict.Verdict, error) {
		select {
		case <-release:
			ev.add("queued")
			return queue(raw)
		default:
			busy <- struct{}{}
			return verdict.Verdict{}, ingest.ErrBusy
		}
	})
	b := startBroker(t, testConfig(), l, nil)
	d := mustConnect(t, b, sensor)
	done := make(chan error, 1)
	go func() {
		code, err := d.publish(t, mqttwire.ReadingsTopic(deviceID(sensor)), signed(t, sensor, 1))
		ev.add(fmt.Sprintf("puback %#x", code))
		done <- err
	}()
	<-busy
	<-busy // the hook is retrying: the PUBACK is held
	select {
	case <-done:
		t.Fatal("PUBACK sent while the queue was full")
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"queued", "puback 0x0"}, ev.get()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if st := b.Stats(); st.BusyRetries < 2 || st.Queued != 1 {
		t.Errorf("Stats: BusyRetries %d Queued %d, want >= 2 and 1", st.BusyRetries, st.Queued)
	}
}

func TestBusyTimeoutDisconnects(t *testing.T) {
	l := newLedger()
	l.setSubmit(func([]byte) (verdict.Verdict, error) { return verdict.Verdict{}, ingest.ErrBusy })
	cfg := testConfig()
	cfg.BusyTimeout = 50 * time.Millisecond
	b := startBroker(t, cfg, l, nil)
	d := mustConnect(t, b, sensor)
	if code, err := d.publish(t, mqttwire.ReadingsTopic(deviceID(sensor)), signed(t, sensor, 1)); err == nil {
		t.Errorf("publish acknowledged with %#x while the queue stayed full", code)
	}
	d.waitClosed(t)
	if st := b.Stats(); st.Abandoned != 1 || st.Pending != 0 {
		t.Errorf("Stats: Abandoned %d Pending %d, want 1 and 0", st.Abandoned, st.Pending)
	}
}

// A reading over the device's rate is held back, not refused: its PUBACK
// waits for a token, and so does the device's next publish.
func TestRateLimitHoldsPuback(t *testing.T) {
	l := newLedger()
	cfg := testConfig()
	cfg.RatePerDevice, cfg.Burst = 1, 2
	var mu sync.Mutex
	now := time.Now()
	b := startBroker(t, cfg, l, func(b *Broker) {
		b.now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		}
	})
	d := mustConnect(t, b, sensor)
	id := deviceID(sensor)
	d.subscribe(t, mqttwire.ErrorsTopic(id))
	for seq := range uint64(2) {
		if code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, sensor, seq+1)); code != 0 {
			t.Fatalf("PUBACK %#x (%v) within the burst, want success", code, err)
		}
	}
	type ack struct {
		code byte
		err  error
	}
	third := make(chan ack, 1)
	go func() {
		code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, sensor, 3))
		third <- ack{code, err}
	}()
	poll(t, "the third reading waits for a token", func() bool { return b.Stats().RateWaits > 0 })
	select {
	case a := <-third:
		t.Fatalf("PUBACK %#x (%v) over the rate, want it held back", a.code, a.err)
	default:
	}
	if n := len(l.submitted); n != 2 {
		t.Errorf("%d readings queued while the third waits, want 2", n)
	}
	mu.Lock()
	now = now.Add(time.Second) // one more token
	mu.Unlock()
	if a := <-third; a.code != 0 || a.err != nil {
		t.Errorf("PUBACK %#x (%v) once a token came, want success", a.code, a.err)
	}
	if n := len(l.submitted); n != 3 {
		t.Errorf("%d readings queued, want 3", n)
	}
	if st := b.Stats(); st.Refused != 0 || st.NoticesHeld != 0 || len(d.msgs) != 0 {
		t.Errorf("Stats: Refused %d NoticesHeld %d, messages %d; want nothing refused", st.Refused, st.NoticesHeld, len(d.msgs))
	}
	// Another device has a bucket of its own.
	if code, _ := mustConnect(t, b, other).publish(t, mqttwire.ReadingsTopic(deviceID(other)), signed(t, other, 1)); code != 0 {
		t.Errorf("PUBACK for another device %#x, want success", code)
	}
}

// A rate so low that no token comes within busy_timeout: the device is
// disconnected without a PUBACK (MQTT 5: 0x97 Quota exceeded), at once.
func TestRateTimeoutDisconnects(t *testing.T) {
	l := newLedger()
	cfg := testConfig()
	cfg.RatePerDevice, cfg.Burst = 0.001, 1
	cfg.BusyTimeout = time.Second
	b := startBroker(t, cfg, l, nil)
	d := mustConnect(t, b, sensor)
	id := deviceID(sensor)
	if code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, sensor, 1)); code != 0 {
		t.Fatalf("PUBACK %#x (%v), want success", code, err)
	}
	if code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, sensor, 2)); err == nil {
		t.Errorf("PUBACK %#x over a rate of one reading in 1000 s, want none", code)
	}
	if p := d.disconnected(t); p.ReasonCode != packets.ErrQuotaExceeded.Code || !strings.Contains(p.Properties.ReasonString, "busy_timeout") {
		t.Errorf("DISCONNECT %#x %q, want 0x97 naming busy_timeout", p.ReasonCode, p.Properties.ReasonString)
	}
	if st := b.Stats(); st.Abandoned != 1 || len(l.submitted) != 1 {
		t.Errorf("Stats: Abandoned %d, queued %d; want 1 and 1", st.Abandoned, len(l.submitted))
	}
}

// The chain's own rate limit, which ingest applies before it queues a
// reading, holds the PUBACK back too: the broker submits again later.
func TestChainRateHoldsPuback(t *testing.T) {
	l := newLedger()
	var refusals atomic.Int32
	l.setSubmit(func(raw []byte) (verdict.Verdict, error) {
		if refusals.Add(1) <= 3 {
			return verdict.Verdict{Status: "rejected", Code: app.CodeRateLimited, Detail: "slow down"}, nil
		}
		return queue(raw)
	})
	b := startBroker(t, testConfig(), l, nil)
	d := mustConnect(t, b, sensor)
	id := deviceID(sensor)
	d.subscribe(t, mqttwire.ErrorsTopic(id))
	if code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, sensor, 1)); code != 0 {
		t.Fatalf("PUBACK %#x (%v), want success once the chain's limit lets it through", code, err)
	}
	if st := b.Stats(); st.RateWaits != 3 || st.Refused != 0 || st.Queued != 1 || len(d.msgs) != 0 {
		t.Errorf("Stats: RateWaits %d Refused %d Queued %d, messages %d; want 3, 0, 1, none", st.RateWaits, st.Refused, st.Queued, len(d.msgs))
	}
}

func TestSlowClientDoesNotBlockOthers(t *testing.T) {
	l := newLedger()
	cfg := testConfig()
	cfg.WriteTimeout = time.Hour // the broker must not need it here
	b := startBroker(t, cfg, l, nil)

	// A device that subscribes to its receipts at QoS 1 and then never
	// reads, so it never acknowledges either.
	slowID := deviceID(other)
	slow := dialRaw(t, b.Addr())
	slow.send(t, connect311(slowID, slowID, token(t, other, slowID)))
	slow.expect(t, 0x20)
	slow.send(t, subscribe311(mqttwire.ReceiptsTopic(slowID)))
	slow.expect(t, 0x90)

	good := mustConnect(t, b, sensor)
	good.subscribe(t, mqttwire.ReceiptsTopic(deviceID(sensor)))

	// Far more receipts for the slow device than its queue holds.
	for i := range uint64(5000) {
		b.notify(sinkEmbedded, receiptNotice(slowID, i, i, 1, "accepted"))
	}
	raw := signed(t, sensor, 1)
	if code, err := good.publish(t, mqttwire.ReadingsTopic(deviceID(sensor)), raw); code != 0 {
		t.Fatalf("PUBACK %#x (%v), want success", code, err)
	}
	<-l.submitted
	b.Committed([]app.Outcome{accepted(raw, 0, 1)})
	if m := good.next(t); m.Topic != mqttwire.ReceiptsTopic(deviceID(sensor)) {
		t.Errorf("message on %s, want the receipt", m.Topic)
	}
	if st := b.Stats(); st.NoticesDropped == 0 {
		t.Error("no receipt for the slow device was dropped")
	}
	// Close (at cleanup) must not wait for the slow device either.
}

func TestWriteTimeout(t *testing.T) {
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newListener(nl, time.Minute, 100*time.Millisecond, testLog(t))
	defer ln.closeAll()
	peer, err := net.Dial("tcp", nl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// mochi moves the deadline on as packets arrive; writes keep theirs.
	if err := c.SetDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<16)
	for {
		if _, err = c.Write(chunk); err != nil {
			break // the peer reads nothing: the buffers fill, then the write times out
		}
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("write error %v, want a timeout", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after the timeout: %v, want the connection closed", err)
	}
	ln.mu.Lock()
	n := len(ln.conns)
	ln.mu.Unlock()
	if n != 0 {
		t.Errorf("listener still tracks %d connections", n)
	}
}

func TestDevicesChanged(t *testing.T) {
	l := newLedger()
	b := startBroker(t, testConfig(), l, nil)
	revoked := mustConnect(t, b, sensor)
	kept := mustConnect(t, b, other)
	b.DevicesChanged([]app.DeviceChange{
		{Action: "registered", Device: &state.Device{ID: deviceID(other)}},
		{Action: "revoked", Device: &state.Device{ID: deviceID(sensor)}},
	})
	revoked.waitClosed(t)
	if code := kept.subscribe(t, mqttwire.ReceiptsTopic(deviceID(other))); code != 1 {
		t.Errorf("device left alone: SUBACK %#x, want 0x01", code)
	}
}

func TestCloseWithoutStart(t *testing.T) {
	b, err := New(testConfig(), newLedger().deps(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Committed([]app.Outcome{accepted(signed(t, sensor, 1), 0, 1)})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(t.Context()); err == nil {
		t.Error("Start after Close succeeded")
	}
}

func TestStartAddressInUse(t *testing.T) {
	first := startBroker(t, testConfig(), newLedger(), nil)
	cfg := testConfig()
	cfg.Addr = first.Addr()
	b, err := New(cfg, newLedger().deps(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "--mqtt-addr") {
		t.Errorf("Start on a used address: %v, want an error naming --mqtt-addr", err)
	}
}

// TestTwinDesired: a committed desired state reaches the device on its
// twin/desired topic, retained for a device that subscribes later; reported
// states are not published.
func TestTwinDesired(t *testing.T) {
	b := startBroker(t, testConfig(), newLedger(), nil)
	id := deviceID(sensor)
	d := mustConnect(t, b, sensor)
	d.subscribe(t, mqttwire.TwinDesiredTopic(id))
	b.TwinsChanged([]app.TwinChange{
		{Device: id, Side: state.SideReported, Version: 1, Height: 4, State: map[string]any{"firmware": "1.2.0"}},
		{Device: id, Side: state.SideDesired, Version: 1, Height: 5, State: map[string]any{"firmware": "1.3.0"}},
	})
	m := d.next(t)
	got := decodeJSON[mqttwire.TwinDesiredMessage](t, m.Payload)
	want := mqttwire.TwinDesiredMessage{Version: 1, Height: 5, State: map[string]any{"firmware": "1.3.0"}}
	if m.Topic != mqttwire.TwinDesiredTopic(id) || !cmp.Equal(got, want) {
		t.Fatalf("message on %s: %+v, want %+v on the twin/desired topic", m.Topic, got, want)
	}
	// A device that connects later gets the latest desired state at once.
	if err := d.c.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	d.waitClosed(t)
	again := mustConnect(t, b, sensor)
	again.subscribe(t, mqttwire.TwinDesiredTopic(id))
	m = again.next(t)
	if got := decodeJSON[mqttwire.TwinDesiredMessage](t, m.Payload); !cmp.Equal(got, want) || !m.Retain {
		t.Errorf("after reconnecting: %+v (retain %v), want the retained %+v", got, m.Retain, want)
	}
	// Another device may not subscribe to it.
	if code := mustConnect(t, b, other).subscribe(t, mqttwire.TwinDesiredTopic(id)); code < 0x80 {
		t.Errorf("another device subscribed to %s's twin with code %#x, want a refusal", id, code)
	}
}
