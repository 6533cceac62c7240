package receipt_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/receipt"
)

// FuzzVerify feeds changed copies of the checked-in receipts (one with a
// validator trace) to Parse and Verify. Neither may panic, a refusal must
// name a failed check, and a receipt that verifies must say exactly what
// an original says, down to each commit signature's address, flag, time
// and bytes (see blockDiffers): a forged receipt must never verify.
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
		var mismatches []string
		for i, orig := range origs {
			mismatch := differs(r, orig)
			if mismatch == "" {
				return
			}
			mismatches = append(mismatches, fmt.Sprintf("against original %d: %s", i, mismatch))
		}
		t.Fatal(strings.Join(mismatches, "\n"))
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
	case len(r.Trace) != len(orig.Trace):
		return fmt.Sprintf("a receipt with a trace of %d blocks verified, want %d", len(r.Trace), len(orig.Trace))
	}
	if d := blockDiffers(r.SignedHeader, r.Validators, orig.SignedHeader, orig.Validators); d != "" {
		return "the receipt's block: " + d
	}
	for i := range r.Trace {
		if d := blockDiffers(r.Trace[i].SignedHeader, r.Trace[i].Validators, orig.Trace[i].SignedHeader, orig.Trace[i].Validators); d != "" {
			return fmt.Sprintf("trace block %d: %s", i, d)
		}
	}
	return ""
}

// blockDiffers says how a signed header and validator set that verified
// differ, in what they say, from the original's, or "" if they do not.
// What may differ is only what nothing signs or hashes and verification
// does not use: the validators' proposer priorities and the set's
// proposer; and a signature may be missing (absent) where the original
// has one, which leaves a commit that still proves the block if the rest
// hold more than two thirds of the power.
func blockDiffers(sh, vals, origSH, origVals []byte) string {
	var a, b types.SignedHeader
	if err := cmtjson.Unmarshal(sh, &a); err != nil {
		return fmt.Sprintf("signed header does not decode: %v", err)
	}
	if err := cmtjson.Unmarshal(origSH, &b); err != nil {
		return fmt.Sprintf("original signed header does not decode: %v", err)
	}
	if !bytes.Equal(a.Header.Hash(), b.Header.Hash()) {
		return fmt.Sprintf("header %X verified, want %X", a.Header.Hash(), b.Header.Hash())
	}
	ca, cb := a.Commit, b.Commit
	if ca.Height != cb.Height || ca.Round != cb.Round || !ca.BlockID.Equals(cb.BlockID) || len(ca.Signatures) != len(cb.Signatures) {
		return fmt.Sprintf("commit %d/%d/%v with %d signatures verified, want %d/%d/%v with %d",
			ca.Height, ca.Round, ca.BlockID, len(ca.Signatures), cb.Height, cb.Round, cb.BlockID, len(cb.Signatures))
	}
	for i, s := range ca.Signatures {
		o := cb.Signatures[i]
		if s.BlockIDFlag == types.BlockIDFlagAbsent {
			continue
		}
		if s.BlockIDFlag != o.BlockIDFlag || !bytes.Equal(s.ValidatorAddress, o.ValidatorAddress) ||
			!s.Timestamp.Equal(o.Timestamp) || !bytes.Equal(s.Signature, o.Signature) {
			return fmt.Sprintf("signature %d (flag %d, address %X, time %s, bytes %X) verified, want (flag %d, address %X, time %s, bytes %X)",
				i, s.BlockIDFlag, []byte(s.ValidatorAddress), s.Timestamp, s.Signature, o.BlockIDFlag, []byte(o.ValidatorAddress), o.Timestamp, o.Signature)
		}
	}
	var va, vb types.ValidatorSet
	if err := cmtjson.Unmarshal(vals, &va); err != nil {
		return fmt.Sprintf("validator set does not decode: %v", err)
	}
	if err := cmtjson.Unmarshal(origVals, &vb); err != nil {
		return fmt.Sprintf("original validator set does not decode: %v", err)
	}
	if !bytes.Equal(va.Hash(), vb.Hash()) {
		return fmt.Sprintf("validator set %X verified, want %X", va.Hash(), vb.Hash())
	}
	for i, v := range va.Validators {
		if !bytes.Equal(v.Address, vb.Validators[i].Address) {
			return fmt.Sprintf("validator %d %X verified, want %X", i, v.Address, vb.Validators[i].Address)
		}
	}
	return ""
}
