package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/sim"
)

func benchCmd(e *env) *cobra.Command {
	var f simFlags
	var logLevel, profile, contractFile string
	var validators int
	c := &cobra.Command{
		Use:   "bench [--json] [--devices N --rate R --duration D --via http|mqtt]",
		Short: "Measure a fresh node on this machine: throughput, latency, verification ceiling, CPU, disk and memory",
		Long: `bench starts a fresh single-validator node in a temporary home, on free
loopback ports, runs the simulator of ` + "`iotledger sim`" + ` against it in the same
process, and prints, all measured in that one run: committed readings per
second after the warm-up, latency from publish to committed, the machine's
Ed25519 batch verification ceiling (all cores, nothing else running) and
the ratio of the two, CPU seconds per 1,000 readings (the whole process, node
and load generator, and an estimate for the node alone), disk bytes per
reading by store, and peak resident memory. The home is removed afterwards.

With --contract FILE, bench runs twice: once as above, then again on a
second fresh node where that contract document is deployed (funded) before
the load. The simulated devices get the labels its triggers select, so it
runs on every reading. Both figures and the contract's cost are printed.
Offer more than the node can take (--rate) to see the cost as throughput.

With --validators N (2 to 7), bench starts N validators of one fresh
chain instead (homes as ` + "`iotledger testnet`" + ` writes them, loopback ports,
all in this process), sends the same load to node0's API and prints the
same figures: CPU and memory are then all validators' together, disk is
per validator. On a small machine the validators share its cores.

The defaults take about a minute on two cores. The target of ten thousand
devices: iotledger bench --devices 10000 --rate 30000 --duration 60s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := sim.BenchConfig{Config: f.config(e)}
			if contractFile != "" {
				src, err := readContract(contractFile)
				if err != nil {
					return err
				}
				cfg.Contract = src
			}
			if logLevel != "none" {
				cfg.Log = newLogger(e.stderr, node.LogConfig{Level: logLevel})
			}
			var pf *os.File
			if profile != "" {
				var err error
				if pf, err = os.Create(profile); err != nil {
					return err
				}
				cfg.CPUProfile = pf
			}
			if validators > 1 {
				r, err := sim.BenchNetwork(e.ctx, cfg, validators)
				if pf != nil {
					if cerr := pf.Close(); cerr != nil && err == nil {
						err = cerr
					}
				}
				if err != nil {
					return err
				}
				return printFigures(e, f.json, r, r.WriteText)
			}
			r, err := sim.Bench(e.ctx, cfg)
			if pf != nil {
				if cerr := pf.Close(); cerr != nil && err == nil {
					err = cerr
				}
			}
			if err != nil {
				return err
			}
			return printFigures(e, f.json, r, r.WriteText)
		},
	}
	f.register(c)
	c.Flags().StringVar(&logLevel, "log-level", "error", "the node's log: none, debug, info, warn or error")
	c.Flags().IntVar(&validators, "validators", 1, "run a local network of `N` validators (2 to 7), as iotledger testnet writes it, and load one of them")
	c.Flags().StringVar(&contractFile, "contract", "", "a contract document `FILE` (YAML or JSON) to measure in a second window, matching every simulated device")
	c.Flags().StringVar(&profile, "cpuprofile", "", "write the CPU profile of the measured window (with --contract, the contract's window) to `FILE` (go tool pprof; the load generator's samples are tagged iotledger=sim)")
	return c
}
