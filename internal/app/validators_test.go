package app_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

// validatorKey is validator i's consensus key in these tests.
func validatorKey(i int) ed25519.PrivateKey { return key(byte(0x40 + i)) }

// newValidatorChain starts a chain whose genesis lists validators 0 to
// len(powers)-1 with those powers, as InitChain gets them from CometBFT.
func newValidatorChain(t *testing.T, powers []int64, opts ...chainOption) *testChain {
	t.Helper()
	g := app.DefaultGenesis()
	for _, o := range opts {
		o(&g.Params)
	}
	appState, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var vals []abci.ValidatorUpdate
	for i, p := range powers {
		vals = append(vals, abci.ValidatorUpdate{Power: p, PubKeyType: cmted25519.KeyType, PubKeyBytes: pub(validatorKey(i))})
	}
	c := &testChain{t: t, dir: t.TempDir(), chainID: testChainID, genesis: appState, appHashes: map[int64][]byte{}}
	c.open()
	t.Cleanup(c.close)
	res, err := c.app.InitChain(t.Context(), &abci.InitChainRequest{
		ChainId: c.chainID, InitialHeight: 1, Time: genesisTime, AppStateBytes: appState, Validators: vals,
	})
	if err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	c.appHashes[0] = res.AppHash
	c.last = genesisTime.Add(-time.Second)
	return c
}

// nonces hands out the nonces of transactions built for the next block:
// the committed nonce, plus one for each built since.
var nonces = map[*testChain]*pendingNonces{}

type pendingNonces struct {
	height int64
	used   map[string]uint64
}

func (c *testChain) nextNonce(k ed25519.PrivateKey) uint64 {
	c.t.Helper()
	n := nonces[c]
	if n == nil || n.height != c.height {
		n = &pendingNonces{height: c.height, used: map[string]uint64{}}
		nonces[c] = n
		c.t.Cleanup(func() { delete(nonces, c) })
	}
	a := accountID(k)
	next := c.nonce(k) + n.used[a]
	n.used[a]++
	return next
}

func (c *testChain) propose(signer ed25519.PrivateKey, change tx.ValidatorChange, consent []byte) []byte {
	c.t.Helper()
	return c.sign(signer, c.nextNonce(signer), tx.TypeProposeValidator, &tx.ProposeValidator{ValidatorChange: change, Consent: consent})
}

func (c *testChain) approve(signer ed25519.PrivateKey, id uint64, change tx.ValidatorChange) []byte {
	c.t.Helper()
	return c.sign(signer, c.nextNonce(signer), tx.TypeApproveValidator, &tx.ApproveValidator{Proposal: id, ValidatorChange: change})
}

// consent is the new validator k's consent to join the test chain.
func (c *testChain) consent(k ed25519.PrivateKey) []byte {
	return ed25519.Sign(k, tx.ValidatorConsentMessage(c.chainID, pub(k)))
}

func add(i int, power int64) tx.ValidatorChange {
	return tx.ValidatorChange{Action: tx.ValidatorAdd, Key: pub(validatorKey(i)), Power: power}
}

func setPower(i int, power int64) tx.ValidatorChange {
	return tx.ValidatorChange{Action: tx.ValidatorPower, Key: pub(validatorKey(i)), Power: power}
}

func remove(i int) tx.ValidatorChange {
	return tx.ValidatorChange{Action: tx.ValidatorRemove, Key: pub(validatorKey(i))}
}

// vname is validator i's CometBFT address, as messages name it.
func vname(i int) string {
	return fmt.Sprintf("%X", []byte(cmted25519.PubKey(pub(validatorKey(i))).Address()))
}

func update(i int, power int64) abci.ValidatorUpdate {
	return abci.ValidatorUpdate{Power: power, PubKeyType: cmted25519.KeyType, PubKeyBytes: pub(validatorKey(i))}
}

// powers returns the app's validator set as validator index -> power.
func (c *testChain) powers() map[int]int64 {
	c.t.Helper()
	info, err := c.app.Reader().Validators()
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[int]int64{}
	for _, v := range info.Validators {
		found := false
		for i := range 10 {
			if bytes.Equal(v.Key, pub(validatorKey(i))) {
				out[i], found = v.Power, true
			}
		}
		if !found {
			c.t.Fatalf("unknown validator key %x", v.Key)
		}
	}
	return out
}

func (c *testChain) proposal(id uint64) *query.ProposalInfo {
	c.t.Helper()
	p, err := c.app.Reader().ValidatorProposal(id)
	if err != nil || p == nil {
		c.t.Fatalf("proposal %d: %v, %v", id, p, err)
	}
	return p
}

func wantUpdates(t *testing.T, res *abci.FinalizeBlockResponse, want ...abci.ValidatorUpdate) {
	t.Helper()
	if diff := cmp.Diff(res.ValidatorUpdates, want); diff != "" {
		t.Errorf("ValidatorUpdates (-got +want):\n%s", diff)
	}
}

// TestValidatorSetChanges walks the three changes on a chain of
// four validators: add a fifth, change a power, remove one; each takes
// effect once approvals hold more than two thirds of the power of the set
// as it then is.
func TestValidatorSetChanges(t *testing.T) {
	c := newValidatorChain(t, []int64{10, 10, 10, 10})
	v := validatorKey

	// Someone who is not a validator cannot propose: CheckTx keeps it
	// out of the mempool, and a block that holds it refuses it.
	stranger := key(9)
	raw := c.propose(stranger, add(4, 10), c.consent(v(4)))
	r := c.checkTx(raw)
	wantCode(t, "stranger's proposal at CheckTx", r.Code, r.Log, app.CodeNotValidator, accountID(stranger), "priv_validator_key.json")
	res := c.block(raw)
	wantCode(t, "stranger's proposal in a block", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeNotValidator)

	// (a) Validator 0 proposes adding validator 4: its own approval
	// counts, 10 of 40.
	res = c.mustOK(c.propose(v(0), add(4, 10), c.consent(v(4))))
	if got, want := res.TxResults[0].Log, fmt.Sprintf("proposed validator change 1: add validator %s with power 10; approvals hold 10 of 40 voting power, 27 needed, until block %d", vname(4), c.height+10_000); got != want {
		t.Errorf("log %q, want %q", got, want)
	}
	wantUpdates(t, res)
	res = c.block(c.approve(v(0), 1, add(4, 10)))
	wantCode(t, "approving twice", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeAlreadyApproved, vname(0), "proposal 1")
	res = c.block(c.approve(v(1), 1, add(4, 20)))
	wantCode(t, "approving another power", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeApprovalMismatch, "power 10", "power 20")
	res = c.block(c.approve(v(1), 99, add(4, 10)))
	wantCode(t, "approving no proposal", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeUnknownProposal, "99")
	res = c.mustOK(c.approve(v(1), 1, add(4, 10)))
	wantUpdates(t, res) // 20 of 40: not yet
	if p := c.proposal(1); p.Status != state.ProposalOpen || p.ApprovedPower != 20 || p.NeededPower != 27 {
		t.Errorf("proposal 1 after two approvals: %s, %d of %d needed", p.Status, p.ApprovedPower, p.NeededPower)
	}
	res = c.mustOK(c.approve(v(2), 1, add(4, 10)))
	wantUpdates(t, res, update(4, 10))
	decided := c.height
	p := c.proposal(1)
	if p.Status != state.ProposalApplied || p.Closed != decided || p.Effective != decided+2 {
		t.Errorf("proposal 1: status %s closed %d effective %d, want applied %d %d", p.Status, p.Closed, p.Effective, decided, decided+2)
	}
	if diff := cmp.Diff(c.powers(), map[int]int64{0: 10, 1: 10, 2: 10, 3: 10, 4: 10}); diff != "" {
		t.Errorf("set after (a) (-got +want):\n%s", diff)
	}
	res = c.block(c.approve(v(3), 1, add(4, 10)))
	wantCode(t, "approving an applied proposal", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeProposalClosed, fmt.Sprintf("applied in block %d", decided))

	// (b) The new validator proposes a power change; three more
	// approvals reach 40 of 50.
	c.mustOK(c.propose(v(4), setPower(1, 15), nil))
	c.mustOK(c.approve(v(0), 2, setPower(1, 15)), c.approve(v(1), 2, setPower(1, 15)))
	res = c.mustOK(c.approve(v(2), 2, setPower(1, 15)))
	wantUpdates(t, res, update(1, 15))
	decidedB := c.height

	// (c) Removing validator 3: 35 of 55 is not enough, 45 is.
	c.mustOK(c.propose(v(0), remove(3), nil))
	res = c.mustOK(c.approve(v(1), 3, remove(3)), c.approve(v(2), 3, remove(3)))
	wantUpdates(t, res)
	if p := c.proposal(3); p.ApprovedPower != 35 || p.NeededPower != 37 {
		t.Errorf("proposal 3: %d of %d needed, want 35 of 37", p.ApprovedPower, p.NeededPower)
	}
	res = c.mustOK(c.approve(v(4), 3, remove(3)))
	wantUpdates(t, res, update(3, 0))
	if diff := cmp.Diff(c.powers(), map[int]int64{0: 10, 1: 15, 2: 10, 4: 10}); diff != "" {
		t.Errorf("set after (c) (-got +want):\n%s", diff)
	}
	raw = c.propose(v(3), setPower(0, 20), nil)
	r = c.checkTx(raw)
	wantCode(t, "a removed validator proposing", r.Code, r.Log, app.CodeNotValidator)

	// The changes, by the height they take effect, for receipts.
	changes, err := c.app.Reader().ValidatorChanges(0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range changes {
		got = append(got, fmt.Sprintf("from %d: proposals %v, %d validators", ch.Height, ch.Proposals, len(ch.Set)))
	}
	want := []string{
		fmt.Sprintf("from %d: proposals [1], 5 validators", decided+2),
		fmt.Sprintf("from %d: proposals [2], 5 validators", decidedB+2),
		fmt.Sprintf("from %d: proposals [3], 4 validators", c.height+2),
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("changes (-got +want):\n%s", diff)
	}
	if few, err := c.app.Reader().ValidatorChanges(decided + 2); err != nil || len(few) != 1 {
		t.Errorf("changes up to %d: %d, %v; want the first", decided+2, len(few), err)
	}
	info, err := c.app.Reader().Validators()
	if err != nil || info.From != c.height+2 {
		t.Errorf("Validators: from %d, %v; want %d", info.From, err, c.height+2)
	}

	// The set and proposals are covered: audit recomputes the digest
	// with them, and they survive a restart.
	if r := c.audit(); len(r.Findings) != 0 {
		t.Errorf("audit findings: %v", r.Findings)
	}
	before := c.powers()
	c.reopen()
	if diff := cmp.Diff(c.powers(), before); diff != "" {
		t.Errorf("set after a restart (-got +want):\n%s", diff)
	}
	c.tamper([]byte("l/set"), func(v []byte) { v[len(v)-1] ^= 1 })
	if r := c.audit(); len(r.Findings) != 1 || !strings.Contains(r.Findings[0].String(), `record "l/set" differs`) {
		t.Errorf("audit of a changed validator set record: %v, want one finding naming l/set", r.Findings)
	}
}

func TestValidatorProposalRules(t *testing.T) {
	c := newValidatorChain(t, []int64{10, 10, 10, 10})
	v := validatorKey
	tests := []struct {
		name   string
		change tx.ValidatorChange
		signer ed25519.PrivateKey // of the consent
		want   app.Code
		hints  []string
	}{
		{"add a validator already in the set", add(1, 5), v(1), app.CodeValidatorExists, []string{vname(1), "power 10"}},
		{"add with the consent of another key", add(5, 5), v(6), app.CodeBadValidatorConsent, []string{vname(5), "iotledger validator consent"}},
		{"remove a key not in the set", remove(5), nil, app.CodeUnknownValidator, []string{vname(5), "validator list"}},
		{"set a power it has", setPower(2, 10), nil, app.CodeInvalidPower, []string{vname(2), "power 10 already"}},
	}
	for _, tt := range tests {
		var consent []byte
		if tt.signer != nil {
			consent = c.consent(tt.signer)
		}
		res := c.block(c.propose(v(0), tt.change, consent))
		wantCode(t, tt.name, res.TxResults[0].Code, res.TxResults[0].Log, tt.want, tt.hints...)
	}

	// One validator may keep at most MaxOpenProposals open.
	for i := range app.MaxOpenProposals {
		c.mustOK(c.propose(v(1), setPower(2, int64(20+i)), nil))
	}
	res := c.block(c.propose(v(1), setPower(3, 20), nil))
	wantCode(t, "a proposal too many", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeTooManyProposals, vname(1), "4 open proposals")
	c.mustOK(c.propose(v(2), setPower(3, 20), nil)) // another validator still can

	// Two approved in the same block: the first applies, the second
	// no longer makes sense and is dropped.
	c.mustOK(c.propose(v(0), remove(3), nil))
	// Proposals 1 to 4 set validator 2's power, 5 validator 3's, 6 removes 3.
	res = c.mustOK(c.approve(v(1), 6, remove(3)), c.approve(v(2), 6, remove(3)),
		c.approve(v(0), 5, setPower(3, 20)), c.approve(v(1), 5, setPower(3, 20)), c.approve(v(3), 5, setPower(3, 20)))
	// Number order: 5 (power 20 for validator 3) first, 40 of 40
	// approve; then 6: approvals 0, 1, 2 hold 30 of 50, not enough.
	wantUpdates(t, res, update(3, 20))
	res = c.mustOK(c.approve(v(3), 6, remove(3)))
	wantUpdates(t, res, update(3, 0))
	if p := c.proposal(6); p.Status != state.ProposalApplied {
		t.Errorf("proposal 6: %s", p.Status)
	}
	// Proposal 1 (validator 2 to power 20) now passes with 0, 1 and 2
	// and applies; proposal 2 (power 21) then counts validator 2's new
	// power, and applies after it.
	res = c.mustOK(c.approve(v(0), 1, setPower(2, 20)), c.approve(v(2), 1, setPower(2, 20)),
		c.approve(v(0), 2, setPower(2, 21)), c.approve(v(2), 2, setPower(2, 21)))
	wantUpdates(t, res, update(2, 21))
	if p1, p2 := c.proposal(1), c.proposal(2); p1.Status != state.ProposalApplied || p2.Status != state.ProposalApplied {
		t.Errorf("proposals 1, 2: %s, %s; want both applied", p1.Status, p2.Status)
	}
	// Removing validator 2 (7) and changing its power (8), approved in
	// the same block: 7 applies first, and 8 is dropped.
	c.mustOK(c.propose(v(0), remove(2), nil))
	c.mustOK(c.propose(v(1), setPower(2, 30), nil))
	res = c.mustOK(c.approve(v(1), 7, remove(2)), c.approve(v(2), 7, remove(2)),
		c.approve(v(0), 8, setPower(2, 30)), c.approve(v(2), 8, setPower(2, 30)))
	wantUpdates(t, res, update(2, 0))
	if p := c.proposal(8); p.Status != state.ProposalDropped || p.Closed != c.height {
		t.Errorf("proposal 8: %s at %d, want dropped at %d", p.Status, p.Closed, c.height)
	} else if want := vname(2) + " is not a validator"; !strings.Contains(p.Reason, want) {
		t.Errorf("proposal 8 dropped because %q, want it to say %q", p.Reason, want)
	}
	if diff := cmp.Diff(c.powers(), map[int]int64{0: 10, 1: 10}); diff != "" {
		t.Errorf("set (-got +want):\n%s", diff)
	}
	if r := c.audit(); len(r.Findings) != 0 {
		t.Errorf("audit findings: %v", r.Findings)
	}
}

func TestValidatorProposalExpires(t *testing.T) {
	c := newValidatorChain(t, []int64{10, 10, 10}, func(p *state.Params) { p.ValidatorProposalBlocks = 3 })
	v := validatorKey
	c.mustOK(c.propose(v(0), setPower(1, 5), nil))
	proposed := c.height
	c.mustOK(c.approve(v(1), 1, setPower(1, 5))) // 20 of 30: not enough
	c.mustOK()
	if p := c.proposal(1); p.Status != state.ProposalOpen || p.Expires != proposed+3 {
		t.Fatalf("proposal 1 at %d: %s, expires %d; want open until %d", c.height, p.Status, p.Expires, proposed+3)
	}
	c.mustOK() // block proposed+3: the last in which approvals count
	p := c.proposal(1)
	if p.Status != state.ProposalExpired || p.Closed != proposed+3 {
		t.Fatalf("proposal 1 at %d: %s closed %d; want expired at %d", c.height, p.Status, p.Closed, proposed+3)
	}
	res := c.block(c.approve(v(2), 1, setPower(1, 5)))
	wantCode(t, "approving an expired proposal", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeProposalClosed, "expired", "propose the change again")
	wantUpdates(t, res)
	if diff := cmp.Diff(c.powers(), map[int]int64{0: 10, 1: 10, 2: 10}); diff != "" {
		t.Errorf("set (-got +want):\n%s", diff)
	}
}

func TestValidatorSingleValidatorChain(t *testing.T) {
	c := newValidatorChain(t, []int64{10})
	v := validatorKey
	res := c.block(c.propose(v(0), remove(0), nil))
	wantCode(t, "removing the only validator", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeNoValidatorLeft, "leave none")
	// Its own approval is all the power: applied in the block that holds it.
	res = c.mustOK(c.propose(v(0), add(1, 10), c.consent(v(1))))
	wantUpdates(t, res, update(1, 10))
}

// TestValidatorGenesisForOldStores: a store whose meta predates the
// genesis validator set gets it from the node, and changes work.
func TestValidatorGenesisForOldStores(t *testing.T) {
	c := newChain(t) // InitChain without validators, as stores before recorded none
	c.mustOK()
	c.app.SetGenesisValidators([]state.Validator{{Key: pub(validatorKey(0)), Power: 10}, {Key: pub(validatorKey(1)), Power: 10}})
	c.mustOK(c.propose(validatorKey(1), add(2, 10), c.consent(validatorKey(2))))
	res := c.mustOK(c.approve(validatorKey(0), 1, add(2, 10)))
	wantUpdates(t, res, update(2, 10))
	c.reopen() // the meta record now holds the genesis set
	if diff := cmp.Diff(c.powers(), map[int]int64{0: 10, 1: 10, 2: 10}); diff != "" {
		t.Errorf("set (-got +want):\n%s", diff)
	}
}
