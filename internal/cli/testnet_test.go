package cli_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

// freeBase returns a base port below the ephemeral range whose first n
// nodes' ports were free a moment ago.
func freeBase(t *testing.T, n int) int {
	t.Helper()
	for base := 21000 + os.Getpid()%200*50; base < 32000; base += 1000 {
		free := true
		for p := base; p < base+n*node.TestnetPortStride && free; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free base port")
	return 0
}

func TestTestnet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tn")
	base := freeBase(t, 4)
	out := mustRun(t, "testnet", "-n", "4", "--out", dir, "--chain-id", "lab-net", "--base-port", strconv.Itoa(base))

	var gens []string
	ports := map[string]string{}
	for i := range 4 {
		name := fmt.Sprintf("node%d", i)
		home := filepath.Join(dir, name)
		b, err := os.ReadFile(node.GenesisFile(home))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		gens = append(gens, string(b))
		cc, err := node.LoadCometConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		c, err := node.LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		p := base + 10*i
		want := map[string]string{
			"p2p":  fmt.Sprintf("tcp://127.0.0.1:%d", p),
			"rpc":  fmt.Sprintf("tcp://127.0.0.1:%d", p+1),
			"api":  fmt.Sprintf("127.0.0.1:%d", p+2),
			"mqtt": fmt.Sprintf("127.0.0.1:%d", p+3),
		}
		got := map[string]string{"p2p": cc.P2P.ListenAddress, "rpc": cc.RPC.ListenAddress, "api": c.API.Addr, "mqtt": c.MQTT.Addr}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s %s address %s, want %s", name, k, got[k], w)
			}
			a := strings.TrimPrefix(got[k], "tcp://")
			if other, dup := ports[a]; dup {
				t.Errorf("%s and %s both use %s", name, other, a)
			}
			ports[a] = name + " " + k
		}
		if cc.Moniker != name || cc.Consensus.TimeoutCommit.Seconds() != 1 || !cc.Consensus.CreateEmptyBlocks {
			t.Errorf("%s: moniker %q, timeout_commit %v, create_empty_blocks %v; want %s, 1s, true",
				name, cc.Moniker, cc.Consensus.TimeoutCommit, cc.Consensus.CreateEmptyBlocks, name)
		}
		peers := strings.Split(cc.P2P.PersistentPeers, ",")
		if len(peers) != 3 || slices.Contains(peers, "") {
			t.Errorf("%s: persistent_peers %q, want the 3 others", name, cc.P2P.PersistentPeers)
		}
		for _, peer := range peers {
			if strings.HasSuffix(peer, fmt.Sprintf("@127.0.0.1:%d", p)) {
				t.Errorf("%s lists itself as a peer: %s", name, peer)
			}
		}
		if !strings.Contains(out, "iotledger start --home "+home+"\n") {
			t.Errorf("output does not say how to start %s:\n%s", name, out)
		}
	}
	for i := range gens {
		if gens[i] != gens[0] {
			t.Fatalf("node%d's genesis differs from node0's", i)
		}
	}
	g, err := types.GenesisDocFromFile(node.GenesisFile(filepath.Join(dir, "node0")))
	if err != nil {
		t.Fatal(err)
	}
	if g.ChainID != "lab-net" || len(g.Validators) != 4 {
		t.Fatalf("genesis: chain %s, %d validators; want lab-net with 4", g.ChainID, len(g.Validators))
	}
	for _, v := range g.Validators {
		if v.Power != g.Validators[0].Power {
			t.Errorf("validator %s has power %d, %s has %d; want equal power", v.Name, v.Power, g.Validators[0].Name, g.Validators[0].Power)
		}
	}
	// Each node's own id is in every other node's peers.
	for i := range 4 {
		cc, err := node.LoadCometConfig(filepath.Join(dir, fmt.Sprintf("node%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		for j := range 4 {
			if i == j {
				continue
			}
			id := nodeID(t, filepath.Join(dir, fmt.Sprintf("node%d", j), "config", "node_key.json"))
			if !strings.Contains(cc.P2P.PersistentPeers, id+"@127.0.0.1:"+strconv.Itoa(base+10*j)) {
				t.Errorf("node%d's peers %q lack node%d (%s)", i, cc.P2P.PersistentPeers, j, id)
			}
		}
	}

	// The owner key is in node0's home and genesis funds its account.
	owner, err := keystore.Load(filepath.Join(dir, "node0"), "owner")
	if err != nil {
		t.Fatal(err)
	}
	var st app.Genesis
	if err := json.Unmarshal(g.AppState, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Balances) != 1 || st.Balances[0].Address != owner.Address() || st.Balances[0].Amount == 0 || st.Token != state.DefaultToken {
		t.Errorf("genesis app_state = %+v, want %s funded in %s", st, owner.Address(), state.DefaultToken)
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"iotledger start --home " + filepath.Join(dir, "node3"),
		fmt.Sprintf("http://127.0.0.1:%d", base+32),
		filepath.Join(dir, "node0", "keys", "owner.json"),
		owner.Address(),
	} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks %q", want)
		}
	}

	// Once written, the folder is not written again.
	mustFail(t, 1, []string{dir, "not empty", "--out"}, "testnet", "--out", dir, "--base-port", strconv.Itoa(base+500))
}

func nodeID(t *testing.T, file string) string {
	t.Helper()
	nk, err := p2p.LoadNodeKey(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(nk.ID())
}

func TestTestnetRefusals(t *testing.T) {
	dir := t.TempDir()
	l := listenAfterFree(t, 2)
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		name  string
		args  []string
		hints []string
	}{
		{"too many", []string{"-n", "8", "--out", filepath.Join(dir, "a")}, []string{"-n 8", "1 to 7"}},
		{"none", []string{"-n", "0", "--out", filepath.Join(dir, "a")}, []string{"-n 0", "1 to 7"}},
		{"no out", []string{"-n", "4"}, []string{"--out"}},
		{"port out of range", []string{"--out", filepath.Join(dir, "a"), "--base-port", "65530"}, []string{"65530", "--base-port"}},
		{"port taken", []string{"-n", "1", "--out", filepath.Join(dir, "b"), "--base-port", strconv.Itoa(taken - 2)}, []string{"node0's API port", strconv.Itoa(taken), "--base-port"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustFail(t, 1, tc.hints, append([]string{"testnet"}, tc.args...)...)
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused testnets left %d entries in %s", len(entries), dir)
	}
}

// listenAfterFree listens on a loopback port whose free ports below it
// were free a moment ago: node0 of a testnet at base port taken-free
// checks them first, and other tests (or programs) may hold ports anywhere.
func listenAfterFree(t *testing.T, free int) net.Listener {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port, ok := l.Addr().(*net.TCPAddr).Port, true
		for p := port - free; p < port && ok; p++ {
			probe, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if ok = err == nil; ok {
				probe.Close()
			}
		}
		if ok {
			return l
		}
		l.Close()
	}
	t.Fatal("found no loopback port with free ports below it in 50 tries")
	return nil
}

// TestTestnetNonValidators: --non-validators adds homes that share the
// genesis and the peers, but whose keys are not in the validator set.
func TestTestnetNonValidators(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tn")
	base := freeBase(t, 3)
	out := mustRun(t, "testnet", "-n", "2", "--non-validators", "1", "--out", dir, "--chain-id", "lab-net", "--base-port", strconv.Itoa(base))
	for _, want := range []string{"a testnet of 2 validators and 1 more node (not a validator)", "(not a validator)\n",
		"blocks commit once 2 of the 2 validators run", "iotledger start --home " + filepath.Join(dir, "node2") + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	g0, err := os.ReadFile(node.GenesisFile(filepath.Join(dir, "node0")))
	if err != nil {
		t.Fatal(err)
	}
	g2, err := os.ReadFile(node.GenesisFile(filepath.Join(dir, "node2")))
	if err != nil || string(g2) != string(g0) {
		t.Fatalf("node2's genesis differs from node0's (%v)", err)
	}
	g, err := types.GenesisDocFromFile(node.GenesisFile(filepath.Join(dir, "node0")))
	if err != nil {
		t.Fatal(err)
	}
	k, err := node.LoadValidatorKey(filepath.Join(dir, "node2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Validators) != 2 {
		t.Errorf("genesis lists %d validators, want 2", len(g.Validators))
	}
	for _, v := range g.Validators {
		if string(v.PubKey.Bytes()) == string(k.Public()) {
			t.Errorf("node2's key is in the genesis validator set")
		}
	}
	cc, err := node.LoadCometConfig(filepath.Join(dir, "node2"))
	if err != nil {
		t.Fatal(err)
	}
	if peers := strings.Split(cc.P2P.PersistentPeers, ","); len(peers) != 2 {
		t.Errorf("node2's persistent_peers %q, want the 2 validators", cc.P2P.PersistentPeers)
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Not in the\ngenesis validator set: node2;", "iotledger validator consent --home " + filepath.Join(dir, "node2"),
		"iotledger validator approve 1 --home " + filepath.Join(dir, "node1")} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks %q", want)
		}
	}

	// consent on node2's home prints its key and a consent that verifies.
	out = mustRun(t, "validator", "consent", "--home", filepath.Join(dir, "node2"))
	var key, sig string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "validator" && f[1] == "key:" {
			key = f[2]
		} else if len(f) >= 2 && f[0] == "consent:" {
			sig = f[1]
		}
	}
	pub, err1 := base64.StdEncoding.DecodeString(key)
	s, err2 := base64.StdEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !ed25519.Verify(pub, tx.ValidatorConsentMessage("lab-net", pub), s) || string(pub) != string(k.Public()) {
		t.Errorf("consent output does not carry node2's key and a consent that verifies:\n%s", out)
	}
	if !strings.Contains(out, "iotledger validator propose --add "+key+" --power 10 --consent "+sig) {
		t.Errorf("consent does not print the command to propose:\n%s", out)
	}
	mustFail(t, 1, []string{"--non-validators", "0 to 7"}, "testnet", "--non-validators", "8", "--out", filepath.Join(t.TempDir(), "x"))
}
