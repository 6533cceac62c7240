package cli

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

// Dev mode's fixed names.
const (
	devChainID = "iotledger-dev"
	devOwner   = "owner"
	// devOwnerFunds is what genesis gives the dev owner account.
	devOwnerFunds = 1_000_000
	devSensors    = 5
	devInterval   = time.Second
)

func devSensorName(i int) string { return fmt.Sprintf("sensor-%d", i+1) }

func devCmd(e *env) *cobra.Command {
	var f nodeFlags
	c := &cobra.Command{
		Use:   "dev",
		Short: "Run a single-validator dev chain with 5 simulated devices sending a reading a second",
		Long: `dev creates a dev home (./.iotledger-dev, or --home) on first run: a
single-validator chain, an owner account and five device keys. It starts the
node, registers the devices and has each send a signed reading every second.
Run it again to continue the same chain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir("./.iotledger-dev")
			if !node.Initialized(home) {
				// Keys first: genesis funds the owner account.
				var owner *keystore.Key
				for _, name := range append([]string{devOwner}, sensorNames()...) {
					k, err := keystore.New(home, name)
					if err != nil {
						return err
					}
					if name == devOwner {
						owner = k
					}
				}
				if _, err := node.Init(home, node.InitOptions{ChainID: devChainID, Moniker: "dev",
					Balances: []app.Allocation{{Address: owner.Address(), Amount: devOwnerFunds}}}); err != nil {
					return err
				}
				e.printf("created dev home %s; the owner account %s holds %d %s\n", home, owner.Address(), devOwnerFunds, state.DefaultToken)
			}
			cfg, err := f.config(home)
			if err != nil {
				return err
			}
			n, err := node.Start(e.ctx, home, cfg, newLogger(e.stderr, cfg.Log))
			if err != nil {
				return startErr(e, err)
			}
			sensors, err := registerSensors(e.ctx, home, n)
			if err != nil {
				n.Close()
				if e.ctx.Err() != nil {
					e.printf("stopped during start-up (registering the simulated devices)\n")
					return nil
				}
				return err
			}
			e.printf("iotledger dev node running\n  chain id: %s\n  API:      %s\n  MQTT:     %s\n  RPC:      %s\n  home:     %s\n  genesis:  %s\n  devices:  %d simulated, one reading a second each\n",
				n.ChainID(), n.APIURL(), mqttURL(n), n.RPCAddr(), home, node.GenesisFile(home), len(sensors))
			e.printf("%spress Ctrl-C to stop\n", devHints(n.APIURL(), home))

			ctx, cancel := context.WithCancel(e.ctx)
			var wg sync.WaitGroup
			for i, s := range sensors {
				wg.Add(1)
				go func() {
					defer wg.Done()
					simulate(ctx, n, s, i)
				}()
			}
			err = waitAndClose(e, &stopFirst{Node: n, stop: func() { cancel(); wg.Wait() }})
			cancel()
			return err
		},
	}
	f.register(c)
	return c
}

func sensorNames() []string {
	names := make([]string, devSensors)
	for i := range names {
		names[i] = devSensorName(i)
	}
	return names
}

// registerSensors registers the dev devices that are not registered yet.
func registerSensors(ctx context.Context, home string, n *node.Node) ([]*device.Signer, error) {
	owner, err := keystore.Load(home, devOwner)
	if err != nil {
		return nil, err
	}
	s, err := newTxSender(ctx, n.RPC())
	if err != nil {
		return nil, err
	}
	var out []*device.Signer
	for _, name := range sensorNames() {
		k, err := keystore.Load(home, name)
		if err != nil {
			return nil, err
		}
		d, err := n.App().Reader().Device(k.DeviceID())
		if err != nil {
			return nil, err
		}
		if d == nil {
			labels := map[string]string{"kind": "thermometer", "name": name}
			if _, err := s.send(ctx, owner, tx.TypeRegisterDevice, registration(s.chainID, owner, k, labels)); err != nil {
				return nil, fmt.Errorf("register %s: %w", name, err)
			}
		}
		sg, err := device.NewSigner(k.Private, "", seqFile(home, k.DeviceID()))
		if err != nil {
			return nil, err
		}
		out = append(out, sg)
	}
	return out, nil
}

// simulate sends a reading a second: a temperature that drifts slowly, a
// humidity, a battery level and a door state.
func simulate(ctx context.Context, n *node.Node, s *device.Signer, i int) {
	t := time.NewTicker(devInterval)
	defer t.Stop()
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		phase := float64(k)/60 + float64(i)
		data := map[string]any{
			"temp":     math.Round((20+3*math.Sin(phase))*100) / 100,
			"humidity": math.Round((45+10*math.Cos(phase/2))*10) / 10,
			"battery":  int64(100 - (k/600)%100),
			"door":     []string{"closed", "open"}[boolIndex(k%30 == 0)],
		}
		raw, _, err := s.Sign(data, time.Now())
		if err != nil {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n.Submit(sctx, [][]byte{raw}, true)
		cancel()
	}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stopFirst stops the simulated devices before the node.
type stopFirst struct {
	*node.Node
	stop func()
}

func (s *stopFirst) Close() error {
	s.stop()
	return s.Node.Close()
}
