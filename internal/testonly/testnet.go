package testonly

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// Testnet runs `iotledger testnet -n n` (with more flags args, such as
// --hosts) into a temporary folder and returns the folder and its nodes,
// not started: each has the home and the addresses its configuration
// names (Start runs it). The base port is drawn below Linux's ephemeral
// range, where FreeAddr's ports come from, and drawn again while a port
// is taken.
func Testnet(t testing.TB, n int, chainID string, args ...string) (string, []*Node) {
	t.Helper()
	var dir, out string
	for try := 0; ; try++ {
		dir = filepath.Join(t.TempDir(), "testnet")
		base := 20000 + rand.IntN(1200)*10
		var code int
		out, code = Run(t, append([]string{"testnet", "-n", strconv.Itoa(n), "--out", dir, "--chain-id", chainID, "--base-port", strconv.Itoa(base)}, args...)...)
		if code == 0 {
			break
		}
		if !strings.Contains(out, "is taken") || try == 5 {
			t.Fatalf("iotledger testnet: exit %d\n%s", code, out)
		}
	}
	nodes := make([]*Node, n)
	for i := range nodes {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		var cmt struct {
			RPC struct{ Laddr string } `toml:"rpc"`
			P2P struct{ Laddr string } `toml:"p2p"`
		}
		var own struct {
			API  struct{ Addr string } `toml:"api"`
			MQTT struct{ Addr string } `toml:"mqtt"`
		}
		if _, err := toml.DecodeFile(filepath.Join(home, "config", "config.toml"), &cmt); err != nil {
			t.Fatal(err)
		}
		if _, err := toml.DecodeFile(filepath.Join(home, "config", "iotledger.toml"), &own); err != nil {
			t.Fatal(err)
		}
		nodes[i] = &Node{Home: home, APIAddr: own.API.Addr, MQTTAddr: own.MQTT.Addr,
			RPCAddr: strings.TrimPrefix(cmt.RPC.Laddr, "tcp://"), P2PAddr: strings.TrimPrefix(cmt.P2P.Laddr, "tcp://")}
		if !strings.Contains(out, "iotledger start --home "+home+"\n") {
			t.Fatalf("iotledger testnet does not say how to start %s:\n%s", home, out)
		}
	}
	return dir, nodes
}

// Start runs the node (`iotledger start`, or sub) on its home and
// addresses, and returns once it says it is running. It is killed at test
// cleanup if still alive.
func (n *Node) Start(t testing.TB, sub string) { n.start(t, sub) }
