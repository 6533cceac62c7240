package tx_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

func Example() {
	owner := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	device := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), 1))
	ownerAcc := address.Account(owner.Public().(ed25519.PublicKey))
	devicePub := device.Public().(ed25519.PublicKey)

	// The owner registers the device; the device consents with its own key.
	raw, err := tx.Sign(owner, tx.TypeRegisterDevice, "iotledger-1", 1, &tx.RegisterDevice{
		Key:       devicePub,
		Labels:    map[string]string{"site": "plant-3"},
		DeviceSig: ed25519.Sign(device, tx.RegistrationMessage("iotledger-1", ownerAcc, devicePub)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	t, err := tx.Decode(raw)
	if err != nil {
		fmt.Println(err)
		return
	}
	f := t.Signed.Fields.(*tx.RegisterDevice)
	fmt.Println(t.Signed.Type, t.Signed.ChainID, t.Signed.Nonce, t.Signed.Account == ownerAcc, f.Labels["site"])
	fmt.Println("verify:", t.Signed.Verify())

	// Readings travel in batches without an outer signature.
	r, _ := reading.Sign(reading.Reading{Seq: 1, Data: map[string]any{"temp": 21.5}}, device)
	t, err = tx.Decode(tx.NewBatch([][]byte{r}))
	fmt.Println(t.Kind == tx.KindBatch, len(t.Readings), err)
	// Output:
	// register_device iotledger-1 1 true plant-3
	// verify: <nil>
	// true 1 <nil>
}
