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
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/mqttwire"
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
}

func TestLimiter(t *testing.T) {
	start := time.Unix(1000, 0)
	l := newLimiter(2, 3, 2)
	var got []bool
	for range 4 {
		got = append(got, l.allow("a", start))
	}
	got = append(got, l.allow("a", start.Add(500*time.Millisecond)))  // one token back
	got = append(got, l.allow("a", start.Add(500*time.Millisecond)))  // none left
	got = append(got, l.allow("b", start.Add(500*time.Millisecond)))  // a bucket of its own
	got = append(got, l.allow("c", start.Add(time.Hour)))             // table full: full buckets go
	got = append(got, l.allow("a", start.Add(time.Hour)))             // a full bucket again
	got = append(got, l.allow("a", start.Add(time.Hour-time.Second))) // time going back gives nothing
	want := []bool{true, true, true, false, true, false, true, true, true, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("allow (-want +got):\n%s", diff)
	}
	if len(l.buckets) > 2 {
		t.Errorf("%d buckets, want at most 2", len(l.buckets))
	}
	if !newLimiter(0, 0, 1).allow("a", start) {
		t.Error("rate 0 limited a reading")
	}
}

func TestPendingTable(t *testing.T) {
	start := time.Unix(1000, 0)
	h := func(b byte) [32]byte { return [32]byte{b} }
	p := newPendingTable(3, time.Minute)

	p.add(h(1), "a", 1, sinkEmbedded, start)
	p.add(h(1), "a", 1, sinkBridge, start) // the same reading from the bridge
	p.add(h(2), "a", 2, sinkEmbedded, start)
	p.drop(h(2), sinkEmbedded)
	if _, ok := p.take(h(2)); ok {
		t.Error("dropped entry still there")
	}
	p.drop(h(1), sinkEmbedded)
	e, ok := p.take(h(1))
	if !ok || e.sinks != sinkBridge || e.device != "a" || e.seq != 1 {
		t.Errorf("take = %+v, %v; want device a seq 1 from the bridge", e, ok)
	}

	// Size bound: the oldest goes.
	for i := range byte(4) {
		p.add(h(10+i), "a", uint64(i), sinkEmbedded, start)
	}
	if _, ok := p.take(h(10)); ok || p.len() != 3 || p.evictions() != 1 {
		t.Errorf("after 4 adds to a table of 3: oldest kept %v, len %d, evictions %d", ok, p.len(), p.evictions())
	}
	// Age bound: entries older than the ttl go when the next comes.
	p.add(h(20), "a", 20, sinkEmbedded, start.Add(time.Minute))
	if p.len() != 1 || p.evictions() != 4 {
		t.Errorf("after the ttl: len %d, evictions %d; want 1 and 4", p.len(), p.evictions())
	}

	outcomes := []app.Outcome{{Hash: h(99)}, {Hash: h(20), Status: "accepted"}}
	m := p.takeOutcomes(outcomes)
	if len(m) != 1 || m[0].outcome != &outcomes[1] || m[0].entry.seq != 20 {
		t.Errorf("takeOutcomes = %+v, want the entry of seq 20", m)
	}
	if p.len() != 0 {
		t.Errorf("len %d after takeOutcomes, want 0", p.len())
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
		Submit: func(_ context.Context, raws [][]byte, _ bool) ([]ingest.Result, error) {
			calls <- len(raws)
			if first {
				first = false
				<-release
			}
			return make([]ingest.Result, len(raws)), nil
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
