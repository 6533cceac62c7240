package cli

import (
	"os"

	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

func statusCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the node's chain, height and log (JSON)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := e.client().Status(e.ctx)
			if err != nil {
				return err
			}
			return printJSON(e, st)
		},
	}
}

func loadGenesis(path string) (*types.GenesisDoc, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, errorf("genesis %s: %w", path, err)
	}
	return types.GenesisDocFromFile(path)
}

func deviceOf(r *receipt.Receipt) string {
	s, err := reading.Decode(r.Reading)
	if err != nil {
		return "?"
	}
	return s.Device
}
