package state

import (
	"bytes"
	"math"
	"testing"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// SeqEntry's hand-written encoding is the one the CBOR library writes, at
// every head size and sign.
func TestSeqEntryEncoding(t *testing.T) {
	for _, e := range []SeqEntry{
		{},
		{Index: 23, Height: 24, Time: -24},
		{Index: 255, Height: 256, Time: -25},
		{Index: 65535, Height: 65536, Time: 1_733_000_000_000},
		{Index: math.MaxUint32, Height: math.MaxUint32 + 1, Time: -1 << 40},
		{Index: math.MaxUint64, Height: math.MaxInt64, Time: math.MinInt64},
	} {
		want, err := dcbor.EncMode.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.encode(); !bytes.Equal(got, want) {
			t.Errorf("%+v: encode() = % x, want % x", e, got, want)
		}
	}
}
