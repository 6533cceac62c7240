package sim

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/contract"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/tx"
)

// ContractFigures are the bench's second window: the same load with a
// contract deployed whose triggers match every simulated device, measured
// on the same node right after the plain window.
type ContractFigures struct {
	Name          string  `json:"name"`
	ID            string  `json:"id"`
	CommittedPerS float64 `json:"committed_per_s"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	CPUPer1000    float64 `json:"cpu_s_per_1000"`
	Committed     int     `json:"committed"`
	Lost          int     `json:"lost"`
	Events        uint64  `json:"events"` // the contract's events over the window, failures included
	Failed        uint64  `json:"failed_runs"`
	// ThroughputCost is 1 - committed_per_s with the contract / without;
	// CPUCost is cpu_s_per_1000 with / without - 1. Throughput says what
	// the contract costs only when the offered rate saturates the node.
	ThroughputCost float64 `json:"throughput_cost"`
	CPUCost        float64 `json:"cpu_cost"`
}

// benchOwner is the account that deploys and funds the bench's contract,
// funded in the bench chain's genesis.
func benchOwner(seed string) ed25519.PrivateKey {
	h := sha256.Sum256([]byte("iotledger-bench-owner/v1\x00" + seed))
	return ed25519.NewKeyFromSeed(h[:])
}

// benchFund is the escrow the bench's contract gets: more than any run pays out.
const benchFund = 1 << 61

// contractLabels checks that a contract's device triggers can match the
// simulated devices (by labels, not ids) and returns the labels to give
// them.
func contractLabels(src []byte) (string, map[string]string, error) {
	c, err := contract.Check(src)
	if err != nil {
		return "", nil, fmt.Errorf("sim: --contract: %w", err)
	}
	labels := map[string]string{}
	for i := range c.Doc.Triggers {
		t := &c.Doc.Triggers[i]
		if t.Devices == nil {
			continue
		}
		if len(t.Devices.IDs) > 0 {
			return "", nil, fmt.Errorf("sim: --contract: trigger %s selects devices by id; the simulated devices can match only a labels selector", t.Name)
		}
		for k, v := range t.Devices.Labels {
			if old, ok := labels[k]; ok && old != v {
				return "", nil, fmt.Errorf("sim: --contract: triggers select label %s=%s and %s=%s; a simulated device has one value per label", k, old, k, v)
			}
			labels[k] = v
		}
	}
	return c.Doc.Name, labels, nil
}

// deployContract deploys src, signed by owner and funded, and returns its id.
func deployContract(ctx context.Context, n *node.Node, owner ed25519.PrivateKey, chainID string, src []byte) (string, error) {
	raw, err := tx.Sign(owner, tx.TypeDeployContract, chainID, 0, &tx.DeployContract{Source: src, Fund: benchFund})
	if err != nil {
		return "", err
	}
	r, err := n.RPC().BroadcastTxCommit(ctx, raw)
	if err != nil {
		return "", fmt.Errorf("sim: deploy the contract: %w", err)
	}
	if c := r.CheckTx.Code; c != 0 {
		return "", fmt.Errorf("sim: deploy the contract: refused (%s): %s", app.Code(c), r.CheckTx.Log)
	}
	if c := r.TxResult.Code; c != 0 {
		return "", fmt.Errorf("sim: deploy the contract: refused in block %d (%s): %s", r.Height, app.Code(c), r.TxResult.Log)
	}
	var id string
	if _, err := fmt.Sscanf(r.TxResult.Log, "deployed %s", &id); err != nil {
		return "", fmt.Errorf("sim: deploy the contract: result log %q names no contract", r.TxResult.Log)
	}
	return id, nil
}

// contractWindow deploys the contract and runs the second window: fresh
// readings (sequence numbers after the first window's), the same schedule.
func contractWindow(ctx context.Context, c BenchConfig, n *node.Node, send Sender, p *prepared, s Schedule, plain *Report, name string) (*ContractFigures, error) {
	id, err := deployContract(ctx, n, benchOwner(c.Seed), benchChainID, c.Contract)
	if err != nil {
		return nil, err
	}
	c.progress("bench: deployed contract %s (%s); signing the second window's readings", id, name)
	count := len(p.raws)
	next := p.reg.NextSeq + uint64((count-1)/p.fleet.Len()) + 1
	p.raws = nil
	runtime.GC()
	if p.raws, err = p.fleet.Presign(ctx, count, next, time.Now()); err != nil {
		return nil, err
	}
	if pl, ok := send.(interface{ plan([][]byte, uint64) }); ok {
		pl.plan(p.raws, next)
	}
	before, err := n.App().Contract(id)
	if err != nil {
		return nil, err
	}
	var w cpuWindow
	s.OnWindow = w.mark
	s.Committed = func(context.Context) (uint64, error) { return n.App().Log().Size(), nil }
	c.progress("bench: sending %d readings/s for %v via %s, contract %s running", int(s.Rate), s.Duration, c.Via, id)
	st, err := Run(ctx, s, p.raws, send)
	if err != nil {
		return nil, err
	}
	if !settle(ctx, n, settleTime) {
		c.progress("bench: the node's mempool was not empty %v after the contract window", settleTime)
	}
	after, err := n.App().Contract(id)
	if err != nil {
		return nil, err
	}
	failed, err := countFailed(n, id, before.Events)
	if err != nil {
		return nil, err
	}
	f := newFigures(c.Config, s, p, st)
	cpu, _, err := w.result()
	if err != nil {
		return nil, err
	}
	if c.CPUProfile != nil && w.profing {
		if _, err := c.CPUProfile.Write(w.prof.Bytes()); err != nil {
			return nil, fmt.Errorf("sim: write the CPU profile: %w", err)
		}
	}
	cf := &ContractFigures{
		Name: name, ID: id, CommittedPerS: f.CommittedPerS, P50Ms: f.P50Ms, P99Ms: f.P99Ms,
		Committed: f.Committed, Lost: f.Lost, Events: after.Events - before.Events, Failed: failed,
	}
	if st.CommittedInWindow > 0 {
		cf.CPUPer1000 = cpu.Seconds() / (float64(st.CommittedInWindow) / 1000)
	}
	if plain.CommittedPerS > 0 {
		cf.ThroughputCost = 1 - cf.CommittedPerS/plain.CommittedPerS
	}
	if plain.CPUPer1000 > 0 {
		cf.CPUCost = cf.CPUPer1000/plain.CPUPer1000 - 1
	}
	return cf, nil
}

// countFailed counts the contract's "failed" events after event number after.
func countFailed(n *node.Node, id string, after uint64) (uint64, error) {
	var failed uint64
	for {
		es, err := n.App().ContractEvents(id, after, 10_000)
		if err != nil {
			return 0, err
		}
		if len(es) == 0 {
			return failed, nil
		}
		for _, e := range es {
			if e.Name == "failed" {
				failed++
			}
		}
		after = es[len(es)-1].N
	}
}

// WriteText writes the contract window's figures.
func (cf *ContractFigures) WriteText(w io.Writer, plain *Report) {
	fmt.Fprintf(w, "contract:    %s (%s) matching every device, same load, same node, right after the plain window:\n", cf.ID, cf.Name)
	fmt.Fprintf(w, "             %.0f committed/s (plain %.0f: %.1f%% less), p50 %.0f ms, p99 %.0f ms, %.3f CPU s per 1000 (plain %.3f: %+.1f%%), %d events (%d failed runs), lost %d\n",
		cf.CommittedPerS, plain.CommittedPerS, 100*cf.ThroughputCost, cf.P50Ms, cf.P99Ms, cf.CPUPer1000, plain.CPUPer1000, 100*cf.CPUCost, cf.Events, cf.Failed, cf.Lost)
}

func benchGenesis(c BenchConfig) (node.InitOptions, error) {
	o := node.InitOptions{ChainID: benchChainID, Moniker: "bench"}
	if c.Contract == nil {
		return o, nil
	}
	owner := benchOwner(c.Seed)
	o.Balances = []app.Allocation{{Address: address.Account(owner.Public().(ed25519.PublicKey)), Amount: benchFund}}
	return o, nil
}

const benchChainID = "iotledger-bench"
