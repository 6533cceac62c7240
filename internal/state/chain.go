package state

import (
	"crypto/sha256"
	"fmt"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// Meta is the app's state after its last committed block (x/meta).
type Meta struct {
	ChainID string `cbor:"1,keyasint"`
	Height  int64  `cbor:"2,keyasint"`
	AppHash []byte `cbor:"3,keyasint"`
	Digest  []byte `cbor:"4,keyasint"`
	Params  Params `cbor:"5,keyasint"`
	Token   string `cbor:"6,keyasint,omitempty"` // the token's name; empty in stores from before tokens: DefaultToken
	// Contracts counts the contracts ever deployed; the next is ctr-<Contracts+1>.
	Contracts uint64 `cbor:"7,keyasint,omitempty"`
	// Validators is the genesis validator set, by key (InitChain's); the
	// record l/set holds the set once it changed.
	Validators []Validator `cbor:"8,keyasint,omitempty"`
	// Proposals counts the validator set change proposals ever made.
	Proposals uint64 `cbor:"9,keyasint,omitempty"`
}

// DefaultToken is the name of the chain's token unless genesis names
// another (app_state.token), and of the token of stores from before tokens.
const DefaultToken = "IOT"

// TokenName returns the name of the chain's token.
func (m Meta) TokenName() string {
	if m.Token == "" {
		return DefaultToken
	}
	return m.Token
}

// Params are the chain's rules that are set in genesis (app_state.params):
// every validator must apply the same ones. Meta holds them, encoded by
// field name (the names are part of the record). Package app reads and
// writes them in genesis.json under the same names.
type Params struct {
	// ReadingWindowBackMs and ReadingWindowAheadMs bound how far a reading's
	// time may lie before or after the block time.
	ReadingWindowBackMs  int64 `cbor:"reading_window_back_ms"`
	ReadingWindowAheadMs int64 `cbor:"reading_window_ahead_ms"`
	// MaxBatchReadings bounds the readings in one batch transaction.
	MaxBatchReadings int `cbor:"max_batch_readings"`
	// MaxTxBytes bounds one transaction.
	MaxTxBytes int `cbor:"max_tx_bytes"`
	// DeviceRatePerS and DeviceBurst limit each device's readings: a token
	// bucket refilled at DeviceRatePerS readings a second of block time, up
	// to DeviceBurst. A rate of 0 means no limit.
	DeviceRatePerS int64 `cbor:"device_rate_per_s"`
	DeviceBurst    int64 `cbor:"device_burst"`
	// ValidatorProposalBlocks is how many blocks after the one that holds
	// it a validator set change proposal may collect approvals; then it
	// expires. 0 (in stores from before it) means the default.
	ValidatorProposalBlocks int64 `cbor:"validator_proposal_blocks"`
}

// DefaultValidatorProposalBlocks is ValidatorProposalBlocks of a new chain:
// about three hours at a block a second.
const DefaultValidatorProposalBlocks = 10_000

// ProposalBlocks is ValidatorProposalBlocks, or its default for a store
// from before it.
func (p Params) ProposalBlocks() int64 {
	if p.ValidatorProposalBlocks == 0 {
		return DefaultValidatorProposalBlocks
	}
	return p.ValidatorProposalBlocks
}

// Block is what the app records of each committed block (b/).
type Block struct {
	Height      int64  `cbor:"1,keyasint"`
	Time        int64  `cbor:"2,keyasint"`
	LogSize     uint64 `cbor:"3,keyasint"`
	LogRoot     []byte `cbor:"4,keyasint"`
	StateDigest []byte `cbor:"5,keyasint"`
	AppHash     []byte `cbor:"6,keyasint"`
	Readings    uint64 `cbor:"7,keyasint"`
	Txs         int    `cbor:"8,keyasint"`
}

// Change is one covered write of a block, as kept for audit (c/): a nil
// Value deletes the key.
type Change struct {
	_     struct{} `cbor:",toarray"`
	Key   []byte
	Value []byte
}

// NextDigest chains a block's covered changes onto the previous state digest.
// A block without changes keeps the digest.
func NextDigest(prev []byte, height int64, changes []Change) []byte {
	if len(changes) == 0 {
		return prev
	}
	b, err := dcbor.EncMode.Marshal([]any{"iotledger/state/v1", prev, height, changes})
	if err != nil {
		panic("state: encode digest: " + err.Error())
	}
	h := sha256.Sum256(b)
	return h[:]
}

// GenesisDigest is the state digest before block 1.
func GenesisDigest(chainID string, appState []byte) []byte {
	b, err := dcbor.EncMode.Marshal([]any{"iotledger/genesis/v1", chainID, appState})
	if err != nil {
		panic("state: encode genesis digest: " + err.Error())
	}
	h := sha256.Sum256(b)
	return h[:]
}

// GetMeta returns the meta record, or nil in a store no block was
// committed to.
func GetMeta(kv KV) (*Meta, error) {
	b, err := kv.Get([]byte(KeyMeta))
	if err != nil || b == nil {
		return nil, err
	}
	m := new(Meta)
	if err := dcbor.DecMode.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: meta: %v", ErrCorrupt, err)
	}
	return m, nil
}

// GetBlock returns the record of block h, or nil if it was not committed.
func GetBlock(kv KV, h int64) (*Block, error) {
	v, err := kv.Get(BlockKey(h))
	if err != nil || v == nil {
		return nil, err
	}
	b := new(Block)
	if err := dcbor.DecMode.Unmarshal(v, b); err != nil {
		return nil, fmt.Errorf("%w: block %d: %v", ErrCorrupt, h, err)
	}
	return b, nil
}

// GetChanges returns the covered writes of block h, in key order (nil for
// a block that made none).
func GetChanges(kv KV, h int64) ([]Change, error) {
	v, err := kv.Get(ChangesKey(h))
	if err != nil || v == nil {
		return nil, err
	}
	var cs []Change
	if err := dcbor.DecMode.Unmarshal(v, &cs); err != nil {
		return nil, fmt.Errorf("%w: change record of block %d: %v", ErrCorrupt, h, err)
	}
	return cs, nil
}

// SplitLeaf returns the device key and reading of a log leaf (t/l/), which
// receipt.Leaf encodes.
func SplitLeaf(leaf []byte) (key, raw []byte, err error) {
	var parts [][]byte
	if err := dcbor.DecMode.Unmarshal(leaf, &parts); err != nil || len(parts) != 2 {
		return nil, nil, fmt.Errorf("leaf is not [key, reading]: %v", err)
	}
	return parts[0], parts[1], nil
}
