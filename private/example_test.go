package private_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/private"
	"github.com/iotledger/iotledger/reading"
)

func Example() {
	// The owner's account has an encryption key (a hybrid one here), whose
	// public half is on the ledger; the private half stays in its key file.
	ownerKey, err := private.GenerateKey(true)
	if err != nil {
		fmt.Println(err)
		return
	}
	signing := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // the owner's signing key
	owner := address.Account(signing.Public().(ed25519.PublicKey))

	// The device makes a stream key for its epoch and wraps it to the
	// owner; the commitment goes into its stream_key transaction, the
	// wrapped key to a node's key box.
	devKey := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	device := address.Device(devKey.Public().(ed25519.PublicKey))
	key, err := private.NewStreamKey()
	if err != nil {
		fmt.Println(err)
		return
	}
	wrapped, commitment, err := private.Wrap("iotledger-dev", device, 1, owner, ownerKey.Public(), key)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("commitment is the SHA-256 of the wrapped key:", commitment == private.Commitment(wrapped))

	// The device seals temp and hr; site stays public.
	raw, err := private.Seal(reading.Reading{Seq: 1, Time: 1700000000000, Data: map[string]any{"site": "lab"}},
		map[string]any{"temp": 21.5, "hr": 70}, 1, key, devKey)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Anyone decodes and verifies it; only a recipient opens it.
	s, err := reading.Decode(raw)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("verify:", s.Verify(devKey.Public().(ed25519.PublicKey)))
	fmt.Println("public:", s.Data, "sealed in epoch", s.Sealed.Epoch)

	k, err := private.Unwrap("iotledger-dev", s.Device, s.Sealed.Epoch, owner, ownerKey, wrapped)
	if err != nil {
		fmt.Println(err)
		return
	}
	fields, err := private.Open(s.Reading, k)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("private:", fields)

	// A wrapped key presented for another epoch does not open.
	_, err = private.Unwrap("iotledger-dev", s.Device, 2, owner, ownerKey, wrapped)
	fmt.Println("epoch 2:", err != nil)
	// Output:
	// commitment is the SHA-256 of the wrapped key: true
	// verify: <nil>
	// public: map[site:lab] sealed in epoch 1
	// private: map[hr:70 temp:21.5]
	// epoch 2: true
}
