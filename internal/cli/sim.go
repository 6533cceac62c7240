package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/sim"
)

// simFlags are the load flags that sim and bench share.
type simFlags struct {
	devices  int
	rate     float64
	duration time.Duration
	warmup   time.Duration
	batch    int
	inflight int
	timeout  time.Duration
	via      string
	qos      int
	seed     string
	json     bool
}

func (f *simFlags) register(c *cobra.Command) {
	c.Flags().IntVar(&f.devices, "devices", sim.BenchDevices, "simulated devices")
	c.Flags().Float64Var(&f.rate, "rate", sim.BenchRate, "readings per second for the whole fleet (each device sends rate/devices a second)")
	c.Flags().DurationVar(&f.duration, "duration", sim.BenchDuration, "how long readings are sent")
	c.Flags().DurationVar(&f.warmup, "warmup", 0, "start of the run left out of throughput and latency (default a tenth of --duration)")
	c.Flags().IntVar(&f.batch, "batch", sim.DefaultBatch, "readings per request")
	c.Flags().IntVar(&f.inflight, "inflight", sim.DefaultInFlight, "most requests awaiting their answer at once (each waits for commit)")
	c.Flags().DurationVar(&f.timeout, "timeout", sim.DefaultTimeout, "bound on one request; keep it above the node's api.wait_timeout (bench sets both)")
	c.Flags().StringVar(&f.via, "via", sim.ViaHTTP, "how readings are published: http (batches to the API) or mqtt (each device connects to the node's broker as itself)")
	c.Flags().IntVar(&f.qos, "receipt-qos", 1, "with --via mqtt, the QoS of each device's subscription to its receipts and errors: 1 (kept until acknowledged) or 0 (at most once: a missed receipt means a resend, answered as a duplicate)")
	c.Flags().StringVar(&f.seed, "seed", sim.DefaultSeed, "derives the device keys: the same seed is the same fleet, registered once")
	c.Flags().BoolVar(&f.json, "json", false, "print one JSON object instead of text")
}

func (f *simFlags) config(e *env) sim.Config {
	return sim.Config{
		Devices:    f.devices,
		Seed:       f.seed,
		Via:        f.via,
		ReceiptQoS: f.qos,
		Schedule: sim.Schedule{
			Rate: f.rate, Duration: f.duration, Warmup: f.warmup, Batch: f.batch, InFlight: f.inflight, Timeout: f.timeout,
		},
		Progress: e.stderr,
	}
}

func simCmd(e *env) *cobra.Command {
	var f simFlags
	var mqttURL string
	c := &cobra.Command{
		Use:   "sim [--devices N --rate R --duration D --via http|mqtt]",
		Short: "Drive a running node on this machine with a fleet of simulated devices and measure what it commits",
		Long: `sim derives --devices device keys from --seed, registers those the chain
does not know (with an owner key made in memory, through CometBFT's RPC,
--rpc), signs every reading before sending any, then publishes --rate
readings a second for the whole fleet, for --duration, in batches of --batch
(POST /v1/readings, waiting for commit) on a fixed schedule, whatever the
node answers (open loop). With --via mqtt every device connects to the
node's broker (--mqtt) as itself, with a token signed by its key, before the
load starts; each reading is published at QoS 1 and its fate comes on the
device's receipts and errors topics. It prints what became of the readings: sent,
committed, rejected by reason, pending and lost; the latency from publish to
committed (p50, p90, p99, max) and the committed readings per second after a
warm-up. Addresses must be loopback: sim drives a node on this machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := f.config(e)
			if err := cfg.Validate(); err != nil {
				return err
			}
			api := e.apiBase()
			rpc := e.rpcAddr()
			addrs := []string{api, rpc}
			if f.via == sim.ViaMQTT {
				mqttURL = e.mqttBase(mqttURL)
				addrs = append(addrs, mqttURL)
			}
			for _, a := range addrs {
				if err := sim.CheckLoopback(a); err != nil {
					return err
				}
			}
			send, err := sim.NewSender(f.via, sim.Endpoints{API: api, MQTT: mqttURL, InFlight: f.inflight, ReceiptQoS: f.qos})
			if err != nil {
				return err
			}
			defer send.Close()
			chain, err := rpchttp.New(rpc)
			if err != nil {
				return err
			}
			c := sim.APIClient(api)
			cfg.Schedule.Committed = sim.APILogSize(c)
			figs, err := sim.Simulate(e.ctx, cfg, chain, sim.APILookup(c), send)
			if figs != nil {
				if perr := printFigures(e, f.json, figs, figs.WriteText); perr != nil && err == nil {
					err = perr
				}
			}
			return err
		},
	}
	f.register(c)
	c.Flags().StringVar(&mqttURL, "mqtt", "", "MQTT broker `URL`, for --via mqtt (default: the broker of the home's config, else tcp://127.0.0.1:1883)")
	return c
}

// apiBase is the API base URL: --api, else the home's config, else
// http://127.0.0.1:8080; as client() resolves it.
func (e *env) apiBase() string {
	u := e.apiURL
	if u == "" {
		u = "http://127.0.0.1:8080"
		if c, err := node.LoadConfig(e.homeDir("")); err == nil {
			u = c.API.URL()
		}
	}
	return strings.TrimRight(u, "/")
}

// mqttBase is the MQTT broker URL: flag when set, else the embedded broker
// of the home's config, else tcp://127.0.0.1:1883.
func (e *env) mqttBase(flag string) string {
	if flag != "" {
		return flag
	}
	if c, err := node.LoadConfig(e.homeDir("")); err == nil && c.MQTT.Enabled {
		return "tcp://" + c.MQTT.Addr
	}
	return "tcp://127.0.0.1:1883"
}

// printFigures prints v as one JSON object, or as text.
func printFigures(e *env, asJSON bool, v any, text func(io.Writer)) error {
	if !asJSON {
		text(e.stdout)
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode the figures: %w", err)
	}
	e.printf("%s\n", b)
	return nil
}
