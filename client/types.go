package client

import (
	"encoding/json"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/verdict"
)

// The answers of the API are package apiwire's types, which the node
// answers with too; the names below are theirs, kept in this package so
// that a program needs only package client.
type (
	Status       = apiwire.Status       // the node's view of the chain (GET /v1/status)
	Halt         = apiwire.Halt         // why and since when a node's consensus has halted
	Device       = apiwire.Device       // a registered device
	OldKey       = apiwire.OldKey       // a key rotated out
	DevicePage   = apiwire.DevicePage   // a page of devices in id order
	ReadingEntry = apiwire.ReadingEntry // a committed reading
	ReadingPage  = apiwire.ReadingPage  // a page of readings in sequence order
	Gaps         = apiwire.Gaps         // what the ledger knows of a device's sequence numbers
	Range        = apiwire.Range        // an inclusive range of sequence numbers
	Block        = apiwire.Block        // a committed block
	TxResult     = apiwire.TxResult     // one transaction's result
	TxCommit     = apiwire.TxCommit     // what became of a signed transaction (POST /v1/txs)
	Account      = apiwire.Account      // an account with its payments, newest first
	Payment      = apiwire.Payment      // a transfer in or out of an account
	Twin         = apiwire.Twin         // a device's twin (GET /v1/devices/{id}/twin)
	TwinState    = apiwire.TwinState    // one side of a twin
)

// ReadingQuery selects a device's readings: by sequence number or, with
// ByTime, by device time in unix milliseconds. From and To are inclusive;
// To 0 means no upper bound. Limit 0 means the server's default (100); the
// server takes at most 1000. PageToken continues a query: pass the
// previous page's NextPageToken (and the same From, To and ByTime).
// Deprecated: with ByTime, StartSeq continues a time query (pass the
// previous page's Next); by seq, From does.
type ReadingQuery struct {
	From, To  uint64
	Limit     int
	ByTime    bool
	StartSeq  uint64
	PageToken string
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
