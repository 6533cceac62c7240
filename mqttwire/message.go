package mqttwire

import "github.com/iotledger/iotledger/verdict"

// Statuses of a ReceiptMessage (package verdict's words).
const (
	StatusAccepted  = verdict.Accepted  // committed now
	StatusDuplicate = verdict.Duplicate // a resend of a committed (device, seq); Index is the original's
)

// Reasons of an ErrorMessage that the broker gives itself; every other
// reason is the name of one of the ledger's result codes (verdict.Code:
// bad_signature, malformed_reading, reading_too_large, revoked_device,
// key_rotated, time_out_of_window, rate_limited, ...).
const (
	// ReasonRateLimited: the device sent more than its rate; the reading
	// was not taken: send it again later. It is the name of the ledger's
	// code for its own rate limit (params.device_rate_per_s); the embedded
	// broker holds a reading over the rate back instead of refusing it.
	ReasonRateLimited    = "rate_limited"
	ReasonDeviceMismatch = "device_mismatch" // the payload's device id is not the topic's
	// ReasonNotCommitted: the node queued the reading but stopped waiting
	// for its block (mqtt.pending_ttl, or too many readings waiting) and
	// cannot tell whether it will be committed: send it again; a resend of
	// a committed reading is answered with a duplicate receipt.
	ReasonNotCommitted = "not_committed"
)

// ReceiptMessage is the JSON published on a device's receipts topic once a
// reading is committed (StatusAccepted) or found to be a resend of a
// committed one (StatusDuplicate, with the original's index), as in
//
//	{"seq":7,"index":42,"height":9,"receipt":"/v1/devices/ID/readings/7/receipt","status":"accepted"}
type ReceiptMessage struct {
	Seq     uint64         `json:"seq"`
	Index   uint64         `json:"index"`   // leaf index in the reading log
	Height  int64          `json:"height"`  // block of this answer (a duplicate refused at once: the original's block)
	Receipt string         `json:"receipt"` // path of the full receipt in the node's HTTP API (verdict.ReceiptPath)
	Status  verdict.Status `json:"status"`  // StatusAccepted or StatusDuplicate
}

// ErrorMessage is the JSON published on a device's errors topic when a
// reading is refused, as in
//
//	{"seq":7,"reason":"bad_signature","detail":"..."}
//
// Seq is null when the payload did not decode as a reading.
type ErrorMessage struct {
	Seq    *uint64 `json:"seq"`
	Reason string  `json:"reason"` // a result code's name (verdict.Code), ReasonDeviceMismatch or ReasonNotCommitted
	Detail string  `json:"detail"` // for a person: what was wrong and what to do
}

// TwinDesiredMessage is the JSON on a device's twin/desired topic: the
// whole desired state after a committed change, its version and block.
// A device applies it and reports its state back with a report_state
// transaction (see package tx).
type TwinDesiredMessage struct {
	Version uint64         `json:"version"`
	Height  int64          `json:"height"`
	State   map[string]any `json:"state"`
}
