package apiwire

import "time"

// Device is a registered device: GET /v1/devices/{id}, and an item of a
// DevicePage.
type Device struct {
	ID         string            `json:"id"`
	Key        []byte            `json:"key"`   // current Ed25519 public key
	Owner      string            `json:"owner"` // account address, acc1...
	Labels     map[string]string `json:"labels,omitempty"`
	Status     string            `json:"status"` // active, quarantined or revoked
	OldKeys    []OldKey          `json:"old_keys,omitempty"`
	Registered int64             `json:"registered_height"`
	Updated    int64             `json:"updated_height"`
	// Readings, LastReading, Gaps and GapsTruncated say what the ledger
	// holds of the device's readings, in GET /v1/devices and
	// /v1/devices/{id}; absent in a "device" event. Readings counts the
	// committed ones, LastReading is the one of the highest sequence
	// number (absent before the first), Gaps counts the open gaps (GET
	// /v1/devices/{id}/gaps lists them), GapsTruncated says more were open
	// than the ledger keeps.
	Readings      *uint64      `json:"readings,omitempty"`
	LastReading   *LastReading `json:"last_reading,omitempty"`
	Gaps          *int         `json:"gaps,omitempty"`
	GapsTruncated bool         `json:"gaps_truncated,omitempty"`
	// PrivateFields are the data fields the device seals (docs/PRIVATE.md),
	// StreamEpoch its current epoch and StreamKeyAnnounced whether that
	// epoch's key is announced; absent for a device without private fields.
	PrivateFields      []string `json:"private_fields,omitempty"`
	StreamEpoch        uint64   `json:"stream_epoch,omitempty"`
	StreamKeyAnnounced bool     `json:"stream_key_announced,omitempty"`
}

// LastReading is a device's committed reading of the highest sequence
// number: its seq, device time, log index, block and receipt path.
type LastReading struct {
	Seq     uint64 `json:"seq"`
	TimeMs  int64  `json:"time_ms"` // device time, unix milliseconds
	Index   uint64 `json:"index"`   // leaf index in the reading log
	Height  int64  `json:"height"`  // the block that committed it
	Receipt string `json:"receipt"` // API path of its receipt (verdict.ReceiptPath)
}

// DeviceStats counts the registered devices by status.
type DeviceStats struct {
	Total       int `json:"total"`
	Active      int `json:"active"`
	Quarantined int `json:"quarantined"`
	Revoked     int `json:"revoked"`
}

// OldKey is a key rotated out at height Until: readings signed with it are
// accepted up to that block.
type OldKey struct {
	Key   []byte `json:"key"`
	Until int64  `json:"until_height"`
}

// DevicePage is GET /v1/devices: devices in id order, those that match
// the request's filters (status, label, q) only.
type DevicePage struct {
	Devices []Device `json:"devices"`
	// NextPageToken is the page_token of the next page; absent on the
	// last page.
	NextPageToken string `json:"next_page_token,omitempty"`
	// Next is the id to pass as after for the next page; empty on the
	// last page. Deprecated: use NextPageToken.
	Next string `json:"next"`
}

// DeviceChanges is GET /v1/devices/{id}/changes: the committed changes
// of a device (its registration, revocation, key rotations, quarantines,
// reactivations, and its private readings' grants, revocations, epochs
// and erasures), newest first, each as its "device" event told it.
type DeviceChanges struct {
	Device  string        `json:"device"`
	Changes []DeviceEvent `json:"changes"`
	// NextPageToken is the page_token of the next page; absent on the
	// last page.
	NextPageToken string `json:"next_page_token,omitempty"`
}

// DeviceEvent is the data of a "device" event: a committed change of a
// device record. Action is registered, revoked, rotated, quarantined or
// reactivated, or one of private readings': private_fields_set,
// stream_key_announced, access_granted, access_revoked, epoch_moved,
// epochs_erased, which Access says more of.
type DeviceEvent struct {
	Action string        `json:"action"`
	Device Device        `json:"device"` // the record after the change
	Height int64         `json:"height"`
	Access *AccessChange `json:"access,omitempty"`
}

// ReadingEntry is one committed reading.
type ReadingEntry struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`    // device time, RFC 3339 in UTC
	TimeMs int64     `json:"time_ms"` // device time, unix milliseconds
	// Data holds the reading's fields: text, bool or number. Integers keep
	// all 64 bits in the JSON; a Go client decodes them exactly with
	// json.Decoder.UseNumber (package client does).
	Data    map[string]any `json:"data"`
	Index   uint64         `json:"index"`   // leaf index in the reading log
	Height  int64          `json:"height"`  // the block that committed it
	Receipt string         `json:"receipt"` // API path of its receipt (verdict.ReceiptPath)
	// Sealed is the reading's private fields as the device sealed them
	// (docs/PRIVATE.md): ciphertext, which only a recipient of the epoch's
	// stream key opens, locally; absent for a reading without private
	// fields.
	Sealed *Sealed `json:"sealed,omitempty"`
}

// Sealed is a reading's sealed part: the epoch whose stream key sealed
// it, the 24-byte XChaCha20-Poly1305 nonce and the ciphertext (with its
// tag), bytes in standard base64.
type Sealed struct {
	Epoch      uint64 `json:"epoch"`
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ciphertext"`
}

// LogReading is a committed reading with its device: an item of GET
// /v1/readings (the newest readings of every device) and of GET
// /v1/blocks/{height}/readings.
type LogReading struct {
	Device string `json:"device"`
	ReadingEntry
}

// LogReadingPage is GET /v1/readings (newest first by log index) and GET
// /v1/blocks/{height}/readings (in log order).
type LogReadingPage struct {
	Readings []LogReading `json:"readings"`
	// NextPageToken is the page_token of the next page; absent on the
	// last page.
	NextPageToken string `json:"next_page_token,omitempty"`
}

// ReadingPage is GET /v1/devices/{id}/readings: readings in sequence
// order.
type ReadingPage struct {
	Readings []ReadingEntry `json:"readings"`
	// NextPageToken is the page_token of the next page; absent on the
	// last page.
	NextPageToken string `json:"next_page_token,omitempty"`
	// Next is the sequence number of the first matching reading not in
	// the page; nil on the last page. Deprecated: use NextPageToken.
	Next *uint64 `json:"next"`
}

// Gaps is GET /v1/devices/{id}/gaps: what the ledger knows of a device's
// sequence numbers. Gaps lists the missing ranges between MinSeq and
// MaxSeq, oldest first; GapsTruncated says the oldest were dropped.
type Gaps struct {
	Device        string  `json:"device"`
	Count         uint64  `json:"count"` // readings committed
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

// Twin is GET /v1/devices/{id}/twin: both sides of a device's twin and the
// delta, the desired fields whose reported value differs or is missing.
type Twin struct {
	Device   string         `json:"device"`
	AsOf     int64          `json:"as_of_height,omitempty"` // the height asked for; absent for now
	Desired  TwinState      `json:"desired"`
	Reported TwinState      `json:"reported"`
	Delta    map[string]any `json:"delta"`
}

// TwinState is one side of a twin. Version counts its changes (0: never
// set); Height is the block of the last one.
type TwinState struct {
	Version uint64         `json:"version"`
	Height  int64          `json:"height"`
	State   map[string]any `json:"state"` // field to text, bool or number
}

// TwinHistory is GET /v1/devices/{id}/twin/history: versions of one side
// of a twin, newest first.
type TwinHistory struct {
	Device  string       `json:"device"`
	Side    string       `json:"side"` // desired or reported
	Changes []TwinChange `json:"changes"`
	// NextPageToken is the page_token of the next page; absent on the
	// last page.
	NextPageToken string `json:"next_page_token,omitempty"`
	// Next is the cursor of the next page (before); absent on the last.
	// Deprecated: use NextPageToken.
	Next string `json:"next,omitempty"`
}

// TwinChange is one version of one side of a twin: the patch, the whole
// state after it, its block and who signed it.
type TwinChange struct {
	Version uint64         `json:"version"`
	Height  int64          `json:"height"`
	Tx      uint32         `json:"tx"` // index of the transaction in its block
	Set     map[string]any `json:"set,omitempty"`
	Unset   []string       `json:"unset,omitempty"`
	State   map[string]any `json:"state"`
	By      string         `json:"by"` // the signer: the owner (desired) or the device's key account (reported)
}

// TwinEvent is the data of a "twin" event: a committed change of one side
// of a device's twin, with the whole state after it.
type TwinEvent struct {
	Device  string         `json:"device"`
	Side    string         `json:"side"` // desired or reported
	Version uint64         `json:"version"`
	Height  int64          `json:"height"`
	State   map[string]any `json:"state"`
}
