package zip215_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/iotledger/iotledger/internal/zip215"
)

func Example() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := key.Public().(ed25519.PublicKey)
	msg := []byte("temperature 21.5")
	sig := ed25519.Sign(key, msg)

	fmt.Println(zip215.Verify(pub, msg, sig))

	// Many signatures at once: the results are those of Verify, entry by entry.
	b := zip215.NewBatch(3)
	b.Add(pub, msg, sig)
	b.Add(pub, []byte("temperature 99.9"), sig) // not what was signed
	b.Add(pub, msg, sig[:10])                   // truncated: invalid, not a panic
	fmt.Println(b.Verify())
	// Output:
	// true
	// [true false false]
}
