package app

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/zip215"
	"github.com/iotledger/iotledger/reading"
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

// Store keys of the validator set and its proposals. All are covered by the
// state digest.
const (
	keyValidatorSet     = "l/set"  // []Validator: the set after the latest change, by key
	keyOpenProposals    = "l/open" // []uint64: the open proposals, in number order
	prefixValidators    = "l/"
	prefixProposal      = "o/" // o/<be64 number>: ValidatorProposal
	prefixValidatorSets = "g/" // g/<be64 height>: ValidatorSetChange, by the first height it signs
)

// MaxOpenProposals is how many open proposals one validator may have: a
// validator cannot crowd out the others' proposals.
const MaxOpenProposals = 4

// Statuses of a ValidatorProposal.
const (
	ProposalOpen    = "open"
	ProposalApplied = "applied"
	ProposalExpired = "expired"
	ProposalDropped = "dropped" // approved, but the change no longer applied to the set
)

// Validator is a member of the validator set: its Ed25519 consensus public
// key and its voting power.
type Validator struct {
	Key   []byte `cbor:"1,keyasint" json:"key"`
	Power int64  `cbor:"2,keyasint" json:"power"`
}

// Approval is one validator's approval of a proposal.
type Approval struct {
	Key    []byte `cbor:"1,keyasint" json:"key"`
	Height int64  `cbor:"2,keyasint" json:"height"`
}

// ValidatorProposal is a proposed change of the validator set and its
// approvals. The proposer's is the first.
type ValidatorProposal struct {
	ID        uint64     `cbor:"1,keyasint" json:"id"`
	Action    string     `cbor:"2,keyasint" json:"action"` // tx.ValidatorAdd, ValidatorRemove or ValidatorPower
	Key       []byte     `cbor:"3,keyasint" json:"key"`
	Power     int64      `cbor:"4,keyasint,omitempty" json:"power,omitempty"`
	Height    int64      `cbor:"5,keyasint" json:"height"`         // the block that holds the proposal
	Expires   int64      `cbor:"6,keyasint" json:"expires_height"` // the last block whose approvals count
	Approvals []Approval `cbor:"7,keyasint" json:"approvals"`
	Status    string     `cbor:"8,keyasint" json:"status"`
	Closed    int64      `cbor:"9,keyasint,omitempty" json:"closed_height,omitempty"`     // applied, expired or dropped at the end of this block
	Effective int64      `cbor:"10,keyasint,omitempty" json:"effective_height,omitempty"` // applied: the first block the new set signs
	Reason    string     `cbor:"11,keyasint,omitempty" json:"reason,omitempty"`           // dropped: why
}

// Change returns the change the proposal names.
func (p *ValidatorProposal) Change() tx.ValidatorChange {
	return tx.ValidatorChange{Action: p.Action, Key: p.Key, Power: p.Power}
}

// ValidatorSetChange is a change of the set as CometBFT applies it: from
// block Height on, Set signs. It was decided at the end of block Height-2
// by the approval of Proposals.
type ValidatorSetChange struct {
	Height    int64       `cbor:"1,keyasint" json:"height"`
	Proposals []uint64    `cbor:"2,keyasint" json:"proposals"`
	Set       []Validator `cbor:"3,keyasint" json:"set"`
}

// ProposalKey and ValidatorSetKey are the store keys of a proposal and of
// the change that takes effect at height h.
func ProposalKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixProposal), id)
}

func ValidatorSetKey(h int64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixValidatorSets), uint64(h))
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
func GenesisValidators(updates []abci.ValidatorUpdate) ([]Validator, error) {
	out := make([]Validator, 0, len(updates))
	for i, u := range updates {
		if u.PubKeyType != cmted25519.KeyType || len(u.PubKeyBytes) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("app: genesis validator %d has a %s key of %d bytes; iotledger's validators hold Ed25519 keys", i, u.PubKeyType, len(u.PubKeyBytes))
		}
		out = append(out, Validator{Key: bytes.Clone(u.PubKeyBytes), Power: u.Power})
	}
	sortValidators(out)
	return out, nil
}

// SetGenesisValidators gives a store from before validator set changes,
// whose meta record lacks the genesis set that InitChain now records, that
// set (the node reads it from genesis.json). It does nothing otherwise.
func (a *App) SetGenesisValidators(vals []Validator) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.meta.Validators) == 0 && a.meta.Height > 0 {
		a.meta.Validators = append([]Validator(nil), vals...)
		sortValidators(a.meta.Validators)
	}
}

func sortValidators(vs []Validator) {
	sort.Slice(vs, func(i, j int) bool { return bytes.Compare(vs[i].Key, vs[j].Key) < 0 })
}

func find(set []Validator, key []byte) int {
	i := sort.Search(len(set), func(i int) bool { return bytes.Compare(set[i].Key, key) >= 0 })
	if i < len(set) && bytes.Equal(set[i].Key, key) {
		return i
	}
	return -1
}

func totalPower(set []Validator) int64 {
	var t int64
	for _, v := range set {
		t += v.Power
	}
	return t
}

// needed is the least voting power that is more than two thirds of total.
func needed(total int64) int64 { return total*2/3 + 1 }

// approvedPower is the power the approvers of p hold in set.
func approvedPower(set []Validator, p *ValidatorProposal) int64 {
	var power int64
	for _, a := range p.Approvals {
		if i := find(set, a.Key); i >= 0 {
			power += set[i].Power
		}
	}
	return power
}

// validatorSet reads the set after the latest change from kv, or the
// genesis set.
func validatorSet(kv interface{ Get([]byte) ([]byte, error) }, m Meta) ([]Validator, error) {
	b, err := kv.Get([]byte(keyValidatorSet))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return append([]Validator(nil), m.Validators...), nil
	}
	var set []Validator
	if err := dcbor.DecMode.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("app: corrupt validator set record: %w", err)
	}
	return set, nil
}

func getProposal(kv interface{ Get([]byte) ([]byte, error) }, id uint64) (*ValidatorProposal, error) {
	b, err := kv.Get(ProposalKey(id))
	if err != nil || b == nil {
		return nil, err
	}
	p := new(ValidatorProposal)
	if err := dcbor.DecMode.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("app: corrupt proposal record %d: %w", id, err)
	}
	return p, nil
}

func openProposals(kv interface{ Get([]byte) ([]byte, error) }) ([]uint64, error) {
	b, err := kv.Get([]byte(keyOpenProposals))
	if err != nil || b == nil {
		return nil, err
	}
	var ids []uint64
	if err := dcbor.DecMode.Unmarshal(b, &ids); err != nil {
		return nil, fmt.Errorf("app: corrupt open proposals record: %w", err)
	}
	return ids, nil
}

// checkChange applies the rules of a change to the set it would change.
// consent is the new key's consent for an add (checked when not nil).
func checkChange(chainID string, set []Validator, c tx.ValidatorChange, consent []byte) *failure {
	i := find(set, c.Key)
	switch c.Action {
	case tx.ValidatorAdd:
		if i >= 0 {
			return fail(CodeValidatorExists, "%s is a validator already (power %d); to change its power, propose --set-power", vname(c.Key), set[i].Power)
		}
		if consent != nil && !zip215.Verify(c.Key, tx.ValidatorConsentMessage(chainID, c.Key), consent) {
			return fail(CodeBadValidatorConsent, "the consent does not verify with the key of %s for chain %s: the new validator signs it with `iotledger validator consent` on its own home", vname(c.Key), chainID)
		}
		if totalPower(set)+c.Power > types.MaxTotalVotingPower {
			return fail(CodeInvalidPower, "the set's total power would be %d, more than CometBFT's %d", totalPower(set)+c.Power, int64(types.MaxTotalVotingPower))
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
		if c.Action == tx.ValidatorPower && totalPower(set)-set[i].Power+c.Power > types.MaxTotalVotingPower {
			return fail(CodeInvalidPower, "the set's total power would be more than CometBFT's %d", int64(types.MaxTotalVotingPower))
		}
	}
	return nil
}

// apply returns set with c applied; checkChange passed.
func apply(set []Validator, c tx.ValidatorChange) []Validator {
	out := append([]Validator(nil), set...)
	i := find(out, c.Key)
	switch c.Action {
	case tx.ValidatorAdd:
		out = append(out, Validator{Key: bytes.Clone(c.Key), Power: c.Power})
		sortValidators(out)
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
func (a *App) checkValidatorTx(kv *committed, m Meta, s *tx.Signed) *failure {
	if s.Type != tx.TypeProposeValidator && s.Type != tx.TypeApproveValidator {
		return nil
	}
	set, err := validatorSet(kv, m)
	if err != nil {
		return fail(CodeMalformedTx, "%v", err)
	}
	if find(set, s.Signer) < 0 {
		return notValidator(s)
	}
	return nil
}

func (x *execution) proposeValidator(s *tx.Signed, f *tx.ProposeValidator) (*failure, error) {
	set, err := validatorSet(x.stage, x.meta)
	if err != nil {
		return nil, err
	}
	if find(set, s.Signer) < 0 {
		return notValidator(s), nil
	}
	consent := f.Consent
	if f.Action != tx.ValidatorAdd {
		consent = nil
	}
	if fl := checkChange(x.meta.ChainID, set, f.ValidatorChange, consent); fl != nil {
		return fl, nil
	}
	open, err := openProposals(x.stage)
	if err != nil {
		return nil, err
	}
	mine := 0
	for _, id := range open {
		p, err := getProposal(x.stage, id)
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
	p := &ValidatorProposal{
		ID: x.meta.Proposals, Action: f.Action, Key: f.Key, Power: f.Power,
		Height: x.height, Expires: x.height + x.meta.Params.proposalBlocks(),
		Approvals: []Approval{{Key: s.Signer, Height: x.height}}, Status: ProposalOpen,
	}
	x.stage.Set(ProposalKey(p.ID), mustEncode(p))
	x.stage.Set([]byte(keyOpenProposals), mustEncode(append(open, p.ID)))
	x.okLog = fmt.Sprintf("proposed validator change %d: %s; %s", p.ID, describe(p.Change()), tally(set, p, x.height))
	return nil, nil
}

func (x *execution) approveValidator(s *tx.Signed, f *tx.ApproveValidator) (*failure, error) {
	set, err := validatorSet(x.stage, x.meta)
	if err != nil {
		return nil, err
	}
	if find(set, s.Signer) < 0 {
		return notValidator(s), nil
	}
	p, err := getProposal(x.stage, f.Proposal)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return fail(CodeUnknownProposal, "there is no validator change proposal %d; `iotledger validator proposals` lists them", f.Proposal), nil
	}
	switch p.Status {
	case ProposalApplied:
		return fail(CodeProposalClosed, "proposal %d was applied in block %d (the new set signs from block %d)", p.ID, p.Closed, p.Effective), nil
	case ProposalExpired:
		return fail(CodeProposalClosed, "proposal %d expired at block %d; propose the change again", p.ID, p.Closed), nil
	case ProposalDropped:
		return fail(CodeProposalClosed, "proposal %d was dropped at block %d: %s", p.ID, p.Closed, p.Reason), nil
	}
	if c := p.Change(); c.Action != f.Action || !bytes.Equal(c.Key, f.Key) || c.Power != f.Power {
		return fail(CodeApprovalMismatch, "proposal %d is to %s, but the approval is to %s; approve what the proposal says", p.ID, describe(c), describe(f.ValidatorChange)), nil
	}
	for _, a := range p.Approvals {
		if bytes.Equal(a.Key, s.Signer) {
			return fail(CodeAlreadyApproved, "validator %s approved proposal %d already, in block %d", vname(s.Signer), p.ID, a.Height), nil
		}
	}
	p.Approvals = append(p.Approvals, Approval{Key: s.Signer, Height: x.height})
	x.stage.Set(ProposalKey(p.ID), mustEncode(p))
	x.okLog = fmt.Sprintf("approved validator change %d: %s; %s", p.ID, describe(p.Change()), tally(set, p, x.height))
	return nil, nil
}

// tally says how far a proposal's approvals are, for a transaction's log.
func tally(set []Validator, p *ValidatorProposal, h int64) string {
	got, total := approvedPower(set, p), totalPower(set)
	if got >= needed(total) {
		return fmt.Sprintf("approvals hold %d of %d voting power (more than two thirds): applied at the end of block %d, the new set signs from block %d", got, total, h, h+2)
	}
	return fmt.Sprintf("approvals hold %d of %d voting power, %d needed, until block %d", got, total, needed(total), p.Expires)
}

// endValidators closes the block's business with proposals: each open
// one, in number order, is applied if approved, expired if its time is up,
// or kept. It returns the updates of the set for CometBFT: every key whose
// power differs from the block's start, 0 for a removed one.
func (x *execution) endValidators() ([]abci.ValidatorUpdate, error) {
	open, err := openProposals(x.stage)
	if err != nil || len(open) == 0 {
		return nil, err
	}
	before, err := validatorSet(x.stage, x.meta)
	if err != nil {
		return nil, err
	}
	set := before
	var still, applied []uint64
	for _, id := range open {
		p, err := getProposal(x.stage, id)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, fmt.Errorf("app: open proposal %d has no record", id)
		}
		switch {
		case approvedPower(set, p) >= needed(totalPower(set)):
			if fl := checkChange(x.meta.ChainID, set, p.Change(), nil); fl != nil {
				p.Status, p.Reason = ProposalDropped, fl.msg
			} else {
				set = apply(set, p.Change())
				p.Status, p.Effective = ProposalApplied, x.height+2
				applied = append(applied, p.ID)
			}
		case x.height >= p.Expires:
			p.Status = ProposalExpired
		default:
			still = append(still, id)
			continue
		}
		p.Closed = x.height
		x.stage.Set(ProposalKey(p.ID), mustEncode(p))
	}
	if len(still) < len(open) {
		// An empty list rather than a deletion: covered records are
		// never deleted (audit replays their writes).
		x.stage.Set([]byte(keyOpenProposals), mustEncode(append([]uint64{}, still...)))
	}
	if len(applied) == 0 {
		return nil, nil
	}
	var updates []abci.ValidatorUpdate
	for _, v := range set { // changed and added
		if i := find(before, v.Key); i < 0 || before[i].Power != v.Power {
			updates = append(updates, abci.ValidatorUpdate{Power: v.Power, PubKeyType: cmted25519.KeyType, PubKeyBytes: bytes.Clone(v.Key)})
		}
	}
	for _, v := range before { // removed
		if find(set, v.Key) < 0 {
			updates = append(updates, abci.ValidatorUpdate{Power: 0, PubKeyType: cmted25519.KeyType, PubKeyBytes: bytes.Clone(v.Key)})
		}
	}
	if len(updates) == 0 {
		return nil, nil // the changes undid each other: CometBFT's set stays
	}
	sort.Slice(updates, func(i, j int) bool { return bytes.Compare(updates[i].PubKeyBytes, updates[j].PubKeyBytes) < 0 })
	x.stage.Set([]byte(keyValidatorSet), mustEncode(set))
	x.stage.Set(ValidatorSetKey(x.height+2), mustEncode(&ValidatorSetChange{Height: x.height + 2, Proposals: applied, Set: set}))
	return updates, nil
}

// Queries.

// ValidatorSetInfo is the validator set as the app decided it: the set
// CometBFT uses from block From on.
type ValidatorSetInfo struct {
	From       int64       // 1 for the genesis set
	Validators []Validator // by key
}

// Validators returns the set after the latest change (committed), and the
// first block it signs.
func (a *App) Validators() (*ValidatorSetInfo, error) {
	m := a.Meta()
	set, err := validatorSet(a.committed(), m)
	if err != nil {
		return nil, err
	}
	info := &ValidatorSetInfo{From: 1, Validators: set}
	changes, err := a.ValidatorChanges(0)
	if err != nil {
		return nil, err
	}
	if len(changes) > 0 {
		info.From = changes[len(changes)-1].Height
	}
	return info, nil
}

// ValidatorChanges returns the changes of the set that take effect at a
// height up to upTo (0: all), in height order.
func (a *App) ValidatorChanges(upTo int64) ([]*ValidatorSetChange, error) {
	upper := prefixEnd(prefixValidatorSets)
	if upTo > 0 {
		upper = ValidatorSetKey(upTo + 1)
	}
	it, err := a.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixValidatorSets), UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*ValidatorSetChange
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		c := new(ValidatorSetChange)
		if err := reading.DecMode.Unmarshal(v, c); err != nil {
			return nil, fmt.Errorf("app: corrupt validator set change %x: %w", it.Key(), err)
		}
		out = append(out, c)
	}
	return out, it.Error()
}

// ProposalInfo is a proposal with its tally against the current set.
type ProposalInfo struct {
	*ValidatorProposal
	ApprovedPower int64 // held by approvers still in the set
	TotalPower    int64 // of the set
	NeededPower   int64 // more than two thirds of TotalPower
}

// ValidatorProposal returns a proposal and its tally, or nil if there is none.
func (a *App) ValidatorProposal(id uint64) (*ProposalInfo, error) {
	kv := a.committed()
	p, err := getProposal(kv, id)
	if err != nil || p == nil {
		return nil, err
	}
	set, err := validatorSet(kv, a.Meta())
	if err != nil {
		return nil, err
	}
	return proposalInfo(set, p), nil
}

func proposalInfo(set []Validator, p *ValidatorProposal) *ProposalInfo {
	total := totalPower(set)
	return &ProposalInfo{ValidatorProposal: p, ApprovedPower: approvedPower(set, p), TotalPower: total, NeededPower: needed(total)}
}

// ValidatorProposals returns up to limit proposals in number order, after
// the after-th.
func (a *App) ValidatorProposals(after uint64, limit int) ([]*ProposalInfo, error) {
	kv := a.committed()
	set, err := validatorSet(kv, a.Meta())
	if err != nil {
		return nil, err
	}
	if after == math.MaxUint64 {
		return nil, nil
	}
	it, err := a.db.NewIter(&pebble.IterOptions{LowerBound: ProposalKey(after + 1), UpperBound: prefixEnd(prefixProposal)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*ProposalInfo
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		p := new(ValidatorProposal)
		if err := reading.DecMode.Unmarshal(v, p); err != nil {
			return nil, fmt.Errorf("app: corrupt proposal record %x: %w", it.Key(), err)
		}
		out = append(out, proposalInfo(set, p))
	}
	return out, it.Error()
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
