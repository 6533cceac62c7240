package state

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// The records of private readings (docs/PRIVATE.md). An account's
// encryption key (i/<address>); a device's private field names and
// current epoch (in its Device record); one Epoch record per (device,
// epoch) (q/<device>/<be64 epoch>), which holds the epoch's recipients and
// the commitments of their wrapped stream keys; one Grant record per
// (device, consumer) (r/<device>/<account>) with the history of its
// grants and revocations; and, per field name that some device lists as
// private, how many do (p/<name>), which contract deploys look at. All
// are covered by the state digest. Wrapped keys themselves are never in
// the store, only their commitments.

// EncryptionKey is an account's published encryption key: its HPKE
// public keys, X25519 always, X-Wing (ML-KEM-768 + X25519) when the
// account published one.
type EncryptionKey struct {
	X25519 []byte `cbor:"1,keyasint"`
	XWing  []byte `cbor:"2,keyasint,omitempty"`
	Height int64  `cbor:"3,keyasint"` // the block that published it
}

// KEMs of a wrapped key, by their HPKE identifiers (the same as package
// tx's KEMX25519 and KEMXWing).
const (
	KEMX25519 uint16 = 0x0020
	KEMXWing  uint16 = 0x647a
)

// KEM is the KEM a stream key wrapped to this key must use: X-Wing when
// the account published an X-Wing key, else X25519.
func (k *EncryptionKey) KEM() uint16 {
	if len(k.XWing) > 0 {
		return KEMXWing
	}
	return KEMX25519
}

// KEMName names a KEM identifier for messages: "X-Wing (0x647a)".
func KEMName(kem uint16) string {
	switch kem {
	case KEMX25519:
		return "X25519 (0x0020)"
	case KEMXWing:
		return "X-Wing (0x647a)"
	}
	return fmt.Sprintf("0x%04x", kem)
}

// Why a device moved to an epoch (Epoch.Why).
const (
	EpochPrivateFields = "private_fields" // epoch 1: the owner named the device's private fields
	EpochRotated       = "rotated"        // the owner rotated the stream key
	EpochRevoked       = "revoked"        // a grant was revoked (by the owner or a contract)
	EpochGranted       = "granted"        // a contract granted access, which starts at a new epoch
	EpochErased        = "erased"         // the owner erased the epoch that was current
)

// Epoch is one epoch of a device's stream: when it started and why, who
// its recipients are, and, once the device announced its stream key, the
// KEM and commitment of each recipient's wrapped key. The recipients of
// the device's current epoch are always its owner and every consumer with
// an open grant; a grant made while an epoch is current adds its consumer
// to that epoch (with the owner's wrap when the key is announced already).
type Epoch struct {
	Number     uint64      `cbor:"1,keyasint"`
	Started    int64       `cbor:"2,keyasint"` // the block that moved the device to it
	Why        string      `cbor:"3,keyasint"` // EpochPrivateFields, EpochRotated, ...
	By         string      `cbor:"4,keyasint"` // the owner's address or the contract's id
	Recipients []Recipient `cbor:"5,keyasint,omitempty"`
	// Announced is the block of the device's stream_key (0: not yet).
	Announced int64 `cbor:"6,keyasint,omitempty"`
	// Erased is the block that erased the epoch (0: not erased).
	Erased int64 `cbor:"7,keyasint,omitempty"`
}

// Recipient is an account that gets an epoch's stream key, and its wrap:
// KEM and Commitment are zero until the key is wrapped to it (at the
// stream_key, or by a grant for an epoch announced before it).
type Recipient struct {
	Account    string `cbor:"1,keyasint"`
	KEM        uint16 `cbor:"2,keyasint,omitempty"`
	Commitment []byte `cbor:"3,keyasint,omitempty"`
	Height     int64  `cbor:"4,keyasint,omitempty"` // the block of the wrap
}

// Recipient returns the recipient entry of account, or nil.
func (e *Epoch) Recipient(account string) *Recipient {
	i, ok := slices.BinarySearchFunc(e.Recipients, account, func(r Recipient, a string) int {
		switch {
		case r.Account < a:
			return -1
		case r.Account > a:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return &e.Recipients[i]
}

// AddRecipient adds account to the recipients, kept in account order,
// unless it is one; it returns the entry.
func (e *Epoch) AddRecipient(account string) *Recipient {
	i, ok := slices.BinarySearchFunc(e.Recipients, account, func(r Recipient, a string) int {
		switch {
		case r.Account < a:
			return -1
		case r.Account > a:
			return 1
		}
		return 0
	})
	if !ok {
		e.Recipients = slices.Insert(e.Recipients, i, Recipient{Account: account})
	}
	return &e.Recipients[i]
}

// Grant is the history of one consumer's access to one device: a grant
// opens a period from an epoch on, a revocation closes it at the epoch
// then current. At most one period is open: a grant while one is open
// gives earlier epochs too (it moves the open period's From back). A
// consumer with an open period is a recipient of the device's current
// epoch and of every later one until revoked.
type Grant struct {
	Device   string        `cbor:"1,keyasint"`
	Consumer string        `cbor:"2,keyasint"`
	Periods  []GrantPeriod `cbor:"3,keyasint"` // oldest first
	// Dropped counts the oldest periods dropped from Periods to keep it
	// within MaxGrantPeriods.
	Dropped uint64 `cbor:"4,keyasint,omitempty"`
}

// GrantPeriod is one grant and, once revoked, its end.
type GrantPeriod struct {
	From      uint64 `cbor:"1,keyasint"` // the first epoch it gives
	Granted   int64  `cbor:"2,keyasint"` // the block of the grant
	GrantedBy string `cbor:"3,keyasint"` // the owner's address or a contract's id
	// Extended is the block of the last grant that moved From back to
	// earlier epochs (0: none).
	Extended  int64  `cbor:"4,keyasint,omitempty"`
	Until     uint64 `cbor:"5,keyasint,omitempty"` // the last epoch it gives, once revoked
	Revoked   int64  `cbor:"6,keyasint,omitempty"` // the block of the revocation (0: open)
	RevokedBy string `cbor:"7,keyasint,omitempty"`
}

// MaxGrantPeriods bounds a Grant's periods: past it, the oldest are
// dropped (and counted in Dropped).
const MaxGrantPeriods = 64

// OpenPeriod returns the open period, or nil.
func (g *Grant) OpenPeriod() *GrantPeriod {
	if n := len(g.Periods); n > 0 && g.Periods[n-1].Revoked == 0 {
		return &g.Periods[n-1]
	}
	return nil
}

// Open gives epochs from from on, granted at height by by: a new period,
// or the open one moved back to from (the caller checks from is earlier).
func (g *Grant) Open(from uint64, height int64, by string) {
	if p := g.OpenPeriod(); p != nil {
		p.From, p.Extended = from, height
		return
	}
	g.Periods = append(g.Periods, GrantPeriod{From: from, Granted: height, GrantedBy: by})
	if over := len(g.Periods) - MaxGrantPeriods; over > 0 {
		g.Periods = slices.Delete(g.Periods, 0, over) // closed, all but the last
		g.Dropped += uint64(over)
	}
}

// Close closes the open period (if any) at epoch until, at height, by by.
func (g *Grant) Close(until uint64, height int64, by string) {
	if p := g.OpenPeriod(); p != nil {
		p.Until, p.Revoked, p.RevokedBy = until, height, by
	}
}

// PrivateName counts the devices that list a field name as private
// (p/<name>): a contract deploy looks for the devices it can match only
// for the names some device keeps private.
type PrivateName struct {
	Devices uint64 `cbor:"1,keyasint"`
}

// EncryptionKeyKey, EpochKey, GrantKey and PrivateNameKey are the store
// keys of the private readings' records.
func EncryptionKeyKey(addr string) []byte { return []byte(PrefixEncryptionKey + addr) }
func EpochKey(id string, n uint64) []byte {
	return binary.BigEndian.AppendUint64(EpochPrefix(id), n)
}
func GrantKey(id, account string) []byte { return []byte(PrefixGrant + id + "/" + account) }
func PrivateNameKey(name string) []byte  { return []byte(PrefixPrivateName + name) }

// EpochPrefix and GrantPrefix are the prefixes of a device's epochs and
// grants.
func EpochPrefix(id string) []byte { return []byte(PrefixEpoch + id + "/") }
func GrantPrefix(id string) []byte { return []byte(PrefixGrant + id + "/") }

// GetEncryptionKey returns an account's encryption key, or nil if it
// published none.
func GetEncryptionKey(kv KV, addr string) (*EncryptionKey, error) {
	return get[EncryptionKey](kv, EncryptionKeyKey(addr))
}

// PutEncryptionKey stores an account's encryption key.
func PutEncryptionKey(kv KV, addr string, k *EncryptionKey) { put(kv, EncryptionKeyKey(addr), k) }

// GetEpoch returns epoch n of device id, or nil.
func GetEpoch(kv KV, id string, n uint64) (*Epoch, error) { return get[Epoch](kv, EpochKey(id, n)) }

// PutEpoch stores an epoch of device id.
func PutEpoch(kv KV, id string, e *Epoch) { put(kv, EpochKey(id, e.Number), e) }

// DecodeEpoch decodes a stored epoch (its key names it in errors).
func DecodeEpoch(key, b []byte) (*Epoch, error) {
	e := new(Epoch)
	if err := dcbor.DecMode.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	return e, nil
}

// GetGrant returns the grant history of (device id, account), or nil.
func GetGrant(kv KV, id, account string) (*Grant, error) {
	return get[Grant](kv, GrantKey(id, account))
}

// PutGrant stores a grant history.
func PutGrant(kv KV, g *Grant) { put(kv, GrantKey(g.Device, g.Consumer), g) }

// DecodeGrant decodes a stored grant history (its key names it in errors).
func DecodeGrant(key, b []byte) (*Grant, error) {
	g := new(Grant)
	if err := dcbor.DecMode.Unmarshal(b, g); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	return g, nil
}

// GetPrivateName returns how many devices list name as private.
func GetPrivateName(kv KV, name string) (*PrivateName, error) {
	p, err := get[PrivateName](kv, PrivateNameKey(name))
	if p == nil && err == nil {
		p = &PrivateName{}
	}
	return p, err
}

// PutPrivateName stores how many devices list name as private.
func PutPrivateName(kv KV, name string, p *PrivateName) { put(kv, PrivateNameKey(name), p) }

// Private reports whether the device lists field as private.
func (d *Device) Private(field string) bool {
	_, ok := slices.BinarySearch(d.PrivateFields, field)
	return ok
}
