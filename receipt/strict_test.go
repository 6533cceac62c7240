package receipt_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/internal/testonly/receiptfix"
	"github.com/iotledger/iotledger/receipt"
)

// withSig returns a copy of sh whose signature i is changed by change.
func withSig(sh *types.SignedHeader, i int, change func(*types.CommitSig)) *types.SignedHeader {
	c := *sh.Commit
	c.Signatures = slices.Clone(c.Signatures)
	cs := c.Signatures[i]
	cs.ValidatorAddress = bytes.Clone(cs.ValidatorAddress)
	cs.Signature = bytes.Clone(cs.Signature)
	change(&cs)
	c.Signatures[i] = cs
	return &types.SignedHeader{Header: sh.Header, Commit: &c}
}

// TestVerifyChecksEverySignature: every signature of a commit that is not
// absent is checked, whatever its flag and wherever it is, in the
// receipt's own commit and in each block of a validator trace: the
// address it names must be the validator's at its position, and a
// signature for nil must verify as one. Each case here changes bytes of a
// receipt that verifies and that CometBFT's light-client checks accept
// (VerifyCommitLightAllSignatures, light.Verify), so that an address, a
// flag or a signature past two thirds of the power could be changed, or
// data hidden there, in a receipt that still verified.
func TestVerifyChecksEverySignature(t *testing.T) { refuseForgeries(t, signatureForgeries(t)) }

// signatureForgeries are the receipts of TestVerifyChecksEverySignature.
func signatureForgeries(t *testing.T) []forgery {
	t.Helper()
	nilVote := receiptfix.MustNew(t, receiptfix.Options{Votes: []types.BlockIDFlag{
		types.BlockIDFlagCommit, types.BlockIDFlagCommit, types.BlockIDFlagNil, types.BlockIDFlagCommit}})
	own := func(f *receiptfix.Fixture, i int, change func(*types.CommitSig)) func(*testing.T) *receipt.Receipt {
		return func(*testing.T) *receipt.Receipt {
			r := clone(f.Receipt)
			r.SignedHeader = receiptfix.JSON(withSig(f.Header, i, change))
			return r
		}
	}
	inTrace := func(block, i int, change func(*types.CommitSig)) func(*testing.T) *receipt.Receipt {
		return func(*testing.T) *receipt.Receipt {
			r := clone(traced.Receipt)
			r.Trace[block].SignedHeader = receiptfix.JSON(withSig(traced.Trace[block].SignedHeader, i, change))
			return r
		}
	}
	otherAddress := func(cs *types.CommitSig) { cs.ValidatorAddress = bytes.Repeat([]byte{0xAB}, 20) }
	toNil := func(cs *types.CommitSig) { cs.BlockIDFlag = types.BlockIDFlagNil }
	toCommit := func(cs *types.CommitSig) { cs.BlockIDFlag = types.BlockIDFlagCommit }
	flipSig := func(cs *types.CommitSig) { cs.Signature[7] ^= 1 }

	return []forgery{
		{"a signature's validator address changed to other 20 bytes", "sig-0-address-changed", own(std, 0, otherAddress),
			receipt.CheckCommit, receipt.ErrCommit, "signature 0 names validator ABABABAB"},
		{"the last signature's validator address changed", "sig-3-address-changed", own(std, 3, otherAddress),
			receipt.CheckCommit, receipt.ErrCommit, "signature 3 names validator"},
		{"a signature names the validator of another position", "sig-names-the-validator-of-another-position", own(std, 1, func(cs *types.CommitSig) {
			cs.ValidatorAddress = bytes.Clone(std.ValSet.Validators[2].Address)
		}), receipt.CheckCommit, receipt.ErrCommit, "but validator 1 of the set is"},
		{"a signature's flag changed from commit to nil", "sig-flag-commit-to-nil", own(std, 2, toNil),
			receipt.CheckCommit, receipt.ErrCommit, "signature 2, by validator " + fmt.Sprintf("%X", []byte(std.ValSet.Validators[2].Address)) + " for nil (no block), does not verify"},
		{"a nil vote's signature flipped", "nil-vote-signature-flipped", own(nilVote, 2, flipSig),
			receipt.CheckCommit, receipt.ErrCommit, "for nil (no block), does not verify"},
		{"a nil vote's validator address changed", "nil-vote-address-changed", own(nilVote, 2, otherAddress),
			receipt.CheckCommit, receipt.ErrCommit, "signature 2 names validator"},
		{"a nil vote's flag changed to commit", "nil-vote-flag-to-commit", own(nilVote, 2, toCommit),
			receipt.CheckCommit, receipt.ErrCommit, "for block " + fmt.Sprintf("%X", []byte(nilVote.Header.Commit.BlockID.Hash)) + ", does not verify"},
		{"a signature's flag of no kind", "sig-flag-of-no-kind", own(std, 1, func(cs *types.CommitSig) { cs.BlockIDFlag = 4 }),
			receipt.CheckCommit, receipt.ErrCommit, "BlockIDFlag"},
		{"traced receipt: its own commit's validator address changed", "traced-own-commit-address-changed", func(*testing.T) *receipt.Receipt {
			r := clone(traced.Receipt)
			r.SignedHeader = receiptfix.JSON(withSig(traced.Header, 0, otherAddress))
			return r
		}, receipt.CheckCommit, receipt.ErrCommit, "signature 0 names validator"},
		{"trace block: a signature past two thirds flipped", "", inTrace(3, 4, flipSig),
			receipt.CheckValidatorSet, receipt.ErrTrace, "block 30: signature 4, by validator"},
		{"trace block: a validator address changed", "trace-block-address-changed", inTrace(3, 4, otherAddress),
			receipt.CheckValidatorSet, receipt.ErrTrace, "signature 4 names validator"},
		{"trace block: a signature's flag changed to nil", "trace-block-flag-to-nil", inTrace(1, 4, toNil),
			receipt.CheckValidatorSet, receipt.ErrTrace, "for nil (no block), does not verify"},
		{"first trace block: a validator address changed", "trace-first-block-address-changed", inTrace(0, 3, otherAddress),
			receipt.CheckValidatorSet, receipt.ErrTrace, "signature 3 names validator"},
		{"version 1 changed to 2", "", func(*testing.T) *receipt.Receipt {
			r := clone(std.Receipt)
			r.Version = receipt.VersionTrace
			return r
		}, receipt.CheckValidatorSet, receipt.ErrMalformed, "a version 2 receipt without a validator trace, of a block the genesis set signed"},
	}
}

// flipPaddingBit returns the base64 text s (with one "=" of padding) with
// the lowest of its padding bits set: the same bytes to a lenient decoder.
func flipPaddingBit(t *testing.T, s string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	if !strings.HasSuffix(s, "=") || strings.HasSuffix(s, "==") {
		t.Fatalf("%q does not end with one =", s)
	}
	i := len(s) - 2
	return s[:i] + string(alphabet[strings.IndexByte(alphabet, s[i])^1]) + s[i+1:]
}

// TestParseIsStrict: the receipt's own JSON (the receipt and each block
// of its trace) is read with exact field names, each at most once, and
// byte strings in their one canonical base64 spelling; encoding/json
// alone would take "Reading" for "reading", keep the last of two fields
// of one name, and ignore a line break or padding bits in base64.
func TestParseIsStrict(t *testing.T) {
	good := must(std.Receipt.Marshal())
	trace := must(traced.Receipt.Marshal())
	replace := func(in []byte, old, new string) []byte {
		t.Helper()
		if !bytes.Contains(in, []byte(old)) {
			t.Fatalf("no %s", old)
		}
		return bytes.Replace(in, []byte(old), []byte(new), 1)
	}
	key := base64.StdEncoding.EncodeToString(std.Receipt.DeviceKey)
	root := base64.StdEncoding.EncodeToString(std.Receipt.LogRoot)
	proof0 := base64.StdEncoding.EncodeToString(std.Receipt.Proof[0])
	tests := []struct {
		name string
		in   []byte
		says string
	}{
		{"field name with a capital", replace(good, `"reading":`, `"Reading":`), `receipt field "Reading" is unknown: field names are case-sensitive; write "reading"`},
		{"field name in capitals", replace(good, `"chain_id":`, `"CHAIN_ID":`), `write "chain_id"`},
		{"field given twice, the first hidden", replace(good, `"reading":`, `"reading": "AAAA", "reading":`), `receipt field "reading" appears twice`},
		{"field given twice, the same", replace(good, `"version": 1,`, `"version": 1, "version": 1,`), `receipt field "version" appears twice`},
		{"unknown field", replace(good, `"version": 1,`, `"note": "x", "version": 1,`), `receipt field "note" is unknown; the fields are chain_id, device_key,`},
		{"trace block field with capitals", replace(trace, `"signed_header":`, `"Signed_Header":`), `write "signed_header"`},
		{"trace block field given twice", replace(trace, `"validator_trace": [
    {`, `"validator_trace": [
    {"validator_set": {},`), `validator trace block field "validator_set" appears twice`},
		{"trace block with an unknown field", replace(trace, `"validator_trace": [
    {`, `"validator_trace": [
    {"x": 1,`), `validator trace block field "x" is unknown`},
		{"base64 with a line break", replace(good, `"`+key+`"`, `"`+key[:8]+`\n`+key[8:]+`"`), `receipt field "device_key": not a byte string in canonical standard base64`},
		{"base64 with a padding bit set", replace(good, `"`+root+`"`, `"`+flipPaddingBit(t, root)+`"`), `receipt field "log_root": not a byte string`},
		{"proof hash with a padding bit set", replace(good, `"`+proof0+`"`, `"`+flipPaddingBit(t, proof0)+`"`), `receipt field "inclusion_proof", item 0: not a byte string`},
		{"base64 without padding", replace(good, `"`+root+`"`, `"`+strings.TrimRight(root, "=")+`"`), `not a byte string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := receipt.Parse(tt.in); !errors.Is(err, receipt.ErrMalformed) || r != nil {
				t.Fatalf("Parse = %v, %v; want ErrMalformed", r, err)
			} else if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
			// The same document read with json.Unmarshal, as a program
			// that embeds a receipt in its own JSON does.
			var r receipt.Receipt
			if err := json.Unmarshal(tt.in, &r); err == nil {
				t.Errorf("json.Unmarshal accepts it")
			}
		})
	}
}

// reversed writes the JSON object b with its members in reverse order of
// their names.
func reversed(t *testing.T, b []byte) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	slices.Reverse(names)
	out := []byte("{")
	for i, k := range names {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, k...)
		out = append(out, '"', ':')
		out = append(out, m[k]...)
	}
	return append(out, '}')
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestWhatDoesNotMatter pins down the bytes of a receipt that verify does
// not see, as the package documentation ("Encoding") and the README list
// them: each change here leaves every value verify uses the same, and the
// receipt still verifies. A change to this list is a change of what a
// receipt promises; update the documentation with it.
func TestWhatDoesNotMatter(t *testing.T) {
	good := must(std.Receipt.Marshal())
	replace := func(old, new string) []byte {
		t.Helper()
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("no %s", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	appHash := strings.ToUpper(hex.EncodeToString(std.Header.AppHash))
	absent := func() []byte {
		r := clone(std.Receipt)
		r.SignedHeader = receiptfix.JSON(withSig(std.Header, 3, func(cs *types.CommitSig) { *cs = types.NewCommitSigAbsent() }))
		return must(r.Marshal())
	}
	for name, in := range map[string][]byte{
		"compact white space":                 compact(t, good),
		"fields in another order":             reversed(t, good),
		"an escape in a field name":           replace(`"reading":`, `"\u0072eading":`),
		"an escape in the chain id":           replace(`"chain_id": "iotledger-test"`, `"chain_id": "iotledger\u002dtest"`),
		"header hash in lower case hex":       replace(appHash, strings.ToLower(appHash)),
		"a field CometBFT does not know":      replace(`"app_hash":`, `"note": "x", "app_hash":`),
		"a proposer priority changed":         replace(`"proposer_priority": "-30"`, `"proposer_priority": "-31"`),
		"a signature left out, 30 of 40 hold": absent(),
	} {
		t.Run(name, func(t *testing.T) {
			r, err := receipt.Parse(in)
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			mustPass(t, r, std.Genesis)
		})
	}
}
