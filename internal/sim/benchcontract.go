package sim

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/contract"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/tx"
)

// ContractFigures are the bench's second run: the same load on a second
// fresh node, with a contract deployed whose triggers match every simulated
// device.
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

// contractRun reads what the contract did in its run.
func contractRun(n *node.Node, id, name string) (*ContractFigures, error) {
	ci, err := n.App().Reader().Contract(id)
	if err != nil {
		return nil, err
	}
	if ci == nil {
		return nil, fmt.Errorf("sim: contract %s is gone", id)
	}
	failed, err := countFailed(n, id, 0)
	if err != nil {
		return nil, err
	}
	return &ContractFigures{Name: name, ID: id, Events: ci.Events, Failed: failed}, nil
}

// contractFigures puts the contract run's figures beside the plain run's.
func contractFigures(plain, with *Report) *ContractFigures {
	cf := with.Contract
	cf.CommittedPerS, cf.P50Ms, cf.P99Ms = with.CommittedPerS, with.P50Ms, with.P99Ms
	cf.CPUPer1000, cf.Committed, cf.Lost = with.CPUPer1000, with.Committed, with.Lost
	if plain.CommittedPerS > 0 {
		cf.ThroughputCost = 1 - cf.CommittedPerS/plain.CommittedPerS
	}
	if plain.CPUPer1000 > 0 {
		cf.CPUCost = cf.CPUPer1000/plain.CPUPer1000 - 1
	}
	return cf
}

// countFailed counts the contract's "failed" events after event number after.
func countFailed(n *node.Node, id string, after uint64) (uint64, error) {
	var failed uint64
	for {
		es, err := n.App().Reader().ContractEvents(id, after, 10_000)
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
	fmt.Fprintf(w, "contract:    %s (%s) matching every device: the same load on a second fresh node, the contract deployed before it:\n", cf.ID, cf.Name)
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
