package apiwire

// The key box's API (docs/PRIVATE.md): wrapped stream keys go to a node
// with POST /v1/devices/{id}/stream-keys and come back with GET
// /v1/devices/{id}/stream-keys/{epoch}?recipient=ACCOUNT. A wrapped key is
// bytes (standard base64, as keys and signed payloads are); its commitment,
// the SHA-256 a transaction carries, is a hash (hex).

// StreamKeyUpload is the body of POST /v1/devices/{id}/stream-keys: wrapped
// stream keys of the device's epochs, each to one recipient.
type StreamKeyUpload struct {
	Keys []StreamKeyItem `json:"keys"`
}

// StreamKeyItem is one wrapped key of an upload.
type StreamKeyItem struct {
	Epoch     uint64 `json:"epoch"`
	Recipient string `json:"recipient"` // an account address (acc1...)
	Wrapped   []byte `json:"wrapped"`   // the wrapped key's bytes, standard base64
}

// Statuses of a StreamKeyResult.
const (
	StreamKeyStored  = "stored"  // written and synced: its commitment is on the ledger
	StreamKeyHeld    = "held"    // its commitment is not on the ledger yet: held until it commits
	StreamKeyRefused = "refused" // not taken: Problem says why
)

// StreamKeyResults answers an upload: one result per key, in the order of
// the upload.
type StreamKeyResults struct {
	Results []StreamKeyResult `json:"results"`
}

// StreamKeyResult is what became of one uploaded key.
type StreamKeyResult struct {
	Epoch     uint64 `json:"epoch"`
	Recipient string `json:"recipient"`
	Status    string `json:"status"` // StreamKeyStored, StreamKeyHeld or StreamKeyRefused
	// Commitment is the SHA-256 of the uploaded bytes: the commitment the
	// transaction that announces or grants the key carries.
	Commitment Hex `json:"commitment"`
	// Detail says, for a held key, what it waits for.
	Detail string `json:"detail,omitempty"`
	// Problem says, for a refused key, why (its type's kind names the
	// reason: commitment-mismatch, epoch-erased, unknown-epoch, malformed,
	// hold-full).
	Problem *Problem `json:"problem,omitempty"`
}

// StreamKey answers GET /v1/devices/{id}/stream-keys/{epoch}?recipient=:
// the stream key of one epoch of a device, wrapped to one recipient, with
// what the ledger says of it. The recipient opens it with its private key
// (package private, Unwrap); the node cannot.
type StreamKey struct {
	Device     string `json:"device"`
	Epoch      uint64 `json:"epoch"`
	Recipient  string `json:"recipient"`
	KEM        uint16 `json:"kem"`        // the HPKE KEM: 32 (0x0020, X25519) or 25722 (0x647a, X-Wing)
	Wrapped    []byte `json:"wrapped"`    // standard base64
	Commitment Hex    `json:"commitment"` // SHA-256 of Wrapped, as the ledger holds it
	Height     int64  `json:"height"`     // the block that committed the commitment
}
