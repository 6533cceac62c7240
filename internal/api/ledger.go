package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/verdict"
)

// Ledger is what the API needs from the node: its status, blocks and
// receipts (which carry CometBFT's headers), submission, and live events.
// internal/node implements it. Reads of committed state go to a Reader.
type Ledger interface {
	Status(ctx context.Context) (*apiwire.Status, error)
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
	BroadcastTx(ctx context.Context, raw []byte) (*apiwire.TxCommit, error)
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
	// BrowseReader answers the explorer's lists (browse.go).
	BrowseReader
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

// BlockInfo is a committed block as the node knows it: the app's record
// of it and what CometBFT's block store holds. The API answers it as an
// apiwire.Block.
type BlockInfo struct {
	state.Block
	Hash     []byte // CometBFT's block hash
	Proposer string // the proposer's validator address, hex
	NumTxs   int
	Results  []apiwire.TxResult
	Txs      []apiwire.BlockTx // the block's transactions (BlockTxs of their bytes); nil if the node lacks the block
}
