package reading_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/iotledger/iotledger/reading"
)

func Example() {
	// On the device: sign a reading with the device key.
	seed := make([]byte, ed25519.SeedSize) // a real device keeps a random seed in secure storage
	key := ed25519.NewKeyFromSeed(seed)
	raw, err := reading.Sign(reading.Reading{
		Seq:  1,
		Time: 1700000000000,
		Data: map[string]any{"temp": 21.5, "door": "closed", "battery": 87},
	}, key)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Anywhere else: decode, then check the signature with the device's
	// public key (which the ledger's registry holds).
	s, err := reading.Decode(raw)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("device:", s.Device)
	fmt.Println("seq:", s.Seq, "at", s.Timestamp().Format("2006-01-02 15:04:05.000"))
	fmt.Println("temp:", s.Data["temp"], "door:", s.Data["door"], "battery:", s.Data["battery"])
	fmt.Println("verify:", s.Verify(key.Public().(ed25519.PublicKey)))

	// A byte changed on the way is caught.
	raw[len(raw)-1] ^= 1
	s, _ = reading.Decode(raw)
	fmt.Println("tampered:", s.Verify(key.Public().(ed25519.PublicKey)))
	// Output:
	// device: dev1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkz3smc
	// seq: 1 at 2023-11-14 22:13:20.000
	// temp: 21.5 door: closed battery: 87
	// verify: <nil>
	// tampered: reading: signature does not verify with the device key: device dev1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkz3smc seq 1
}
