package receipt_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/testonly/receiptfix"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

// Shared test vectors for other verifiers (web/verify, the JavaScript
// one): every receipt file under testdata; the receipts the tests of this
// package build in memory and receipts around hand-built readings
// (readingVectors), written as files under forgedDir; changed genesis
// files under genesisDir; and, as patches of the receipt files, the field
// mutations of TestVerifyFieldMutations and random edits of their text.
// Their verdicts, as this package reaches them, are in verdictsFile; all
// are rewritten by -update.
const (
	forgedDir    = "testdata/forged"
	verdictsFile = "testdata/verdicts.json"
)

// Verdicts a receipt file can have: ok, the name of the first failed
// check, or malformed when Parse refuses it.
const (
	verdictOK        = "ok"
	verdictMalformed = "malformed"
)

// verdictOf parses and verifies a receipt as `iotledger verify` does.
func verdictOf(b []byte, g *types.GenesisDoc) string {
	r, err := receipt.Parse(b)
	if err != nil {
		return verdictMalformed
	}
	_, err = receipt.Verify(r, g)
	var ce *receipt.CheckError
	switch {
	case err == nil:
		return verdictOK
	case errors.As(err, &ce):
		return ce.Check
	default:
		return "error: " + err.Error()
	}
}

// forgedVector is a receipt built in memory by a test of this package,
// written to forgedDir/name.json. want is the verdict that test wants.
type forgedVector struct {
	name  string
	want  string
	build func(t *testing.T) *receipt.Receipt
}

// forgedVectors repeats the receipts of TestVerifyGood (those verified
// against the standard genesis), TestVerifyTraceGood and
// TestWhatDoesNotMatter, under file names, and those of
// TestVerifyForgeries, TestVerifyTraceForgeries and
// TestVerifyChecksEverySignature that name a file, built by the same
// builders as those tests.
func forgedVectors(t *testing.T) []forgedVector {
	t.Helper()
	fix := func(o receiptfix.Options) func(t *testing.T) *receipt.Receipt {
		return func(t *testing.T) *receipt.Receipt { return receiptfix.MustNew(t, o).Receipt }
	}
	votes := func(v ...types.BlockIDFlag) []types.BlockIDFlag { return v }
	C, A, N := types.BlockIDFlagCommit, types.BlockIDFlagAbsent, types.BlockIDFlagNil

	vs := []forgedVector{
		// TestVerifyGood
		{"good-three-of-four-signed", verdictOK, fix(receiptfix.Options{Votes: votes(C, A, C, C)})},
		{"good-one-validator-voted-nil", verdictOK, fix(receiptfix.Options{Votes: votes(C, C, N, C)})},
		{"good-rotated-key", verdictOK, fix(receiptfix.Options{RotatedKey: true})},
		{"good-only-leaf-of-block-1", verdictOK, fix(receiptfix.Options{Leaves: 1, Height: 1})},
		{"good-leaf-63-of-100", verdictOK, fix(receiptfix.Options{Leaves: 100, Index: 63, Height: 1000})},
		// TestVerifyTraceGood
		{"good-trace-change-at-the-receipts-header", verdictOK, fix(receiptfix.Options{Changes: []receiptfix.Change{{At: 42, Powers: []int64{10, 10, 10, 10, 10}}}})},
		{"good-trace-changes-in-consecutive-blocks", verdictOK, fix(receiptfix.Options{Changes: []receiptfix.Change{
			{At: 3, Powers: []int64{10, 10, 10, 10, 10}},
			{At: 4, Powers: []int64{0, 10, 10, 10, 10}},
			{At: 5, Powers: []int64{0, 0, 0, 7}},
		}})},

		// TestWhatDoesNotMatter
		{"good-a-signature-left-out", verdictOK, func(*testing.T) *receipt.Receipt {
			r := clone(std.Receipt)
			r.SignedHeader = receiptfix.JSON(withSig(std.Header, 3, func(cs *types.CommitSig) { *cs = types.NewCommitSigAbsent() }))
			return r
		}},
	}
	for _, fs := range [][]forgery{forgeries(t), traceForgeries(t), signatureForgeries(t)} {
		for _, f := range fs {
			if f.file != "" {
				vs = append(vs, forgedVector{f.file, f.check, f.build})
			}
		}
	}
	return vs
}

// textVector is a receipt's JSON text changed where Parse or the CometBFT
// decoder has a rule, written to forgedDir/name.json.
type textVector struct {
	name  string
	want  string
	build func(t *testing.T) []byte
}

// textVectors repeats the inputs of TestParse, TestParseIsStrict and
// TestWhatDoesNotMatter (all but TestParse's receipt larger than MaxSize,
// 4 MiB of white space).
func textVectors() []textVector {
	edit := func(base func() []byte, old, new string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			b := base()
			if !bytes.Contains(b, []byte(old)) {
				t.Fatalf("receipt JSON has no %s", old)
			}
			return bytes.Replace(b, []byte(old), []byte(new), 1)
		}
	}
	good := func() []byte { return must(std.Receipt.Marshal()) }
	trace := func() []byte { return must(traced.Receipt.Marshal()) }
	key := base64.StdEncoding.EncodeToString(std.Receipt.DeviceKey)
	root := base64.StdEncoding.EncodeToString(std.Receipt.LogRoot)
	proof0 := base64.StdEncoding.EncodeToString(std.Receipt.Proof[0])
	appHash := strings.ToUpper(hex.EncodeToString(std.Header.AppHash))
	marshal := func(change func(r *receipt.Receipt)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			r := clone(std.Receipt)
			if change != nil {
				change(r)
			}
			return must(r.Marshal())
		}
	}
	const M = verdictMalformed
	return []textVector{
		// TestParse
		{"parse-trailing-white-space", verdictOK, func(*testing.T) []byte { return append(good(), " \n\t"...) }},
		{"parse-version-3", M, edit(good, `"version": 1`, `"version": 3`)},
		{"parse-version-1-with-a-trace", M, edit(trace, `"version": 2`, `"version": 1`)},
		{"parse-trace-longer-than-max", M, func(*testing.T) []byte {
			r := clone(traced.Receipt)
			for len(r.Trace) <= receipt.MaxTrace {
				r.Trace = append(r.Trace, receipt.LightBlock{SignedHeader: []byte("{}"), Validators: []byte("{}")})
			}
			return must(r.Marshal())
		}},
		{"parse-version-0", M, edit(good, `"version": 1,`, ``)},
		{"parse-unknown-field", M, edit(good, `"version": 1`, `"version": 1, "extra": true`)},
		{"parse-second-object", M, func(*testing.T) []byte { return append(good(), good()...) }},
		{"parse-trailing-garbage", M, func(*testing.T) []byte { return append(good(), 'x') }},
		{"parse-not-base64", M, edit(good, `"device_key": "`, `"device_key": "!`)},
		{"parse-negative-index", M, edit(good, `"leaf_index": 5`, `"leaf_index": -5`)},
		{"parse-array", M, func(*testing.T) []byte { return []byte(`[]`) }},
		{"parse-empty", M, func(*testing.T) []byte { return nil }},
		{"parse-proof-longer-than-max", M, marshal(func(r *receipt.Receipt) {
			for len(r.Proof) <= receipt.MaxProof {
				r.Proof = append(r.Proof, receiptfix.Hash("x"))
			}
		})},
		{"parse-reading-larger-than-max", M, marshal(func(r *receipt.Receipt) { r.Reading = make([]byte, reading.MaxSize+1) })},
		{"parse-index-with-a-fraction", M, edit(good, `"leaf_index": 5`, `"leaf_index": 5.0`)},
		{"parse-height-with-an-exponent", M, edit(good, `"height": 41`, `"height": 4.1e1`)},
		{"parse-tree-size-beyond-uint64", M, edit(good, `"tree_size": 7`, `"tree_size": 18446744073709551623`)},
		{"parse-version-as-a-string", M, edit(good, `"version": 1`, `"version": "1"`)},
		{"parse-null", M, func(*testing.T) []byte { return []byte(`null`) }},

		// TestParseIsStrict
		{"strict-field-name-in-capitals", M, edit(good, `"chain_id":`, `"CHAIN_ID":`)},
		{"strict-field-given-twice-the-same", M, edit(good, `"version": 1,`, `"version": 1, "version": 1,`)},
		{"strict-unknown-field-first", M, edit(good, `"version": 1,`, `"note": "x", "version": 1,`)},
		{"strict-trace-block-field-with-capitals", M, edit(trace, `"signed_header":`, `"Signed_Header":`)},
		{"strict-trace-block-field-given-twice", M, edit(trace, "\"validator_trace\": [\n    {", "\"validator_trace\": [\n    {\"validator_set\": {},")},
		{"strict-trace-block-unknown-field", M, edit(trace, "\"validator_trace\": [\n    {", "\"validator_trace\": [\n    {\"x\": 1,")},
		{"strict-base64-with-a-line-break", M, edit(good, `"`+key+`"`, `"`+key[:8]+`\n`+key[8:]+`"`)},
		{"strict-base64-padding-bit-set", M, func(t *testing.T) []byte {
			return edit(good, `"`+root+`"`, `"`+flipPaddingBit(t, root)+`"`)(t)
		}},
		{"strict-proof-hash-padding-bit-set", M, func(t *testing.T) []byte {
			return edit(good, `"`+proof0+`"`, `"`+flipPaddingBit(t, proof0)+`"`)(t)
		}},
		{"strict-base64-without-padding", M, edit(good, `"`+root+`"`, `"`+strings.TrimRight(root, "=")+`"`)},

		// TestWhatDoesNotMatter
		{"good-compact-white-space", verdictOK, func(t *testing.T) []byte { return compact(t, good()) }},
		{"good-fields-in-another-order", verdictOK, func(t *testing.T) []byte { return reversed(t, good()) }},
		{"good-an-escape-in-a-field-name", verdictOK, edit(good, `"reading":`, `"\u0072eading":`)},
		{"good-an-escape-in-the-chain-id", verdictOK, edit(good, `"chain_id": "iotledger-test"`, `"chain_id": "iotledger\u002dtest"`)},
		{"good-header-hash-in-lower-case-hex", verdictOK, edit(good, appHash, strings.ToLower(appHash))},
		{"good-a-field-cometbft-does-not-know", verdictOK, edit(good, `"app_hash":`, `"note": "x", "app_hash":`)},
		{"good-a-proposer-priority-changed", verdictOK, edit(good, `"proposer_priority": "-30"`, `"proposer_priority": "-31"`)},
		// Escapes: CometBFT reads hex, 64-bit integers and times from the
		// raw text of a JSON string, other strings (base64 included) from
		// their value.
		{"cometbft-hex-with-an-escape", receipt.CheckAppHash, edit(good, `"app_hash": "`+appHash[:2], `"app_hash": "\u00`+hex.EncodeToString([]byte(appHash[:1]))+appHash[1:2])},
		{"cometbft-64-bit-integer-with-an-escape", receipt.CheckAppHash, edit(good, `"height": "42"`, `"height": "4\u0032"`)},
		{"cometbft-time-with-an-escape", receipt.CheckAppHash, edit(good, `"time": "2025-06-01T12:00:42Z"`, `"time": "2025\u002d06-01T12:00:42Z"`)},
		{"good-an-escape-in-a-signature", verdictOK, func(t *testing.T) []byte {
			const at = `"signature": "`
			b := good()
			first := b[bytes.Index(b, []byte(at))+len(at)]
			return edit(good, at+string(first), at+`\u00`+hex.EncodeToString([]byte{first}))(t)
		}},
		{"good-an-escape-in-the-device-key", verdictOK, edit(good, `"device_key": "`+key[:1], `"device_key": "\u00`+hex.EncodeToString([]byte(key[:1])))},
		{"good-an-escape-in-a-key-type", verdictOK, edit(good, `"tendermint/PubKeyEd25519"`, `"tendermint\/PubKeyEd25519"`)},
		// Found by comparing the two verifiers on random edits.
		{"good-a-key-field-name-in-another-case", verdictOK, edit(good, `"value": "XJ`, `"vAlue": "XJ`)},
		{"good-a-64-bit-integer-with-white-space", verdictOK, edit(good, `"voting_power": "10"`, `"voting_power": " 10 "`)},
		{"good-a-time-with-a-decimal-comma", verdictOK, edit(good, `"2025-06-01T12:00:43.001Z"`, `"2025-06-01T12:00:43,001Z"`)},
		{"good-a-time-with-ten-fraction-digits", verdictOK, edit(good, `"2025-06-01T12:00:43.001Z"`, `"2025-06-01T12:00:43.0010000009Z"`)},
		{"cometbft-time-with-a-lower-case-t", receipt.CheckAppHash, edit(good, `"2025-06-01T12:00:43.001Z"`, `"2025-06-01t12:00:43.001Z"`)},
		{"cometbft-time-with-a-one-digit-hour", receipt.CheckCommit, edit(good, `"2025-06-01T12:00:43.001Z"`, `"2025-06-01T2:00:43.001Z"`)},
		{"good-null-for-an-empty-trace", verdictOK, edit(good, `"height": 41,`, `"height": 41, "validator_trace": null,`)},
		{"good-a-cometbft-field-given-twice-the-last-counts", verdictOK, edit(good, `"app_hash":`, `"app_hash": "00", "app_hash":`)},
	}
}

// genesisVector is a changed genesis, written to genesisDir/name.json;
// the verdict is that of receiptFile against it.
type genesisVector struct {
	name   string
	want   string
	change func(g *types.GenesisDoc)
}

const (
	genesisDir     = "testdata/genesis"
	verdictGenesis = "invalid genesis"
)

// genesisVectors repeats TestVerifyRefusesBadGenesis and the shuffled
// genesis of TestVerifyGood.
func genesisVectors() []genesisVector {
	vals := func(f func(vs []types.GenesisValidator) []types.GenesisValidator) func(g *types.GenesisDoc) {
		return func(g *types.GenesisDoc) { g.Validators = f(slices.Clone(g.Validators)) }
	}
	return []genesisVector{
		{"validators-in-another-order", verdictOK, func(g *types.GenesisDoc) { g.Validators = std.ShuffledGenesis().Validators }},
		{"no-chain-id", verdictGenesis, func(g *types.GenesisDoc) { g.ChainID = "" }},
		{"no-validators", verdictGenesis, vals(func([]types.GenesisValidator) []types.GenesisValidator { return nil })},
		{"zero-power", verdictGenesis, vals(func(vs []types.GenesisValidator) []types.GenesisValidator { vs[1].Power = 0; return vs })},
		{"negative-power", verdictGenesis, vals(func(vs []types.GenesisValidator) []types.GenesisValidator { vs[1].Power = -5; return vs })},
		{"too-much-power", verdictGenesis, vals(func(vs []types.GenesisValidator) []types.GenesisValidator {
			vs[0].Power, vs[1].Power = types.MaxTotalVotingPower, types.MaxTotalVotingPower
			return vs
		})},
		{"no-key", verdictGenesis, vals(func(vs []types.GenesisValidator) []types.GenesisValidator { vs[2].PubKey = nil; return vs })},
		{"short-key", verdictGenesis, vals(func(vs []types.GenesisValidator) []types.GenesisValidator {
			vs[2].PubKey = vs[2].PubKey.(cmted25519.PubKey)[:31]
			vs[2].Address = nil
			return vs
		})},
		{"validator-twice", verdictGenesis, vals(func(vs []types.GenesisValidator) []types.GenesisValidator { return append(vs, vs[0]) })},
		{"another-chain", receipt.CheckCommit, func(g *types.GenesisDoc) { g.ChainID = "iotledger-other" }},
		{"a-validator-fewer", receipt.CheckCommit, vals(func(vs []types.GenesisValidator) []types.GenesisValidator { return vs[1:] })},
		{"a-validator-with-more-power", receipt.CheckCommit, vals(func(vs []types.GenesisValidator) []types.GenesisValidator { vs[0].Power = 11; return vs })},
	}
}

// genesisVerdict is the verdict of the receipt r against the genesis file
// g as `iotledger verify` reaches it: loading the file
// (types.GenesisDocFromJSON, which panics on some keys of the wrong
// size), then Verify.
func genesisVerdict(r, g []byte) (verdict string) {
	defer func() {
		if p := recover(); p != nil {
			verdict = verdictGenesis
		}
	}()
	doc, err := types.GenesisDocFromJSON(g)
	if err != nil {
		return verdictGenesis
	}
	parsed, err := receipt.Parse(r)
	if err != nil {
		return verdictMalformed
	}
	_, err = receipt.Verify(parsed, doc)
	var ce *receipt.CheckError
	switch {
	case err == nil:
		return verdictOK
	case errors.Is(err, receipt.ErrGenesis):
		return verdictGenesis
	case errors.As(err, &ce):
		return ce.Check
	default:
		return "error: " + err.Error()
	}
}

// fieldMutation is one case of TestVerifyFieldMutations as a patch: the
// standard receipt with one member replaced by value, the member's JSON
// text (a string, so that readers whose numbers are float64 keep 64-bit
// integers exact).
type fieldMutation struct {
	Name    string `json:"name"`
	Field   string `json:"field"`
	Value   string `json:"value"`
	Verdict string `json:"verdict"`
}

// fieldMutations builds the cases of TestVerifyFieldMutations, each with
// the checks that test allows to fail.
func fieldMutations() (ms []fieldMutation, allowed [][]string) {
	add := func(name, field string, value any, want ...string) {
		ms = append(ms, fieldMutation{Name: name, Field: field, Value: string(must(json.Marshal(value)))})
		allowed = append(allowed, want)
	}
	r := std.Receipt
	for i, b := range flips(r.Reading) {
		add(fmt.Sprintf("reading byte %d ^%02x", i/3, []byte{1, 0x80, 0xff}[i%3]), "reading", b, receipt.CheckDeviceSignature, receipt.CheckInclusion)
	}
	add("reading truncated", "reading", r.Reading[:len(r.Reading)-1], receipt.CheckDeviceSignature)
	add("reading extended", "reading", append(bytes.Clone(r.Reading), 0), receipt.CheckDeviceSignature)
	add("reading empty", "reading", []byte(nil), receipt.CheckDeviceSignature)
	for i, b := range flips(r.DeviceKey) {
		add(fmt.Sprintf("device key byte %d ^%02x", i/3, []byte{1, 0x80, 0xff}[i%3]), "device_key", b, receipt.CheckDeviceSignature)
	}
	add("device key empty", "device_key", []byte(nil), receipt.CheckDeviceSignature)
	for _, v := range flipsUint64(r.LeafIndex) {
		add(fmt.Sprintf("leaf index %d", v), "leaf_index", v, receipt.CheckInclusion)
	}
	for _, v := range flipsUint64(r.TreeSize) {
		add(fmt.Sprintf("tree size %d", v), "tree_size", v, receipt.CheckInclusion, receipt.CheckAppHash)
	}
	proof := func(change func(p [][]byte) [][]byte) [][]byte {
		p := make([][]byte, len(r.Proof))
		for i := range p {
			p[i] = bytes.Clone(r.Proof[i])
		}
		return change(p)
	}
	for i := range r.Proof {
		for j, b := range flips(r.Proof[i]) {
			add(fmt.Sprintf("proof hash %d byte %d ^%02x", i, j/3, []byte{1, 0x80, 0xff}[j%3]), "inclusion_proof",
				proof(func(p [][]byte) [][]byte { p[i] = b; return p }), receipt.CheckInclusion)
		}
		add(fmt.Sprintf("proof hash %d truncated", i), "inclusion_proof", proof(func(p [][]byte) [][]byte { p[i] = p[i][:31]; return p }), receipt.CheckInclusion)
		add(fmt.Sprintf("proof hash %d removed", i), "inclusion_proof", proof(func(p [][]byte) [][]byte { return slices.Delete(p, i, i+1) }), receipt.CheckInclusion)
	}
	add("proof truncated", "inclusion_proof", r.Proof[:len(r.Proof)-1], receipt.CheckInclusion)
	add("proof extra hash", "inclusion_proof", append(slices.Clone(r.Proof), receiptfix.Hash("extra")), receipt.CheckInclusion)
	add("proof extra copy of root", "inclusion_proof", append(slices.Clone(r.Proof), r.LogRoot), receipt.CheckInclusion)
	add("proof empty", "inclusion_proof", [][]byte(nil), receipt.CheckInclusion)
	add("proof reversed", "inclusion_proof", proof(func(p [][]byte) [][]byte { slices.Reverse(p); return p }), receipt.CheckInclusion)
	for i, b := range flips(r.LogRoot) {
		add(fmt.Sprintf("log root byte %d ^%02x", i/3, []byte{1, 0x80, 0xff}[i%3]), "log_root", b, receipt.CheckInclusion)
	}
	for i, b := range flips(r.StateDigest) {
		add(fmt.Sprintf("state digest byte %d ^%02x", i/3, []byte{1, 0x80, 0xff}[i%3]), "state_digest", b, receipt.CheckAppHash)
	}
	add("state digest empty", "state_digest", []byte(nil), receipt.CheckAppHash)
	for _, v := range flipsUint64(uint64(r.Height)) {
		add(fmt.Sprintf("height %d", int64(v)), "height", int64(v), receipt.CheckAppHash)
	}
	add("height of the header", "height", r.Height+1, receipt.CheckAppHash)
	for i, b := range flips([]byte(r.ChainID)) {
		add(fmt.Sprintf("chain id byte %d ^%02x", i/3, []byte{1, 0x80, 0xff}[i%3]), "chain_id", string(b), receipt.CheckCommit)
	}
	return ms, allowed
}

// textMutation is a receipt file changed by a few random edits, each
// [offset, bytes deleted, hex of the bytes inserted] applied in order.
type textMutation struct {
	Base    string   `json:"base"`
	Edits   [][3]any `json:"edits"`
	Verdict string   `json:"verdict"`
}

// textMutations makes n random edits of base (deterministic: seeded):
// deleting, repeating, replacing and changing bytes, and copying runs.
func textMutations(base []byte, name string, n int, seed int64) ([]textMutation, [][]byte) {
	rng := rand.New(rand.NewSource(seed))
	const alphabet = "0123456789abcdefABCDEF\"{}[],:-+.eEZTt \\nulltruefalse/"
	var ms []textMutation
	var texts [][]byte
	for range n {
		b := bytes.Clone(base)
		m := textMutation{Base: name}
		for range 1 + rng.Intn(2) {
			p := rng.Intn(len(b))
			var del int
			var ins []byte
			switch rng.Intn(6) {
			case 0:
				del = 1
			case 1:
				ins = []byte{b[rng.Intn(len(b))]}
			case 2:
				del, ins = 1, []byte{alphabet[rng.Intn(len(alphabet))]}
			case 3:
				del, ins = 1, []byte{b[p] ^ 0x20}
			case 4:
				del, ins = 1, []byte{b[p] + 1}
			case 5:
				q := min(len(b), p+1+rng.Intn(40))
				ins = bytes.Clone(b[p:q])
			}
			b = append(b[:p], append(bytes.Clone(ins), b[p+del:]...)...)
			m.Edits = append(m.Edits, [3]any{p, del, hex.EncodeToString(ins)})
		}
		ms, texts = append(ms, m), append(texts, b)
	}
	return ms, texts
}

// patch returns base (a receipt's JSON object) with the member field
// replaced by value, as a verifier of the vectors builds it.
func patch(t *testing.T, base []byte, field, value string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(base, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m[field]; !ok {
		t.Fatalf("receipt has no field %q", field)
	}
	m[field] = json.RawMessage(value)
	return must(json.Marshal(m))
}

// verdicts is the content of verdictsFile.
type verdicts struct {
	Comment string `json:"comment"`
	Genesis string `json:"genesis"`
	// Files maps each receipt file, relative to testdata, to its verdict.
	Files map[string]string `json:"files"`
	// FieldMutations are patches of Base: the receipt with one member
	// replaced by a JSON value.
	Base           string          `json:"base"`
	FieldMutations []fieldMutation `json:"field_mutations"`
	// TextMutations are random edits of the receipt files' text.
	TextMutations []textMutation `json:"text_mutations"`
	// GenesisTextMutations are random edits of genesis.json; the
	// verdict is Base's against the edited genesis.
	GenesisTextMutations []textMutation `json:"genesis_text_mutations"`
	// GenesisFiles maps each changed genesis, relative to testdata, to the
	// verdict of Base against it ("invalid genesis" when it cannot be
	// the root of trust).
	GenesisFiles map[string]string `json:"genesis_files"`
}

// TestVerdictVectors writes (with -update) or checks the forged receipts,
// the changed genesis files and the verdicts of every vector, as Parse
// and Verify reach them against testdata/genesis.json (or the changed
// genesis). Each forged receipt, changed genesis and field mutation must
// get the verdict the test it comes from wants, so the vectors stay what
// they say.
func TestVerdictVectors(t *testing.T) {
	g := loadGenesis(t)
	files := map[string][]byte{}
	for _, v := range append(forgedVectors(t), readingVectors()...) {
		b := must(v.build(t).Marshal())
		name := filepath.Join(forgedDir, v.name+".json")
		files[name] = b
		if got := verdictOf(b, g); got != v.want {
			t.Errorf("%s: verdict %q, the test it comes from wants %q", name, got, v.want)
		}
	}

	for _, v := range textVectors() {
		b := v.build(t)
		name := filepath.Join(forgedDir, v.name+".json")
		files[name] = b
		if got := verdictOf(b, g); got != v.want {
			t.Errorf("%s: verdict %q, the test it comes from wants %q", name, got, v.want)
		}
	}
	base := must(os.ReadFile(receiptFile))
	genesisVerdicts := map[string]string{}
	for _, v := range genesisVectors() {
		doc := *std.Genesis
		v.change(&doc)
		b := append(must(cmtjson.MarshalIndent(&doc, "", "  ")), '\n')
		name := filepath.Join(genesisDir, v.name+".json")
		files[name] = b
		got := genesisVerdict(base, b)
		if got != v.want {
			t.Errorf("%s: verdict %q of %s, want %q", name, got, receiptFile, v.want)
		}
		genesisVerdicts[strings.TrimPrefix(filepath.ToSlash(name), "testdata/")] = got
	}

	out := verdicts{
		Comment:      "Verdicts of package receipt (Parse, then Verify against genesis) on every receipt under receipt/testdata: ok, the name of the first failed check, or malformed when Parse refuses the receipt. Written by go test ./receipt -run TestVerdictVectors -update.",
		Genesis:      "genesis.json",
		Files:        map[string]string{},
		Base:         "receipt.json",
		GenesisFiles: genesisVerdicts,
	}
	// The receipt files: those checked in by other tests, and the forged ones.
	var names []string
	for _, pattern := range []string{"testdata/*.json", mutatedDir + "/*.json"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, m...)
	}
	for name := range files {
		if filepath.Dir(name) == forgedDir {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if name == genesisFile || name == verdictsFile {
			continue
		}
		b, ok := files[name]
		if !ok {
			b = must(os.ReadFile(name))
		}
		out.Files[strings.TrimPrefix(filepath.ToSlash(name), "testdata/")] = verdictOf(b, g)
	}
	if out.Files["receipt.json"] != verdictOK || out.Files["receipt-trace.json"] != verdictOK {
		t.Errorf("the standard receipts do not verify: %v", out.Files)
	}

	ms, allowed := fieldMutations()
	for i, m := range ms {
		m.Verdict = verdictOf(patch(t, base, m.Field, m.Value), g)
		if !slices.Contains(allowed[i], m.Verdict) {
			t.Errorf("field mutation %q: verdict %q, want one of %q", m.Name, m.Verdict, allowed[i])
		}
		ms[i] = m
	}
	out.FieldMutations = ms
	for _, f := range []struct {
		file string
		n    int
		seed int64
	}{{receiptFile, 400, 1}, {traceFile, 100, 2}} {
		tms, texts := textMutations(must(os.ReadFile(f.file)), strings.TrimPrefix(f.file, "testdata/"), f.n, f.seed)
		for i := range tms {
			tms[i].Verdict = verdictOf(texts[i], g)
		}
		out.TextMutations = append(out.TextMutations, tms...)
	}
	gms, gtexts := textMutations(must(os.ReadFile(genesisFile)), "genesis.json", 300, 3)
	for i := range gms {
		gms[i].Verdict = genesisVerdict(base, gtexts[i])
	}
	out.GenesisTextMutations = gms
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	files[verdictsFile] = append(b, '\n')

	if *update {
		for _, dir := range []string{forgedDir, genesisDir} {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		m1, _ := filepath.Glob(forgedDir + "/*")
		m2, _ := filepath.Glob(genesisDir + "/*")
		if len(m1)+len(m2) != len(files)-1 {
			t.Errorf("%s and %s hold %d files, want %d (run go test ./receipt -run TestVerdictVectors -update)", forgedDir, genesisDir, len(m1)+len(m2), len(files)-1)
		}
	}
	names = names[:0]
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if *update {
			if err := os.WriteFile(name, files[name], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("%v (run go test ./receipt -run TestVerdictVectors -update)", err)
			continue
		}
		if diff := cmp.Diff(string(got), string(files[name])); diff != "" {
			t.Errorf("%s differs from what the fixtures build (-file +built; run go test ./receipt -run TestVerdictVectors -update):\n%s", name, diff)
		}
	}
}
