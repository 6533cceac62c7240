package query

import (
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/state"
)

// ValidatorSetInfo is the validator set as the app decided it: the set
// CometBFT uses from block From on, and the changes that led to it.
type ValidatorSetInfo struct {
	Height     int64                       // the latest committed block
	From       int64                       // 1 for the genesis set
	Validators []state.Validator           // by key
	Changes    []*state.ValidatorSetChange // oldest first
}

// Validators returns the set after the latest change (committed), the
// first block it signs, and the changes so far.
func (r *Reader) Validators() (*ValidatorSetInfo, error) {
	m := r.meta()
	set, err := state.GetValidators(r.c, m)
	if err != nil {
		return nil, err
	}
	changes, err := r.ValidatorChanges(0)
	if err != nil {
		return nil, err
	}
	info := &ValidatorSetInfo{Height: m.Height, From: 1, Validators: set, Changes: changes}
	if len(changes) > 0 {
		info.From = changes[len(changes)-1].Height
	}
	return info, nil
}

// ValidatorChanges returns the changes of the set that take effect at a
// height up to upTo (0: all), in height order.
func (r *Reader) ValidatorChanges(upTo int64) ([]*state.ValidatorSetChange, error) {
	upper := state.PrefixEnd(state.PrefixValidatorSets)
	if upTo > 0 {
		upper = state.ValidatorSetKey(upTo + 1)
	}
	it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: []byte(state.PrefixValidatorSets), UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*state.ValidatorSetChange
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		c := new(state.ValidatorSetChange)
		if err := dcbor.DecMode.Unmarshal(v, c); err != nil {
			return nil, fmt.Errorf("%w: validator set change %x: %v", state.ErrCorrupt, it.Key(), err)
		}
		out = append(out, c)
	}
	return out, it.Error()
}

// ProposalInfo is a proposal with its tally against the current set.
type ProposalInfo struct {
	*state.ValidatorProposal
	ApprovedPower int64 // held by approvers still in the set
	TotalPower    int64 // of the set
	NeededPower   int64 // more than two thirds of TotalPower
}

// ValidatorProposal returns a proposal and its tally, or nil if there is none.
func (r *Reader) ValidatorProposal(id uint64) (*ProposalInfo, error) {
	p, err := state.GetProposal(r.c, id)
	if err != nil || p == nil {
		return nil, err
	}
	set, err := state.GetValidators(r.c, r.meta())
	if err != nil {
		return nil, err
	}
	return proposalInfo(set, p), nil
}

func proposalInfo(set []state.Validator, p *state.ValidatorProposal) *ProposalInfo {
	total := state.TotalPower(set)
	return &ProposalInfo{ValidatorProposal: p, ApprovedPower: state.ApprovedPower(set, p), TotalPower: total, NeededPower: state.NeededPower(total)}
}

// ValidatorProposals returns up to limit proposals in number order, after
// the after-th.
func (r *Reader) ValidatorProposals(after uint64, limit int) ([]*ProposalInfo, error) {
	set, err := state.GetValidators(r.c, r.meta())
	if err != nil {
		return nil, err
	}
	if after == math.MaxUint64 {
		return nil, nil
	}
	it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: state.ProposalKey(after + 1), UpperBound: state.PrefixEnd(state.PrefixProposal)})
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
		p := new(state.ValidatorProposal)
		if err := dcbor.DecMode.Unmarshal(v, p); err != nil {
			return nil, fmt.Errorf("%w: proposal %x: %v", state.ErrCorrupt, it.Key(), err)
		}
		out = append(out, proposalInfo(set, p))
	}
	return out, it.Error()
}
