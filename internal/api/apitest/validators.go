package apitest

import (
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

var _ api.ValidatorReader = (*Ledger)(nil)

// The fake's validator set is the fixture's four validators of power 10,
// the genesis set, and it has two proposals: 1, to add a fifth key (the
// first device's, for want of another) with power 10, approved by
// validators 0 and 1, open until block 1000; 2, to remove validator 3,
// expired at block 30.
func (l *Ledger) proposals() []*query.ProposalInfo {
	vals := l.Fixture.ValSet.Validators
	key := func(i int) []byte { return vals[i].PubKey.Bytes() }
	return []*query.ProposalInfo{{
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

// Validators implements api.ValidatorReader.
func (l *Ledger) Validators() (*query.ValidatorSetInfo, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	set := &query.ValidatorSetInfo{Height: l.status.Height, From: 1}
	for _, v := range l.Fixture.ValSet.Validators {
		set.Validators = append(set.Validators, state.Validator{Key: v.PubKey.Bytes(), Power: v.VotingPower})
	}
	return set, nil
}

// ValidatorProposals implements api.ValidatorReader.
func (l *Ledger) ValidatorProposals(after uint64, limit int) ([]*query.ProposalInfo, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	var out []*query.ProposalInfo
	for _, p := range l.proposals() {
		if p.ID > after && len(out) < limit {
			out = append(out, p)
		}
	}
	return out, nil
}

// ValidatorProposal implements api.ValidatorReader.
func (l *Ledger) ValidatorProposal(id uint64) (*query.ProposalInfo, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	for _, p := range l.proposals() {
		if p.ID == id {
			return p, nil
		}
	}
	return nil, nil
}
