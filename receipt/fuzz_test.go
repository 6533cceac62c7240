package receipt_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/iotledger/iotledger/receipt"
)

// FuzzVerify feeds changed copies of the checked-in receipt to Parse and
// Verify. Neither may panic, a refusal must name a failed check, and a
// receipt that verifies must say exactly what the original says: a forged
// receipt must never verify.
func FuzzVerify(f *testing.F) {
	good, err := os.ReadFile(receiptFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	orig := loadReceipt(f, receiptFile)
	g := loadGenesis(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := receipt.Parse(data)
		if err != nil {
			return
		}
		checks, err := receipt.Verify(r, g)
		if errors.Is(err, receipt.ErrPanic) {
			t.Fatalf("Verify panicked: %v", err)
		}
		if err != nil {
			var ce *receipt.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Verify refused with %v (%T), not a *CheckError", err, err)
			}
			if len(checks) == 0 || checks[len(checks)-1].OK || checks[len(checks)-1].Name != ce.Check {
				t.Fatalf("checks %+v do not end with the failed check %q", checks, ce.Check)
			}
			return
		}
		for _, c := range checks {
			if !c.OK {
				t.Fatalf("Verify accepted with a failed check: %+v", checks)
			}
		}
		switch {
		case !bytes.Equal(r.Reading, orig.Reading):
			t.Fatalf("a receipt for another reading verified:\n%x\nwant\n%x", r.Reading, orig.Reading)
		case r.LeafIndex != orig.LeafIndex:
			t.Fatalf("a receipt for leaf %d verified, want %d", r.LeafIndex, orig.LeafIndex)
		case !bytes.Equal(r.DeviceKey, orig.DeviceKey):
			t.Fatalf("a receipt for device key %x verified, want %x", r.DeviceKey, orig.DeviceKey)
		case r.TreeSize != orig.TreeSize || !bytes.Equal(r.LogRoot, orig.LogRoot):
			t.Fatalf("a receipt for log %d/%x verified, want %d/%x", r.TreeSize, r.LogRoot, orig.TreeSize, orig.LogRoot)
		case r.Height != orig.Height || r.ChainID != orig.ChainID || !bytes.Equal(r.StateDigest, orig.StateDigest):
			t.Fatalf("a receipt for block %s/%d state %x verified, want %s/%d state %x",
				r.ChainID, r.Height, r.StateDigest, orig.ChainID, orig.Height, orig.StateDigest)
		}
	})
}
