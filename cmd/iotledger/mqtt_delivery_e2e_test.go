package main_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/reading"
)

// newDevice registers another device on the node of flags and returns its key.
func newDevice(t *testing.T, flags []string, name string) *keystore.Key {
	t.Helper()
	home := flags[1] // --home H
	testonly.MustRun(t, "keys", "new", name, "--home", home)
	testonly.MustRun(t, append([]string{"device", "register", "--owner", "owner", "--key", name}, flags...)...)
	k, err := keystore.Load(home, name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// committedSeqs returns the sequence numbers of device id's committed readings.
func committedSeqs(ctx context.Context, c *client.Client, id string) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	from := uint64(0)
	for {
		p, err := c.Readings(ctx, id, client.ReadingQuery{From: from, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, r := range p.Readings {
			out[r.Seq] = true
		}
		if p.Next == nil {
			return out, nil
		}
		from = *p.Next
	}
}

// A device that speaks plain MQTT, with a small TCP window, publishes
// 1,500 readings at QoS 1, a burst above its rate (1,000 at once, then 100
// a second), and does not read for 12 s (MQTT 3.1.1: its socket, past the
// broker's 10 s write timeout; MQTT 5: it reads its PUBACKs but
// acknowledges nothing), then reads, and after a lost connection connects
// again and resends only what got no PUBACK. Every reading that got a PUBACK is committed, or the
// device received its refusal notice on its errors topic.
func TestMQTTSlowConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	n, k1, flags := mqttHome(t)
	k2 := newDevice(t, flags, "dev2")
	api := clientFor(n)
	for _, tc := range []struct {
		name string
		v5   bool
		key  *keystore.Key
	}{{"MQTT 3.1.1", false, k1}, {"MQTT 5", true, k2}} {
		t.Run(tc.name, func(t *testing.T) {
			const count = 1500
			id := tc.key.DeviceID()
			d := &testonly.PlainDevice{
				Addr: n.MQTTAddr, V5: tc.v5, ID: id, Deaf: 12 * time.Second, ReadBuffer: 4096, Seen: testonly.NewMQTTSeen(id), Logf: t.Logf,
				Token: func() (string, error) { return mqttwire.Token(tc.key.Private, id, time.Now(), 5*time.Minute) },
			}
			now := time.Now().UnixMilli()
			for seq := uint64(1); seq <= count; seq++ {
				raw, err := reading.Sign(reading.Reading{Seq: seq, Time: now + int64(seq), Data: map[string]any{"t": float64(seq) / 10}}, tc.key.Private)
				if err != nil {
					t.Fatal(err)
				}
				d.Readings = append(d.Readings, raw)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			run, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); d.Run(run) }()
			defer func() { stop(); <-done }()

			testonly.Poll(t, ctx, "every reading acknowledged", func() (bool, error) { return d.Acked() == count, nil })
			// What the device was told nothing about is committed; what
			// is not committed was explained. The node needs a few blocks.
			var unexplained []uint64
			var committed map[uint64]bool
			last := -1
			testonly.Poll(t, ctx, "every acknowledged reading committed or explained", func() (bool, error) {
				var err error
				if committed, err = committedSeqs(ctx, api, id); err != nil {
					return false, err
				}
				unexplained = unexplained[:0]
				d.Seen.Do(func(s *testonly.MQTTSeen) {
					for seq := uint64(1); seq <= count; seq++ {
						_, told := s.Errors[seq]
						if code, acked := s.Acks[uint16(seq)]; acked && code < 0x80 && !committed[seq] && !told {
							unexplained = append(unexplained, seq)
						}
					}
				})
				if len(unexplained) != last {
					last = len(unexplained)
					t.Logf("%d acknowledged readings neither committed nor explained yet, such as %v", last, unexplained[:min(5, last)])
				}
				return last == 0, nil
			})
			reasons := map[string]int{}
			d.Seen.Do(func(s *testonly.MQTTSeen) {
				for seq, e := range s.Errors {
					reasons[e.Reason]++
					if committed[seq] {
						t.Errorf("seq %d is committed but the device was told %q: %s", seq, e.Reason, e.Detail)
					}
				}
				for id, code := range s.Acks {
					if code >= 0x80 {
						t.Errorf("PUBACK for %d with %#x, want success (the broker holds a reading back instead of refusing it)", id, code)
					}
				}
			})
			t.Logf("%d readings acknowledged: %d committed, refusal notices %v; %d connections", count, len(committed), reasons, d.Connections())
		})
	}
}

// mosquitto_pub -q 2, at MQTT 3.1.1 and 5, against the node's embedded
// broker: the QoS 2 exchange completes (PUBREC, PUBREL, PUBCOMP, never a
// PUBACK), mosquitto_pub exits 0, and the reading is committed with a
// receipt that verifies. A refused reading is reported by mosquitto_pub
// at MQTT 5 (PUBREC with 0x99).
func TestMQTTQoS2Mosquitto(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		t.Skip("mosquitto_pub is not installed (apt-get install -y mosquitto-clients)")
	}
	n, k, flags := mqttHome(t)
	id := k.DeviceID()
	api := clientFor(n)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	host, port, _ := net.SplitHostPort(n.MQTTAddr)
	pub := func(version string, payload []byte) string {
		t.Helper()
		f := filepath.Join(t.TempDir(), "reading.cbor")
		if err := os.WriteFile(f, payload, 0o644); err != nil {
			t.Fatal(err)
		}
		tok, err := mqttwire.Token(k.Private, id, time.Now(), 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(ctx, "mosquitto_pub", "-h", host, "-p", port, "-V", version, "-q", "2", "-d",
			"-i", id, "-u", id, "-P", tok, "-t", mqttwire.ReadingsTopic(id), "-f", f).CombinedOutput()
		if err != nil {
			t.Fatalf("mosquitto_pub -V %s -q 2: %v\n%s", version, err, out)
		}
		if strings.Contains(string(out), "PUBACK") {
			t.Errorf("mosquitto_pub -V %s -q 2 got a PUBACK:\n%s", version, out)
		}
		return string(out)
	}
	for i, version := range []string{"mqttv311", "mqttv5"} {
		seq := uint64(i + 1)
		raw, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(), Data: map[string]any{"qos": 2.0}}, k.Private)
		if err != nil {
			t.Fatal(err)
		}
		if out := pub(version, raw); !strings.Contains(out, "received PUBCOMP") {
			t.Errorf("mosquitto_pub -V %s printed\n%s\nwant the PUBCOMP", version, out)
		}
		testonly.Poll(t, ctx, fmt.Sprintf("seq %d (%s) committed", seq, version), func() (bool, error) {
			_, err := api.Receipt(ctx, id, seq)
			return err == nil, nil
		})
		verifyReceipt(t, n, flags, id, seq)
	}
	if out := pub("mqttv5", []byte("not a reading")); !strings.Contains(out, "Warning: Publish 1 failed: Payload format invalid.") {
		t.Errorf("mosquitto_pub -V mqttv5 of garbage printed\n%s\nwant the refusal reported", out)
	}
}
