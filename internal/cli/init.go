package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/state"
)

func initCmd(e *env) *cobra.Command {
	var o node.InitOptions
	var balances []string
	var j joinFlags
	c := &cobra.Command{
		Use:   "init",
		Short: "Create a node home: CometBFT config, genesis, validator key and iotledger.toml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir("")
			if len(j.urls) > 0 {
				if o.ChainID != "" || len(balances) > 0 || cmd.Flags().Changed("token") {
					return errorf("--join takes the chain from the running network: --chain-id, --token and --balance do not go with it")
				}
				return j.run(e, home, o.Moniker)
			}
			for _, b := range balances {
				addr, amount, ok := strings.Cut(b, "=")
				n, err := strconv.ParseUint(amount, 10, 64)
				if !ok || err != nil {
					return fmt.Errorf("--balance %q: want ADDRESS=AMOUNT, such as acc1...=1000000", b)
				}
				o.Balances = append(o.Balances, app.Allocation{Address: addr, Amount: n})
			}
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
	c.Flags().StringVar(&o.Token, "token", state.DefaultToken, "name of the chain's token")
	c.Flags().StringArrayVar(&balances, "balance", nil, "genesis allocation ADDRESS=AMOUNT (an account acc1... or a device dev1...); repeat for more")
	j.register(c)
	return c
}
