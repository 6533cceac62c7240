package receipt_test

import (
	"fmt"
	"log"
	"os"

	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/receipt"
)

// Verify a receipt offline against the genesis of its chain.
func Example() {
	// The genesis is the root of trust: take it from a source you trust.
	genesis, err := types.GenesisDocFromFile("testdata/genesis.json")
	if err != nil {
		log.Fatal(err)
	}
	data, err := os.ReadFile("testdata/receipt.json")
	if err != nil {
		log.Fatal(err)
	}
	r, err := receipt.Parse(data)
	if err != nil {
		log.Fatal(err)
	}
	checks, err := receipt.Verify(r, genesis)
	for _, c := range checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Printf("%s %s: %s\n", mark, c.Name, c.Detail)
	}
	if err != nil {
		fmt.Println("receipt does not verify:", err)
		return
	}
	fmt.Println("receipt verifies")
	// Output:
	// ok   device signature: device dev1sghjqgc5hqg4e5n5quy5jegp3g2dgwwswzgm8s seq 105
	// ok   device id matches key: the key derives device id dev1sghjqgc5hqg4e5n5quy5jegp3g2dgwwswzgm8s
	// ok   inclusion in the log: leaf 5 of a log of size 7
	// ok   root committed by block's app hash: block 41 app hash
	// ok   validator set followed from genesis: the genesis set of 4 validators (no change before block 42)
	// ok   block signed by validators: validators holding 40 of 40 voting power signed block 42
	// receipt verifies
}
