package state

import (
	"fmt"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// Feed is what a block did besides its block record and its readings, as
// the node's observers were told it (f/<be64 height>): the device changes,
// the twin changes and the contract events, each list in execution order.
// The node's event stream is replayed from it; the records it points to
// hold the rest.
type Feed struct {
	Devices []DeviceChange `cbor:"1,keyasint,omitempty"`
	Twins   []TwinRef      `cbor:"2,keyasint,omitempty"`
	Events  []EventRef     `cbor:"3,keyasint,omitempty"`
}

// DeviceChange is a committed change of a device: what was done
// (registered, revoked, rotated, quarantined, reactivated, or one of the
// private readings' actions below), and the record as that change left
// it (a later change in the same block has its own entry, so the record
// here is not always the one in d/). Access says more of a private
// readings' action.
type DeviceChange struct {
	Action string        `cbor:"1,keyasint"`
	Device Device        `cbor:"2,keyasint"`
	Access *AccessChange `cbor:"3,keyasint,omitempty"`
}

// The actions of private readings in a DeviceChange.
const (
	ActionPrivateFields = "private_fields_set"   // the owner named the private fields
	ActionStreamKey     = "stream_key_announced" // the device announced its epoch's key (Access.Epoch)
	ActionGranted       = "access_granted"       // Access.Consumer may read from Access.Epoch on
	ActionRevoked       = "access_revoked"       // Access.Consumer's grant ends at Access.Epoch
	ActionEpochMoved    = "epoch_moved"          // the device is at Access.Epoch now, for Access.Why
	ActionErased        = "epochs_erased"        // Access.Epochs are erased
)

// AccessChange is what a private readings' action did: the consumer of
// a grant or revocation, the epoch it names (see the actions), who did
// it (the owner's address, a contract's id, or the device's account for
// a stream key), the epochs erased and why the epoch moved.
type AccessChange struct {
	Consumer string  `cbor:"1,keyasint,omitempty"`
	Epoch    uint64  `cbor:"2,keyasint,omitempty"`
	By       string  `cbor:"3,keyasint,omitempty"`
	Epochs   []Range `cbor:"4,keyasint,omitempty"`
	Why      string  `cbor:"5,keyasint,omitempty"`
}

// TwinRef names a twin change of the block: the k-th ref to (Device, Side)
// in a feed is the k-th entry of that side's history at the block's height
// (v/<device>/<side>/<be64 height>..., in slot order).
type TwinRef struct {
	Device string `cbor:"1,keyasint"`
	Side   string `cbor:"2,keyasint"`
}

// EventRef names a contract event (e/<contract>/<be64 n>).
type EventRef struct {
	Contract string `cbor:"1,keyasint"`
	N        uint64 `cbor:"2,keyasint"`
}

// EncodeFeed encodes a block's feed for FeedKey.
func EncodeFeed(f *Feed) []byte {
	b, err := dcbor.EncMode.Marshal(f)
	if err != nil {
		panic("state: encode feed: " + err.Error()) // plain structs always encode
	}
	return b
}

// GetFeed returns the feed of block h, or nil if the store holds none (the
// block is not committed, or was committed before feeds existed).
func GetFeed(kv KV, h int64) (*Feed, error) {
	v, err := kv.Get(FeedKey(h))
	if err != nil || v == nil {
		return nil, err
	}
	return DecodeFeed(h, v)
}

// DecodeFeed decodes the stored feed of block h.
func DecodeFeed(h int64, v []byte) (*Feed, error) {
	f := new(Feed)
	if err := dcbor.DecMode.Unmarshal(v, f); err != nil {
		return nil, fmt.Errorf("%w: feed of block %d: %v", ErrCorrupt, h, err)
	}
	return f, nil
}
