package mqtt

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/verdict"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // "" means valid; otherwise the field the error names
	}{
		{"default", func(*Config) {}, ""},
		{"broker off, no address", func(c *Config) { c.Enabled, c.Addr = false, "" }, ""},
		{"bridge", func(c *Config) { c.Bridge.URL = "tcp://broker.example:1883" }, ""},
		{"bridge over TLS", func(c *Config) { c.Bridge.URL, c.Bridge.InsecureSkipVerify = "tls://broker.example:8883", true }, ""},
		{"address without port", func(c *Config) { c.Addr = "127.0.0.1" }, "mqtt.addr"},
		{"token ttl 0", func(c *Config) { c.TokenMaxTTL = 0 }, "mqtt.token_max_ttl"},
		{"negative skew", func(c *Config) { c.ClockSkew = -time.Second }, "mqtt.clock_skew"},
		{"negative rate", func(c *Config) { c.RatePerDevice = -1 }, "mqtt.readings_per_second"},
		{"no burst", func(c *Config) { c.Burst = 0 }, "mqtt.burst"},
		{"no burst, no limit", func(c *Config) { c.Burst, c.RatePerDevice = 0, 0 }, ""},
		{"packets smaller than a reading", func(c *Config) { c.MaxPacketBytes = 4096 }, "mqtt.max_packet_bytes"},
		{"no clients", func(c *Config) { c.MaxClients = 0 }, "mqtt.max_clients"},
		{"keep alive 0", func(c *Config) { c.MaxKeepAlive = 0 }, "mqtt.max_keep_alive"},
		{"connect timeout 0", func(c *Config) { c.ConnectTimeout = 0 }, "mqtt.connect_timeout"},
		{"write timeout 0", func(c *Config) { c.WriteTimeout = 0 }, "mqtt.write_timeout"},
		{"busy timeout 0", func(c *Config) { c.BusyTimeout = 0 }, "mqtt.busy_timeout"},
		{"pending 0", func(c *Config) { c.PendingMax = 0 }, "mqtt.pending_max"},
		{"pending ttl 0", func(c *Config) { c.PendingTTL = 0 }, "mqtt.pending_ttl"},
		{"bridge scheme", func(c *Config) { c.Bridge.URL = "http://broker.example:1883" }, "mqtt.bridge.url"},
		{"bridge without port", func(c *Config) { c.Bridge.URL = "tcp://broker.example" }, "mqtt.bridge.url"},
		{"bridge credentials in url", func(c *Config) { c.Bridge.URL = "tcp://u:p@broker.example:1883" }, "mqtt.bridge.url"},
		{"TLS options on tcp", func(c *Config) { c.Bridge.URL, c.Bridge.InsecureSkipVerify = "tcp://broker.example:1883", true }, "mqtt.bridge"},
		{"cert without key", func(c *Config) {
			c.Bridge.URL, c.Bridge.CertFile = "tls://broker.example:8883", "parts_test.go"
		}, "mqtt.bridge"},
		{"missing CA file", func(c *Config) { c.Bridge.URL, c.Bridge.CAFile = "tls://broker.example:8883", "/nonexistent/ca.pem" }, "mqtt.bridge.ca_file"},
		{"group with a slash", func(c *Config) { c.Bridge.URL, c.Bridge.Group = "tcp://broker.example:1883", "a/b" }, "mqtt.bridge.group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestReasonNames(t *testing.T) {
	if got := app.CodeRateLimited.String(); got != mqttwire.ReasonRateLimited {
		t.Errorf("app.CodeRateLimited is %q, the broker's own reason %q: one name for one reason", got, mqttwire.ReasonRateLimited)
	}
	for _, c := range app.Codes() {
		if c.String() == mqttwire.ReasonDeviceMismatch {
			t.Errorf("app code %d is named %q like the broker's own reason", c, mqttwire.ReasonDeviceMismatch)
		}
	}
}

func TestTopicChecks(t *testing.T) {
	id := deviceID(sensor)
	for _, tt := range []struct {
		topic string
		ok    bool
	}{
		{mqttwire.ReadingsTopic(id), true},
		{mqttwire.ReceiptsTopic(id), false},
		{"iotledger/v1/devices/sensor-1/readings", false},
		{"iotledger/v1/devices/" + strings.ToUpper(id) + "/readings", false},
		{"iotledger/v1/devices/" + id + "/x/readings", false},
		{"/iotledger/v1/devices/" + id + "/readings", false},
		{"", false},
	} {
		got, ok := readingsDevice(tt.topic)
		if ok != tt.ok || (ok && got != id) {
			t.Errorf("readingsDevice(%q) = %q, %v; want ok %v", tt.topic, got, ok, tt.ok)
		}
	}
	for _, tt := range []struct {
		id, topic string
		want      bool
	}{
		{id, mqttwire.ReceiptsTopic(id), true},
		{id, mqttwire.TopicPrefix + id + "/#", true},
		{id, mqttwire.TopicPrefix + id, false},
		{id, mqttwire.TopicPrefix + id + "x/receipts", false},
		{id, mqttwire.TopicPrefix + "#", false},
		{"", mqttwire.TopicPrefix + "/receipts", false},
		{"+", mqttwire.TopicPrefix + "+/receipts", false},
	} {
		if got := ownTopic(tt.id, tt.topic); got != tt.want {
			t.Errorf("ownTopic(%q, %q) = %v, want %v", tt.id, tt.topic, got, tt.want)
		}
	}
	for _, tt := range []struct {
		id, topic string
		want      bool
	}{
		{id, mqttwire.ErrorsTopic(id), true},
		{id, mqttwire.ReceiptsTopic(id), false},
		{id, mqttwire.ErrorsTopic(deviceID(other)), false},
		{id, mqttwire.TopicPrefix + id + "x/errors", false},
		{id, mqttwire.ErrorsTopic(id) + "/", false},
		{id, "x" + mqttwire.ErrorsTopic(id), false},
	} {
		if got := isErrorsTopic(tt.id, tt.topic); got != tt.want {
			t.Errorf("isErrorsTopic(%q, %q) = %v, want %v", tt.id, tt.topic, got, tt.want)
		}
	}
}

func TestPendingTable(t *testing.T) {
	start := time.Unix(1000, 0)
	h := func(b byte) [32]byte { return [32]byte{b} }
	p := newPendingTable(3, time.Minute)

	p.add(h(1), "a", 1, sinkEmbedded, start)
	p.add(h(1), "a", 1, sinkBridge, start) // the same reading from the bridge
	p.add(h(2), "a", 2, sinkEmbedded, start)
	if n := p.waiting("a"); n != 2 {
		t.Errorf("waiting(a) = %d, want 2", n)
	}
	p.drop(h(2), sinkEmbedded)
	if _, ok := p.take(h(2)); ok {
		t.Error("dropped entry still there")
	}
	p.drop(h(1), sinkEmbedded)
	if n := p.waiting("a"); n != 0 {
		t.Errorf("waiting(a) = %d after the embedded readings went, want 0", n)
	}
	e, ok := p.take(h(1))
	if !ok || e.sinks != sinkBridge || e.device != "a" || e.seq != 1 {
		t.Errorf("take = %+v, %v; want device a seq 1 from the bridge", e, ok)
	}

	// Size bound: the oldest goes, and add returns it.
	var evicted []pendingEntry
	for i := range byte(4) {
		evicted = append(evicted, p.add(h(10+i), "a", uint64(i), sinkEmbedded, start.Add(time.Duration(i)*time.Second))...)
	}
	if len(evicted) != 1 || evicted[0].seq != 0 || p.len() != 3 || p.evictions() != 1 || p.waiting("a") != 3 {
		t.Errorf("after 4 adds to a table of 3: evicted %+v, len %d, evictions %d, waiting %d; want seq 0, 3, 1, 3",
			evicted, p.len(), p.evictions(), p.waiting("a"))
	}
	// Age bound: expire returns the entries older than the ttl.
	old := p.expire(start.Add(time.Minute + 2*time.Second))
	var seqs []uint64
	for _, e := range old {
		seqs = append(seqs, e.seq)
	}
	if diff := cmp.Diff([]uint64{1, 2}, seqs); diff != "" || p.len() != 1 || p.evictions() != 3 || p.waiting("a") != 1 {
		t.Errorf("expire: seqs (-want +got):\n%s; len %d, evictions %d, waiting %d; want 1, 3, 1", diff, p.len(), p.evictions(), p.waiting("a"))
	}

	p.add(h(20), "a", 20, sinkEmbedded, start.Add(time.Minute))
	outcomes := []app.Outcome{{Hash: h(99)}, {Hash: h(20), Verdict: verdict.Verdict{Status: "accepted"}}}
	m := p.takeOutcomes(outcomes)
	if len(m) != 1 || m[0].outcome != &outcomes[1] || m[0].entry.seq != 20 {
		t.Errorf("takeOutcomes = %+v, want the entry of seq 20", m)
	}
	if p.len() != 1 || p.waiting("a") != 1 {
		t.Errorf("len %d, waiting %d after takeOutcomes, want 1 and 1", p.len(), p.waiting("a"))
	}
}

func TestMailbox(t *testing.T) {
	start := time.Unix(1000, 0)
	m := newMailbox(3)
	if !m.put("a", []byte("1"), start, true) || !m.put("a", []byte("1"), start, true) || !m.put("a", []byte("2"), start.Add(time.Second), false) {
		t.Fatal("put refused with room left")
	}
	if n := m.count("a"); n != 2 {
		t.Errorf("count(a) = %d, want 2 (a notice is held once)", n)
	}
	if !m.put("b", []byte("1"), start, false) || m.put("b", []byte("2"), start, true) || !m.full() {
		t.Error("the fourth notice was taken by a mailbox of 3")
	}
	if diff := cmp.Diff([]string{"a"}, m.takeDirty()); diff != "" {
		t.Errorf("dirty (-want +got):\n%s", diff)
	}
	m.wake("c") // nothing held: not dirty
	m.wake("b")
	if diff := cmp.Diff([]string{"b"}, m.takeDirty()); diff != "" {
		t.Errorf("dirty after wake (-want +got):\n%s", diff)
	}
	got := m.take("a", 1)
	if len(got) != 1 || string(got[0].payload) != "1" || m.count("a") != 1 {
		t.Errorf("take(a, 1) = %+v, count %d; want the oldest and 1 left", got, m.count("a"))
	}
	if n := m.expire(start.Add(time.Second)); n != 1 || m.count("b") != 0 || m.count("a") != 1 {
		t.Errorf("expire dropped %d, left a %d b %d; want 1 (b's), 1, 0", n, m.count("a"), m.count("b"))
	}
	if n := m.total.Load(); n != 1 {
		t.Errorf("total %d, want 1", n)
	}
}

// Readings that arrive while a Submit call runs go together in the next
// call: ingest verifies a call's readings as one batch.
func TestGatherSharesASubmit(t *testing.T) {
	release := make(chan struct{})
	calls := make(chan int, 10) // the number of readings of each call
	first := true
	cfg := testConfig()
	cfg.Enabled = false
	b, err := New(cfg, Deps{
		Submit: func(_ context.Context, raws [][]byte, _ bool) ([]verdict.Verdict, error) {
			calls <- len(raws)
			if first {
				first = false
				<-release
			}
			return make([]verdict.Verdict, len(raws)), nil
		},
		Device: newLedger().Device,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.gatherers = 1
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	c := ctx(t)
	var wg sync.WaitGroup
	submit := func(seq byte) {
		wg.Go(func() {
			if _, err := b.submitOne(c, []byte{seq}); err != nil {
				t.Errorf("submitOne: %v", err)
			}
		})
	}
	submit(1)
	if n := <-calls; n != 1 {
		t.Fatalf("first call carried %d readings, want 1", n)
	}
	for seq := range byte(4) {
		submit(2 + seq)
	}
	for len(b.gather) < 4 { // the four wait behind the first call
		if c.Err() != nil {
			t.Fatal("readings did not queue")
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if n := <-calls; n != 4 {
		t.Errorf("second call carried %d readings, want the 4 that waited", n)
	}
}
