package receipt_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"
	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/iotledger/iotledger/internal/testonly/receiptfix"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

var allChecks = []string{
	receipt.CheckDeviceSignature,
	receipt.CheckDeviceID,
	receipt.CheckInclusion,
	receipt.CheckAppHash,
	receipt.CheckValidatorSet,
	receipt.CheckCommit,
}

// std is the standard fixture, built once; tests copy its receipt before
// changing it.
var std = func() *receiptfix.Fixture {
	f, err := receiptfix.New(receiptfix.Options{})
	if err != nil {
		panic(err)
	}
	return f
}()

// clone returns a deep copy of a receipt.
func clone(r *receipt.Receipt) *receipt.Receipt {
	c := *r
	c.Reading = bytes.Clone(r.Reading)
	c.DeviceKey = bytes.Clone(r.DeviceKey)
	c.Proof = make([][]byte, len(r.Proof))
	for i, p := range r.Proof {
		c.Proof[i] = bytes.Clone(p)
	}
	c.LogRoot = bytes.Clone(r.LogRoot)
	c.StateDigest = bytes.Clone(r.StateDigest)
	c.SignedHeader = bytes.Clone(r.SignedHeader)
	c.Validators = bytes.Clone(r.Validators)
	if r.Trace != nil {
		c.Trace = make([]receipt.LightBlock, len(r.Trace))
		for i, lb := range r.Trace {
			c.Trace[i] = receipt.LightBlock{SignedHeader: bytes.Clone(lb.SignedHeader), Validators: bytes.Clone(lb.Validators)}
		}
	}
	return &c
}

// mustPass verifies r and fails t unless every check passed.
func mustPass(t *testing.T, r *receipt.Receipt, g *types.GenesisDoc) []receipt.Check {
	t.Helper()
	checks, err := receipt.Verify(r, g)
	if err != nil {
		t.Fatalf("Verify: %v\nchecks: %+v", err, checks)
	}
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
		if !c.OK {
			t.Errorf("check %q not OK but no error: %+v", c.Name, c)
		}
	}
	if diff := cmp.Diff(names, allChecks); diff != "" {
		t.Errorf("check names (-got +want):\n%s", diff)
	}
	return checks
}

// mustFail verifies r and fails t unless Verify failed at one of the checks
// in want, with the checks before it passed and reported. It returns the
// failed check's name and the error.
func mustFail(t *testing.T, r *receipt.Receipt, g *types.GenesisDoc, want ...string) (string, error) {
	t.Helper()
	checks, err := receipt.Verify(r, g)
	if err == nil {
		t.Fatalf("Verify accepted a bad receipt; checks: %+v", checks)
	}
	var ce *receipt.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("Verify error %v (%T) is not a *CheckError", err, err)
	}
	if errors.Is(err, receipt.ErrPanic) {
		t.Fatalf("Verify panicked: %v", err)
	}
	if !slices.Contains(want, ce.Check) {
		t.Fatalf("failed check %q, want one of %q; error: %v", ce.Check, want, err)
	}
	if len(checks) == 0 {
		t.Fatalf("no checks reported")
	}
	last := checks[len(checks)-1]
	if got, want := last, (receipt.Check{Name: ce.Check, OK: false, Detail: ce.Err.Error()}); got != want {
		t.Errorf("last check = %+v, want %+v", got, want)
	}
	for i, c := range checks[:len(checks)-1] {
		if !c.OK || c.Name != allChecks[i] {
			t.Errorf("check %d = %+v, want %q passed", i, c, allChecks[i])
		}
	}
	return ce.Check, err
}

func TestVerifyGood(t *testing.T) {
	rotated := receiptfix.MustNew(t, receiptfix.Options{RotatedKey: true})
	threeOfFour := receiptfix.MustNew(t, receiptfix.Options{Votes: []types.BlockIDFlag{
		types.BlockIDFlagCommit, types.BlockIDFlagAbsent, types.BlockIDFlagCommit, types.BlockIDFlagCommit}})
	nilVote := receiptfix.MustNew(t, receiptfix.Options{Votes: []types.BlockIDFlag{
		types.BlockIDFlagCommit, types.BlockIDFlagCommit, types.BlockIDFlagNil, types.BlockIDFlagCommit}})
	firstLeaf := receiptfix.MustNew(t, receiptfix.Options{Leaves: 1, Height: 1})
	bigLog := receiptfix.MustNew(t, receiptfix.Options{Leaves: 100, Index: 63, Height: 1000})
	device := std.Receipt.Reading
	s, err := reading.Decode(device)
	if err != nil {
		t.Fatal(err)
	}
	id := s.Device

	tests := []struct {
		name    string
		r       *receipt.Receipt
		genesis *types.GenesisDoc
		want    []string // details, in check order
	}{{
		name:    "all validators signed",
		r:       std.Receipt,
		genesis: std.Genesis,
		want: []string{
			"device " + id + " seq 105",
			"the key derives device id " + id,
			"leaf 5 of a log of size 7",
			"block 41 app hash",
			"the genesis set of 4 validators (no change before block 42)",
			"validators holding 40 of 40 voting power signed block 42",
		},
	}, {
		name:    "genesis lists validators in another order",
		r:       std.Receipt,
		genesis: std.ShuffledGenesis(),
		want: []string{
			"device " + id + " seq 105",
			"the key derives device id " + id,
			"leaf 5 of a log of size 7",
			"block 41 app hash",
			"the genesis set of 4 validators (no change before block 42)",
			"validators holding 40 of 40 voting power signed block 42",
		},
	}, {
		name:    "three of four signed",
		r:       threeOfFour.Receipt,
		genesis: std.Genesis,
		want: []string{
			"device " + id + " seq 105",
			"the key derives device id " + id,
			"leaf 5 of a log of size 7",
			"block 41 app hash",
			"the genesis set of 4 validators (no change before block 42)",
			"validators holding 30 of 40 voting power signed block 42",
		},
	}, {
		name:    "one validator voted nil",
		r:       nilVote.Receipt,
		genesis: std.Genesis,
		want: []string{
			"device " + id + " seq 105",
			"the key derives device id " + id,
			"leaf 5 of a log of size 7",
			"block 41 app hash",
			"the genesis set of 4 validators (no change before block 42)",
			"validators holding 30 of 40 voting power signed block 42",
		},
	}, {
		name:    "rotated key",
		r:       rotated.Receipt,
		genesis: std.Genesis,
		want: []string{
			"device " + id + " seq 105",
			receipt.RotatedKey,
			"leaf 5 of a log of size 7",
			"block 41 app hash",
			"the genesis set of 4 validators (no change before block 42)",
			"validators holding 40 of 40 voting power signed block 42",
		},
	}, {
		name:    "only leaf of block 1",
		r:       firstLeaf.Receipt,
		genesis: std.Genesis,
		want: []string{
			"device " + deviceID(firstLeaf.Keys[0]) + " seq 100",
			"the key derives device id " + deviceID(firstLeaf.Keys[0]),
			"leaf 0 of a log of size 1",
			"block 1 app hash",
			"the genesis set of 4 validators (no change before block 2)",
			"validators holding 40 of 40 voting power signed block 2",
		},
	}, {
		name:    "leaf 63 of 100",
		r:       bigLog.Receipt,
		genesis: std.Genesis,
		want: []string{
			"device " + deviceID(bigLog.Keys[63]) + " seq 163",
			"the key derives device id " + deviceID(bigLog.Keys[63]),
			"leaf 63 of a log of size 100",
			"block 1000 app hash",
			"the genesis set of 4 validators (no change before block 1001)",
			"validators holding 40 of 40 voting power signed block 1001",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := mustPass(t, tt.r, tt.genesis)
			var got []string
			for _, c := range checks {
				got = append(got, c.Detail)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("details (-got +want):\n%s", diff)
			}
		})
	}
}

func deviceID(k ed25519.PrivateKey) string {
	s, err := reading.Decode(must(reading.Sign(reading.Reading{}, k)))
	if err != nil {
		panic(err)
	}
	return s.Device
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// flips returns copies of b with each byte changed in three ways.
func flips(b []byte) [][]byte {
	var out [][]byte
	for i := range b {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			c := bytes.Clone(b)
			c[i] ^= x
			out = append(out, c)
		}
	}
	return out
}

func flipsUint64(v uint64) []uint64 {
	var out []uint64
	for _, b := range flips(binary.BigEndian.AppendUint64(nil, v)) {
		out = append(out, binary.BigEndian.Uint64(b))
	}
	return out
}

// TestVerifyFieldMutations changes every byte of every field that matters,
// one at a time, and wants Verify to fail at the check that covers it.
func TestVerifyFieldMutations(t *testing.T) {
	type mutation struct {
		name   string
		mutate []func(r *receipt.Receipt)
		want   []string // checks allowed to fail
	}
	var ms []mutation
	add := func(name string, want []string, fs ...func(r *receipt.Receipt)) {
		ms = append(ms, mutation{name, fs, want})
	}
	var fs []func(*receipt.Receipt)

	fs = nil
	for _, b := range flips(std.Receipt.Reading) {
		fs = append(fs, func(r *receipt.Receipt) { r.Reading = b })
	}
	// A change the signature does not cover (the unprotected header, the
	// tag) may still decode and verify; the leaf then differs.
	add("reading byte", []string{receipt.CheckDeviceSignature, receipt.CheckInclusion}, fs...)
	add("reading truncated", []string{receipt.CheckDeviceSignature}, func(r *receipt.Receipt) { r.Reading = r.Reading[:len(r.Reading)-1] })
	add("reading extended", []string{receipt.CheckDeviceSignature}, func(r *receipt.Receipt) { r.Reading = append(r.Reading, 0) })
	add("reading empty", []string{receipt.CheckDeviceSignature}, func(r *receipt.Receipt) { r.Reading = nil })

	fs = nil
	for _, b := range flips(std.Receipt.DeviceKey) {
		fs = append(fs, func(r *receipt.Receipt) { r.DeviceKey = b })
	}
	add("device key byte", []string{receipt.CheckDeviceSignature}, fs...)
	add("device key empty", []string{receipt.CheckDeviceSignature}, func(r *receipt.Receipt) { r.DeviceKey = nil })

	fs = nil
	for _, v := range flipsUint64(std.Receipt.LeafIndex) {
		fs = append(fs, func(r *receipt.Receipt) { r.LeafIndex = v })
	}
	add("leaf index byte", []string{receipt.CheckInclusion}, fs...)

	fs = nil
	for _, v := range flipsUint64(std.Receipt.TreeSize) {
		fs = append(fs, func(r *receipt.Receipt) { r.TreeSize = v })
	}
	// An inclusion proof can hold for more than one tree size (leaf 5 has
	// the same path in trees of 7 and 8 leaves); the app hash binds the size.
	add("tree size byte", []string{receipt.CheckInclusion, receipt.CheckAppHash}, fs...)
	add("tree size 8, where leaf 5 has the same path", []string{receipt.CheckAppHash}, func(r *receipt.Receipt) { r.TreeSize = 8 })

	for i, p := range std.Receipt.Proof {
		fs = nil
		for _, b := range flips(p) {
			fs = append(fs, func(r *receipt.Receipt) { r.Proof[i] = b })
		}
		add(fmt.Sprintf("proof hash %d byte", i), []string{receipt.CheckInclusion}, fs...)
		add(fmt.Sprintf("proof hash %d truncated", i), []string{receipt.CheckInclusion}, func(r *receipt.Receipt) { r.Proof[i] = r.Proof[i][:31] })
		add(fmt.Sprintf("proof hash %d removed", i), []string{receipt.CheckInclusion}, func(r *receipt.Receipt) { r.Proof = slices.Delete(r.Proof, i, i+1) })
	}
	add("proof truncated", []string{receipt.CheckInclusion}, func(r *receipt.Receipt) { r.Proof = r.Proof[:len(r.Proof)-1] })
	add("proof extra hash", []string{receipt.CheckInclusion}, func(r *receipt.Receipt) { r.Proof = append(r.Proof, receiptfix.Hash("extra")) })
	add("proof extra copy of root", []string{receipt.CheckInclusion}, func(r *receipt.Receipt) { r.Proof = append(r.Proof, r.LogRoot) })
	add("proof empty", []string{receipt.CheckInclusion}, func(r *receipt.Receipt) { r.Proof = nil })
	add("proof reversed", []string{receipt.CheckInclusion}, func(r *receipt.Receipt) { slices.Reverse(r.Proof) })

	fs = nil
	for _, b := range flips(std.Receipt.LogRoot) {
		fs = append(fs, func(r *receipt.Receipt) { r.LogRoot = b })
	}
	add("log root byte", []string{receipt.CheckInclusion}, fs...)

	fs = nil
	for _, b := range flips(std.Receipt.StateDigest) {
		fs = append(fs, func(r *receipt.Receipt) { r.StateDigest = b })
	}
	add("state digest byte", []string{receipt.CheckAppHash}, fs...)
	add("state digest empty", []string{receipt.CheckAppHash}, func(r *receipt.Receipt) { r.StateDigest = nil })

	fs = nil
	for _, v := range flipsUint64(uint64(std.Receipt.Height)) {
		fs = append(fs, func(r *receipt.Receipt) { r.Height = int64(v) })
	}
	add("height byte", []string{receipt.CheckAppHash}, fs...)
	add("height of the header", []string{receipt.CheckAppHash}, func(r *receipt.Receipt) { r.Height++ })

	fs = nil
	for _, b := range flips([]byte(std.Receipt.ChainID)) {
		fs = append(fs, func(r *receipt.Receipt) { r.ChainID = string(b) })
	}
	add("chain id byte", []string{receipt.CheckCommit}, fs...)

	for _, m := range ms {
		t.Run(m.name, func(t *testing.T) {
			for _, mutate := range m.mutate {
				r := clone(std.Receipt)
				mutate(r)
				mustFail(t, r, std.Genesis, m.want...)
			}
		})
	}
}

// forgery is a receipt real in every part but one, signed where a
// signature is needed, that Verify must refuse at check with wantErr, in
// an error that says says. file, when not "", is its name under
// forgedDir: TestVerdictVectors writes it there for other verifiers.
type forgery struct {
	name    string
	file    string
	build   func(t *testing.T) *receipt.Receipt
	check   string
	wantErr error
	says    string
}

// refuseForgeries wants Verify to refuse each forgery as it says.
func refuseForgeries(t *testing.T, fs []forgery) {
	t.Helper()
	for _, f := range fs {
		t.Run(f.name, func(t *testing.T) {
			_, err := mustFail(t, f.build(t), std.Genesis, f.check)
			if !errors.Is(err, f.wantErr) {
				t.Errorf("error %v, want %v", err, f.wantErr)
			}
			if !strings.Contains(err.Error(), f.says) {
				t.Errorf("error %q does not say %q", err, f.says)
			}
		})
	}
}

// receiptOf builds f's receipt as it is.
func receiptOf(f *receiptfix.Fixture) func(*testing.T) *receipt.Receipt {
	return func(*testing.T) *receipt.Receipt { return f.Receipt }
}

// stdHeader returns a copy of the standard fixture's header.
func stdHeader() *types.Header { h := *std.Header.Header; return &h }

// signHeader returns h signed for chainID by all of f's validators.
func signHeader(t *testing.T, f *receiptfix.Fixture, h *types.Header, chainID string) *types.SignedHeader {
	t.Helper()
	sh, err := f.Sign(h, chainID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// withHeader returns a copy of the standard receipt with the signed header sh.
func withHeader(sh *types.SignedHeader) *receipt.Receipt {
	r := clone(std.Receipt)
	r.SignedHeader = receiptfix.JSON(sh)
	return r
}

// TestVerifyForgeries builds receipts that are real in every part but one,
// signed where a signature is needed, and wants each refused.
func TestVerifyForgeries(t *testing.T) { refuseForgeries(t, forgeries(t)) }

// forgeries are the receipts of TestVerifyForgeries.
func forgeries(t *testing.T) []forgery {
	t.Helper()
	otherChain := receiptfix.MustNew(t, receiptfix.Options{ChainID: "iotledger-other"})
	otherVals := receiptfix.MustNew(t, receiptfix.Options{ValidatorSeed: "other validator"})
	twoOfFour := receiptfix.MustNew(t, receiptfix.Options{Votes: []types.BlockIDFlag{
		types.BlockIDFlagCommit, types.BlockIDFlagAbsent, types.BlockIDFlagCommit, types.BlockIDFlagAbsent}})
	twoAndNil := receiptfix.MustNew(t, receiptfix.Options{Votes: []types.BlockIDFlag{
		types.BlockIDFlagNil, types.BlockIDFlagCommit, types.BlockIDFlagNil, types.BlockIDFlagCommit}})
	nobody := receiptfix.MustNew(t, receiptfix.Options{Votes: []types.BlockIDFlag{
		types.BlockIDFlagAbsent, types.BlockIDFlagAbsent, types.BlockIDFlagAbsent, types.BlockIDFlagAbsent}})
	fiveVals := receiptfix.MustNew(t, receiptfix.Options{Validators: 5})
	threeVals := receiptfix.MustNew(t, receiptfix.Options{Validators: 3})

	return []forgery{{
		name:  "header of another chain, signed by the same validators for it",
		build: receiptOf(otherChain),
		check: receipt.CheckCommit, wantErr: receipt.ErrChainID,
	}, {
		name: "header of another chain, receipt claims ours",
		file: "header-of-another-chain-receipt-claims-ours",
		build: func(*testing.T) *receipt.Receipt {
			r := clone(otherChain.Receipt)
			r.ChainID = std.Genesis.ChainID
			return r
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrChainID,
	}, {
		name: "header of our chain, votes signed for another chain",
		file: "votes-signed-for-another-chain",
		build: func(t *testing.T) *receipt.Receipt {
			return withHeader(signHeader(t, std, stdHeader(), "iotledger-other"))
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrCommit,
	}, {
		name:  "another validator set, signed by it",
		build: receiptOf(otherVals),
		check: receipt.CheckCommit, wantErr: receipt.ErrNotGenesisSet,
	}, {
		name:  "a genesis validator more, signed by all",
		file:  "a-genesis-validator-more",
		build: receiptOf(fiveVals),
		check: receipt.CheckCommit, wantErr: receipt.ErrNotGenesisSet,
	}, {
		name:  "a genesis validator fewer, signed by all",
		file:  "a-genesis-validator-fewer",
		build: receiptOf(threeVals),
		check: receipt.CheckCommit, wantErr: receipt.ErrNotGenesisSet,
	}, {
		name: "genesis set in the receipt, header signed by another set",
		file: "genesis-set-in-the-receipt-header-signed-by-another-set",
		build: func(*testing.T) *receipt.Receipt {
			r := clone(otherVals.Receipt)
			r.Validators = receiptfix.JSON(std.ValSet)
			return r
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrValidators,
	}, {
		name: "header names the genesis set, signed by another set",
		file: "header-names-the-genesis-set-signed-by-another-set",
		build: func(t *testing.T) *receipt.Receipt {
			return withHeader(signHeader(t, otherVals, stdHeader(), std.Genesis.ChainID))
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrCommit,
	}, {
		name:  "only 2 of 4 signed",
		build: receiptOf(twoOfFour),
		check: receipt.CheckCommit, wantErr: receipt.ErrCommit,
	}, {
		name:  "2 of 4 signed, 2 voted nil",
		file:  "two-of-four-signed-two-voted-nil",
		build: receiptOf(twoAndNil),
		check: receipt.CheckCommit, wantErr: receipt.ErrCommit,
	}, {
		name:  "nobody signed",
		file:  "nobody-signed",
		build: receiptOf(nobody),
		check: receipt.CheckCommit, wantErr: receipt.ErrCommit,
	}, {
		name: "commit of another block at the same height",
		build: func(t *testing.T) *receipt.Receipt {
			h := stdHeader()
			h.DataHash = receiptfix.Hash("other data")
			other := signHeader(t, std, h, std.Genesis.ChainID)
			return withHeader(&types.SignedHeader{Header: std.Header.Header, Commit: other.Commit})
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrCommit,
	}, {
		name: "commit of the block before",
		file: "commit-of-the-block-before",
		build: func(t *testing.T) *receipt.Receipt {
			prev := signHeader(t, std, receiptfix.Header(std.Genesis.ChainID, std.Header.Height-1, std.ValSet), std.Genesis.ChainID)
			return withHeader(&types.SignedHeader{Header: std.Header.Header, Commit: prev.Commit})
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrCommit,
	}, {
		name: "forged log, app hash edited into the signed header",
		file: "forged-log-app-hash-edited-into-the-header",
		build: func(t *testing.T) *receipt.Receipt {
			// Whoever forges a reading can build a log around it and
			// an app hash over that log, but cannot sign the header.
			key := receiptfix.DeviceKey("device 1")
			raw := must(reading.Sign(reading.Reading{Seq: 105, Data: map[string]any{"temp_c": 99.0}}, key))
			tree := testonly.New(rfc6962.DefaultHasher)
			for i := range 7 {
				if i == 5 {
					tree.AppendData(receipt.Leaf(key.Public().(ed25519.PublicKey), raw))
					continue
				}
				tree.AppendData(std.Leaves[i])
			}
			r := clone(std.Receipt)
			r.Reading, r.DeviceKey, r.LogRoot = raw, key.Public().(ed25519.PublicKey), tree.Hash()
			r.Proof = must(tree.InclusionProof(5, 7))
			h := stdHeader()
			h.AppHash = receipt.AppHash(7, r.LogRoot, r.StateDigest)
			r.SignedHeader = receiptfix.JSON(&types.SignedHeader{Header: h, Commit: std.Header.Commit})
			return r
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrCommit,
	}, {
		name: "header of block H+2, signed",
		file: "header-of-block-h-plus-2-signed",
		build: func(t *testing.T) *receipt.Receipt {
			h := receiptfix.Header(std.Genesis.ChainID, std.Header.Height+1, std.ValSet)
			h.AppHash = std.Header.AppHash
			return withHeader(signHeader(t, std, h, std.Genesis.ChainID))
		},
		check: receipt.CheckAppHash, wantErr: receipt.ErrHeight,
	}, {
		name: "app hash of another state, signed",
		file: "app-hash-of-another-state-signed",
		build: func(t *testing.T) *receipt.Receipt {
			h := stdHeader()
			h.AppHash = receipt.AppHash(std.Receipt.TreeSize, std.Receipt.LogRoot, receiptfix.Hash("other state"))
			return withHeader(signHeader(t, std, h, std.Genesis.ChainID))
		},
		check: receipt.CheckAppHash, wantErr: receipt.ErrAppHash,
	}, {
		name: "a signature copied to another validator's slot",
		file: "a-signature-copied-to-another-slot",
		build: func(*testing.T) *receipt.Receipt {
			c := *std.Header.Commit
			c.Signatures = slices.Clone(c.Signatures)
			c.Signatures[1].Signature = c.Signatures[0].Signature
			return withHeader(&types.SignedHeader{Header: std.Header.Header, Commit: &c})
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrCommit,
	}, {
		name: "one validator's signature in two slots, short of quorum",
		file: "one-signature-in-two-slots-short-of-quorum",
		build: func(*testing.T) *receipt.Receipt {
			c := *twoOfFour.Header.Commit
			c.Signatures = slices.Clone(c.Signatures)
			c.Signatures[1] = c.Signatures[0] // validator 0 twice
			return withHeader(&types.SignedHeader{Header: twoOfFour.Header.Header, Commit: &c})
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrCommit,
	}, {
		name: "a commit with a signature fewer",
		file: "a-commit-with-a-signature-fewer",
		build: func(*testing.T) *receipt.Receipt {
			c := *std.Header.Commit
			c.Signatures = c.Signatures[:3]
			return withHeader(&types.SignedHeader{Header: std.Header.Header, Commit: &c})
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrCommit,
	}, {
		name: "validator set without its proposer",
		file: "validator-set-without-its-proposer",
		build: func(*testing.T) *receipt.Receipt {
			r := clone(std.Receipt)
			vs := std.ValSet.Copy()
			vs.Proposer = nil
			r.Validators = receiptfix.JSON(vs)
			return r
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrMalformed,
	}, {
		name: "validator key of 31 bytes",
		file: "validator-key-of-31-bytes",
		build: func(*testing.T) *receipt.Receipt {
			r := clone(std.Receipt)
			vs := std.ValSet.Copy()
			vs.Validators[2].PubKey = vs.Validators[2].PubKey.(cmted25519.PubKey)[:31]
			r.Validators = receiptfix.JSON(vs)
			return r
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrMalformed,
	}, {
		name: "validator set in another order",
		file: "validator-set-in-another-order",
		build: func(*testing.T) *receipt.Receipt {
			r := clone(std.Receipt)
			vs := std.ValSet.Copy()
			slices.Reverse(vs.Validators)
			r.Validators = receiptfix.JSON(vs)
			return r
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrValidators,
	}, {
		name: "validator power raised",
		file: "validator-power-raised",
		build: func(*testing.T) *receipt.Receipt {
			r := clone(std.Receipt)
			vs := std.ValSet.Copy()
			vs.Validators[0].VotingPower = 100
			r.Validators = receiptfix.JSON(vs)
			return r
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrValidators,
	}, {
		name: "no validator set",
		file: "no-validator-set",
		build: func(*testing.T) *receipt.Receipt {
			r := clone(std.Receipt)
			r.Validators = nil
			return r
		},
		check: receipt.CheckCommit, wantErr: receipt.ErrMalformed,
	}, {
		name: "no signed header",
		file: "no-signed-header",
		build: func(*testing.T) *receipt.Receipt {
			r := clone(std.Receipt)
			r.SignedHeader = nil
			return r
		},
		check: receipt.CheckAppHash, wantErr: receipt.ErrMalformed,
	}, {
		name: "signed header without commit",
		file: "signed-header-without-commit",
		build: func(*testing.T) *receipt.Receipt {
			return withHeader(&types.SignedHeader{Header: std.Header.Header})
		},
		check: receipt.CheckAppHash, wantErr: receipt.ErrMalformed,
	}, {
		name: "signed header is not JSON of one",
		file: "signed-header-is-not-json-of-one",
		build: func(*testing.T) *receipt.Receipt {
			r := clone(std.Receipt)
			r.SignedHeader = []byte(`{"header": 42}`)
			return r
		},
		check: receipt.CheckAppHash, wantErr: receipt.ErrMalformed,
	}}
}

func TestVerifyNotEnoughPowerEvidence(t *testing.T) {
	f := receiptfix.MustNew(t, receiptfix.Options{Votes: []types.BlockIDFlag{
		types.BlockIDFlagCommit, types.BlockIDFlagAbsent, types.BlockIDFlagCommit, types.BlockIDFlagAbsent}})
	_, err := receipt.Verify(f.Receipt, std.Genesis)
	var e types.ErrNotEnoughVotingPowerSigned
	if !errors.As(err, &e) {
		t.Fatalf("error %v does not carry types.ErrNotEnoughVotingPowerSigned", err)
	}
	if got, want := e, (types.ErrNotEnoughVotingPowerSigned{Got: 20, Needed: 26}); got != want {
		t.Errorf("evidence = %+v, want %+v", got, want)
	}
}

func TestVerifyMismatchEvidence(t *testing.T) {
	r := clone(std.Receipt)
	r.StateDigest[0] ^= 1
	_, err := receipt.Verify(r, std.Genesis)
	var mm *receipt.MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("error %v is not a *MismatchError", err)
	}
	got := *mm
	want := receipt.MismatchError{
		Err:  receipt.ErrAppHash,
		Got:  receipt.AppHash(r.TreeSize, r.LogRoot, r.StateDigest),
		Want: std.Header.AppHash,
	}
	if diff := cmp.Diff(got, want, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("evidence (-got +want):\n%s", diff)
	}

	r = clone(std.Receipt)
	r.Proof[0][0] ^= 1
	_, err = receipt.Verify(r, std.Genesis)
	if !errors.As(err, &mm) || mm.Err != receipt.ErrInclusion || !bytes.Equal(mm.Want, std.Receipt.LogRoot) || len(mm.Got) != 32 {
		t.Errorf("error %v, want a *MismatchError of ErrInclusion with the log root", err)
	}
}

func TestVerifyRefusesHashesOfOtherSizes(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *receipt.Receipt)
		want   string
	}{
		{"proof hash of 31 bytes", func(r *receipt.Receipt) { r.Proof[1] = r.Proof[1][:31] }, "proof hash 1 has 31 bytes, want 32"},
		{"proof hash of 33 bytes", func(r *receipt.Receipt) { r.Proof[2] = append(r.Proof[2], 0) }, "proof hash 2 has 33 bytes, want 32"},
		{"log root of 31 bytes", func(r *receipt.Receipt) { r.LogRoot = r.LogRoot[1:] }, "log root has 31 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := clone(std.Receipt)
			tt.mutate(r)
			_, err := mustFail(t, r, std.Genesis, receipt.CheckInclusion)
			if !errors.Is(err, receipt.ErrInclusion) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %v saying %q", err, receipt.ErrInclusion, tt.want)
			}
		})
	}
}

func TestVerifyRefusesBadGenesis(t *testing.T) {
	withVals := func(f func(vs []types.GenesisValidator) []types.GenesisValidator) *types.GenesisDoc {
		g := *std.Genesis
		g.Validators = f(slices.Clone(std.Genesis.Validators))
		return &g
	}
	tests := []struct {
		name    string
		genesis *types.GenesisDoc
	}{
		{"nil", nil},
		{"no chain id", func() *types.GenesisDoc { g := *std.Genesis; g.ChainID = ""; return &g }()},
		{"no validators", withVals(func([]types.GenesisValidator) []types.GenesisValidator { return nil })},
		{"zero power", withVals(func(vs []types.GenesisValidator) []types.GenesisValidator { vs[1].Power = 0; return vs })},
		{"negative power", withVals(func(vs []types.GenesisValidator) []types.GenesisValidator { vs[1].Power = -5; return vs })},
		{"too much power", withVals(func(vs []types.GenesisValidator) []types.GenesisValidator {
			vs[0].Power, vs[1].Power = types.MaxTotalVotingPower, types.MaxTotalVotingPower
			return vs
		})},
		{"no key", withVals(func(vs []types.GenesisValidator) []types.GenesisValidator { vs[2].PubKey = nil; return vs })},
		{"short key", withVals(func(vs []types.GenesisValidator) []types.GenesisValidator {
			vs[2].PubKey = vs[2].PubKey.(cmted25519.PubKey)[:31]
			return vs
		})},
		{"validator twice", withVals(func(vs []types.GenesisValidator) []types.GenesisValidator { return append(vs, vs[0]) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks, err := receipt.Verify(std.Receipt, tt.genesis)
			if !errors.Is(err, receipt.ErrGenesis) {
				t.Errorf("error %v, want %v", err, receipt.ErrGenesis)
			}
			if len(checks) != 0 {
				t.Errorf("checks made with a bad genesis: %+v", checks)
			}
		})
	}
}

func TestVerifyRefusesOtherVersion(t *testing.T) {
	r := clone(std.Receipt)
	r.Version = 3
	if _, err := receipt.Verify(r, std.Genesis); !errors.Is(err, receipt.ErrVersion) {
		t.Errorf("error %v, want %v", err, receipt.ErrVersion)
	}
	r = clone(traced.Receipt)
	r.Version = receipt.Version
	if _, err := receipt.Verify(r, std.Genesis); !errors.Is(err, receipt.ErrMalformed) {
		t.Errorf("version 1 with a trace: error %v, want %v", err, receipt.ErrMalformed)
	}
	if _, err := receipt.Verify(nil, std.Genesis); !errors.Is(err, receipt.ErrMalformed) {
		t.Errorf("nil receipt: error %v, want %v", err, receipt.ErrMalformed)
	}
}

// TestSignedHeaderJSON checks that CometBFT's JSON of a real signed header
// and validator set decodes to values that encode and hash the same.
func TestSignedHeaderJSON(t *testing.T) {
	var sh types.SignedHeader
	if err := cmtjson.Unmarshal(receiptfix.JSON(std.Header), &sh); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(receiptfix.JSON(&sh)), string(receiptfix.JSON(std.Header))); diff != "" {
		t.Errorf("signed header JSON after a round trip (-got +want):\n%s", diff)
	}
	if got, want := sh.Hash(), std.Header.Hash(); !bytes.Equal(got, want) {
		t.Errorf("header hash after a round trip = %X, want %X", got, want)
	}
	if got, want := sh.Commit.Hash(), std.Header.Commit.Hash(); !bytes.Equal(got, want) {
		t.Errorf("commit hash after a round trip = %X, want %X", got, want)
	}
	if err := sh.ValidateBasic(std.Genesis.ChainID); err != nil {
		t.Errorf("ValidateBasic after a round trip: %v", err)
	}

	var vs types.ValidatorSet
	if err := cmtjson.Unmarshal(receiptfix.JSON(std.ValSet), &vs); err != nil {
		t.Fatal(err)
	}
	if got, want := vs.Hash(), std.ValSet.Hash(); !bytes.Equal(got, want) {
		t.Errorf("validator set hash after a round trip = %X, want %X", got, want)
	}
	if diff := cmp.Diff(string(receiptfix.JSON(&vs)), string(receiptfix.JSON(std.ValSet))); diff != "" {
		t.Errorf("validator set JSON after a round trip (-got +want):\n%s", diff)
	}
}

func TestParse(t *testing.T) {
	good := must(std.Receipt.Marshal())
	replace := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			panic("no " + old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	longProof := clone(std.Receipt)
	for len(longProof.Proof) <= receipt.MaxProof {
		longProof.Proof = append(longProof.Proof, receiptfix.Hash("x"))
	}
	bigReading := clone(std.Receipt)
	bigReading.Reading = make([]byte, reading.MaxSize+1)
	padded := append(bytes.Clone(good), bytes.Repeat([]byte(" "), receipt.MaxSize)...)
	longTrace := clone(traced.Receipt)
	for len(longTrace.Trace) <= receipt.MaxTrace {
		longTrace.Trace = append(longTrace.Trace, receipt.LightBlock{SignedHeader: []byte("{}"), Validators: []byte("{}")})
	}

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"good", good, nil},
		{"trailing white space", append(bytes.Clone(good), " \n\t"...), nil},
		{"larger than MaxSize", padded, receipt.ErrTooLarge},
		{"version 2 without a trace", replace(`"version": 1`, `"version": 2`), nil},
		{"version 3", replace(`"version": 1`, `"version": 3`), receipt.ErrVersion},
		{"version 1 with a trace", bytes.Replace(must(traced.Receipt.Marshal()), []byte(`"version": 2`), []byte(`"version": 1`), 1), receipt.ErrMalformed},
		{"trace longer than MaxTrace", must(longTrace.Marshal()), receipt.ErrTooLarge},
		{"version 0", replace(`"version": 1,`, ``), receipt.ErrVersion},
		{"unknown field", replace(`"version": 1`, `"version": 1, "extra": true`), receipt.ErrMalformed},
		{"second object", append(bytes.Clone(good), good...), receipt.ErrMalformed},
		{"trailing garbage", append(bytes.Clone(good), 'x'), receipt.ErrMalformed},
		{"not base64", replace(`"device_key": "`, `"device_key": "!`), receipt.ErrMalformed},
		{"negative index", replace(`"leaf_index": 5`, `"leaf_index": -5`), receipt.ErrMalformed},
		{"array", []byte(`[]`), receipt.ErrMalformed},
		{"empty", nil, receipt.ErrMalformed},
		{"proof longer than MaxProof", must(longProof.Marshal()), receipt.ErrTooLarge},
		{"reading larger than reading.MaxSize", must(bigReading.Marshal()), receipt.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := receipt.Parse(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse error %v, want %v", err, tt.want)
			}
			if err == nil && r == nil {
				t.Fatal("Parse returned neither receipt nor error")
			}
		})
	}
}

func TestMarshalParseRoundTrip(t *testing.T) {
	for _, f := range []*receiptfix.Fixture{std, traced, receiptfix.MustNew(t, receiptfix.Options{RotatedKey: true, Leaves: 1, Height: 1})} {
		b, err := f.Receipt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := receipt.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		// Marshal re-indents the embedded CometBFT JSON; compare the
		// values it decodes to.
		if diff := cmp.Diff(string(must(got.Marshal())), string(b)); diff != "" {
			t.Errorf("Marshal after Parse (-got +want):\n%s", diff)
		}
		want := clone(f.Receipt)
		want.SignedHeader, want.Validators, want.Trace = nil, nil, nil
		gotHdr, gotVals, gotTrace := got.SignedHeader, got.Validators, got.Trace
		got.SignedHeader, got.Validators, got.Trace = nil, nil, nil
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("Parse(Marshal(r)) (-got +want):\n%s", diff)
		}
		if !jsonEqual(gotHdr, f.Receipt.SignedHeader) || !jsonEqual(gotVals, f.Receipt.Validators) {
			t.Errorf("embedded CometBFT JSON changed in a round trip")
		}
		if len(gotTrace) != len(f.Receipt.Trace) {
			t.Fatalf("trace of %d blocks after a round trip, want %d", len(gotTrace), len(f.Receipt.Trace))
		}
		for i, lb := range gotTrace {
			if !jsonEqual(lb.SignedHeader, f.Receipt.Trace[i].SignedHeader) || !jsonEqual(lb.Validators, f.Receipt.Trace[i].Validators) {
				t.Errorf("trace block %d changed in a round trip", i)
			}
		}
	}
}

func jsonEqual(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if err := json.Compact(&ca, a); err != nil {
		return false
	}
	if err := json.Compact(&cb, b); err != nil {
		return false
	}
	return ca.String() == cb.String()
}

func TestCheckErrorText(t *testing.T) {
	r := clone(std.Receipt)
	r.Height = 7
	_, err := receipt.Verify(r, std.Genesis)
	got := err.Error()
	for _, want := range []string{receipt.CheckAppHash, "header of block 42, want block 8"} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q does not contain %q", got, want)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	r, g := std.Receipt, std.Genesis
	for b.Loop() {
		if _, err := receipt.Verify(r, g); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyTrace(b *testing.B) {
	data := must(traced.Receipt.Marshal())
	for b.Loop() {
		r, err := receipt.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := receipt.Verify(r, std.Genesis); err != nil {
			b.Fatal(err)
		}
	}
}
