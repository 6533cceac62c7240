package apiwire

// The wire types of private readings (docs/PRIVATE.md): an account's
// encryption key, a device's access (its grants and epochs, with each
// epoch's recipients and the commitments of their wrapped keys), and what
// a device event says of a private readings' change. Wrapped keys
// themselves are not here: the node's key box serves them.

// EncryptionKey is an account's published encryption key: its HPKE public
// keys (standard base64), X25519 always, X-Wing when published, the block
// that published it, and the KEM a stream key wrapped to it uses: 32
// (0x0020, DHKEM(X25519, HKDF-SHA256)) or 25722 (0x647a, X-Wing).
type EncryptionKey struct {
	X25519 []byte `json:"x25519"`
	XWing  []byte `json:"x_wing,omitempty"`
	Height int64  `json:"height"`
	KEM    uint16 `json:"kem"`
}

// DeviceAccess is GET /v1/devices/{id}/access: who may read a device's
// private fields and how that changed. A page holds grants first (in
// consumer order), then epochs (newest first); NextPageToken continues
// where it ended.
type DeviceAccess struct {
	Device             string   `json:"device"`
	PrivateFields      []string `json:"private_fields"`
	StreamEpoch        uint64   `json:"stream_epoch"`
	StreamKeyAnnounced bool     `json:"stream_key_announced"`
	Grants             []Grant  `json:"grants"`
	Epochs             []Epoch  `json:"epochs"`
	// NextPageToken is the page_token of the next page; absent on the
	// last page.
	NextPageToken string `json:"next_page_token,omitempty"`
}

// Grant is one consumer's access to a device: its periods, oldest first,
// the last of which is open (not revoked) when Open is set.
type Grant struct {
	Consumer string        `json:"consumer"`
	Open     bool          `json:"open"`
	Periods  []GrantPeriod `json:"periods"`
	// DroppedPeriods counts the oldest periods the ledger no longer keeps.
	DroppedPeriods uint64 `json:"dropped_periods,omitempty"`
}

// GrantPeriod is one grant: from which epoch, when and by whom (the
// owner's address or a contract's id); when a later grant gave earlier
// epochs too; and, once revoked, the last epoch it gives, when and by
// whom.
type GrantPeriod struct {
	FromEpoch      uint64 `json:"from_epoch"`
	GrantedHeight  int64  `json:"granted_height"`
	GrantedBy      string `json:"granted_by"`
	ExtendedHeight int64  `json:"extended_height,omitempty"`
	UntilEpoch     uint64 `json:"until_epoch,omitempty"`
	RevokedHeight  int64  `json:"revoked_height,omitempty"`
	RevokedBy      string `json:"revoked_by,omitempty"`
}

// Epoch is one epoch of a device: when it started, why (private_fields,
// rotated, revoked, granted, erased) and by whom; its recipients; when
// its stream key was announced and, if erased, when.
type Epoch struct {
	Epoch           uint64      `json:"epoch"`
	StartedHeight   int64       `json:"started_height"`
	Why             string      `json:"why"`
	By              string      `json:"by"`
	AnnouncedHeight int64       `json:"announced_height,omitempty"`
	Erased          bool        `json:"erased"`
	ErasedHeight    int64       `json:"erased_height,omitempty"`
	Recipients      []Recipient `json:"recipients"`
}

// Recipient is an account that gets an epoch's stream key, with the KEM
// and the commitment (SHA-256, hex) of its wrapped key and the block that
// committed the wrap; KEM and commitment are absent until the key is
// wrapped to it.
type Recipient struct {
	Account       string `json:"account"`
	KEM           uint16 `json:"kem,omitempty"`
	Commitment    Hex    `json:"commitment,omitempty"`
	WrappedHeight int64  `json:"wrapped_height,omitempty"`
}

// AccessChange is what a device event of private readings says beyond
// the record: the consumer of a grant or revocation, the epoch it names
// (access_granted: the first it gives; access_revoked: the last;
// epoch_moved: the new one; stream_key_announced: the one announced), who
// did it, the epochs erased (epochs_erased) and why the epoch moved.
type AccessChange struct {
	Consumer string  `json:"consumer,omitempty"`
	Epoch    uint64  `json:"epoch,omitempty"`
	By       string  `json:"by,omitempty"`
	Epochs   []Range `json:"epochs,omitempty"`
	Why      string  `json:"why,omitempty"`
}
