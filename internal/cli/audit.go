package cli

import (
	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/node"
)

func auditCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "audit",
		Short: "Recompute every block's log root and state digest from a stopped node's store and compare them with the committed headers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir("")
			r, err := node.Audit(home)
			if err != nil {
				return err
			}
			e.printf("audited %s: %d blocks, %d readings, %d app hashes compared with committed headers\n", home, r.Blocks, r.Leaves, r.Headers)
			if r.Headers+1 < r.Blocks {
				e.printf("  %d blocks lie below this node's first block (it joined by state sync), so it holds no header for them: their recomputed app hashes were compared with the block records instead\n", r.Blocks-r.Headers-1)
			}
			if len(r.Findings) == 0 {
				e.printf("clean: every root, digest and app hash matches\n")
				return nil
			}
			for _, f := range r.Findings {
				e.printf("FOUND %s\n", f)
			}
			return &exitError{code: 3, err: errorf("audit found %d problem(s) in %s", len(r.Findings), home)}
		},
	}
}
