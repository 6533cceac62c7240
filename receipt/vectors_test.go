package receipt_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/cometbft/cometbft/types"
	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/iotledger/iotledger/internal/testonly/receiptfix"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// Files under testdata, all rewritten by -update.
const (
	receiptFile = "testdata/receipt.json"       // the standard fixture's receipt
	traceFile   = "testdata/receipt-trace.json" // the traced fixture's receipt: three validator set changes
	genesisFile = "testdata/genesis.json"       // its chain's genesis
	mutatedDir  = "testdata/mutated"            // receipts that must fail, see mutatedVectors
	fuzzDir     = "testdata/fuzz/FuzzVerify"

	inclusionFuzzDir = "testdata/fuzz/FuzzInclusion"
)

// inclusionSeeds are the committed corpus of FuzzInclusion.
var inclusionSeeds = []struct {
	name                       string
	size, index, dIndex, dSize uint64
	op                         byte
	pos                        uint16
	val                        byte
}{
	{name: "true-proof", size: 6, index: 5},
	{name: "size-7-claimed-as-8", size: 6, index: 5, dSize: 1},
	{name: "size-wraps", size: 6, index: 5, dSize: 1<<64 - 7},
	{name: "hash-flipped", size: 99, index: 63, op: 1, pos: 40, val: 0x80},
	{name: "proof-truncated", size: 99, index: 64, op: 2, val: 1},
	{name: "proof-extended", size: 99, index: 0, op: 3, pos: 17, val: 2},
	{name: "other-leaf", size: 128, index: 127, op: 4, pos: 126},
	{name: "other-root", size: 31, index: 16, op: 5, pos: 31},
	{name: "index-claimed-beyond-size", size: 15, index: 3, dIndex: 13},
}

// mutatedVectors are checked in under mutatedDir: each must fail against
// genesisFile at the named check. Those named trace-* are changed copies
// of traceFile.
var mutatedVectors = []struct {
	name  string
	check string
	build func() *receipt.Receipt
}{{
	name: "reading-signature-flipped", check: receipt.CheckDeviceSignature,
	build: func() *receipt.Receipt {
		r := clone(std.Receipt)
		r.Reading[len(r.Reading)-1] ^= 1
		return r
	},
}, {
	name: "key-of-another-device", check: receipt.CheckDeviceSignature,
	build: func() *receipt.Receipt {
		r := clone(std.Receipt)
		r.DeviceKey = std.Keys[0].Public().(ed25519.PublicKey)
		return r
	},
}, {
	name: "reading-of-another-leaf", check: receipt.CheckInclusion,
	build: func() *receipt.Receipt {
		r := clone(std.Receipt)
		r.Reading, r.DeviceKey = std.Readings[4], std.Keys[4].Public().(ed25519.PublicKey)
		return r
	},
}, {
	name: "proof-hash-flipped", check: receipt.CheckInclusion,
	build: func() *receipt.Receipt {
		r := clone(std.Receipt)
		r.Proof[1][7] ^= 0x40
		return r
	},
}, {
	name: "tree-size-8", check: receipt.CheckAppHash,
	build: func() *receipt.Receipt {
		r := clone(std.Receipt)
		r.TreeSize = 8
		return r
	},
}, {
	name: "state-digest-flipped", check: receipt.CheckAppHash,
	build: func() *receipt.Receipt {
		r := clone(std.Receipt)
		r.StateDigest[31] ^= 1
		return r
	},
}, {
	name: "height-of-the-header", check: receipt.CheckAppHash,
	build: func() *receipt.Receipt {
		r := clone(std.Receipt)
		r.Height++
		return r
	},
}, {
	name: "other-chain", check: receipt.CheckCommit,
	build: func() *receipt.Receipt {
		return must(receiptfix.New(receiptfix.Options{ChainID: "iotledger-other"})).Receipt
	},
}, {
	name: "other-validators", check: receipt.CheckCommit,
	build: func() *receipt.Receipt {
		return must(receiptfix.New(receiptfix.Options{ValidatorSeed: "other validator"})).Receipt
	},
}, {
	name: "two-of-four-signed", check: receipt.CheckCommit,
	build: func() *receipt.Receipt {
		return must(receiptfix.New(receiptfix.Options{Votes: []types.BlockIDFlag{
			types.BlockIDFlagCommit, types.BlockIDFlagAbsent, types.BlockIDFlagCommit, types.BlockIDFlagAbsent}})).Receipt
	},
}, {
	name: "commit-of-another-block", check: receipt.CheckCommit,
	build: func() *receipt.Receipt {
		h := *std.Header.Header
		h.DataHash = receiptfix.Hash("other data")
		other := must(std.Sign(&h, std.Genesis.ChainID, nil))
		r := clone(std.Receipt)
		r.SignedHeader = receiptfix.JSON(&types.SignedHeader{Header: std.Header.Header, Commit: other.Commit})
		return r
	},
}, {
	name: "forged-reading-in-forged-log", check: receipt.CheckCommit,
	build: func() *receipt.Receipt {
		key := receiptfix.DeviceKey("device 2")
		raw := must(reading.Sign(reading.Reading{Seq: 105, Data: map[string]any{"door": true}}, key))
		tree := testonly.New(rfc6962.DefaultHasher)
		for i, l := range std.Leaves {
			if i == 5 {
				l = receipt.Leaf(key.Public().(ed25519.PublicKey), raw)
			}
			tree.AppendData(l)
		}
		r := clone(std.Receipt)
		r.Reading, r.DeviceKey, r.LogRoot = raw, key.Public().(ed25519.PublicKey), tree.Hash()
		r.Proof = must(tree.InclusionProof(5, 7))
		h := *std.Header.Header
		h.AppHash = receipt.AppHash(7, r.LogRoot, r.StateDigest)
		r.SignedHeader = receiptfix.JSON(&types.SignedHeader{Header: &h, Commit: std.Header.Commit})
		return r
	},
}, {
	name: "trace-validator-power-raised", check: receipt.CheckValidatorSet,
	build: func() *receipt.Receipt {
		vs := traced.Trace[1].ValidatorSet.Copy()
		vs.Validators[0].VotingPower = 30
		r := clone(traced.Receipt)
		r.Trace[1].Validators = receiptfix.JSON(vs)
		return r
	},
}, {
	name: "trace-change-skipped", check: receipt.CheckValidatorSet,
	build: func() *receipt.Receipt {
		r := clone(traced.Receipt)
		r.Trace = append(r.Trace[:1], r.Trace[2:]...) // block 20, the first of validator 4
		return r
	},
}, {
	name: "trace-signature-flipped", check: receipt.CheckValidatorSet,
	build: func() *receipt.Receipt {
		sh := *traced.Trace[3].SignedHeader // block 30
		c := *sh.Commit
		c.Signatures = slices.Clone(c.Signatures)
		c.Signatures[0].Signature = bytes.Clone(c.Signatures[0].Signature)
		c.Signatures[0].Signature[10] ^= 1
		sh.Commit = &c
		r := clone(traced.Receipt)
		r.Trace[3].SignedHeader = receiptfix.JSON(&sh)
		return r
	},
}, {
	name: "trace-signature-past-two-thirds-flipped", check: receipt.CheckValidatorSet,
	build: func() *receipt.Receipt {
		r := clone(traced.Receipt)
		r.Trace[3].SignedHeader = receiptfix.JSON(withSig(traced.Trace[3].SignedHeader, 4, func(cs *types.CommitSig) { cs.Signature[7] ^= 1 }))
		return r
	},
}, {
	name: "commit-signature-address-changed", check: receipt.CheckCommit,
	build: func() *receipt.Receipt {
		r := clone(std.Receipt)
		r.SignedHeader = receiptfix.JSON(withSig(std.Header, 1, func(cs *types.CommitSig) { cs.ValidatorAddress = bytes.Repeat([]byte{0x5A}, 20) }))
		return r
	},
}, {
	name: "commit-signature-flag-nil", check: receipt.CheckCommit,
	build: func() *receipt.Receipt {
		r := clone(std.Receipt)
		r.SignedHeader = receiptfix.JSON(withSig(std.Header, 3, func(cs *types.CommitSig) { cs.BlockIDFlag = types.BlockIDFlagNil }))
		return r
	},
}, {
	name: "version-2-without-trace", check: receipt.CheckValidatorSet,
	build: func() *receipt.Receipt {
		r := clone(std.Receipt)
		r.Version = receipt.VersionTrace
		return r
	},
}, {
	name: "trace-removed", check: receipt.CheckCommit,
	build: func() *receipt.Receipt {
		r := clone(traced.Receipt)
		r.Trace = nil
		return r
	},
}, {
	name: "trace-last-change-skipped", check: receipt.CheckCommit,
	build: func() *receipt.Receipt {
		r := clone(traced.Receipt)
		r.Trace = r.Trace[:4] // up to block 30; validator 3 left at 35
		return r
	},
}}

// unparsableVectors are checked in under mutatedDir too: changes of the
// standard receipt's JSON text that Parse must refuse (ErrMalformed).
var unparsableVectors = []struct {
	name     string
	old, new string
}{
	{"field-name-case", `"reading":`, `"Reading":`},
	{"field-twice", `"reading":`, `"reading": "AAAA", "reading":`},
	{"base64-line-break", `"device_key": "`, `"device_key": "\n`},
}

func unparsable(old, new string) []byte {
	good := must(std.Receipt.Marshal())
	if !bytes.Contains(good, []byte(old)) {
		panic("receipt JSON has no " + old)
	}
	return bytes.Replace(good, []byte(old), []byte(new), 1)
}

// goldenFiles returns the contents every file under testdata must have.
func goldenFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{
		receiptFile: must(std.Receipt.Marshal()),
		traceFile:   must(traced.Receipt.Marshal()),
		genesisFile: must(std.GenesisJSON()),
	}
	files[filepath.Join(fuzzDir, "receipt")] = fuzzSeed(files[receiptFile])
	files[filepath.Join(fuzzDir, "receipt-trace")] = fuzzSeed(files[traceFile])
	for _, s := range inclusionSeeds {
		files[filepath.Join(inclusionFuzzDir, s.name)] = fmt.Appendf(nil,
			"go test fuzz v1\nuint64(%d)\nuint64(%d)\nuint64(%d)\nuint64(%d)\nbyte(%d)\nuint16(%d)\nbyte(%d)\n",
			s.size, s.index, s.dIndex, s.dSize, s.op, s.pos, s.val)
	}
	for _, v := range mutatedVectors {
		b := must(v.build().Marshal())
		files[filepath.Join(mutatedDir, v.name+".json")] = b
		files[filepath.Join(fuzzDir, v.name)] = fuzzSeed(b)
	}
	for _, v := range unparsableVectors {
		b := unparsable(v.old, v.new)
		files[filepath.Join(mutatedDir, v.name+".json")] = b
		files[filepath.Join(fuzzDir, v.name)] = fuzzSeed(b)
	}
	return files
}

// fuzzSeed encodes one []byte argument in the "go test fuzz v1" format.
func fuzzSeed(b []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
}

// TestGoldenFiles regenerates the files under testdata from the fixtures and
// compares them with those checked in (or, with -update, rewrites them). It
// fails if the fixtures stop being deterministic.
func TestGoldenFiles(t *testing.T) {
	files := goldenFiles(t)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		want := files[name]
		if *update {
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("%v (run go test ./receipt -update)", err)
			continue
		}
		if diff := cmp.Diff(string(got), string(want)); diff != "" {
			t.Errorf("%s differs from what the fixture builds (-file +built; run go test ./receipt -update):\n%s", name, diff)
		}
	}
}

func loadGenesis(t testing.TB) *types.GenesisDoc {
	t.Helper()
	g, err := types.GenesisDocFromFile(genesisFile)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func loadReceipt(t testing.TB, name string) *receipt.Receipt {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.Parse(b)
	if err != nil {
		t.Fatalf("Parse %s: %v", name, err)
	}
	return r
}

// TestVectors verifies the checked-in receipts as a user would: files in,
// Parse, Verify against the checked-in genesis.
func TestVectors(t *testing.T) {
	g := loadGenesis(t)
	t.Run("receipt.json", func(t *testing.T) {
		checks := mustPass(t, loadReceipt(t, receiptFile), g)
		want := []receipt.Check{
			{Name: receipt.CheckDeviceSignature, OK: true, Detail: "device dev1sghjqgc5hqg4e5n5quy5jegp3g2dgwwswzgm8s seq 105"},
			{Name: receipt.CheckDeviceID, OK: true, Detail: "the key derives device id dev1sghjqgc5hqg4e5n5quy5jegp3g2dgwwswzgm8s"},
			{Name: receipt.CheckInclusion, OK: true, Detail: "leaf 5 of a log of size 7"},
			{Name: receipt.CheckAppHash, OK: true, Detail: "block 41 app hash"},
			{Name: receipt.CheckValidatorSet, OK: true, Detail: "the genesis set of 4 validators (no change before block 42)"},
			{Name: receipt.CheckCommit, OK: true, Detail: "validators holding 40 of 40 voting power signed block 42"},
		}
		if diff := cmp.Diff(checks, want); diff != "" {
			t.Errorf("checks (-got +want):\n%s", diff)
		}
	})
	t.Run("receipt-trace.json", func(t *testing.T) {
		checks := mustPass(t, loadReceipt(t, traceFile), g)
		want := []receipt.Check{
			{Name: receipt.CheckDeviceSignature, OK: true, Detail: "device dev1sghjqgc5hqg4e5n5quy5jegp3g2dgwwswzgm8s seq 105"},
			{Name: receipt.CheckDeviceID, OK: true, Detail: "the key derives device id dev1sghjqgc5hqg4e5n5quy5jegp3g2dgwwswzgm8s"},
			{Name: receipt.CheckInclusion, OK: true, Detail: "leaf 5 of a log of size 7"},
			{Name: receipt.CheckAppHash, OK: true, Detail: "block 41 app hash"},
			{Name: receipt.CheckValidatorSet, OK: true, Detail: "3 changes (at blocks 20, 30, 35) followed from the genesis set by CometBFT light-client verification of 6 blocks"},
			{Name: receipt.CheckCommit, OK: true, Detail: "validators holding 45 of 45 voting power signed block 42"},
		}
		if diff := cmp.Diff(checks, want); diff != "" {
			t.Errorf("checks (-got +want):\n%s", diff)
		}
	})
	for _, v := range mutatedVectors {
		t.Run(v.name, func(t *testing.T) {
			mustFail(t, loadReceipt(t, filepath.Join(mutatedDir, v.name+".json")), g, v.check)
		})
	}
	for _, v := range unparsableVectors {
		t.Run(v.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(mutatedDir, v.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if r, err := receipt.Parse(b); !errors.Is(err, receipt.ErrMalformed) {
				t.Errorf("Parse = %v, %v; want ErrMalformed", r, err)
			}
		})
	}
}
