package sim

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"
)

// Config is one simulation: a fleet and its schedule.
type Config struct {
	Devices int
	Seed    string // derives the device keys; the same seed is the same fleet
	Via     string // ViaHTTP or ViaMQTT, for the report
	// ReceiptQoS is the QoS of the MQTT devices' subscriptions to their
	// receipts and errors: 1 (the broker keeps an answer until the device
	// acknowledges it) or 0 (at most once: a device that misses one sends
	// the reading again and gets the duplicate's receipt).
	ReceiptQoS int
	Schedule   Schedule
	// Labels are given to the devices the run registers, beside source=sim.
	Labels map[string]string
	// Progress receives a line as each stage starts; nil means none.
	Progress io.Writer
}

// DefaultSeed is the seed of the fleet when none is given.
const DefaultSeed = "iotledger-sim"

// Validate names the first bad field, as its flag.
func (c Config) Validate() error {
	if c.Devices < 1 {
		return fmt.Errorf("sim: --devices %d: want at least 1", c.Devices)
	}
	if c.Via != "" && c.Via != ViaHTTP && c.Via != ViaMQTT {
		return fmt.Errorf("sim: --via %q: want %s or %s", c.Via, ViaHTTP, ViaMQTT)
	}
	if c.ReceiptQoS != 0 && c.ReceiptQoS != 1 {
		return fmt.Errorf("sim: --receipt-qos %d: want 0 or 1", c.ReceiptQoS)
	}
	return c.Schedule.Validate()
}

func (c Config) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// prepared is a fleet registered on the chain, with its readings signed.
type prepared struct {
	fleet *Fleet
	reg   Registered
	raws  [][]byte
	size  int64 // bytes of the readings
}

// prepare does a simulation's steps 1 to 3 (see the package comment).
func prepare(ctx context.Context, c Config, chain Chain, lookup Lookup) (*prepared, error) {
	p := &prepared{fleet: NewFleet(c.Seed, c.Devices)}
	p.fleet.Labels = c.Labels
	c.progress("sim: looking up %d devices, registering those the chain does not know", c.Devices)
	var err error
	if p.reg, err = p.fleet.Register(ctx, chain, lookup); err != nil {
		return nil, err
	}
	count := c.Schedule.Count()
	c.progress("sim: %d devices registered now; signing %d readings on %d cores", p.reg.New, count, runtime.GOMAXPROCS(0))
	start := time.Now()
	if p.raws, err = p.fleet.Presign(ctx, count, p.reg.NextSeq, time.Now()); err != nil {
		return nil, err
	}
	for _, r := range p.raws {
		p.size += int64(len(r))
	}
	c.progress("sim: signed in %v", time.Since(start).Round(time.Millisecond))
	return p, nil
}

// connect connects the fleet's devices if send is a Connector.
func connect(ctx context.Context, c Config, send Sender, p *prepared) error {
	cn, ok := send.(Connector)
	if !ok {
		return nil
	}
	c.progress("sim: connecting %d devices, each as itself", p.fleet.Len())
	start := time.Now()
	if err := cn.Connect(ctx, p.fleet); err != nil {
		return err
	}
	if pl, ok := send.(interface{ plan([][]byte, uint64) }); ok {
		pl.plan(p.raws, p.reg.NextSeq)
	}
	c.progress("sim: connected in %v", time.Since(start).Round(time.Millisecond))
	return nil
}

// Simulate registers the fleet, signs its readings and publishes them on
// schedule through send: `iotledger sim`. A node that is still running when
// ctx ends gets the figures so far, with ctx's error.
func Simulate(ctx context.Context, c Config, chain Chain, lookup Lookup, send Sender) (*Figures, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p, err := prepare(ctx, c, chain, lookup)
	if err != nil {
		return nil, err
	}
	if err := connect(ctx, c, send, p); err != nil {
		return nil, err
	}
	s := c.Schedule.withDefaults()
	c.progress("sim: sending %d readings/s for %v via %s", int(s.Rate), s.Duration, c.Via)
	st, err := Run(ctx, s, p.raws, send)
	if st == nil {
		return nil, err
	}
	return newFigures(c, s, p, st), err
}
