package keybox

import (
	"errors"
	"fmt"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// message is one message of the reactor's channel, the deterministic
// CBOR map {1: keys, 2: wants} (reactor.go).
type message struct {
	Keys  []wireKey  `cbor:"1,keyasint,omitempty"`
	Wants []wireSlot `cbor:"2,keyasint,omitempty"`
}

// wireKey is a wrapped key with its slot: {1: device, 2: epoch, 3:
// recipient, 4: wrapped}.
type wireKey struct {
	Device    string `cbor:"1,keyasint"`
	Epoch     uint64 `cbor:"2,keyasint"`
	Recipient string `cbor:"3,keyasint"`
	Wrapped   []byte `cbor:"4,keyasint"`
}

// wireSlot is a slot asked for: {1: device, 2: epoch, 3: recipient}.
type wireSlot struct {
	Device    string `cbor:"1,keyasint"`
	Epoch     uint64 `cbor:"2,keyasint"`
	Recipient string `cbor:"3,keyasint"`
}

func (k wireKey) slot() Slot  { return Slot{Device: k.Device, Epoch: k.Epoch, Recipient: k.Recipient} }
func (w wireSlot) slot() Slot { return Slot{Device: w.Device, Epoch: w.Epoch, Recipient: w.Recipient} }

// errMessage starts the errors of a message that breaks the protocol.
var errMessage = errors.New("keybox: bad message")

func encodeMessage(m *message) []byte {
	b, err := dcbor.EncMode.Marshal(m)
	if err != nil { // strings, integers and byte strings always encode
		panic("keybox: encode message: " + err.Error())
	}
	return b
}

// decodeMessage decodes and checks a message: within the bounds, not
// empty, each slot well formed and each wrapped key no larger than
// MaxWrappedBytes. (Whether a key is one the ledger committed is the
// box's to check.)
func decodeMessage(b []byte) (*message, error) {
	if len(b) > MaxMessageBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", errMessage, len(b), MaxMessageBytes)
	}
	m := new(message)
	if err := dcbor.DecMode.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: %v", errMessage, err)
	}
	switch {
	case len(m.Keys) == 0 && len(m.Wants) == 0:
		return nil, fmt.Errorf("%w: no keys and no wants", errMessage)
	case len(m.Keys) > MaxKeysPerMessage:
		return nil, fmt.Errorf("%w: %d keys, more than %d", errMessage, len(m.Keys), MaxKeysPerMessage)
	case len(m.Wants) > MaxWantsPerMessage:
		return nil, fmt.Errorf("%w: %d wants, more than %d", errMessage, len(m.Wants), MaxWantsPerMessage)
	}
	for i, k := range m.Keys {
		if err := k.slot().Check(); err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", errMessage, i, err)
		}
		if len(k.Wrapped) == 0 || len(k.Wrapped) > MaxWrappedBytes {
			return nil, fmt.Errorf("%w: key %d: %d bytes; a wrapped key is 1 to %d", errMessage, i, len(k.Wrapped), MaxWrappedBytes)
		}
	}
	for i, w := range m.Wants {
		if err := w.slot().Check(); err != nil {
			return nil, fmt.Errorf("%w: want %d: %v", errMessage, i, err)
		}
	}
	return m, nil
}
