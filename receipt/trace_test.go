package receipt_test

import (
	"testing"
	"time"

	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/types"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/testonly/receiptfix"
	"github.com/iotledger/iotledger/receipt"
)

// tracedChanges are the validator set changes of the traced fixture: the
// genesis set of validators 0 to 3 (power 10 each) gains validator 4 from
// block 20, validator 1 has power 15 from block 30, and validator 3 leaves
// from block 35. Block 42, which proves the receipt's block 41, is signed
// by validators 0, 1, 2 and 4.
var tracedChanges = []receiptfix.Change{
	{At: 20, Powers: []int64{10, 10, 10, 10, 10}},
	{At: 30, Powers: []int64{10, 15, 10, 10, 10}},
	{At: 35, Powers: []int64{10, 15, 10, 0, 10}},
}

// traced is the standard fixture on a chain whose validator set changed
// three times: its receipt carries a trace of blocks 19, 20, 29, 30, 34, 35.
var traced = func() *receiptfix.Fixture {
	f, err := receiptfix.New(receiptfix.Options{Changes: tracedChanges})
	if err != nil {
		panic(err)
	}
	return f
}()

// withTrace returns a copy of traced's receipt whose trace is blocks.
func withTrace(blocks ...*types.LightBlock) *receipt.Receipt {
	r := clone(traced.Receipt)
	r.Trace = nil
	for _, lb := range blocks {
		r.Trace = append(r.Trace, receipt.LightBlock{SignedHeader: receiptfix.JSON(lb.SignedHeader), Validators: receiptfix.JSON(lb.ValidatorSet)})
	}
	return r
}

// signed returns block h of the fixture chain's validator sets: validated
// by set (signers in set order), naming next as the next set, signed by
// the signers whose vote is BlockIDFlagCommit in votes (all by default).
func signed(t *testing.T, h int64, set *types.ValidatorSet, signers []types.PrivValidator, next *types.ValidatorSet, votes ...types.BlockIDFlag) *types.LightBlock {
	t.Helper()
	hdr := receiptfix.Header(receiptfix.ChainID, h, set)
	hdr.NextValidatorsHash = next.Hash()
	sh, err := receiptfix.SignWith(hdr, receiptfix.ChainID, signers, votes)
	if err != nil {
		t.Fatal(err)
	}
	return &types.LightBlock{SignedHeader: sh, ValidatorSet: set}
}

func TestVerifyTraceGood(t *testing.T) {
	atTheEnd := receiptfix.MustNew(t, receiptfix.Options{Changes: []receiptfix.Change{{At: 42, Powers: []int64{10, 10, 10, 10, 10}}}})
	oneAfterAnother := receiptfix.MustNew(t, receiptfix.Options{Changes: []receiptfix.Change{
		{At: 3, Powers: []int64{10, 10, 10, 10, 10}},
		{At: 4, Powers: []int64{0, 10, 10, 10, 10}},
		{At: 5, Powers: []int64{0, 0, 0, 7}},
	}})
	tests := []struct {
		name      string
		r         *receipt.Receipt
		trace     string // detail of CheckValidatorSet
		commit    string // detail of CheckCommit
		numBlocks int
	}{{
		name:      "three changes",
		r:         traced.Receipt,
		trace:     "3 changes (at blocks 20, 30, 35) followed from the genesis set by CometBFT light-client verification of 6 blocks",
		commit:    "validators holding 45 of 45 voting power signed block 42",
		numBlocks: 6,
	}, {
		name:      "a change at the receipt's own header",
		r:         atTheEnd.Receipt,
		trace:     "1 change (at block 42) followed from the genesis set by CometBFT light-client verification of 1 block",
		commit:    "validators holding 50 of 50 voting power signed block 42",
		numBlocks: 1,
	}, {
		name:      "changes in consecutive blocks, down to one validator",
		r:         oneAfterAnother.Receipt,
		trace:     "3 changes (at blocks 3, 4, 5) followed from the genesis set by CometBFT light-client verification of 4 blocks",
		commit:    "validators holding 7 of 7 voting power signed block 42",
		numBlocks: 4,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.r.Trace) != tt.numBlocks || tt.r.Version != receipt.VersionTrace {
				t.Fatalf("fixture: version %d, trace of %d blocks; want version %d, %d blocks", tt.r.Version, len(tt.r.Trace), receipt.VersionTrace, tt.numBlocks)
			}
			checks := mustPass(t, tt.r, std.Genesis)
			got := []string{checks[4].Detail, checks[5].Detail}
			if diff := cmp.Diff(got, []string{tt.trace, tt.commit}); diff != "" {
				t.Errorf("details of the last two checks (-got +want):\n%s", diff)
			}
		})
	}
}

// TestVerifyTraceForgeries wants each broken or forged trace refused.
// Mutated vectors (vectors_test.go) hold more, checked in.
func TestVerifyTraceForgeries(t *testing.T) { refuseForgeries(t, traceForgeries(t)) }

// traceForgeries are the receipts of TestVerifyTraceForgeries.
func traceForgeries(t *testing.T) []forgery {
	t.Helper()
	genesisSet, genesisSigners := std.ValSet, std.Signers
	tr := traced.Trace
	// A set of attackers' keys, which they can sign anything with:
	// validators 5 and 6, and genesis validators 0 and 1, half the
	// genesis power.
	attackers := receiptfix.MustNew(t, receiptfix.Options{Changes: []receiptfix.Change{{At: 42, Powers: []int64{10, 10, 0, 0, 0, 10, 10}}}})
	absent, commit := types.BlockIDFlagAbsent, types.BlockIDFlagCommit

	return []forgery{{
		name:    "the trace's first block signed by a set that is not the genesis set",
		file:    "trace-first-block-not-signed-by-the-genesis-set",
		build:   func(*testing.T) *receipt.Receipt { return withTrace(tr[1:]...) },
		check:   receipt.CheckValidatorSet,
		wantErr: receipt.ErrTrace,
		says:    "block 20, the first of the trace, is not signed by the genesis validator set",
	}, {
		name:    "a change skipped",
		build:   func(*testing.T) *receipt.Receipt { return withTrace(tr[0], tr[2], tr[3], tr[4], tr[5]) },
		check:   receipt.CheckValidatorSet,
		wantErr: receipt.ErrTrace,
		says:    "blocks 19 and 29 are signed by different validator sets and the trace holds no block between them",
	}, {
		name:    "the last change skipped",
		build:   func(*testing.T) *receipt.Receipt { return withTrace(tr[:4]...) },
		check:   receipt.CheckCommit,
		wantErr: receipt.ErrTrace,
		says:    "blocks 30 and 42 are signed by different validator sets",
	}, {
		name:    "blocks out of order",
		file:    "trace-blocks-out-of-order",
		build:   func(*testing.T) *receipt.Receipt { return withTrace(tr[0], tr[1], tr[3], tr[2], tr[4], tr[5]) },
		check:   receipt.CheckValidatorSet,
		wantErr: receipt.ErrTrace,
	}, {
		name:    "no trace",
		file:    "trace-empty-version-2",
		build:   func(*testing.T) *receipt.Receipt { return withTrace() },
		check:   receipt.CheckCommit,
		wantErr: receipt.ErrNotGenesisSet,
	}, {
		name: "half the genesis power hands the chain to a set of its own",
		file: "trace-half-the-genesis-power-hands-the-chain-over",
		build: func(t *testing.T) *receipt.Receipt {
			// Block 19 names the attackers' set as next, signed by
			// genesis validators 0 and 1 only.
			r := clone(attackers.Receipt)
			votes := make([]types.BlockIDFlag, 4)
			for i, v := range genesisSet.Validators {
				votes[i] = absent
				if _, own := attackers.ValSet.GetByAddress(v.Address); own != nil {
					votes[i] = commit
				}
			}
			fork := signed(t, 41, genesisSet, genesisSigners, attackers.ValSet, votes...)
			r.Trace = withTrace(fork).Trace
			return r
		},
		check:   receipt.CheckValidatorSet,
		wantErr: receipt.ErrTrace,
		says:    "invalid commit -- insufficient voting power: got 20, needed more than 26",
	}, {
		name: "skipping to a set that holds half the genesis power",
		file: "trace-skipping-to-a-set-of-half-the-genesis-power",
		build: func(t *testing.T) *receipt.Receipt {
			// The trace says the genesis set did not change up to
			// block 19 (true, and fully signed), then jumps to the
			// receipt's block, signed by the attackers' set.
			r := clone(attackers.Receipt)
			r.Trace = withTrace(signed(t, 19, genesisSet, genesisSigners, genesisSet)).Trace
			return r
		},
		check:   receipt.CheckCommit,
		wantErr: receipt.ErrTrace,
		says:    "blocks 19 and 42 are signed by different validator sets",
	}, {
		name: "a block of the trace signed for another chain",
		file: "trace-block-signed-for-another-chain",
		build: func(t *testing.T) *receipt.Receipt {
			lb := *tr[2]
			sh, err := receiptfix.SignWith(lb.Header, "iotledger-other", signersOf(t, lb.ValidatorSet), nil)
			if err != nil {
				t.Fatal(err)
			}
			lb.SignedHeader = sh
			return withTrace(tr[0], tr[1], &lb, tr[3], tr[4], tr[5])
		},
		check:   receipt.CheckValidatorSet,
		wantErr: receipt.ErrTrace,
	}, {
		name: "a block of the trace without its validator set",
		file: "trace-block-without-its-validator-set",
		build: func(*testing.T) *receipt.Receipt {
			r := clone(traced.Receipt)
			r.Trace[3].Validators = nil
			return r
		},
		check:   receipt.CheckValidatorSet,
		wantErr: receipt.ErrMalformed,
	}, {
		name: "the receipt's own block in the trace",
		file: "trace-holds-the-receipts-own-block",
		build: func(*testing.T) *receipt.Receipt {
			r := clone(traced.Receipt)
			r.Trace = append(r.Trace, receipt.LightBlock{SignedHeader: r.SignedHeader, Validators: r.Validators})
			return r
		},
		check:   receipt.CheckValidatorSet,
		wantErr: receipt.ErrTrace,
		says:    "trace entry 7 of 7 is block 42, not below the receipt's block 42",
	}}
}

// signersOf returns the fixture signers of a set's validators, in set order.
func signersOf(t *testing.T, set *types.ValidatorSet) []types.PrivValidator {
	t.Helper()
	all := map[string]types.PrivValidator{}
	for _, f := range []*receiptfix.Fixture{std, traced} {
		for i, v := range f.ValSet.Validators {
			all[string(v.Address)] = f.Signers[i]
		}
	}
	var out []types.PrivValidator
	for _, v := range set.Validators {
		pv, ok := all[string(v.Address)]
		if !ok {
			t.Fatalf("no signer for validator %X", v.Address)
		}
		out = append(out, pv)
	}
	return out
}

// TestTraceSkippingIsNotEnough shows why Verify refuses to skip a change
// of the set: CometBFT's skipping verification with its default trust
// level (1/3) accepts a block signed by a set of which only half the
// genesis power is part, which is what a minority of validators, no longer
// bonded to the chain, could sign. A receipt's trace must follow every
// change instead, each set signing the next with more than two thirds.
func TestTraceSkippingIsNotEnough(t *testing.T) {
	attackers := receiptfix.MustNew(t, receiptfix.Options{Changes: []receiptfix.Change{{At: 42, Powers: []int64{10, 10, 0, 0, 0, 10, 10}}}})
	from := signed(t, 19, std.ValSet, std.Signers, std.ValSet)
	err := light.Verify(from.SignedHeader, from.ValidatorSet, attackers.Header, attackers.ValSet,
		time.Duration(1<<62), attackers.Header.Time, time.Nanosecond, light.DefaultTrustLevel)
	if err != nil {
		t.Fatalf("light.Verify with trust level 1/3 refused the skip (%v); this test's premise is gone", err)
	}
	r := clone(attackers.Receipt)
	r.Trace = withTrace(from).Trace
	mustFail(t, r, std.Genesis, receipt.CheckCommit)
}
