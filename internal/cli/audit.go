package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/node"
)

func auditCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "audit",
		Short: "Check every table of a stopped node's stores block by block, then recompute every block's log root and state digest and compare them with the committed headers",
		Long: `audit checks a stopped node's stores. First it reads every block of every
table of every store (the app's and CometBFT's) and checks its checksum, so a
changed byte is found wherever it lies; then it recomputes every block's log
root, state digest and app hash from the stored readings and compares them
with the headers the validators committed.

Exit codes: 0 clean, 3 something was found (each finding is a FOUND line),
4 the disk holding the data folder is full, 1 any other error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir("")
			r, err := node.Audit(e.ctx, home)
			if err != nil {
				return withExitCode(err)
			}
			e.printf("audited %s: every block of %s in %s checked against its checksum\n", home, plural(r.Tables, "table"), plural(r.Stores, "store"))
			if len(r.Damaged) > 0 {
				for _, t := range r.Damaged {
					e.printf("FOUND %s\n", t)
				}
				e.printf("the log roots and app hashes were not recomputed: they would be read from damaged tables. "+
					"Resync the node from the other validators (README: %q)\n", node.ResyncSection)
				return &exitError{code: 3, err: errorf("audit found %d damaged table(s) in %s", len(r.Damaged), home)}
			}
			e.printf("  %d blocks, %d readings, %d app hashes compared with committed headers\n", r.Blocks, r.Leaves, r.Headers)
			if r.Headers+1 < r.Blocks {
				e.printf("  %d blocks lie below this node's first block (it joined by state sync), so it holds no header for them: their recomputed app hashes were compared with the block records instead\n", r.Blocks-r.Headers-1)
			}
			if h := r.From + r.Blocks - 1; r.Blocks > 0 && r.StoreHeight > h {
				e.printf("  the app store ends at block %d, CometBFT's block store at %d: the node replays %d blocks when it starts (the app store lost its newest writes)\n", h, r.StoreHeight, r.StoreHeight-h)
			}
			if len(r.Findings) == 0 {
				e.printf("clean: every table, root, digest and app hash matches\n")
				return nil
			}
			for _, f := range r.Findings {
				e.printf("FOUND %s\n", f)
			}
			return &exitError{code: 3, err: errorf("audit found %d problem(s) in %s", len(r.Findings), home)}
		},
	}
}

// plural is "1 table", "2 tables".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
