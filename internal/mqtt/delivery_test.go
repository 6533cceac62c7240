package mqtt

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/verdict"
)

// dial connects device k over MQTT 5 (v5) or 3.1.1 with a hand-written
// client, and closes it at cleanup.
func dial(t *testing.T, b *Broker, k []byte, v5 bool) *testonly.MQTTConn {
	t.Helper()
	id := deviceID(k)
	c, err := testonly.DialMQTT(ctx(t), b.Addr(), v5, id, id, token(t, k, id))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// subscribed subscribes c to filter at QoS 1 and reads the SUBACK.
func subscribed(t *testing.T, c *testonly.MQTTConn, filter string) {
	t.Helper()
	if err := c.Subscribe(1, filter, 1); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	p, err := c.Next()
	if err != nil || p.Type != testonly.MQTTSuback || p.Reason != 1 {
		t.Fatalf("SUBACK: %+v, %v; want QoS 1 granted", p, err)
	}
}

// next reads c's next packet, with a bound.
func next(t *testing.T, c *testonly.MQTTConn) *testonly.MQTTPacket {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	p, err := c.Next()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return p
}

// fakeNode commits what Submit queued, one reading at a time, refusing
// the readings refuse picks as the ledger does at commit.
func fakeNode(t *testing.T, l *ledger, b *Broker, refuse func(seq uint64) bool) {
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		height := int64(1)
		for {
			select {
			case <-stop:
				return
			case raw := <-l.submitted:
				o := accepted(raw, uint64(height), height)
				if refuse(o.Seq) {
					o.Status, o.Code, o.Detail = "rejected", app.CodeRateLimited, "the ledger's own rate limit, at block time"
				}
				b.Committed([]app.Outcome{o})
				height++
			}
		}
	}()
}

// Every reading that gets a PUBACK ends committed, or its refusal notice
// reaches the device, although the device does not read for a while
// (3.1.1: its socket; 5: it reads its PUBACKs but acknowledges nothing)
// while the ledger answers its readings: mochi drops messages for a
// client whose queue is full, and the broker closes a connection that
// takes no data for write_timeout. The broker holds the refusal notices
// until the device, connected again, acknowledges them.
func TestSlowConsumer(t *testing.T) {
	for _, v5 := range []bool{false, true} {
		t.Run(map[bool]string{false: "MQTT 3.1.1", true: "MQTT 5"}[v5], func(t *testing.T) {
			const n = 1500
			l := newLedger()
			cfg := testConfig()
			cfg.RatePerDevice = 0
			cfg.WriteTimeout = time.Second
			b := startBroker(t, cfg, l, nil)
			id := deviceID(sensor)
			refused := func(seq uint64) bool { return seq%3 == 0 }
			fakeNode(t, l, b, refused)
			d := &testonly.PlainDevice{
				Addr: b.Addr(), V5: v5, ID: id, Deaf: 3 * time.Second, ReadBuffer: 4096, Seen: testonly.NewMQTTSeen(id), Logf: t.Logf,
				Token: func() (string, error) { return mqttwire.Token(sensor, id, time.Now(), 5*time.Minute) },
			}
			for seq := uint64(1); seq <= n; seq++ {
				d.Readings = append(d.Readings, signed(t, sensor, seq))
			}
			run, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); d.Run(run) }()
			t.Cleanup(func() { stop(); <-done })

			missing := func() (out []uint64) {
				d.Seen.Do(func(s *testonly.MQTTSeen) {
					for seq := uint64(1); seq <= n; seq++ {
						_, acked := s.Acks[uint16(seq)]
						_, told := s.Errors[seq]
						if !acked || (refused(seq) && !told) {
							out = append(out, seq)
						}
					}
				})
				return out
			}
			wait, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			for len(missing()) > 0 {
				select {
				case <-d.Seen.Changed():
				case <-wait.Done():
					m := missing()
					t.Fatalf("%d readings neither acknowledged nor, when refused, explained, such as %v (Stats %+v)", len(m), m[:min(len(m), 10)], b.Stats())
				}
			}
			d.Seen.Do(func(s *testonly.MQTTSeen) {
				for seq, e := range s.Errors {
					if !refused(seq) || e.Reason != "rate_limited" {
						t.Errorf("error message for seq %d: %+v, want only the refused readings', rate_limited", seq, e)
					}
				}
				for id, code := range s.Acks {
					if code != 0 {
						t.Errorf("PUBACK for %d with %#x, want success", id, code)
					}
				}
			})
			st := b.Stats()
			t.Logf("connections %d, Stats %+v", d.Connections(), st)
			if st.NoticesDropped == 0 && d.Connections() == 1 {
				t.Error("the device was never behind: no message dropped, no connection closed")
			}
			poll(t, "no notice held", func() bool { return b.Stats().NoticesHeld == 0 })
		})
	}
}

// A refusal notice handed to a device that never acknowledged it comes
// back on its next connection when the session ended with the old one
// (clean session): mochi forgets it, the broker does not.
func TestNoticeOutlivesConnection(t *testing.T) {
	for _, v5 := range []bool{false, true} {
		t.Run(map[bool]string{false: "MQTT 3.1.1", true: "MQTT 5"}[v5], func(t *testing.T) {
			l := newLedger()
			b := startBroker(t, testConfig(), l, nil)
			id := deviceID(sensor)
			c := dial(t, b, sensor, v5)
			subscribed(t, c, mqttwire.ErrorsTopic(id))
			bad := signed(t, other, 9) // another device's reading: device_mismatch
			if err := c.Publish(mqttwire.ReadingsTopic(id), 1, 1, bad); err != nil {
				t.Fatal(err)
			}
			var notice *testonly.MQTTPacket
			for notice == nil {
				if p := next(t, c); p.Type == testonly.MQTTPublish {
					notice = p
				}
			}
			if !strings.Contains(string(notice.Payload), mqttwire.ReasonDeviceMismatch) {
				t.Fatalf("notice %s, want device_mismatch", notice.Payload)
			}
			c.Close() // without acknowledging it

			c = dial(t, b, sensor, v5)
			subscribed(t, c, mqttwire.ErrorsTopic(id))
			p := next(t, c)
			if p.Type != testonly.MQTTPublish || string(p.Payload) != string(notice.Payload) {
				t.Fatalf("got %+v on the next connection, want the notice again", p)
			}
			if err := c.Ack(testonly.MQTTPuback, p.ID); err != nil {
				t.Fatal(err)
			}
			poll(t, "the acknowledged notice is gone", func() bool { return b.Stats().NoticesHeld == 0 })
		})
	}
}

// A device that does not take its refusal notices gets no more PUBACKs
// once the broker holds owedMax notices and readings for it: it is
// disconnected without one (MQTT 5: 0x89 with a reason that says what to
// do), and gets the notices when it subscribes.
func TestOwedNoticesHoldPuback(t *testing.T) {
	l := newLedger()
	cfg := testConfig()
	cfg.BusyTimeout = 200 * time.Millisecond
	b := startBroker(t, cfg, l, func(b *Broker) { b.owedMax = 3 })
	id := deviceID(sensor)
	d := mustConnect(t, b, sensor) // not subscribed to its errors topic
	for seq := range uint64(3) {
		if code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, other, seq+1)); code != packets.ErrNotAuthorized.Code {
			t.Fatalf("PUBACK %#x (%v) for another device's reading, want 0x87", code, err)
		}
	}
	if code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, sensor, 1)); err == nil {
		t.Errorf("PUBACK %#x with three notices owed, want none", code)
	}
	if p := d.disconnected(t); p.ReasonCode != packets.ErrServerBusy.Code || !strings.Contains(p.Properties.ReasonString, "errors topic") {
		t.Errorf("DISCONNECT %#x %q, want 0x89 naming the errors topic", p.ReasonCode, p.Properties.ReasonString)
	}
	if len(l.submitted) != 0 {
		t.Error("the reading was queued, want it left for the device to send again")
	}
	d = mustConnect(t, b, sensor)
	d.subscribe(t, mqttwire.ErrorsTopic(id))
	var seqs []uint64
	for range 3 {
		e := decodeJSON[mqttwire.ErrorMessage](t, d.next(t).Payload)
		if e.Reason != mqttwire.ReasonDeviceMismatch || e.Seq == nil {
			t.Fatalf("notice %+v, want device_mismatch", e)
		}
		seqs = append(seqs, *e.Seq)
	}
	slices.Sort(seqs)
	if !slices.Equal(seqs, []uint64{1, 2, 3}) {
		t.Errorf("notices for seqs %v, want 1, 2, 3", seqs)
	}
	if code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, sensor, 1)); code != 0 {
		t.Errorf("PUBACK %#x (%v) once the notices went, want success", code, err)
	}
}

// A queued reading that is not committed within pending_ttl is answered
// not_committed, so the device knows to send it again.
func TestNotCommittedAfterTTL(t *testing.T) {
	l := newLedger()
	cfg := testConfig()
	cfg.PendingTTL = time.Minute
	var mu sync.Mutex
	now := time.Now()
	b := startBroker(t, cfg, l, func(b *Broker) {
		b.now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		}
	})
	id := deviceID(sensor)
	d := mustConnect(t, b, sensor)
	d.subscribe(t, mqttwire.ErrorsTopic(id))
	if code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, sensor, 4)); code != 0 {
		t.Fatalf("PUBACK %#x (%v), want success", code, err)
	}
	mu.Lock()
	now = now.Add(cfg.PendingTTL)
	mu.Unlock()
	e := decodeJSON[mqttwire.ErrorMessage](t, d.next(t).Payload)
	if e.Reason != mqttwire.ReasonNotCommitted || e.Seq == nil || *e.Seq != 4 || !strings.Contains(e.Detail, "send it again") {
		t.Errorf("notice %+v, want not_committed for seq 4 saying to send it again", e)
	}
	if st := b.Stats(); st.PendingEvicted != 1 || st.Pending != 0 {
		t.Errorf("Stats: PendingEvicted %d Pending %d, want 1 and 0", st.PendingEvicted, st.Pending)
	}
}

// While consensus has halted, a reading is not acknowledged: an MQTT 5
// device is disconnected with 0x89 and the halt's reason, an MQTT 3.1.1
// device's connection is closed. The broker logs the halt once, not once
// per reading; a new halt is logged again.
func TestHalted(t *testing.T) {
	l := newLedger()
	var mu sync.Mutex
	halt := &ingest.HaltedError{Since: time.Unix(1767225600, 0), Reason: "no block for 30s while transactions wait; free disk space and restart the node"}
	l.setSubmit(func([]byte) (verdict.Verdict, error) {
		mu.Lock()
		defer mu.Unlock()
		return verdict.Verdict{}, halt
	})
	logs := &logLines{}
	b, err := New(testConfig(), l.deps(), slog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	id := deviceID(sensor)

	for range 3 {
		d := mustConnect(t, b, sensor)
		if code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, sensor, 1)); err == nil {
			t.Fatalf("PUBACK %#x while halted, want none", code)
		}
		p := d.disconnected(t)
		if p.ReasonCode != packets.ErrServerBusy.Code || !strings.Contains(p.Properties.ReasonString, "consensus halted since 2026-01-01T00:00:00Z") ||
			!strings.Contains(p.Properties.ReasonString, "free disk space") {
			t.Errorf("DISCONNECT %#x %q, want 0x89 with the halt and its reason", p.ReasonCode, p.Properties.ReasonString)
		}
	}
	c := dial(t, b, sensor, false)
	if err := c.Publish(mqttwire.ReadingsTopic(id), 1, 1, signed(t, sensor, 1)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if p, err := c.Next(); err == nil || !testonly.IsClosed(err) {
		t.Errorf("MQTT 3.1.1 client got %+v, %v while halted; want the connection closed", p, err)
	}
	if n := logs.count("consensus has halted"); n != 1 {
		t.Errorf("the halt was logged %d times for 4 readings, want once", n)
	}

	mu.Lock()
	halt = &ingest.HaltedError{Since: halt.Since.Add(time.Hour), Reason: "CONSENSUS FAILURE"}
	mu.Unlock()
	d := mustConnect(t, b, sensor)
	if code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, sensor, 1)); err == nil {
		t.Fatalf("PUBACK %#x while halted, want none", code)
	}
	d.disconnected(t)
	if n := logs.count("consensus has halted"); n != 2 {
		t.Errorf("two halts logged %d times, want twice", n)
	}
	if st := b.Stats(); st.Halted != 5 || st.Queued != 0 || st.Pending != 0 {
		t.Errorf("Stats: Halted %d Queued %d Pending %d, want 5, 0, 0", st.Halted, st.Queued, st.Pending)
	}
}

// The bridge waits while consensus has halted: the reading stays
// unacknowledged in the operator's broker until the node can queue it.
func TestBridgeWaitsWhileHalted(t *testing.T) {
	l := newLedger()
	var mu sync.Mutex
	halts := 2
	l.setSubmit(func(raw []byte) (verdict.Verdict, error) {
		mu.Lock()
		defer mu.Unlock()
		if halts > 0 {
			halts--
			return verdict.Verdict{}, &ingest.HaltedError{Since: time.Unix(1, 0), Reason: "test"}
		}
		return queue(raw)
	})
	cfg := testConfig()
	cfg.Enabled = false
	b, err := New(cfg, l.deps(), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	v := b.receive(ctx(t), sinkBridge, mqttwire.ReadingsTopic(deviceID(sensor)), signed(t, sensor, 1), 0)
	if !v.ack || v.code.Code != 0 {
		t.Errorf("verdict %+v, want acknowledged once queued", v)
	}
	if st := b.Stats(); st.Halted != 2 || st.Queued != 1 {
		t.Errorf("Stats: Halted %d Queued %d, want 2 and 1", st.Halted, st.Queued)
	}
}

// QoS 2 follows the protocol: PUBREC, PUBREL, PUBCOMP, never a PUBACK.
// A refused reading gets the same from an MQTT 3.1.1 client (3.1.1 has no
// negative acknowledgement; the reason is on the errors topic), and a
// PUBREC with the reason code from an MQTT 5 client, which ends the
// exchange.
func TestQoS2(t *testing.T) {
	id := deviceID(sensor)
	tests := []struct {
		name    string
		v5      bool
		payload []byte
		pubrec  byte // MQTT 5 reason of the PUBREC
		queued  bool
	}{
		{"MQTT 3.1.1", false, signed(t, sensor, 1), 0, true},
		{"MQTT 3.1.1 refused", false, []byte("not a reading"), 0, false},
		{"MQTT 5", true, signed(t, sensor, 1), 0, true},
		{"MQTT 5 refused", true, []byte("not a reading"), packets.ErrPayloadFormatInvalid.Code, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger()
			b := startBroker(t, testConfig(), l, nil)
			c := dial(t, b, sensor, tt.v5)
			subscribed(t, c, mqttwire.ErrorsTopic(id))
			if err := c.Publish(mqttwire.ReadingsTopic(id), 2, 7, tt.payload); err != nil {
				t.Fatal(err)
			}
			var notice []byte
			var rec *testonly.MQTTPacket
			for rec == nil {
				switch p := next(t, c); p.Type {
				case testonly.MQTTPublish:
					notice = p.Payload
					_ = c.Ack(testonly.MQTTPuback, p.ID)
				case testonly.MQTTPubrec:
					rec = p
				default:
					t.Fatalf("packet type %d (%+v), want PUBREC", p.Type, p)
				}
			}
			if rec.ID != 7 || rec.Reason != tt.pubrec {
				t.Fatalf("PUBREC for %d with %#x, want 7 with %#x", rec.ID, rec.Reason, tt.pubrec)
			}
			if rec.Reason < 0x80 {
				if err := c.Ack(testonly.MQTTPubrel, 7); err != nil {
					t.Fatal(err)
				}
				var comp *testonly.MQTTPacket
				for comp == nil {
					switch p := next(t, c); p.Type {
					case testonly.MQTTPublish:
						notice = p.Payload
						_ = c.Ack(testonly.MQTTPuback, p.ID)
					case testonly.MQTTPubcomp:
						comp = p
					default:
						t.Fatalf("packet type %d (%+v), want PUBCOMP", p.Type, p)
					}
				}
				if comp.ID != 7 || comp.Reason != 0 {
					t.Errorf("PUBCOMP for %d with %#x, want 7 with success", comp.ID, comp.Reason)
				}
			}
			if tt.queued != (len(l.submitted) == 1) {
				t.Errorf("%d readings queued, want queued %v", len(l.submitted), tt.queued)
			}
			if !tt.queued {
				for notice == nil {
					if p := next(t, c); p.Type == testonly.MQTTPublish {
						notice = p.Payload
					}
				}
				if !strings.Contains(string(notice), "malformed_reading") {
					t.Errorf("notice %s, want malformed_reading", notice)
				}
			}
			// The connection goes on: a QoS 1 reading next.
			if err := c.Publish(mqttwire.ReadingsTopic(id), 1, 8, signed(t, sensor, 2)); err != nil {
				t.Fatal(err)
			}
			for {
				if p := next(t, c); p.Type == testonly.MQTTPuback {
					if p.ID != 8 || p.Reason != 0 {
						t.Errorf("PUBACK %+v, want 8 with success", p)
					}
					break
				}
			}
		})
	}
}

// The same through paho (MQTT 5): QoS 2 publishes complete.
func TestQoS2Paho(t *testing.T) {
	l := newLedger()
	b := startBroker(t, testConfig(), l, nil)
	d := mustConnect(t, b, sensor)
	id := deviceID(sensor)
	if code, err := d.publishQoS(t, 2, mqttwire.ReadingsTopic(id), signed(t, sensor, 1)); code != 0 || err != nil {
		t.Errorf("QoS 2 publish: %#x, %v; want success", code, err)
	}
	if code, _ := d.publishQoS(t, 2, mqttwire.ReadingsTopic(id), []byte("x")); code != packets.ErrPayloadFormatInvalid.Code {
		t.Errorf("QoS 2 publish of garbage: %#x, want 0x99", code)
	}
	raw := <-l.submitted
	if s, err := reading.Decode(raw); err != nil || s.Seq != 1 {
		t.Errorf("queued %x (%v), want seq 1", raw, err)
	}
}
