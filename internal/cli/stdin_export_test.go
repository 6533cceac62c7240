package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// RunIn is Run with stdin, for tests of commands that read it.
func RunIn(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRoot(&env{ctx: ctx, stdout: stdout, stderr: stderr})
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// Root is the command tree, for tests that walk it.
func Root() *cobra.Command {
	return newRoot(&env{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard})
}
