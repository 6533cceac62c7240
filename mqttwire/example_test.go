package mqttwire_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/mqttwire"
)

// A device with the all-zero seed (an example only) connects, publishes a
// reading and reads the answer the node sends back.
func Example() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	id := address.Device(key.Public().(ed25519.PublicKey))
	fmt.Println("publish to:  ", mqttwire.ReadingsTopic(id))
	fmt.Println("subscribe to:", mqttwire.ReceiptsTopic(id))
	fmt.Println("subscribe to:", mqttwire.ErrorsTopic(id))

	// A message that arrived on the receipts topic.
	payload := []byte(`{"seq":1,"index":42,"height":9,"receipt":"/v1/devices/` + id + `/readings/1/receipt","status":"accepted"}`)
	var m mqttwire.ReceiptMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("reading %d: %s, log index %d, block %d\n", m.Seq, m.Status, m.Index, m.Height)
	// Output:
	// publish to:   iotledger/v1/devices/dev1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkz3smc/readings
	// subscribe to: iotledger/v1/devices/dev1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkz3smc/receipts
	// subscribe to: iotledger/v1/devices/dev1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkz3smc/errors
	// reading 1: accepted, log index 42, block 9
}

// The same device makes the password for a connection on 1 January 2026 at
// 00:00 UTC, valid for five minutes.
func ExampleToken() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	id := address.Device(key.Public().(ed25519.PublicKey))
	tok, err := mqttwire.Token(key, id, time.Unix(1767225600, 0), 5*time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("client id:", id)
	fmt.Println("user name:", id)
	fmt.Println("password: ", tok)
	// Output:
	// client id: dev1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkz3smc
	// user name: dev1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkz3smc
	// password:  v1.1767225900.J88dIXW-nc7ad2sVKeBq3lVWAdGC19HsKk5qR1DQvO0OMaAyR4Wg17qtVunCRlHnarf7aj4L0Vh38RQnG0-JCQ
}
