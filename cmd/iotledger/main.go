// Command iotledger runs and uses an iotledger node: a ledger for IoT fleets
// where every signed reading becomes a leaf of a Merkle log replicated with
// CometBFT. Run `iotledger --help` for the commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/iotledger/iotledger/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "iotledger:", err)
		os.Exit(cli.ExitCode(err))
	}
}
