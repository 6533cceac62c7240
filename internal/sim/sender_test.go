package sim_test

import (
	"strings"
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

func TestNewSender(t *testing.T) {
	tests := []struct {
		name string
		via  string
		ep   sim.Endpoints
		want string // in the error; "" for none
	}{
		{"http", sim.ViaHTTP, sim.Endpoints{API: "http://127.0.0.1:8080"}, ""},
		{"mqtt", sim.ViaMQTT, sim.Endpoints{MQTT: "tcp://127.0.0.1:1883"}, ""},
		{"mqtt elsewhere", sim.ViaMQTT, sim.Endpoints{MQTT: "tcp://10.0.0.1:1883"}, "not a loopback address"},
		{"mqtt over http", sim.ViaMQTT, sim.Endpoints{MQTT: "http://127.0.0.1:1883"}, "want tcp://HOST:PORT"},
		{"mqtt without a port", sim.ViaMQTT, sim.Endpoints{MQTT: "tcp://127.0.0.1"}, "want tcp://HOST:PORT"},
		{"carrier pigeon", "carrier-pigeon", sim.Endpoints{}, "want http or mqtt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sim.NewSender(tt.via, tt.ep)
			if tt.want == "" {
				if err != nil || s == nil {
					t.Fatalf("NewSender = %v, %v; want a sender", s, err)
				}
				s.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || s != nil {
				t.Errorf("NewSender = %v, %v; want no sender and an error with %q", s, err, tt.want)
			}
		})
	}
}

// Sending over MQTT before the devices are connected is an error, not a
// hang.
func TestMQTTSendsOnlyAfterConnect(t *testing.T) {
	s, err := sim.MQTT("tcp://127.0.0.1:1883")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if fates, err := s.Send(t.Context(), [][]byte{{1}}); err == nil {
		t.Errorf("Send before Connect = %v, want an error", fates)
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
