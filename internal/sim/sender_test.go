package sim_test

import (
	"errors"
	"testing"

	"github.com/iotledger/iotledger/internal/sim"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080/", true},
		{"tcp://127.0.0.1:26657", true},
		{"http://[::1]:8080", true},
		{"127.0.0.1:26657", true},
		{"127.0.0.2:1883", true},
		{"http://10.0.0.1:8080", false},
		{"tcp://example.com:26657", false},
		{"192.168.1.5:26657", false},
		{"http://0.0.0.0:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := sim.CheckLoopback(tt.addr)
			if got := err == nil; got != tt.ok {
				t.Errorf("CheckLoopback(%q) = %v, want ok %v", tt.addr, err, tt.ok)
			}
		})
	}
}

func TestMQTTIsNotYetAvailable(t *testing.T) {
	s, err := sim.NewSender(sim.ViaMQTT, sim.Endpoints{MQTT: "tcp://127.0.0.1:1883"})
	if !errors.Is(err, sim.ErrMQTTUnavailable) || s != nil {
		t.Errorf("NewSender(mqtt) = %v, %v; want ErrMQTTUnavailable", s, err)
	}
	if _, err := sim.NewSender("carrier-pigeon", sim.Endpoints{}); err == nil {
		t.Error("NewSender(carrier-pigeon) succeeded")
	}
}

func TestFleetIsDerivedFromTheSeed(t *testing.T) {
	a, b, c := sim.NewFleet("s", 3), sim.NewFleet("s", 3), sim.NewFleet("t", 3)
	seen := map[string]bool{}
	for i := range 3 {
		if a.ID(i) != b.ID(i) {
			t.Errorf("device %d: %s and %s from the same seed", i, a.ID(i), b.ID(i))
		}
		if a.ID(i) == c.ID(i) {
			t.Errorf("device %d: %s from two seeds", i, a.ID(i))
		}
		if seen[a.ID(i)] {
			t.Errorf("device %d: %s twice in one fleet", i, a.ID(i))
		}
		seen[a.ID(i)] = true
	}
}
