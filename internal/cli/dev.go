package cli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
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

// devPrivate are the private fields dev names for each simulated sensor
// (docs/PRIVATE.md): its simulated readings carry none (they stay public,
// for the explorer's charts and contracts), but every sensor is at an
// epoch with an announced stream key, so that `reading send --device
// sensor-1 --private temp,hr temp=21.5 hr=70` works with no other step.
var devPrivate = []string{"hr"}

func devSensorName(i int) string { return fmt.Sprintf("sensor-%d", i+1) }

func devCmd(e *env) *cobra.Command {
	var f nodeFlags
	c := &cobra.Command{
		Use:   "dev",
		Short: "Run a single-validator dev chain with 5 simulated devices sending a reading a second",
		Long: `dev creates a dev home (./.iotledger-dev, or --home) on first run: a
single-validator chain, an owner account and five device keys. It starts the
node, registers the devices and has each send a signed reading every second.
Run it again to continue the same chain.

For private readings it publishes the owner's encryption key, names "hr"
as each sensor's private field and announces each sensor's stream key
(kept in HOME/devices/ID.streamkey), so that
  iotledger reading send --device sensor-1 --private temp,hr temp=21.5 hr=70
works at once, and iotledger reading decrypt opens it with the owner key.`,
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
			keys := make([]*device.StreamKeys, len(sensors))
			if err == nil {
				ks, perr := e.devPrivate(e.ctx, home, n, sensors)
				if ks != nil {
					keys = ks
				}
				if perr != nil && e.ctx.Err() == nil {
					// The chain runs without it; say what is missing.
					fmt.Fprintf(e.stderr, "iotledger: dev could not set up private readings (%v); reading send --private may need the steps of README's Private readings\n", perr)
				}
			}
			if err == nil && e.ctx.Err() != nil {
				err = e.ctx.Err()
			}
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
					simulate(ctx, n, s, keys[i], i)
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

// devPrivate sets up private readings on the dev chain, where each step
// is missing: the owner's encryption key published (its key file gets one
// if it has none), the sensors' private fields named (devPrivate) and
// each sensor's stream key for its current epoch made, wrapped to the
// owner, uploaded and announced, kept in HOME/devices/ID.streamkey, where
// `reading send` finds it. It returns each sensor's stream keys.
func (e *env) devPrivate(ctx context.Context, home string, n *node.Node, sensors []*device.Signer) ([]*device.StreamKeys, error) {
	c := client.New(n.APIURL())
	owner, err := e.loadEncryption(devOwner)
	if err != nil {
		return nil, err
	}
	if _, err := e.publishKey(ctx, c, owner); err != nil {
		return nil, fmt.Errorf("publish the dev owner's encryption key: %w", err)
	}
	keys := make([]*device.StreamKeys, len(sensors))
	errs := make([]error, len(sensors)+1)
	var wg sync.WaitGroup
	for i, name := range sensorNames() {
		ks, err := devStreamKeys(ctx, c, n, home, owner, name, sensors[i].ID())
		if err != nil {
			errs[len(sensors)] = err
			break
		}
		keys[i] = ks
		wg.Add(1)
		go func() { // each sensor announces with its own key: no nonce to share
			defer wg.Done()
			if _, err := ks.Refresh(ctx); err != nil {
				errs[i] = fmt.Errorf("the stream key of %s: %w", name, err)
			}
		}()
	}
	wg.Wait()
	return keys, errors.Join(errs...)
}

// devStreamKeys names the private fields of the dev sensor name (id) if
// it has none, and returns its stream keys.
func devStreamKeys(ctx context.Context, c *client.Client, n *node.Node, home string, owner *keystore.Key, name, id string) (*device.StreamKeys, error) {
	k, err := keystore.Load(home, name)
	if err != nil {
		return nil, err
	}
	d, err := n.App().Reader().Device(id)
	if err != nil {
		return nil, err
	}
	if d != nil && len(d.PrivateFields) == 0 {
		if _, err := c.SetPrivateFields(ctx, owner.Private, id, devPrivate); err != nil {
			return nil, fmt.Errorf("name the private fields of %s: %w", name, txErr(err))
		}
	}
	return device.NewStreamKeys(device.StreamKeyOptions{API: c, Key: k.Private, ID: id, File: streamKeyFile(home, id)})
}

// simulate sends a reading a second: a temperature that drifts slowly, a
// humidity, a battery level and a door state. Fields the ledger lists as
// the sensor's private fields are sealed (a user may name more with
// `device private`): a reading refused for its stream key is sealed again
// under the current one and sent again, with the same sequence number.
func simulate(ctx context.Context, n *node.Node, s *device.Signer, keys *device.StreamKeys, i int) {
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
		now := time.Now()
		if keys == nil { // private readings not set up
			raw, _, err := s.Sign(data, now)
			if err != nil {
				return
			}
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			n.Submit(sctx, [][]byte{raw}, true)
			cancel()
			continue
		}
		raw, seq, err := s.SignSealed(data, now, keys)
		if errors.Is(err, device.ErrNoStreamKey) {
			// A field became private and no key is on disk yet: make one,
			// and send at the next tick.
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			keys.Refresh(rctx)
			cancel()
			continue
		}
		if err != nil {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		vs, err := n.Submit(sctx, [][]byte{raw}, true)
		for try := 0; err == nil && len(vs) == 1 && vs[0].Status == verdict.Rejected && slices.Contains(sealReasons, vs[0].Code.String()) && try < 3; try++ {
			if _, err = keys.Refresh(sctx); err != nil {
				break
			}
			if raw, err = keys.Seal(reading.Reading{Seq: seq, Time: now.UnixMilli(), Data: data}); err != nil {
				break
			}
			vs, err = n.Submit(sctx, [][]byte{raw}, true)
		}
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
