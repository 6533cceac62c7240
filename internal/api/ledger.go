package api

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/verdict"
)

// Ledger is what the API needs from the node: its status, blocks and
// receipts (which carry CometBFT's headers), submission, and live events.
// internal/node implements it. Reads of committed state go to a Reader.
type Ledger interface {
	Status(ctx context.Context) (*Status, error)
	Block(ctx context.Context, height int64) (*BlockInfo, error) // nil, nil if not committed
	// Receipt returns ErrNotFound if (device, seq) was never committed and
	// ErrNotYet if it was committed but the next block, whose header carries
	// the app hash, is not committed yet.
	Receipt(ctx context.Context, id string, seq uint64) (*receipt.Receipt, error)
	// Submit hands readings to ingest. With wait, it waits (bounded by ctx)
	// until each reading is committed or refused; readings still in flight
	// then are reported verdict.Pending. ErrBusy means the node is
	// saturated; a *ingest.HaltedError (known by its Halt method) that its
	// consensus has halted (nothing taken). The API answers each verdict as
	// its Result.
	Submit(ctx context.Context, raws [][]byte, wait bool) ([]verdict.Verdict, error)
	// BroadcastTx hands a signed transaction to consensus and waits for its
	// block (bounded by ctx), or returns CheckTx's refusal.
	BroadcastTx(ctx context.Context, raw []byte) (*TxCommit, error)
	// EventSource gives the live events and replays committed ones.
	EventSource
}

// Reader is what the read routes need: committed state. package query's
// Reader implements it (and ValidatorReader).
type Reader interface {
	Device(id string) (*state.Device, error) // nil, nil if unknown
	Devices(after string, limit int) ([]*state.Device, error)
	Progress(id string) (*state.Progress, error) // gaps etc.
	Readings(id string, q query.ReadingRange) ([]*query.Stored, *uint64, error)
	// Account returns an account (acc1...), a device's account (dev1...)
	// or a contract's escrow (ctr-N); nil, nil if it never signed nor
	// received anything.
	Account(addr string) (*state.Account, error)
	// History returns up to limit of an account's payments, newest first,
	// below the cursor before (nil: from the newest), and the cursor of the
	// next page (nil on the last).
	History(addr string, before []byte, limit int) ([]*state.Payment, []byte, error)
	// Token is the name of the chain's token.
	Token() string
	// Twin returns a device's twin as of block height (0: now).
	Twin(id string, height int64) (*state.Twin, error)
	// TwinHistory returns up to limit versions of one side (state.SideDesired
	// or SideReported) of a device's twin, newest first, below cursor before.
	TwinHistory(id, side string, before []byte, limit int) ([]*state.TwinChange, []byte, error)
	// Contract returns a deployed contract with its escrow balance and
	// document; nil, nil if no contract has that id.
	Contract(id string) (*query.ContractInfo, error)
	// Contracts returns up to limit contracts in deployment order, after
	// the after-th (0: from the first).
	Contracts(after uint64, limit int) ([]*query.ContractInfo, error)
	// ContractEvents returns up to limit events of a contract, oldest
	// first, after event number after (0: from the first).
	ContractEvents(id string, after uint64, limit int) ([]*state.Event, error)
	// LogReader reads the reading log (GET /v1/log/...).
	LogReader
}

// Account is GET /v1/accounts/{addr}: the balance, the nonce its next
// transaction needs, and its payments, newest first.
type Account struct {
	Address string          `json:"address"`
	Token   string          `json:"token"`
	Balance uint64          `json:"balance"`
	Nonce   uint64          `json:"nonce"`
	History []state.Payment `json:"history"`
	// Next is the cursor of the next page of history (query parameter
	// before); absent on the last page.
	Next string `json:"next,omitempty"`
}

// SetNext sets the cursor of the next page of history; nil for none.
func (a *Account) SetNext(cursor []byte) { a.Next = hex.EncodeToString(cursor) }

// Twin is GET /v1/devices/{id}/twin: both sides and the delta, the
// desired fields whose reported value differs or is missing.
type Twin struct {
	Device   string          `json:"device"`
	AsOf     int64           `json:"as_of_height,omitempty"` // the height asked for; absent for now
	Desired  state.TwinState `json:"desired"`
	Reported state.TwinState `json:"reported"`
	Delta    map[string]any  `json:"delta"`
}

// TwinHistory is GET /v1/devices/{id}/twin/history.
type TwinHistory struct {
	Device  string             `json:"device"`
	Side    string             `json:"side"`
	Changes []state.TwinChange `json:"changes"`
	Next    string             `json:"next,omitempty"`
}

// TxCommit is the answer of POST /v1/txs. Committed: the transaction is in
// block Height, with its result there (Code 0: applied; else the rule that
// refused it, its nonce spent all the same). Not committed: CheckTx refused
// it (Code and Log say why) and no block holds it.
type TxCommit struct {
	Committed bool   `json:"committed"`
	Height    int64  `json:"height,omitempty"`
	Hash      string `json:"hash"` // hex SHA-256 of the transaction
	TxResult
}

// Errors a Ledger returns.
var (
	ErrNotFound = errors.New("api: not found")
	ErrNotYet   = errors.New("api: receipt not available yet: the block after the reading's block is not committed")
	ErrBusy     = errors.New("api: node saturated")
)

// BlockNotOnNodeError is returned for a receipt that needs block Height,
// which this node does not hold: its first block is First (it joined the
// network by state sync).
type BlockNotOnNodeError struct{ Height, First int64 }

func (e *BlockNotOnNodeError) Error() string {
	return fmt.Sprintf("api: block %d is not on this node, whose first block is %d (it joined by state sync)", e.Height, e.First)
}

// Status is GET /v1/status.
type Status struct {
	ChainID      string `json:"chain_id"`
	Height       int64  `json:"height"`
	AppHash      string `json:"app_hash"` // hex
	LogSize      uint64 `json:"log_size"`
	LogRoot      string `json:"log_root"` // hex
	Validators   int    `json:"validators"`
	NodeID       string `json:"node_id"`
	LatestTimeMs int64  `json:"latest_block_time_ms"`
	CatchingUp   bool   `json:"catching_up"`
	Version      string `json:"version"`
	// Halted is set while the node's consensus has halted; absent else.
	Halted *Halt `json:"halted,omitempty"`
}

// BlockInfo is GET /v1/blocks/{height}.
type BlockInfo struct {
	state.Block
	Hash     string     `json:"hash"`     // CometBFT block hash, hex
	Proposer string     `json:"proposer"` // hex address
	NumTxs   int        `json:"num_txs"`
	Results  []TxResult `json:"tx_results,omitempty"`
}

// TxResult is one transaction's result in a block.
type TxResult struct {
	Code uint32 `json:"code"`
	Name string `json:"name"`
	Log  string `json:"log"`
}
