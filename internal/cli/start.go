package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/node"
)

// nodeFlags are the address overrides that start and dev share.
type nodeFlags struct {
	apiAddr, rpcAddr, p2pAddr, logLevel string

	mqttAddr                              string
	bridgeURL, bridgeUser, bridgePassword string
	bridgeCA, bridgeCert, bridgeKey       string
	bridgeInsecure                        bool
}

func (f *nodeFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.apiAddr, "api-addr", "", "HTTP API address `HOST:PORT` (default from iotledger.toml: 127.0.0.1:8080)")
	c.Flags().StringVar(&f.rpcAddr, "rpc-addr", "", "CometBFT RPC address `HOST:PORT` (default from config.toml: 127.0.0.1:26657)")
	c.Flags().StringVar(&f.p2pAddr, "p2p-addr", "", "CometBFT p2p address `HOST:PORT` (default from config.toml: 127.0.0.1:26656)")
	c.Flags().StringVar(&f.logLevel, "log-level", "", "log `LEVEL`: debug, info, warn or error (default from iotledger.toml: info)")
	c.Flags().StringVar(&f.mqttAddr, "mqtt-addr", "", "embedded MQTT broker address `HOST:PORT`, or off (default from iotledger.toml: 127.0.0.1:1883)")
	c.Flags().StringVar(&f.bridgeURL, "mqtt-bridge", "", "also (or instead) take readings from an existing broker at `URL`: tcp://HOST:PORT or tls://HOST:PORT")
	c.Flags().StringVar(&f.bridgeUser, "mqtt-bridge-user", "", "user name at the bridged broker")
	c.Flags().StringVar(&f.bridgePassword, "mqtt-bridge-password", "", "password at the bridged broker (better: IOTLEDGER_MQTT_BRIDGE_PASSWORD)")
	c.Flags().StringVar(&f.bridgeCA, "mqtt-bridge-ca", "", "PEM `FILE` of the CA to trust for the bridged broker's TLS certificate")
	c.Flags().StringVar(&f.bridgeCert, "mqtt-bridge-cert", "", "PEM `FILE` of the client certificate for the bridged broker")
	c.Flags().StringVar(&f.bridgeKey, "mqtt-bridge-key", "", "PEM `FILE` of the client certificate's key")
	c.Flags().BoolVar(&f.bridgeInsecure, "mqtt-bridge-insecure", false, "skip TLS certificate checks of the bridged broker (tests only)")
}

// config is the node's configuration: the home's, then the flags (see
// load, in config.go), validated.
func (f *nodeFlags) config(home string) (node.Config, error) {
	cfg, _, err := f.load(home)
	return cfg, err
}

func startCmd(e *env) *cobra.Command {
	var f nodeFlags
	c := &cobra.Command{
		Use:   "start",
		Short: "Run a node from an initialised home until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir("")
			cfg, err := f.config(home)
			if err != nil {
				return err
			}
			n, err := node.Start(e.ctx, home, cfg, newLogger(e.stderr, cfg.Log))
			if err != nil {
				return startErr(e, err)
			}
			e.printf("iotledger node running\n  chain id: %s\n  API:      %s\n  MQTT:     %s\n  RPC:      %s\n  home:     %s\n  genesis:  %s\npress Ctrl-C to stop\n",
				n.ChainID(), n.APIURL(), mqttURL(n), n.RPCAddr(), home, node.GenesisFile(home))
			return waitAndClose(e, n)
		},
	}
	f.register(c)
	return c
}

// startErr is what start and dev return when the node did not start: a
// signal during start-up is a clean stop (exit 0); a store fault keeps its
// exit code (see withExitCode).
func startErr(e *env, err error) error {
	var si *node.StartInterruptedError
	if errors.As(err, &si) && e.ctx.Err() != nil {
		e.printf("stopped during start-up (%s)\n", si.Step)
		return nil
	}
	return withExitCode(err)
}

// withExitCode gives a store fault its exit code: 4 for a full disk, 3 for
// a store that does not hold what the validators committed.
func withExitCode(err error) error {
	if code := node.ExitCode(err); code != 0 {
		return &exitError{code: code, err: err}
	}
	return err
}

// waitAndClose runs until the context ends, the API fails or a store fault
// stops the node, then stops the node.
func waitAndClose(e *env, n runningNode) error {
	var runErr error
	select {
	case <-e.ctx.Done():
	case err := <-n.Err():
		runErr = fmt.Errorf("API server: %w", err)
	case <-n.StoreFailed():
		runErr = withExitCode(n.StoreErr())
	}
	e.printf("stopping...\n")
	if err := n.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		e.printf("stopped cleanly\n")
	}
	return runErr
}

type runningNode interface {
	Err() <-chan error
	StoreFailed() <-chan struct{}
	StoreErr() error
	Close() error
}

func mqttURL(n *node.Node) string {
	if a := n.MQTTAddr(); a != "" {
		if n.MQTTTLS() {
			return "mqtts://" + a
		}
		return "mqtt://" + a
	}
	return "off"
}
