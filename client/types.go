package client

import (
	"encoding/json"
	"time"

	"github.com/iotledger/iotledger/verdict"
)

// Status is the node's view of the chain (GET /v1/status).
type Status struct {
	ChainID      string `json:"chain_id"`
	Height       int64  `json:"height"`   // the latest committed block
	AppHash      string `json:"app_hash"` // hex
	LogSize      uint64 `json:"log_size"` // readings in the log
	LogRoot      string `json:"log_root"` // hex
	Validators   int    `json:"validators"`
	NodeID       string `json:"node_id"`
	LatestTimeMs int64  `json:"latest_block_time_ms"` // unix milliseconds
	CatchingUp   bool   `json:"catching_up"`
	Version      string `json:"version"`
	// Halted is set while the node's consensus has halted: it commits
	// nothing and answers readings 503 (ErrHalted).
	Halted *Halt `json:"halted,omitempty"`
}

// Halt is why and since when a node's consensus has halted.
type Halt struct {
	Since  time.Time `json:"since"`  // when the node noticed
	Reason string    `json:"reason"` // what happened and what to do
}

// Device is a registered device.
type Device struct {
	ID         string            `json:"id"`
	Key        []byte            `json:"key"`   // current Ed25519 public key
	Owner      string            `json:"owner"` // account address, acc1...
	Labels     map[string]string `json:"labels,omitempty"`
	Status     string            `json:"status"` // active, quarantined or revoked
	OldKeys    []OldKey          `json:"old_keys,omitempty"`
	Registered int64             `json:"registered_height"`
	Updated    int64             `json:"updated_height"`
}

// OldKey is a key rotated out at height Until.
type OldKey struct {
	Key   []byte `json:"key"`
	Until int64  `json:"until_height"`
}

// DevicePage is a page of devices in id order. Next is the after of the
// next page; empty on the last page.
type DevicePage struct {
	Devices []Device `json:"devices"`
	Next    string   `json:"next"`
}

// ReadingQuery selects a device's readings: by sequence number or, with
// ByTime, by device time in unix milliseconds. From and To are inclusive;
// To 0 means no upper bound. Limit 0 means the server's default (100); the
// server takes at most 1000. With ByTime, StartSeq continues a time query:
// pass the previous page's Next.
type ReadingQuery struct {
	From, To uint64
	Limit    int
	ByTime   bool
	StartSeq uint64
}

// ReadingEntry is a committed reading.
type ReadingEntry struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`    // device time, UTC
	TimeMs int64     `json:"time_ms"` // device time, unix milliseconds
	// Data holds the reading's fields: string, bool or json.Number, which
	// keeps every digit of a 64-bit integer.
	Data    map[string]any `json:"data"`
	Index   uint64         `json:"index"`   // leaf index in the reading log
	Height  int64          `json:"height"`  // the block that committed it
	Receipt string         `json:"receipt"` // API path of its receipt
}

// ReadingPage is a page of readings in sequence order. Next is the
// sequence number of the first matching reading not in the page; nil on
// the last page. With a query by sequence number, ask again with From set
// to *Next.
type ReadingPage struct {
	Readings []ReadingEntry `json:"readings"`
	Next     *uint64        `json:"next"`
}

// Gaps is what the ledger knows of a device's sequence numbers: how many
// readings are committed, the lowest and highest, and the missing ranges
// between them, oldest first. GapsTruncated says the oldest were dropped.
type Gaps struct {
	Device        string  `json:"device"`
	Count         uint64  `json:"count"`
	MinSeq        uint64  `json:"min_seq"`
	MaxSeq        uint64  `json:"max_seq"`
	Gaps          []Range `json:"gaps"`
	GapsTruncated bool    `json:"gaps_truncated"`
}

// Range is an inclusive range of sequence numbers.
type Range struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// Block is a committed block.
type Block struct {
	Height      int64      `json:"height"`
	TimeMs      int64      `json:"time_ms"`  // block time, unix milliseconds
	LogSize     uint64     `json:"log_size"` // readings in the log after the block
	LogRoot     []byte     `json:"log_root"`
	StateDigest []byte     `json:"state_digest"`
	AppHash     []byte     `json:"app_hash"` // carried by the next block's header
	Readings    uint64     `json:"readings"` // readings the block appended
	Txs         int        `json:"txs"`      // transactions the app executed
	Hash        string     `json:"hash"`     // CometBFT block hash, hex
	Proposer    string     `json:"proposer"` // hex address
	NumTxs      int        `json:"num_txs"`
	Results     []TxResult `json:"tx_results,omitempty"`
}

// TxResult is one transaction's result in a block.
type TxResult struct {
	Code uint32 `json:"code"` // 0 is success
	Name string `json:"name"` // the code's stable name
	Log  string `json:"log"`
}

// Statuses of a Result: package verdict's, which says what to do about
// each.
const (
	Accepted  = verdict.Accepted  // committed; Index, Height and Receipt are set
	Duplicate = verdict.Duplicate // (device, seq) was committed before; Index, Height and Receipt are the original's
	Rejected  = verdict.Rejected  // refused; Reason and Detail say why
	Pending   = verdict.Pending   // taken but not committed yet (or not waited for)
)

// ReasonSeqReused is the Reason of a Rejected reading whose (device, seq)
// was committed before with other data (verdict.CodeSeqReused): the new
// data is not stored, and Index, Height and Receipt locate the original.
// The device signed a sequence number twice (its sequence state was lost,
// or restored from an old copy); a byte-identical resend is answered
// Duplicate instead.
const ReasonSeqReused = "seq_reused"

// Result is the fate of one submitted reading (verdict.Result): Status,
// Reason (a result code's name, such as bad_signature) and Detail; Index,
// Height and Receipt (an API path) locate it in the log, or the original
// for Duplicate and ReasonSeqReused.
type Result = verdict.Result

// Event is one live event. Type is "reading" (the fate of a reading in a
// committed block), "device" (a device registered, revoked, rotated,
// quarantined or reactivated), "block" (a committed block), "twin" (a
// change of a device twin) or "contract_event" (an event a contract
// emitted: decode it into a ContractEvent); Data is its JSON, whose shapes
// the node's OpenAPI document describes (ReadingEvent, DeviceEvent,
// BlockEvent, ContractEvent).
type Event struct {
	ID   string // its place in the chain, <height>-<n>: pass it as EventOptions.LastEventID to resume after it
	Type string
	Data json.RawMessage
}

// Decode decodes the event's data into v.
func (e Event) Decode(v any) error { return json.Unmarshal(e.Data, v) }

// Account is GET /v1/accounts/{addr}: an account (acc1...) or a device's
// account (dev1...), with its payments newest first.
type Account struct {
	Address string    `json:"address"`
	Token   string    `json:"token"`
	Balance uint64    `json:"balance"`
	Nonce   uint64    `json:"nonce"`
	History []Payment `json:"history"`
	Next    string    `json:"next,omitempty"` // cursor of the next page; empty on the last
}

// Payment is one transfer in (Amount > 0) or out (Amount < 0) of an account,
// or its genesis allocation (Counterparty "genesis").
type Payment struct {
	Height       int64  `json:"height"`
	Tx           uint32 `json:"tx"`
	Amount       int64  `json:"amount"`
	Counterparty string `json:"counterparty"`
	Memo         string `json:"memo,omitempty"`
	BalanceAfter uint64 `json:"balance_after"`
	SignedBy     string `json:"signed_by,omitempty"`
}

// Twin is GET /v1/devices/{id}/twin.
type Twin struct {
	Device   string         `json:"device"`
	AsOf     int64          `json:"as_of_height,omitempty"`
	Desired  TwinState      `json:"desired"`
	Reported TwinState      `json:"reported"`
	Delta    map[string]any `json:"delta"`
}

// TwinState is one side of a twin.
type TwinState struct {
	Version uint64         `json:"version"`
	Height  int64          `json:"height"`
	State   map[string]any `json:"state"`
}

// TxCommit is what became of a signed transaction (POST /v1/txs).
type TxCommit struct {
	Committed bool   `json:"committed"` // in block Height; else CheckTx refused it
	Height    int64  `json:"height,omitempty"`
	Hash      string `json:"hash"`
	TxResult
}
