package app

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Params are the chain's rules that are set in genesis (app_state.params):
// every validator must apply the same ones.
type Params struct {
	// ReadingWindowBackMs and ReadingWindowAheadMs bound how far a reading's
	// time may lie before or after the block time.
	ReadingWindowBackMs  int64 `json:"reading_window_back_ms"`
	ReadingWindowAheadMs int64 `json:"reading_window_ahead_ms"`
	// MaxBatchReadings bounds the readings in one batch transaction.
	MaxBatchReadings int `json:"max_batch_readings"`
	// MaxTxBytes bounds one transaction.
	MaxTxBytes int `json:"max_tx_bytes"`
	// DeviceRatePerS and DeviceBurst limit each device's readings: a token
	// bucket refilled at DeviceRatePerS readings a second of block time, up
	// to DeviceBurst. A rate of 0 means no limit.
	DeviceRatePerS int64 `json:"device_rate_per_s"`
	DeviceBurst    int64 `json:"device_burst"`
}

// DefaultParams are the rules of a new chain.
func DefaultParams() Params {
	return Params{
		ReadingWindowBackMs:  24 * 60 * 60 * 1000,
		ReadingWindowAheadMs: 5 * 60 * 1000,
		MaxBatchReadings:     4096,
		MaxTxBytes:           4 << 20,
		DeviceRatePerS:       100,
		DeviceBurst:          1000,
	}
}

// Validate names the first invalid field.
func (p Params) Validate() error {
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
	}
	return nil
}

// Genesis is the app_state of genesis.json.
type Genesis struct {
	Params Params `json:"params"`
}

// DefaultGenesis is the app_state `init` writes.
func DefaultGenesis() Genesis { return Genesis{Params: DefaultParams()} }

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
	return g, g.Params.Validate()
}
