package verdict

import (
	"fmt"
	"net/url"
	"strconv"
)

// Status is what became of a reading, in one word.
type Status string

// Statuses; the package comment says what a client does about each.
const (
	Accepted  Status = "accepted"  // committed now: Index and Height locate it, and its receipt
	Duplicate Status = "duplicate" // the same bytes were committed before: Index and Height are the original's
	Rejected  Status = "rejected"  // refused: Code names the rule, Detail says what to do
	Pending   Status = "pending"   // taken but not committed yet, or not waited for
)

// Verdict is what became of one reading, as the node knows it: the fate of
// a reading in a committed block, or the answer of the node's intake
// before it. Its JSON is the data of a "reading" event, as in
//
//	{"device":"dev1...","seq":7,"status":"accepted","reason":"ok","index":42,"height":9}
type Verdict struct {
	Device string `json:"device"` // empty when the reading did not decode
	Seq    uint64 `json:"seq"`
	Status Status `json:"status"`
	// Code names the rule behind the status: CodeOK for Accepted and
	// Pending, CodeDuplicate for Duplicate, the refusing rule for Rejected.
	Code   Code   `json:"reason"`
	Detail string `json:"detail,omitempty"` // for a person: what happened and what to do
	// Index is the reading's leaf in the log; for a Duplicate, and for a
	// Rejected CodeSeqReused, the original's. Height is the block: of this
	// answer for a verdict of block execution, of the original for a
	// duplicate or reused seq the intake found committed.
	Index  uint64 `json:"index"`
	Height int64  `json:"height"`
}

// Located reports whether v locates a reading in the log (Index, Height
// and a receipt): an accepted reading, or the original of a duplicate or
// of a reused seq.
func (v Verdict) Located() bool {
	return v.Status == Accepted || v.Status == Duplicate || v.Code == CodeSeqReused
}

// Result is v as the HTTP API answers it: Reason is set unless the code is
// CodeOK, and Index and Receipt when v is Located.
func (v Verdict) Result() Result {
	r := Result{Device: v.Device, Seq: v.Seq, Status: v.Status, Detail: v.Detail, Height: v.Height}
	if v.Code != CodeOK {
		r.Reason = v.Code.String()
	}
	if v.Located() {
		idx := v.Index
		r.Index = &idx
		r.Receipt = ReceiptPath(v.Device, v.Seq)
	}
	return r
}

// Result is the answer for one submitted reading in the HTTP API
// (POST /v1/readings), as in
//
//	{"device":"dev1...","seq":7,"status":"accepted","index":42,"height":9,"receipt":"/v1/devices/dev1.../readings/7/receipt"}
type Result struct {
	Device  string  `json:"device,omitempty"`
	Seq     uint64  `json:"seq"`
	Status  Status  `json:"status"`
	Reason  string  `json:"reason,omitempty"`  // the code's name (Code.String), such as bad_signature; absent for accepted and pending
	Detail  string  `json:"detail,omitempty"`  // for a person: what happened and what to do
	Index   *uint64 `json:"index,omitempty"`   // log index; the original's for Duplicate and seq_reused
	Height  int64   `json:"height,omitempty"`  // the block that committed it (or the original)
	Receipt string  `json:"receipt,omitempty"` // API path of the receipt (ReceiptPath), or the original's
}

// ReceiptPath is where the HTTP API serves the receipt of reading seq of
// device: /v1/devices/DEVICE/readings/SEQ/receipt. Every answer that
// locates a reading (an HTTP Result, an MQTT receipt message, the detail of
// a duplicate) points there.
func ReceiptPath(device string, seq uint64) string {
	return "/v1/devices/" + url.PathEscape(device) + "/readings/" + strconv.FormatUint(seq, 10) + "/receipt"
}

// DuplicateDetail is the Detail of a reading that block execution found
// committed before, byte for byte: where the original is.
func DuplicateDetail(device string, seq, index uint64, height int64) string {
	return fmt.Sprintf("device %s seq %d was committed at log index %d in block %d; its receipt is %s",
		device, seq, index, height, ReceiptPath(device, seq))
}

// SeqReusedDetail is the Detail of CodeSeqReused: device's seq was
// committed, with other bytes, at log index in block height.
func SeqReusedDetail(device string, seq, index uint64, height int64) string {
	return fmt.Sprintf("device %s seq %d was committed before with other data (log index %d, block %d; its receipt is %s): "+
		"this reading is not stored. A sequence number is used once: sign new data with the device's next seq, and check that its sequence state was not lost or restored from an old copy",
		device, seq, index, height, ReceiptPath(device, seq))
}
