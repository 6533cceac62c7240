package device_test

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/reading"
)

func Example() {
	// A real device keeps a random seed in secure storage and its sequence
	// state in a file (the third argument); "" keeps it in memory.
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	s, err := device.NewSigner(key, "", "")
	if err != nil {
		fmt.Println(err)
		return
	}

	data, err := device.ParseData([]string{"temp=21.5", "door=closed"})
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)
	for range 2 {
		raw, seq, err := s.Sign(data, at)
		if err != nil {
			fmt.Println(err)
			return
		}
		// Anyone with the device's public key can check the reading.
		r, err := reading.Decode(raw)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("device %s... seq %d temp %v verify: %v\n", s.ID()[:12], seq, r.Data["temp"], r.Verify(key.Public().(ed25519.PublicKey)))
	}
	fmt.Println("next:", s.Next())
	// Output:
	// device dev1zw0rjs8x... seq 1 temp 21.5 verify: <nil>
	// device dev1zw0rjs8x... seq 2 temp 21.5 verify: <nil>
	// next: 3
}
