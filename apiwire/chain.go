package apiwire

import (
	"time"

	"github.com/iotledger/iotledger/verdict"
)

// Status is GET /v1/status: the node's view of the chain.
type Status struct {
	ChainID      string `json:"chain_id"`
	Height       int64  `json:"height"`   // the latest committed block
	AppHash      Hex    `json:"app_hash"` // after that block
	LogSize      uint64 `json:"log_size"` // readings in the log
	LogRoot      Hex    `json:"log_root"` // the log's RFC 6962 root
	Validators   int    `json:"validators"`
	NodeID       string `json:"node_id"`
	LatestTimeMs int64  `json:"latest_block_time_ms"` // unix milliseconds
	CatchingUp   bool   `json:"catching_up"`
	Version      string `json:"version"`
	// Halted is set while the node's consensus has halted: it commits
	// nothing and answers readings and transactions 503 (kind halted).
	// Absent while it commits.
	Halted *Halt `json:"halted,omitempty"`
}

// Halt is Status.Halted: since when and why the node's consensus has
// halted.
type Halt struct {
	// Since is when the node noticed the halt (its wall clock), RFC 3339.
	Since time.Time `json:"since"`
	// Reason says what happened and what to do: a consensus failure (which
	// only a restart clears, such as a full disk), or no block for several
	// block times while transactions wait (which clears when blocks come
	// again).
	Reason string `json:"reason"`
}

// BlockEvent is what the app records of a committed block: the data of a
// "block" event, and the first fields of a Block.
type BlockEvent struct {
	Height      int64  `json:"height"`
	TimeMs      int64  `json:"time_ms"`  // block time, unix milliseconds
	LogSize     uint64 `json:"log_size"` // readings in the log after the block
	LogRoot     Hex    `json:"log_root"`
	StateDigest Hex    `json:"state_digest"`
	AppHash     Hex    `json:"app_hash"` // after the block; the next block's header carries it
	Readings    uint64 `json:"readings"` // readings the block appended
	Txs         int    `json:"txs"`      // transactions the app executed
}

// BlockPage is GET /v1/blocks: the app's records of committed blocks,
// newest first.
type BlockPage struct {
	Blocks []BlockEvent `json:"blocks"`
	// NextPageToken is the page_token of the next page; absent on the
	// last page.
	NextPageToken string `json:"next_page_token,omitempty"`
}

// Stats is GET /v1/stats: counts of committed state for an overview.
type Stats struct {
	Height    int64       `json:"height"`    // the latest committed block
	LogSize   uint64      `json:"log_size"`  // readings in the log
	Devices   DeviceStats `json:"devices"`   // registered devices by status
	Contracts uint64      `json:"contracts"` // contracts ever deployed
}

// Block is GET /v1/blocks/{height}: what the app recorded of a committed
// block, and what CometBFT's block store holds of it.
type Block struct {
	BlockEvent
	Hash     Hex        `json:"hash"`     // CometBFT's block hash
	Proposer string     `json:"proposer"` // the proposer's validator address, hex
	NumTxs   int        `json:"num_txs"`
	Results  []TxResult `json:"tx_results,omitempty"`
	// Transactions are the block's transactions as CometBFT's block store
	// holds them, in block order; absent when the node does not hold the
	// block (it joined by state sync after it).
	Transactions []BlockTx `json:"transactions,omitempty"`
}

// BlockTx is one transaction of a block: its hash (SHA-256 of its bytes,
// as POST /v1/txs answers it), its type ("readings" for a batch of
// readings, a signed transaction's type such as "transfer" or
// "register_device", "undecodable" for bytes that are neither), its size,
// a batch's number of readings, and a signed transaction's signer and
// nonce.
type BlockTx struct {
	Hash     Hex    `json:"hash"`
	Type     string `json:"type"`
	Bytes    int    `json:"bytes"`
	Readings int    `json:"readings,omitempty"`
	Signer   string `json:"signer,omitempty"` // the signing account, acc1...
	Nonce    Uint64 `json:"nonce,omitempty"`
}

// TxResult is one transaction's result.
type TxResult struct {
	Code uint32 `json:"code"` // 0 is success; else the rule's code (verdict.Code)
	Name string `json:"name"` // the code's stable name (verdict.Code.String)
	Log  string `json:"log"`  // what happened, for a person
}

// TxCommit is the answer of POST /v1/txs. Committed: the transaction is in
// block Height, with its result there (Code 0: applied; else the rule that
// refused it, its nonce spent all the same). Not committed: CheckTx refused
// it (Code and Log say why) and no block holds it.
type TxCommit struct {
	Committed bool  `json:"committed"`
	Height    int64 `json:"height,omitempty"`
	Hash      Hex   `json:"hash"` // SHA-256 of the transaction
	TxResult
}

// Submission is the JSON body of POST /v1/readings: COSE_Sign1 readings,
// each in standard base64 (RFC 4648 section 4, with padding).
type Submission struct {
	Readings []string `json:"readings"`
}

// Results is the answer of POST /v1/readings: one result per reading, in
// the order of the request. Package verdict says what each status means
// and what to do about it.
type Results struct {
	Results []verdict.Result `json:"results"`
}

// ReadingEvent is the data of a "reading" event: the fate of one reading
// in a committed block (package verdict's Verdict, whose JSON it is).
type ReadingEvent = verdict.Verdict

// Health is the answer of GET /healthz.
type Health struct {
	Status string `json:"status"` // "serving"
}

// Readiness is the answer of GET /readyz when every check passes.
type Readiness struct {
	Ready  bool    `json:"ready"`
	Checks []Check `json:"checks"`
}

// Check is one readiness check of GET /readyz.
type Check struct {
	Name   string `json:"name"` // store, sync, consensus, mempool
	OK     bool   `json:"ok"`
	Detail string `json:"detail"` // what was found; when not OK, what to do
}

// Problem is the body of every error answer: problem details (RFC 9457),
// served as application/problem+json. Detail says what was wrong and what
// to do.
type Problem struct {
	Type     string `json:"type"`     // ProblemType and a kind, such as "urn:iotledger:problem:not-found"
	Title    string `json:"title"`    // the kind in words; the same for every problem of a type
	Status   int    `json:"status"`   // the HTTP status code
	Detail   string `json:"detail"`   // this occurrence: what was wrong, what to do
	Instance string `json:"instance"` // the request path
}

// ProblemType prefixes the type of every problem the API answers; the kind
// (not-found, busy, ...) follows it. The OpenAPI document lists the kinds.
const ProblemType = "urn:iotledger:problem:"

// LogEntry is GET /v1/log/entries/{index}: the reading at a log index,
// where it was committed, its RFC 6962 leaf hash and where its receipt is.
type LogEntry struct {
	Index    uint64 `json:"index"`
	Device   string `json:"device"`
	Seq      uint64 `json:"seq"`
	Height   int64  `json:"height"`
	LeafHash Hex    `json:"leaf_hash"`
	Receipt  string `json:"receipt"` // the receipt's path, verdict.ReceiptPath
}

// LogConsistency is GET /v1/log/consistency: the RFC 6962 consistency
// proof between the log's first From and first To leaves, and the roots
// of both sizes.
type LogConsistency struct {
	From     uint64 `json:"from"`
	To       uint64 `json:"to"`
	FromRoot Hex    `json:"from_root"`
	ToRoot   Hex    `json:"to_root"`
	Proof    []Hex  `json:"proof"`
}
