package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestnetHosts: --hosts gives each node its own address (here ones
// this machine does not have, as in network namespaces: their ports are
// not checked), in its config and its peers' lists.
func TestTestnetHosts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tn")
	out := mustRun(t, "testnet", "-n", "3", "--out", dir, "--hosts", "10.250.7.1,10.250.7.2,10.250.7.3", "--base-port", "27000")
	for _, want := range []string{"http://10.250.7.1:27002", "10.250.7.2:27011", "10.250.7.3:27020"} {
		if !strings.Contains(out, want) {
			t.Errorf("testnet printed no %s:\n%s", want, out)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "node1", "config", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`laddr = "tcp://10.250.7.2:27010"`, `laddr = "tcp://10.250.7.2:27011"`, "@10.250.7.1:27000", "@10.250.7.3:27020"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("node1's config.toml has no %s", want)
		}
	}
	own, err := os.ReadFile(filepath.Join(dir, "node2", "config", "iotledger.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(own), `addr = "10.250.7.3:27022"`) {
		t.Errorf("node2's iotledger.toml does not put the API on 10.250.7.3:27022")
	}

	mustFail(t, 1, []string{"3 nodes with 2 hosts", "--hosts"}, "testnet", "-n", "3", "--out", filepath.Join(t.TempDir(), "a"), "--hosts", "10.0.0.1,10.0.0.2")
	mustFail(t, 1, []string{`"node-a" is not an IP address`}, "testnet", "-n", "1", "--out", filepath.Join(t.TempDir(), "b"), "--hosts", "node-a")
}
