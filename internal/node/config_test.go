package node_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/node"
)

// TestConfigFileRoundTrip: the commented file init writes reads back as
// the configuration it was written from.
func TestConfigFileRoundTrip(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	want := node.Default()
	if err := want.Validate(); err != nil {
		t.Fatalf("Default does not validate: %v", err)
	}
	if err := node.WriteConfig(filepath.Join(home, "config", node.ConfigFile), want); err != nil {
		t.Fatal(err)
	}
	got, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("config read back (-got +want):\n%s", diff)
	}
}

func TestConfigValidateAPI(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*node.Config)
		want string // in the error; "" for none
	}{
		{"limit off", func(c *node.Config) { c.API.RatePerIP = 0; c.API.BurstPerIP = 0 }, ""},
		{"negative rate", func(c *node.Config) { c.API.RatePerIP = -1 }, "api.rate_per_ip"},
		{"no burst", func(c *node.Config) { c.API.BurstPerIP = 0 }, "api.burst_per_ip"},
		{"no clients", func(c *node.Config) { c.API.MaxIPs = 0 }, "api.max_ips"},
		{"no event replay", func(c *node.Config) { c.API.EventReplayBlocks = 0 }, "api.event_replay_blocks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := node.Default()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}
