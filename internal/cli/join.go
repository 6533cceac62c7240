package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/node"
)

// joinFlags are init's flags for a node that joins a running network.
type joinFlags struct {
	urls      []string
	sync      string
	threshold int64
}

func (f *joinFlags) register(c *cobra.Command) {
	c.Flags().StringArrayVar(&f.urls, "join", nil, "join a running network instead of starting a chain: a node's CometBFT RPC URL, http://HOST:PORT (repeat for more nodes; the first gives the genesis)")
	c.Flags().StringVar(&f.sync, "sync", node.SyncAuto, "with --join: auto (state sync when the chain is above --state-sync-threshold blocks, else block sync), block or state")
	c.Flags().Int64Var(&f.threshold, "state-sync-threshold", node.DefaultStateSyncThreshold, "with --join --sync auto: state-sync when the chain has more blocks than this")
}

func (f *joinFlags) run(e *env, home, moniker string) error {
	j, err := node.Join(e.ctx, home, node.JoinOptions{RPC: f.urls, Moniker: moniker, Sync: f.sync, Threshold: f.threshold})
	if err != nil {
		return err
	}
	e.printf("initialised %s to join chain %s (at height %d)\n", home, j.Genesis.ChainID, j.Height)
	e.printf("  genesis:  %s\n            sha256 %s: compare it with the network's operator\n", node.GenesisFile(home), j.GenesisHash)
	e.printf("  peers:    %s\n", strings.Join(j.Peers, ", "))
	if j.StateSync {
		e.printf("  sync:     state sync: %s\n", j.Why)
		e.printf("            trusted block %d, header hash %s; light client RPC servers %s\n", j.TrustHeight, j.TrustHash, strings.Join(j.RPCServers, ", "))
	} else {
		e.printf("  sync:     block sync: %s\n", j.Why)
	}
	e.printf("start it with: iotledger start --home %s\n", home)
	e.printf("  (on a machine that runs another node, give it free ports: --p2p-addr, --rpc-addr, --api-addr, --mqtt-addr)\n")
	return nil
}
