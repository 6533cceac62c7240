// Package cli is the iotledger command line: one file a subcommand, each a
// thin layer over the node, the API client and the public packages. Run
// returns errors; only main exits.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/buildinfo"
	"github.com/iotledger/iotledger/internal/logthrottle"
	"github.com/iotledger/iotledger/internal/node"
)

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode maps an error from Run to a process exit code.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}

// env is what every command shares.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	home   string
	apiURL string
	rpc    string
}

// Run executes the command line args.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// newRoot is the command tree.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "iotledger",
		Short:         "A ledger for IoT fleets: device identities, signed readings, a Merkle log and receipts anyone can verify offline",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Read().Version,
	}
	root.SetVersionTemplate(strings.ReplaceAll(versionText(buildinfo.Read()), "{{", `{{"{{"}}`))
	root.PersistentFlags().StringVar(&e.home, "home", "", "node home folder `DIR` (default $IOTLEDGER_HOME, else ~/.iotledger; dev uses ./.iotledger-dev)")
	root.PersistentFlags().StringVar(&e.apiURL, "api", "", "API base `URL` for client commands (default from the home's config, else http://127.0.0.1:8080)")
	root.PersistentFlags().StringVar(&e.rpc, "rpc", "", "CometBFT RPC address `HOST:PORT`, which sim registers its fleet through (default from the home's config.toml, else 127.0.0.1:26657); other commands send signed transactions through the API")
	root.AddCommand(
		initCmd(e), startCmd(e), devCmd(e), keysCmd(e), deviceCmd(e), readingCmd(e),
		receiptCmd(e), verifyCmd(e), auditCmd(e), statusCmd(e), simCmd(e), benchCmd(e), accountCmd(e), contractCmd(e),
		testnetCmd(e), validatorCmd(e), versionCmd(e), configCmd(e), accessCmd(e), dataCmd(e),
	)
	return root
}

// homeDir resolves the home, as an absolute path: flag, then
// IOTLEDGER_HOME, then def, then ~/.iotledger.
func (e *env) homeDir(def string) string {
	h := e.home
	if h == "" {
		h = os.Getenv("IOTLEDGER_HOME")
	}
	if h == "" {
		h = def
	}
	if h == "" {
		if u, err := os.UserHomeDir(); err == nil {
			h = filepath.Join(u, ".iotledger")
		} else {
			h = ".iotledger"
		}
	}
	if abs, err := filepath.Abs(h); err == nil {
		return abs
	}
	return h
}

// client returns an API client for the node of the home (or --api).
func (e *env) client() *client.Client {
	u := e.apiURL
	if u == "" {
		u = "http://127.0.0.1:8080"
		if c, err := node.LoadConfig(e.homeDir("")); err == nil {
			u = c.API.URL()
		} else {
			fmt.Fprintf(e.stderr, "iotledger: %v; using the API at %s (give --api to choose)\n", err, u)
		}
	}
	return client.New(strings.TrimRight(u, "/"))
}

// rpcAddr returns CometBFT's RPC address for the home (or --rpc).
func (e *env) rpcAddr() string {
	if e.rpc != "" {
		return "tcp://" + strings.TrimPrefix(e.rpc, "tcp://")
	}
	if c, err := node.LoadCometConfig(e.homeDir("")); err == nil {
		return c.RPC.ListenAddress
	}
	return "tcp://127.0.0.1:26657"
}

func (e *env) printf(format string, args ...any) { fmt.Fprintf(e.stdout, format, args...) }

// newLogger is the node's logger: c.Level and up, as text lines or one
// JSON object a line (c.Format), with a warning or error that repeats more
// than logthrottle.DefaultBurst times a second held back and counted (see
// package logthrottle).
func newLogger(w io.Writer, c node.LogConfig) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(logthrottle.New(h, logthrottle.Options{}))
}
