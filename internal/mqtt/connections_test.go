package mqtt

import (
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestConnections: devices past CONNECT count while connected; refused
// ones never do.
func TestConnections(t *testing.T) {
	b := startBroker(t, testConfig(), newLedger(), nil)
	if got := b.Connections(); got != 0 {
		t.Fatalf("Connections before any device = %d, want 0", got)
	}
	d1 := mustConnect(t, b, sensor)
	mustConnect(t, b, other)
	if _, ca, _ := connect(t, b.Addr(), deviceID(spare), token(t, spare, deviceID(spare))); ca == nil || ca.ReasonCode == 0 {
		t.Fatalf("an unregistered device connected: %+v", ca)
	}
	if got := b.Connections(); got != 2 {
		t.Errorf("Connections with two devices = %d, want 2", got)
	}
	if err := d1.c.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Connections() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("Connections after one device left = %d, want 1", b.Connections())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConnectionsBrokerOff(t *testing.T) {
	cfg := testConfig()
	cfg.Enabled = false
	b, err := New(cfg, newLedger().deps(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Connections(); got != 0 {
		t.Errorf("Connections of a broker that is off = %d, want 0", got)
	}
}
