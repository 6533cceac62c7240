package testonly

import (
	"testing"

	"github.com/iotledger/iotledger/internal/keystore"
)

// DeviceNode initialises a home in a temporary folder for chainID with an
// owner account key "owner" and a device key "dev1", starts a node on it
// (`iotledger start` with args) and registers dev1, owned by owner. It
// returns the node, dev1's key and the flags (--home, --api, --rpc) that
// point a command at that node.
func DeviceNode(t testing.TB, chainID string, args ...string) (*Node, *keystore.Key, []string) {
	t.Helper()
	home := t.TempDir()
	MustRun(t, "init", "--home", home, "--chain-id", chainID)
	MustRun(t, "keys", "new", "owner", "--home", home)
	MustRun(t, "keys", "new", "dev1", "--home", home)
	n := StartNode(t, home, "start", args...)
	flags := []string{"--home", home, "--api", n.URL(), "--rpc", n.RPCAddr}
	MustRun(t, append([]string{"device", "register", "--owner", "owner", "--key", "dev1"}, flags...)...)
	k, err := keystore.Load(home, "dev1")
	if err != nil {
		t.Fatal(err)
	}
	return n, k, flags
}
