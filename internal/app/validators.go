package app

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"sort"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/zip215"
	"github.com/iotledger/iotledger/tx"
)

// Validator set changes.
//
// The validators change their own set: a current validator proposes a
// change (add a key with a power, remove a key, set a key's power), signing
// with its consensus key, and the others approve it the same way. At the
// end of every block each open proposal, in number order, is counted
// against the set as it then is: when the validators that approved it and
// are still in the set hold more than two thirds of its voting power, the
// change is applied (if it still makes sense: a removed validator cannot be
// removed again) and returned to CometBFT in FinalizeBlock's
// ValidatorUpdates, which makes it the set that signs from block H+2.
// A proposal not approved within Params.ValidatorProposalBlocks blocks
// expires.
//
// The app keeps the set as it decided it (the set CometBFT will use once
// the latest change takes effect): the genesis set (Meta.Validators, from
// InitChain) until the first change, then the covered record l/set. Every
// change is recorded under g/<height it takes effect>, which the node reads
// to build a receipt's validator trace.

// MaxOpenProposals is how many open proposals one validator may have: a
// validator cannot crowd out the others' proposals.
const MaxOpenProposals = 4

// change returns the change a proposal names.
func change(p *state.ValidatorProposal) tx.ValidatorChange {
	return tx.ValidatorChange{Action: p.Action, Key: p.Key, Power: p.Power}
}

// describe names a change for a person: "add <hex key> with power 10".
func describe(c tx.ValidatorChange) string {
	switch c.Action {
	case tx.ValidatorAdd:
		return fmt.Sprintf("add validator %s with power %d", vname(c.Key), c.Power)
	case tx.ValidatorPower:
		return fmt.Sprintf("set the power of validator %s to %d", vname(c.Key), c.Power)
	}
	return fmt.Sprintf("remove validator %s", vname(c.Key))
}

// GenesisValidators converts InitChain's validators.
func GenesisValidators(updates []abci.ValidatorUpdate) ([]state.Validator, error) {
	out := make([]state.Validator, 0, len(updates))
	for i, u := range updates {
		if u.PubKeyType != cmted25519.KeyType || len(u.PubKeyBytes) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("app: genesis validator %d has a %s key of %d bytes; iotledger's validators hold Ed25519 keys", i, u.PubKeyType, len(u.PubKeyBytes))
		}
		out = append(out, state.Validator{Key: bytes.Clone(u.PubKeyBytes), Power: u.Power})
	}
	state.SortValidators(out)
	return out, nil
}

// SetGenesisValidators gives a store from before validator set changes,
// whose meta record lacks the genesis set that InitChain now records, that
// set (the node reads it from genesis.json). It does nothing otherwise.
func (a *App) SetGenesisValidators(vals []state.Validator) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.meta.Validators) == 0 && a.meta.Height > 0 {
		a.meta.Validators = append([]state.Validator(nil), vals...)
		state.SortValidators(a.meta.Validators)
	}
}

// checkChange applies the rules of a change to the set it would change.
// consent is the new key's consent for an add (checked when not nil).
func checkChange(chainID string, set []state.Validator, c tx.ValidatorChange, consent []byte) *failure {
	i := state.FindValidator(set, c.Key)
	switch c.Action {
	case tx.ValidatorAdd:
		if i >= 0 {
			return fail(CodeValidatorExists, "%s is a validator already (power %d); to change its power, propose --set-power", vname(c.Key), set[i].Power)
		}
		if consent != nil && !zip215.Verify(c.Key, tx.ValidatorConsentMessage(chainID, c.Key), consent) {
			return fail(CodeBadValidatorConsent, "the consent does not verify with the key of %s for chain %s: the new validator signs it with `iotledger validator consent` on its own home", vname(c.Key), chainID)
		}
		if state.TotalPower(set)+c.Power > types.MaxTotalVotingPower {
			return fail(CodeInvalidPower, "the set's total power would be %d, more than CometBFT's %d", state.TotalPower(set)+c.Power, int64(types.MaxTotalVotingPower))
		}
	case tx.ValidatorPower, tx.ValidatorRemove:
		if i < 0 {
			return fail(CodeUnknownValidator, "%s is not a validator; `iotledger validator list` shows the set", vname(c.Key))
		}
		if c.Action == tx.ValidatorRemove && len(set) == 1 {
			return fail(CodeNoValidatorLeft, "%s is the only validator: removing it would leave none, and the chain would stop; add another first", vname(c.Key))
		}
		if c.Action == tx.ValidatorPower && set[i].Power == c.Power {
			return fail(CodeInvalidPower, "%s has power %d already", vname(c.Key), c.Power)
		}
		if c.Action == tx.ValidatorPower && state.TotalPower(set)-set[i].Power+c.Power > types.MaxTotalVotingPower {
			return fail(CodeInvalidPower, "the set's total power would be more than CometBFT's %d", int64(types.MaxTotalVotingPower))
		}
	}
	return nil
}

// apply returns set with c applied; checkChange passed.
func apply(set []state.Validator, c tx.ValidatorChange) []state.Validator {
	out := append([]state.Validator(nil), set...)
	i := state.FindValidator(out, c.Key)
	switch c.Action {
	case tx.ValidatorAdd:
		out = append(out, state.Validator{Key: bytes.Clone(c.Key), Power: c.Power})
		state.SortValidators(out)
	case tx.ValidatorPower:
		out[i].Power = c.Power
	case tx.ValidatorRemove:
		out = append(out[:i], out[i+1:]...)
	}
	return out
}

// notValidator refuses a transaction of a key that is not in the set.
func notValidator(s *tx.Signed) *failure {
	return fail(CodeNotValidator, "the signer %s (account %s) is not a validator: changes of the validator set are proposed and approved by the current validators, each signing with its consensus key (the home's config/priv_validator_key.json)", vname(s.Signer), s.Account)
}

// checkValidatorTx applies, at CheckTx, the rule that only validators
// propose and approve, so that others' attempts do not reach a block.
func (a *App) checkValidatorTx(kv *query.Committed, m state.Meta, s *tx.Signed) *failure {
	if s.Type != tx.TypeProposeValidator && s.Type != tx.TypeApproveValidator {
		return nil
	}
	set, err := state.GetValidators(kv, m)
	if err != nil {
		return fail(CodeMalformedTx, "%v", err)
	}
	if state.FindValidator(set, s.Signer) < 0 {
		return notValidator(s)
	}
	return nil
}

func (x *execution) proposeValidator(s *tx.Signed, f *tx.ProposeValidator) (*failure, error) {
	set, err := state.GetValidators(x.stage, x.meta)
	if err != nil {
		return nil, err
	}
	if state.FindValidator(set, s.Signer) < 0 {
		return notValidator(s), nil
	}
	consent := f.Consent
	if f.Action != tx.ValidatorAdd {
		consent = nil
	}
	if fl := checkChange(x.meta.ChainID, set, f.ValidatorChange, consent); fl != nil {
		return fl, nil
	}
	open, err := state.GetOpenProposals(x.stage)
	if err != nil {
		return nil, err
	}
	mine := 0
	for _, id := range open {
		p, err := state.GetProposal(x.stage, id)
		if err != nil {
			return nil, err
		}
		if p != nil && len(p.Approvals) > 0 && bytes.Equal(p.Approvals[0].Key, s.Signer) {
			mine++
		}
	}
	if mine >= MaxOpenProposals {
		return fail(CodeTooManyProposals, "validator %s has %d open proposals, at most %d; wait until they are approved or expire", vname(s.Signer), mine, MaxOpenProposals), nil
	}
	x.meta.Proposals++
	p := &state.ValidatorProposal{
		ID: x.meta.Proposals, Action: f.Action, Key: f.Key, Power: f.Power,
		Height: x.height, Expires: x.height + x.meta.Params.ProposalBlocks(),
		Approvals: []state.Approval{{Key: s.Signer, Height: x.height}}, Status: state.ProposalOpen,
	}
	x.stage.Set(state.ProposalKey(p.ID), mustEncode(p))
	x.stage.Set([]byte(state.KeyOpenProposals), mustEncode(append(open, p.ID)))
	x.okLog = fmt.Sprintf("proposed validator change %d: %s; %s", p.ID, describe(change(p)), tally(set, p, x.height))
	return nil, nil
}

func (x *execution) approveValidator(s *tx.Signed, f *tx.ApproveValidator) (*failure, error) {
	set, err := state.GetValidators(x.stage, x.meta)
	if err != nil {
		return nil, err
	}
	if state.FindValidator(set, s.Signer) < 0 {
		return notValidator(s), nil
	}
	p, err := state.GetProposal(x.stage, f.Proposal)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return fail(CodeUnknownProposal, "there is no validator change proposal %d; `iotledger validator proposals` lists them", f.Proposal), nil
	}
	switch p.Status {
	case state.ProposalApplied:
		return fail(CodeProposalClosed, "proposal %d was applied in block %d (the new set signs from block %d)", p.ID, p.Closed, p.Effective), nil
	case state.ProposalExpired:
		return fail(CodeProposalClosed, "proposal %d expired at block %d; propose the change again", p.ID, p.Closed), nil
	case state.ProposalDropped:
		return fail(CodeProposalClosed, "proposal %d was dropped at block %d: %s", p.ID, p.Closed, p.Reason), nil
	}
	if c := change(p); c.Action != f.Action || !bytes.Equal(c.Key, f.Key) || c.Power != f.Power {
		return fail(CodeApprovalMismatch, "proposal %d is to %s, but the approval is to %s; approve what the proposal says", p.ID, describe(c), describe(f.ValidatorChange)), nil
	}
	for _, a := range p.Approvals {
		if bytes.Equal(a.Key, s.Signer) {
			return fail(CodeAlreadyApproved, "validator %s approved proposal %d already, in block %d", vname(s.Signer), p.ID, a.Height), nil
		}
	}
	p.Approvals = append(p.Approvals, state.Approval{Key: s.Signer, Height: x.height})
	x.stage.Set(state.ProposalKey(p.ID), mustEncode(p))
	x.okLog = fmt.Sprintf("approved validator change %d: %s; %s", p.ID, describe(change(p)), tally(set, p, x.height))
	return nil, nil
}

// tally says how far a proposal's approvals are, for a transaction's log.
func tally(set []state.Validator, p *state.ValidatorProposal, h int64) string {
	got, total := state.ApprovedPower(set, p), state.TotalPower(set)
	if got >= state.NeededPower(total) {
		return fmt.Sprintf("approvals hold %d of %d voting power (more than two thirds): applied at the end of block %d, the new set signs from block %d", got, total, h, h+2)
	}
	return fmt.Sprintf("approvals hold %d of %d voting power, %d needed, until block %d", got, total, state.NeededPower(total), p.Expires)
}

// endValidators closes the block's business with proposals: each open
// one, in number order, is applied if approved, expired if its time is up,
// or kept. It returns the updates of the set for CometBFT: every key whose
// power differs from the block's start, 0 for a removed one.
func (x *execution) endValidators() ([]abci.ValidatorUpdate, error) {
	open, err := state.GetOpenProposals(x.stage)
	if err != nil || len(open) == 0 {
		return nil, err
	}
	before, err := state.GetValidators(x.stage, x.meta)
	if err != nil {
		return nil, err
	}
	set := before
	var still, applied []uint64
	for _, id := range open {
		p, err := state.GetProposal(x.stage, id)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, fmt.Errorf("app: open proposal %d has no record", id)
		}
		switch {
		case state.ApprovedPower(set, p) >= state.NeededPower(state.TotalPower(set)):
			if fl := checkChange(x.meta.ChainID, set, change(p), nil); fl != nil {
				p.Status, p.Reason = state.ProposalDropped, fl.msg
			} else {
				set = apply(set, change(p))
				p.Status, p.Effective = state.ProposalApplied, x.height+2
				applied = append(applied, p.ID)
			}
		case x.height >= p.Expires:
			p.Status = state.ProposalExpired
		default:
			still = append(still, id)
			continue
		}
		p.Closed = x.height
		x.stage.Set(state.ProposalKey(p.ID), mustEncode(p))
	}
	if len(still) < len(open) {
		// An empty list rather than a deletion: covered records are
		// never deleted (audit replays their writes).
		x.stage.Set([]byte(state.KeyOpenProposals), mustEncode(append([]uint64{}, still...)))
	}
	if len(applied) == 0 {
		return nil, nil
	}
	var updates []abci.ValidatorUpdate
	for _, v := range set { // changed and added
		if i := state.FindValidator(before, v.Key); i < 0 || before[i].Power != v.Power {
			updates = append(updates, abci.ValidatorUpdate{Power: v.Power, PubKeyType: cmted25519.KeyType, PubKeyBytes: bytes.Clone(v.Key)})
		}
	}
	for _, v := range before { // removed
		if state.FindValidator(set, v.Key) < 0 {
			updates = append(updates, abci.ValidatorUpdate{Power: 0, PubKeyType: cmted25519.KeyType, PubKeyBytes: bytes.Clone(v.Key)})
		}
	}
	if len(updates) == 0 {
		return nil, nil // the changes undid each other: CometBFT's set stays
	}
	sort.Slice(updates, func(i, j int) bool { return bytes.Compare(updates[i].PubKeyBytes, updates[j].PubKeyBytes) < 0 })
	x.stage.Set([]byte(state.KeyValidatorSet), mustEncode(set))
	x.stage.Set(state.ValidatorSetKey(x.height+2), mustEncode(&state.ValidatorSetChange{Height: x.height + 2, Proposals: applied, Set: set}))
	return updates, nil
}

// ValidatorAccount is the account a validator's consensus key signs
// transactions as.
func ValidatorAccount(key []byte) string { return address.Account(key) }

// vname names a validator for a person: its CometBFT address, as
// CometBFT's logs, RPC and `iotledger validator list` show it.
func vname(key []byte) string {
	if len(key) != ed25519.PublicKeySize {
		return fmt.Sprintf("%X", key)
	}
	return strings.ToUpper(fmt.Sprintf("%x", []byte(cmted25519.PubKey(key).Address())))
}
