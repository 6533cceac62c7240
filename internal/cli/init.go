package cli

import (
	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/node"
)

func initCmd(e *env) *cobra.Command {
	var o node.InitOptions
	c := &cobra.Command{
		Use:   "init",
		Short: "Create a node home: CometBFT config, genesis, validator key and iotledger.toml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir("")
			gen, err := node.Init(home, o)
			if err != nil {
				return err
			}
			e.printf("initialised %s\n  chain id: %s\n  genesis:  %s\n  config:   %s/config/iotledger.toml and config.toml\nstart it with: iotledger start --home %s\n",
				home, gen.ChainID, node.GenesisFile(home), home, home)
			return nil
		},
	}
	c.Flags().StringVar(&o.ChainID, "chain-id", "", "chain id (default iotledger-<random>)")
	c.Flags().StringVar(&o.Moniker, "moniker", "", "this node's name (default the host name)")
	return c
}
