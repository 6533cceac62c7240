package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/internal/app"
)

// Testnet limits and defaults.
const (
	MaxTestnetValidators   = 7
	DefaultTestnetBasePort = 27000
	// TestnetPortStride is how far apart the ports of consecutive nodes
	// start: node i listens on BasePort + i*TestnetPortStride + 0 (P2P),
	// + 1 (RPC), + 2 (API, dashboard and /metrics) and + 3 (MQTT).
	TestnetPortStride = 10
	testnetHost       = "127.0.0.1"
)

// TestnetOptions set up a local network of validators on loopback.
type TestnetOptions struct {
	Validators int // 1 to MaxTestnetValidators
	// NonValidators are nodes more (0 to MaxTestnetValidators), named
	// after the validators, that share the genesis and the peers but are
	// not in the genesis validator set: full nodes, or validators to add
	// with a validator set change.
	NonValidators int
	ChainID       string // default: iotledger-<random>
	BasePort      int    // default: DefaultTestnetBasePort
	// Token names the chain's token (default state.DefaultToken); Balances
	// are its genesis allocations.
	Token    string
	Balances []app.Allocation
	// Hosts, if set, gives each node its own address (one per validator,
	// in order) instead of 127.0.0.1: machines of a LAN, or network
	// namespaces. Ports are checked only on the addresses this machine has.
	Hosts []string
}

// TestnetNode is one node of a testnet: its home and loopback addresses.
type TestnetNode struct {
	Name      string // node0, node1, ...
	Validator bool   // in the genesis validator set
	Home      string
	ID        string // CometBFT node id
	P2P       string // HOST:PORT
	RPC       string
	API       string
	MQTT      string
}

// testnetPorts are node i's ports, in the order of TestnetNode's addresses.
func testnetPorts(base, i int) [4]int {
	p := base + i*TestnetPortStride
	return [4]int{p, p + 1, p + 2, p + 3}
}

var testnetPortNames = [4]string{"P2P", "RPC", "API", "MQTT"}

// Testnet writes the homes of a local network into dir (dir/node0 ...):
// one genesis in which every node is a validator of equal power (but the
// NonValidators last ones, which are not in the set), each node
// with its own keys, its own loopback ports derived from the base port,
// persistent peers set to the others, and consensus timeouts for several
// validators on one machine. dir must be new or empty, and every port free.
func Testnet(dir string, o TestnetOptions) ([]TestnetNode, *types.GenesisDoc, error) {
	if o.Validators < 1 || o.Validators > MaxTestnetValidators {
		return nil, nil, fmt.Errorf("node: testnet of %d validators: want 1 to %d (-n)", o.Validators, MaxTestnetValidators)
	}
	if o.NonValidators < 0 || o.NonValidators > MaxTestnetValidators {
		return nil, nil, fmt.Errorf("node: testnet with %d nodes that are not validators: want 0 to %d (--non-validators)", o.NonValidators, MaxTestnetValidators)
	}
	count := o.Validators + o.NonValidators
	if o.BasePort == 0 {
		o.BasePort = DefaultTestnetBasePort
	}
	last := testnetPorts(o.BasePort, count-1)[3]
	if o.BasePort < 1024 || last > 65535 {
		return nil, nil, fmt.Errorf("node: testnet base port %d: %d nodes need ports %d to %d; want a base port from 1024 to %d (--base-port)",
			o.BasePort, count, o.BasePort, last, 65535-(last-o.BasePort))
	}
	other := o.BasePort + 1000 // a base port to suggest if a port is taken
	if last+1000 > 65535 {
		other = o.BasePort - 1000
	}
	if err := checkEmptyDir(dir); err != nil {
		return nil, nil, err
	}
	hosts, err := testnetHosts(o.Hosts, count)
	if err != nil {
		return nil, nil, err
	}
	nodes := make([]TestnetNode, count)
	for i := range nodes {
		p := testnetPorts(o.BasePort, i)
		addr := func(k int) string { return net.JoinHostPort(hosts[i], strconv.Itoa(p[k])) }
		nodes[i] = TestnetNode{Name: fmt.Sprintf("node%d", i), Validator: i < o.Validators, Home: filepath.Join(dir, fmt.Sprintf("node%d", i)),
			P2P: addr(0), RPC: addr(1), API: addr(2), MQTT: addr(3)}
		for k, a := range []string{nodes[i].P2P, nodes[i].RPC, nodes[i].API, nodes[i].MQTT} {
			if err := checkFree(a); err != nil {
				return nil, nil, fmt.Errorf("node: testnet: %s's %s port %s is taken (%v); stop what listens there or pick another --base-port, such as %d",
					nodes[i].Name, testnetPortNames[k], a, err, other)
			}
		}
	}
	chainID, err := chainIDOrRandom(o.ChainID)
	if err != nil {
		return nil, nil, err
	}
	appState, err := genesisAppState(o.Token, o.Balances)
	if err != nil {
		return nil, nil, err
	}

	// Keys first: each config lists the other nodes' ids.
	cfgs := make([]*cmtcfg.Config, len(nodes))
	var vals []types.GenesisValidator
	for i := range nodes {
		cfgs[i] = testnetCometConfig(nodes[i])
		cmtcfg.EnsureRoot(nodes[i].Home)
		val, id, err := createKeys(cfgs[i])
		if err != nil {
			return nil, nil, err
		}
		nodes[i].ID = string(id)
		if nodes[i].Validator {
			vals = append(vals, val)
		}
	}
	gen, err := newGenesis(chainID, vals, appState)
	if err != nil {
		return nil, nil, err
	}
	for i, n := range nodes {
		var peers []string
		for j, m := range nodes {
			if j != i {
				peers = append(peers, m.ID+"@"+m.P2P)
			}
		}
		cfgs[i].P2P.PersistentPeers = strings.Join(peers, ",")
		c := Default()
		c.API.Addr, c.MQTT.Addr = n.API, n.MQTT
		if err := writeConfigs(cfgs[i], c, fmt.Sprintf(testnetConfigNote, n.Name, o.Validators)); err != nil {
			return nil, nil, err
		}
		if err := gen.SaveAs(cfgs[i].GenesisFile()); err != nil {
			return nil, nil, err
		}
	}
	return nodes, gen, nil
}

// testnetCometConfig is CometConfig with n's addresses and the consensus
// timeouts of testnetConfigNote.
func testnetCometConfig(n TestnetNode) *cmtcfg.Config {
	cfg := CometConfig(n.Home)
	cfg.Moniker = n.Name
	cfg.P2P.ListenAddress = "tcp://" + n.P2P
	cfg.RPC.ListenAddress = "tcp://" + n.RPC
	cs := cfg.Consensus
	cs.TimeoutCommit = time.Second
	cs.CreateEmptyBlocks, cs.CreateEmptyBlocksInterval = true, 0
	cs.TimeoutPropose, cs.TimeoutProposeDelta = time.Second, 500*time.Millisecond
	cs.TimeoutPrevote, cs.TimeoutPrevoteDelta = 500*time.Millisecond, 500*time.Millisecond
	cs.TimeoutPrecommit, cs.TimeoutPrecommitDelta = 500*time.Millisecond, 500*time.Millisecond
	return cfg
}

// testnetConfigNote follows cometConfigHeader in a testnet home's config.toml.
const testnetConfigNote = `# This home is %s of a local testnet of %d validators written by
# ` + "`iotledger testnet`" + `. Several validators share one machine, so it departs
# further (these settings win over the ones above):
#
#   consensus.timeout_commit = 1s, create_empty_blocks = true,
#   create_empty_blocks_interval = 0s  a block about every second, with or without
#                                      readings: every validator signs every block,
#                                      and on a shared machine 0.3 s blocks cost
#                                      more CPU than they save latency.
#   consensus.timeout_propose = 1s (+0.5s a round), timeout_prevote and
#   timeout_precommit = 0.5s (+0.5s)   a stopped validator's turn to propose costs
#                                      about 1.5 s, not the 4 s of CometBFT's defaults.
#   p2p.laddr, rpc.laddr               this node's address (127.0.0.1 unless --hosts) and ports.
#   p2p.persistent_peers               the other nodes of the testnet.

`

// checkEmptyDir refuses a dir that holds anything, or is not a folder.
func checkEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("node: testnet folder %s: %w; give a new or empty folder (--out)", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("node: testnet folder %s is not empty (it holds %s); give a new or empty folder (--out), or remove this one", dir, entries[0].Name())
	}
	return nil
}

// testnetHosts is each node's address: 127.0.0.1, or the given ones.
func testnetHosts(given []string, n int) ([]string, error) {
	if len(given) == 0 {
		return slices.Repeat([]string{testnetHost}, n), nil
	}
	if len(given) != n {
		return nil, fmt.Errorf("node: testnet of %d nodes with %d hosts: give one address per node, validators first (--hosts)", n, len(given))
	}
	for _, h := range given {
		if net.ParseIP(h) == nil {
			return nil, fmt.Errorf("node: testnet host %q is not an IP address (--hosts takes one per node, such as 10.0.0.1,10.0.0.2)", h)
		}
	}
	return given, nil
}

// checkFree reports whether something listens on addr already. An address
// this machine does not have (another machine's, a network namespace's) is
// not checked.
func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return nil
	}
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			return op.Err
		}
		return err
	}
	return l.Close()
}
