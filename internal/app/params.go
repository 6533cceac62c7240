package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/state"
)

// DefaultParams are the rules of a new chain.
func DefaultParams() state.Params {
	return state.Params{
		ReadingWindowBackMs:  24 * 60 * 60 * 1000,
		ReadingWindowAheadMs: 5 * 60 * 1000,
		MaxBatchReadings:     4096,
		MaxTxBytes:           4 << 20,
		DeviceRatePerS:       100,
		DeviceBurst:          1000,

		ValidatorProposalBlocks: state.DefaultValidatorProposalBlocks,
	}
}

// validateParams names the first invalid field of p.
func validateParams(p state.Params) error {
	switch {
	case p.ReadingWindowBackMs <= 0:
		return fmt.Errorf("app: params.reading_window_back_ms is %d, want > 0", p.ReadingWindowBackMs)
	case p.ReadingWindowAheadMs < 0:
		return fmt.Errorf("app: params.reading_window_ahead_ms is %d, want >= 0", p.ReadingWindowAheadMs)
	case p.MaxBatchReadings <= 0:
		return fmt.Errorf("app: params.max_batch_readings is %d, want > 0", p.MaxBatchReadings)
	case p.MaxTxBytes < 8192:
		return fmt.Errorf("app: params.max_tx_bytes is %d, want >= 8192", p.MaxTxBytes)
	case p.DeviceRatePerS < 0 || p.DeviceRatePerS > 1_000_000:
		return fmt.Errorf("app: params.device_rate_per_s is %d, want 0 (no limit) to 1000000", p.DeviceRatePerS)
	case p.DeviceRatePerS > 0 && (p.DeviceBurst < 1 || p.DeviceBurst > 1_000_000):
		return fmt.Errorf("app: params.device_burst is %d, want 1 to 1000000", p.DeviceBurst)
	case p.ValidatorProposalBlocks < 1 || p.ValidatorProposalBlocks > 10_000_000:
		return fmt.Errorf("app: params.validator_proposal_blocks is %d, want 1 to 10000000", p.ValidatorProposalBlocks)
	}
	return nil
}

// Genesis is the app_state of genesis.json. Its JSON is genesisJSON's:
// the stored record state.Params carries no JSON names of its own, so the
// file's format and the store's can change apart.
type Genesis struct {
	Params state.Params
	// Token is the name of the chain's token, which accounts hold.
	Token string
	// Balances are the genesis allocations, credited in the first block.
	Balances []Allocation
}

// genesisJSON is Genesis as genesis.json writes it.
type genesisJSON struct {
	Params   genesisParams `json:"params"`
	Token    string        `json:"token"`
	Balances []Allocation  `json:"balances,omitempty"`
}

// genesisParams is state.Params as genesis.json writes it (app_state.params).
type genesisParams struct {
	ReadingWindowBackMs     int64 `json:"reading_window_back_ms"`
	ReadingWindowAheadMs    int64 `json:"reading_window_ahead_ms"`
	MaxBatchReadings        int   `json:"max_batch_readings"`
	MaxTxBytes              int   `json:"max_tx_bytes"`
	DeviceRatePerS          int64 `json:"device_rate_per_s"`
	DeviceBurst             int64 `json:"device_burst"`
	ValidatorProposalBlocks int64 `json:"validator_proposal_blocks"`
}

// MarshalJSON writes g as genesis.json's app_state.
func (g Genesis) MarshalJSON() ([]byte, error) {
	return json.Marshal(genesisJSON{Params: genesisParams(g.Params), Token: g.Token, Balances: g.Balances})
}

// UnmarshalJSON reads genesis.json's app_state over g (a field the JSON
// leaves out keeps its value in g), refusing keys it does not know.
func (g *Genesis) UnmarshalJSON(b []byte) error {
	j := genesisJSON{Params: genesisParams(g.Params), Token: g.Token, Balances: g.Balances}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*g = Genesis{Params: state.Params(j.Params), Token: j.Token, Balances: j.Balances}
	return nil
}

// Allocation is a genesis balance: an account address or a device id.
type Allocation struct {
	Address string `json:"address"`
	Amount  uint64 `json:"amount"`
}

// DefaultGenesis is the app_state `init` writes.
func DefaultGenesis() Genesis { return Genesis{Params: DefaultParams(), Token: state.DefaultToken} }

// Validate names the first invalid field.
func (g Genesis) Validate() error {
	if err := validateParams(g.Params); err != nil {
		return err
	}
	if g.Token == "" || len(g.Token) > 16 {
		return fmt.Errorf("app: genesis token is %q, want a name of 1 to 16 characters", g.Token)
	}
	seen := map[string]bool{}
	var total uint64
	for i, b := range g.Balances {
		if address.ParseAccount(b.Address) != nil && address.ParseDevice(b.Address) != nil {
			return fmt.Errorf("app: genesis balances[%d].address %q is neither an account address (acc1...) nor a device id (dev1...)", i, b.Address)
		}
		if seen[b.Address] {
			return fmt.Errorf("app: genesis balances[%d]: %s is listed twice; give each address one allocation", i, b.Address)
		}
		seen[b.Address] = true
		if b.Amount == 0 || b.Amount > math.MaxInt64 {
			return fmt.Errorf("app: genesis balances[%d].amount is %d, want 1 to %d", i, b.Amount, int64(math.MaxInt64))
		}
		if total+b.Amount < total {
			return fmt.Errorf("app: genesis balances add up to more than 2^64-1")
		}
		total += b.Amount
	}
	return nil
}

// ParseGenesis reads app_state; empty means defaults.
func ParseGenesis(b []byte) (Genesis, error) {
	g := DefaultGenesis()
	if len(b) == 0 || string(b) == "null" {
		return g, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return g, fmt.Errorf("app: genesis app_state: %w", err)
	}
	return g, g.Validate()
}
