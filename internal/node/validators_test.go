package node_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/tx"
)

// TestNodeValidatorChangeReceipts changes the validator set of a real
// single-validator chain, whose one validator holds all the power: it adds
// a validator of power 1 (which never runs: 10 of 11 still sign), then
// removes it. A receipt of a reading committed before the changes is
// version 1, one committed after carries the validator trace of both
// changes, read from CometBFT's stores, and both verify against the
// genesis file.
func TestNodeValidatorChangeReceipts(t *testing.T) {
	n, home := startNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	gen, err := types.GenesisDocFromFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	pv := privval.LoadFilePV(filepath.Join(home, "config", "priv_validator_key.json"), filepath.Join(home, "data", "priv_validator_state.json"))
	validator := ed25519.PrivateKey(pv.Key.PrivKey.Bytes())
	newcomer := ed25519.NewKeyFromSeed(make([]byte, 32))
	newKey := newcomer.Public().(ed25519.PublicKey)

	owner := ed25519.NewKeyFromSeed(append(make([]byte, 31), 7))
	dev := ed25519.NewKeyFromSeed(append(make([]byte, 31), 8))
	devPub := dev.Public().(ed25519.PublicKey)
	send := func(k ed25519.PrivateKey, typ tx.Type, fields any) (int64, string) {
		t.Helper()
		acct, err := n.App().Reader().Account(address.Account(k.Public().(ed25519.PublicKey)))
		if err != nil {
			t.Fatal(err)
		}
		var nonce uint64
		if acct != nil {
			nonce = acct.Nonce
		}
		raw, err := tx.Sign(k, typ, "test-chain", nonce, fields)
		if err != nil {
			t.Fatal(err)
		}
		res, err := n.RPC().BroadcastTxCommit(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
			t.Fatalf("%s: check %d %q, exec %d %q", typ, res.CheckTx.Code, res.CheckTx.Log, res.TxResult.Code, res.TxResult.Log)
		}
		return res.Height, res.TxResult.Log
	}
	commit := func(seq uint64) int64 {
		t.Helper()
		r, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 20.5}}, dev)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := n.Submit(ctx, [][]byte{r}, true)
		if err != nil || rs[0].Status != "accepted" {
			t.Fatalf("reading %d: %+v, %v", seq, rs, err)
		}
		return rs[0].Height
	}
	// advance commits readings until block h is committed: a lone
	// node makes a block without transactions only every 10 s.
	filler := uint64(100)
	advance := func(h int64) {
		t.Helper()
		for n.App().Meta().Height < h {
			commit(filler)
			filler++
		}
	}
	signers := func(h int64) int {
		t.Helper()
		vals, err := n.RPC().Validators(ctx, &h, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return vals.Total
	}

	send(owner, tx.TypeRegisterDevice, &tx.RegisterDevice{Key: devPub,
		DeviceSig: ed25519.Sign(dev, tx.RegistrationMessage("test-chain", address.Account(owner.Public().(ed25519.PublicKey)), devPub))})
	before := commit(1)

	added, log := send(validator, tx.TypeProposeValidator, &tx.ProposeValidator{
		ValidatorChange: tx.ValidatorChange{Action: tx.ValidatorAdd, Key: newKey, Power: 1},
		Consent:         ed25519.Sign(newcomer, tx.ValidatorConsentMessage("test-chain", newKey))})
	if want := fmt.Sprintf("applied at the end of block %d, the new set signs from block %d", added, added+2); !strings.Contains(log, want) {
		t.Errorf("proposal log %q does not say %q", log, want)
	}
	advance(added + 2)
	if got := signers(added + 1); got != 1 {
		t.Errorf("block %d has %d validators, want 1", added+1, got)
	}
	if got := signers(added + 2); got != 2 {
		t.Errorf("block %d has %d validators, want 2", added+2, got)
	}
	removed, _ := send(validator, tx.TypeProposeValidator, &tx.ProposeValidator{
		ValidatorChange: tx.ValidatorChange{Action: tx.ValidatorRemove, Key: newKey}})
	advance(removed + 2)
	after := commit(2)
	advance(after + 1)

	set, err := n.App().Reader().Validators()
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Validators) != 1 || len(set.Changes) != 2 || set.Changes[0].Height != added+2 || set.Changes[1].Height != removed+2 {
		t.Errorf("validator set: %d validators, changes %+v; want 1, at %d and %d", len(set.Validators), set.Changes, added+2, removed+2)
	}

	for _, tc := range []struct {
		seq     uint64
		height  int64
		version int
		trace   int
		detail  string
	}{
		{1, before, receipt.Version, 0, fmt.Sprintf("the genesis set of 1 validator (no change before block %d)", before+1)},
		{2, after, receipt.VersionTrace, 4, fmt.Sprintf("2 changes (at blocks %d, %d) followed from the genesis set by CometBFT light-client verification of 4 blocks", added+2, removed+2)},
	} {
		r, err := n.Receipt(ctx, address.Device(devPub), tc.seq)
		if err != nil {
			t.Fatal(err)
		}
		if r.Height != tc.height || r.Version != tc.version || len(r.Trace) != tc.trace {
			t.Errorf("receipt of seq %d: block %d, version %d, trace of %d; want %d, %d, %d", tc.seq, r.Height, r.Version, len(r.Trace), tc.height, tc.version, tc.trace)
		}
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := receipt.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		checks, err := receipt.Verify(parsed, gen)
		if err != nil {
			t.Fatalf("receipt of seq %d does not verify: %v", tc.seq, err)
		}
		if got := checks[4].Detail; got != tc.detail {
			t.Errorf("receipt of seq %d: %q, want %q", tc.seq, got, tc.detail)
		}
	}

	// The set, the proposals and the changes are covered state: audit
	// recomputes every digest with them and finds nothing.
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	report, err := node.Audit(t.Context(), home)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Findings) != 0 || report.Headers < after {
		t.Errorf("audit: %d headers compared, findings %v; want at least %d and none", report.Headers, report.Findings, after)
	}
}
