package receipt_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/iotledger/iotledger/receipt"
)

// FuzzVerify feeds changed copies of the checked-in receipts (one with a
// validator trace) to Parse and Verify. Neither may panic, a refusal must
// name a failed check, and a receipt that verifies must say exactly what
// an original says: a forged receipt must never verify.
func FuzzVerify(f *testing.F) {
	var origs []*receipt.Receipt
	for _, name := range []string{receiptFile, traceFile} {
		good, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(good)
		origs = append(origs, loadReceipt(f, name))
	}
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
		var mismatch string
		for _, orig := range origs {
			if mismatch = differs(r, orig); mismatch == "" {
				return
			}
		}
		t.Fatal(mismatch)
	})
}

// differs says how the content of r, which verified, differs from orig's,
// or "" if it does not.
func differs(r, orig *receipt.Receipt) string {
	switch {
	case !bytes.Equal(r.Reading, orig.Reading):
		return fmt.Sprintf("a receipt for another reading verified:\n%x\nwant\n%x", r.Reading, orig.Reading)
	case r.LeafIndex != orig.LeafIndex:
		return fmt.Sprintf("a receipt for leaf %d verified, want %d", r.LeafIndex, orig.LeafIndex)
	case !bytes.Equal(r.DeviceKey, orig.DeviceKey):
		return fmt.Sprintf("a receipt for device key %x verified, want %x", r.DeviceKey, orig.DeviceKey)
	case r.TreeSize != orig.TreeSize || !bytes.Equal(r.LogRoot, orig.LogRoot):
		return fmt.Sprintf("a receipt for log %d/%x verified, want %d/%x", r.TreeSize, r.LogRoot, orig.TreeSize, orig.LogRoot)
	case r.Height != orig.Height || r.ChainID != orig.ChainID || !bytes.Equal(r.StateDigest, orig.StateDigest):
		return fmt.Sprintf("a receipt for block %s/%d state %x verified, want %s/%d state %x",
			r.ChainID, r.Height, r.StateDigest, orig.ChainID, orig.Height, orig.StateDigest)
	}
	return ""
}
