package format_test

import (
	"bytes"
	"testing"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/receipt/format"
)

// Leaf is the deterministic CBOR array [key, reading], as the CBOR library
// writes it, at every length of the strings' heads.
func TestLeafEncoding(t *testing.T) {
	for _, n := range []int{0, 1, 23, 24, 255, 256, 4096, 65535, 65536} {
		short, long := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, n)
		for _, kr := range [][2][]byte{{short, long}, {long, short}} {
			want, err := dcbor.EncMode.Marshal([]any{kr[0], kr[1]})
			if err != nil {
				t.Fatal(err)
			}
			if got := format.Leaf(kr[0], kr[1]); !bytes.Equal(got, want) {
				t.Errorf("key of %d and reading of %d bytes: Leaf = % x..., want % x...", len(kr[0]), len(kr[1]), got[:min(len(got), 40)], want[:min(len(want), 40)])
			}
		}
	}
}
