package tx

import (
	"crypto/ecdh"
	"crypto/hpke"
	"errors"
	"fmt"
	"sort"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/reading"
)

// The transactions of private readings (docs/PRIVATE.md): an account
// publishes its encryption key; a device's owner names the device's
// private fields, grants and revokes consumers' access, rotates the
// device's stream key and erases epochs; the device announces each
// epoch's stream key. Wrapped keys never travel in a transaction: each
// wrap is named by its commitment, the SHA-256 of the wrapped key's
// bytes, which live in the nodes' key boxes.

// Sizes of an encryption key's parts (an account's HPKE public keys).
const (
	X25519KeySize = 32   // DHKEM(X25519) public key
	XWingKeySize  = 1216 // X-Wing (ML-KEM-768 + X25519) public key
)

// KEMs a wrapped key may use, by their HPKE (RFC 9180) identifiers: the
// hybrid one for a recipient that published an X-Wing key, else X25519.
const (
	KEMX25519 = 0x0020 // DHKEM(X25519, HKDF-SHA256)
	KEMXWing  = 0x647a // MLKEM768-X25519 (X-Wing)
)

// CommitmentSize is the size of a wrapped key's commitment (SHA-256).
const CommitmentSize = 32

// Bounds of the private transactions.
const (
	// MaxRecipients bounds the wraps of one stream_key: the device's
	// owner and at most MaxRecipients-1 consumers with a grant.
	MaxRecipients = 256
	// MaxGrantWraps bounds the wraps of one grant_access: the announced
	// epochs it gives the consumer besides those to come.
	MaxGrantWraps = 1024
	// MaxEraseRanges and MaxEraseEpochs bound one erase_epochs: its
	// ranges, and the epochs they hold in all.
	MaxEraseRanges = 64
	MaxEraseEpochs = 1024
)

// SetEncryptionKey publishes the signer's encryption key: an X25519
// public key, and optionally an X-Wing one. A new one replaces the old
// for the epochs to come.
type SetEncryptionKey struct {
	X25519 []byte `cbor:"1,keyasint"`
	XWing  []byte `cbor:"2,keyasint,omitempty"`
}

// check checks that each part is a public key of its KEM (as crypto/hpke
// parses it), so that a device can always wrap a stream key to an account
// the ledger took the key of.
func (f *SetEncryptionKey) check() error {
	if len(f.X25519) != X25519KeySize {
		return fmt.Errorf("x25519 key is %d bytes, want %d", len(f.X25519), X25519KeySize)
	}
	if _, err := hpke.DHKEM(ecdh.X25519()).NewPublicKey(f.X25519); err != nil {
		return fmt.Errorf("x25519 key: %v", err)
	}
	if f.XWing == nil {
		return nil
	}
	if len(f.XWing) != XWingKeySize {
		return fmt.Errorf("x-wing key is %d bytes, want %d (or leave it out)", len(f.XWing), XWingKeySize)
	}
	if _, err := hpke.MLKEM768X25519().NewPublicKey(f.XWing); err != nil {
		return fmt.Errorf("x-wing key is not an ML-KEM-768 + X25519 public key: %v", err)
	}
	return nil
}

// SetPrivateFields names a device's private fields (replacing the list);
// only its owner may. The first time, the device's epoch becomes 1.
type SetPrivateFields struct {
	Device string   `cbor:"1,keyasint"`
	Fields []string `cbor:"2,keyasint"`
}

func (f *SetPrivateFields) check() error {
	if err := address.ParseDevice(f.Device); err != nil {
		return fmt.Errorf("device: %v", err)
	}
	if len(f.Fields) == 0 || len(f.Fields) > reading.MaxFields {
		return fmt.Errorf("%d field names; give 1 to %d", len(f.Fields), reading.MaxFields)
	}
	seen := make(map[string]bool, len(f.Fields))
	for _, name := range f.Fields {
		if name == "" || len(name) > reading.MaxFieldLen {
			return fmt.Errorf("field name %q must be 1 to %d bytes, as a reading's data field names", name, reading.MaxFieldLen)
		}
		if seen[name] {
			return fmt.Errorf("field %q is named twice; name each once", name)
		}
		seen[name] = true
	}
	return nil
}

// StreamKey announces the stream key of a device's current epoch: one
// wrap per recipient of the epoch, each named by its commitment. It is
// signed by the device's current key.
type StreamKey struct {
	Device string    `cbor:"1,keyasint"`
	Epoch  uint64    `cbor:"2,keyasint"`
	Wraps  []KeyWrap `cbor:"3,keyasint"`
}

// KeyWrap is the stream key wrapped to one recipient (an account), with
// the KEM the wrap uses.
type KeyWrap struct {
	Recipient  string `cbor:"1,keyasint"`
	KEM        uint64 `cbor:"2,keyasint"`
	Commitment []byte `cbor:"3,keyasint"`
}

func (f *StreamKey) check() error {
	if err := address.ParseDevice(f.Device); err != nil {
		return fmt.Errorf("device: %v", err)
	}
	if f.Epoch == 0 {
		return errors.New("epoch 0: epochs are numbered from 1")
	}
	if len(f.Wraps) == 0 || len(f.Wraps) > MaxRecipients {
		return fmt.Errorf("%d wraps; give one per recipient of the epoch, 1 to %d", len(f.Wraps), MaxRecipients)
	}
	seen := make(map[string]bool, len(f.Wraps))
	for i, w := range f.Wraps {
		if err := address.ParseAccount(w.Recipient); err != nil {
			return fmt.Errorf("wrap %d: recipient: %v", i, err)
		}
		if seen[w.Recipient] {
			return fmt.Errorf("wrap %d: recipient %s has two wraps; give one per recipient", i, w.Recipient)
		}
		seen[w.Recipient] = true
		if err := checkWrap(w.KEM, w.Commitment); err != nil {
			return fmt.Errorf("wrap %d (recipient %s): %v", i, w.Recipient, err)
		}
	}
	return nil
}

// checkWrap checks a wrap's KEM and commitment.
func checkWrap(kem uint64, commitment []byte) error {
	if kem != KEMX25519 && kem != KEMXWing {
		return fmt.Errorf("kem %d: use %d (0x0020, X25519) or %d (0x647a, X-Wing)", kem, KEMX25519, KEMXWing)
	}
	if len(commitment) != CommitmentSize {
		return fmt.Errorf("commitment is %d bytes, want the SHA-256 (%d bytes) of the wrapped key", len(commitment), CommitmentSize)
	}
	return nil
}

// GrantAccess grants an account (To, which must have published an
// encryption key) a device's private fields from epoch FromEpoch on (0:
// the device's current epoch); only the device's owner may. Wraps give
// To the stream key of each announced epoch from FromEpoch to the current
// one that To does not hold yet, made by the owner.
type GrantAccess struct {
	Device    string      `cbor:"1,keyasint"`
	To        string      `cbor:"2,keyasint"`
	FromEpoch uint64      `cbor:"3,keyasint,omitempty"`
	Wraps     []EpochWrap `cbor:"4,keyasint,omitempty"`
}

// EpochWrap is the stream key of one epoch wrapped to a grant's
// recipient.
type EpochWrap struct {
	Epoch      uint64 `cbor:"1,keyasint"`
	KEM        uint64 `cbor:"2,keyasint"`
	Commitment []byte `cbor:"3,keyasint"`
}

func (f *GrantAccess) check() error {
	if err := address.ParseDevice(f.Device); err != nil {
		return fmt.Errorf("device: %v", err)
	}
	if err := address.ParseAccount(f.To); err != nil {
		return fmt.Errorf("to: %v", err)
	}
	if len(f.Wraps) > MaxGrantWraps {
		return fmt.Errorf("%d wraps, at most %d; grant from a later epoch", len(f.Wraps), MaxGrantWraps)
	}
	seen := make(map[uint64]bool, len(f.Wraps))
	for i, w := range f.Wraps {
		if w.Epoch == 0 {
			return fmt.Errorf("wrap %d: epoch 0: epochs are numbered from 1", i)
		}
		if f.FromEpoch > 0 && w.Epoch < f.FromEpoch {
			return fmt.Errorf("wrap %d: epoch %d is before from_epoch %d", i, w.Epoch, f.FromEpoch)
		}
		if seen[w.Epoch] {
			return fmt.Errorf("wrap %d: epoch %d has two wraps; give one per epoch", i, w.Epoch)
		}
		seen[w.Epoch] = true
		if err := checkWrap(w.KEM, w.Commitment); err != nil {
			return fmt.Errorf("wrap %d (epoch %d): %v", i, w.Epoch, err)
		}
	}
	return nil
}

// RevokeAccess ends an account's grant of a device; only the device's
// owner may. The device moves to the next epoch, whose key From does not
// get.
type RevokeAccess struct {
	Device string `cbor:"1,keyasint"`
	From   string `cbor:"2,keyasint"`
}

func (f *RevokeAccess) check() error {
	if err := address.ParseDevice(f.Device); err != nil {
		return fmt.Errorf("device: %v", err)
	}
	if err := address.ParseAccount(f.From); err != nil {
		return fmt.Errorf("from: %v", err)
	}
	return nil
}

// RotateStreamKey moves a device to its next epoch; only its owner may.
type RotateStreamKey struct {
	Device string `cbor:"1,keyasint"`
}

func (f *RotateStreamKey) check() error {
	if err := address.ParseDevice(f.Device); err != nil {
		return fmt.Errorf("device: %v", err)
	}
	return nil
}

// EraseEpochs erases epochs of a device for good: every node deletes
// their wrapped keys and takes none for them again; only the device's
// owner may. Epochs are inclusive ranges in ascending order, apart from
// each other.
type EraseEpochs struct {
	Device string       `cbor:"1,keyasint"`
	Epochs []EpochRange `cbor:"2,keyasint"`
}

// EpochRange is an inclusive range of epochs.
type EpochRange struct {
	From uint64 `cbor:"1,keyasint"`
	To   uint64 `cbor:"2,keyasint"`
}

func (f *EraseEpochs) check() error {
	if err := address.ParseDevice(f.Device); err != nil {
		return fmt.Errorf("device: %v", err)
	}
	if len(f.Epochs) == 0 || len(f.Epochs) > MaxEraseRanges {
		return fmt.Errorf("%d ranges of epochs; give 1 to %d", len(f.Epochs), MaxEraseRanges)
	}
	var total uint64
	for i, r := range f.Epochs {
		if r.From == 0 || r.To < r.From {
			return fmt.Errorf("range %d is %d-%d; give from >= 1 and to >= from", i, r.From, r.To)
		}
		if i > 0 && r.From <= f.Epochs[i-1].To {
			return fmt.Errorf("range %d (%d-%d) does not follow range %d (%d-%d); give the ranges in ascending order, apart", i, r.From, r.To, i-1, f.Epochs[i-1].From, f.Epochs[i-1].To)
		}
		if n := r.To - r.From + 1; n > MaxEraseEpochs || total+n > MaxEraseEpochs {
			return fmt.Errorf("the ranges hold more than %d epochs; erase at most %d in one transaction", MaxEraseEpochs, MaxEraseEpochs)
		}
		total += r.To - r.From + 1
	}
	return nil
}

// SortWraps sorts a stream_key's wraps by recipient, as the ledger keeps
// them (any order is accepted).
func SortWraps(ws []KeyWrap) {
	sort.Slice(ws, func(i, j int) bool { return ws[i].Recipient < ws[j].Recipient })
}
