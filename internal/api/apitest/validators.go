package apitest

import (
	"context"

	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

var _ api.ValidatorLedger = (*Ledger)(nil)

// The fake's validator set is the fixture's four validators of power 10,
// the genesis set, and it has two proposals: 1, to add a fifth key (the
// first device's, for want of another) with power 10, approved by
// validators 0 and 1, open until block 1000; 2, to remove validator 3,
// expired at block 30.
func (l *Ledger) proposals() []*app.ProposalInfo {
	vals := l.Fixture.ValSet.Validators
	key := func(i int) []byte { return vals[i].PubKey.Bytes() }
	return []*app.ProposalInfo{{
		ValidatorProposal: &state.ValidatorProposal{ID: 1, Action: tx.ValidatorAdd, Key: l.DeviceList[0].Key, Power: 10,
			Height: 40, Expires: 1000, Status: state.ProposalOpen,
			Approvals: []state.Approval{{Key: key(0), Height: 40}, {Key: key(1), Height: 41}}},
		ApprovedPower: 20, TotalPower: 40, NeededPower: 27,
	}, {
		ValidatorProposal: &state.ValidatorProposal{ID: 2, Action: tx.ValidatorRemove, Key: key(3),
			Height: 20, Expires: 30, Status: state.ProposalExpired, Closed: 30,
			Approvals: []state.Approval{{Key: key(2), Height: 20}}},
		ApprovedPower: 10, TotalPower: 40, NeededPower: 27,
	}}
}

// ValidatorSet implements api.ValidatorLedger.
func (l *Ledger) ValidatorSet(ctx context.Context) (*api.ValidatorSet, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	set := &api.ValidatorSet{Height: l.status.Height, From: 1, Changes: []api.ValidatorSetChange{}}
	for _, v := range l.Fixture.ValSet.Validators {
		set.Validators = append(set.Validators, api.NewValidator(v.PubKey.Bytes(), v.VotingPower))
		set.TotalPower += v.VotingPower
	}
	return set, nil
}

// ValidatorProposals implements api.ValidatorLedger.
func (l *Ledger) ValidatorProposals(after uint64, limit int) ([]api.ValidatorProposal, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	var out []api.ValidatorProposal
	for _, p := range l.proposals() {
		if p.ID > after && len(out) < limit {
			out = append(out, api.NewValidatorProposal(p))
		}
	}
	return out, nil
}

// ValidatorProposal implements api.ValidatorLedger.
func (l *Ledger) ValidatorProposal(id uint64) (*api.ValidatorProposal, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	for _, p := range l.proposals() {
		if p.ID == id {
			out := api.NewValidatorProposal(p)
			return &out, nil
		}
	}
	return nil, nil
}
