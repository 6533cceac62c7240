package state

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// The validator set is the genesis set (Meta.Validators) until its first
// change, then the record l/set; proposals are o/<number>, the open ones
// listed in l/open; every applied change is g/<the height it takes
// effect>. Sets are sorted by key.

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
	Key   []byte `cbor:"1,keyasint"`
	Power int64  `cbor:"2,keyasint"`
}

// Approval is one validator's approval of a proposal.
type Approval struct {
	Key    []byte `cbor:"1,keyasint"`
	Height int64  `cbor:"2,keyasint"`
}

// ValidatorProposal is a proposed change of the validator set and its
// approvals. The proposer's is the first.
type ValidatorProposal struct {
	ID        uint64     `cbor:"1,keyasint"`
	Action    string     `cbor:"2,keyasint"` // tx.ValidatorAdd, ValidatorRemove or ValidatorPower
	Key       []byte     `cbor:"3,keyasint"`
	Power     int64      `cbor:"4,keyasint,omitempty"`
	Height    int64      `cbor:"5,keyasint"` // the block that holds the proposal
	Expires   int64      `cbor:"6,keyasint"` // the last block whose approvals count
	Approvals []Approval `cbor:"7,keyasint"`
	Status    string     `cbor:"8,keyasint"`
	Closed    int64      `cbor:"9,keyasint,omitempty"`  // applied, expired or dropped at the end of this block
	Effective int64      `cbor:"10,keyasint,omitempty"` // applied: the first block the new set signs
	Reason    string     `cbor:"11,keyasint,omitempty"` // dropped: why
}

// ValidatorSetChange is a change of the set as CometBFT applies it: from
// block Height on, Set signs. It was decided at the end of block Height-2
// by the approval of Proposals.
type ValidatorSetChange struct {
	Height    int64       `cbor:"1,keyasint"`
	Proposals []uint64    `cbor:"2,keyasint"`
	Set       []Validator `cbor:"3,keyasint"`
}

// GetValidators returns the set after the latest change, or the genesis
// set of m.
func GetValidators(kv KV, m Meta) ([]Validator, error) {
	b, err := kv.Get([]byte(KeyValidatorSet))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return append([]Validator(nil), m.Validators...), nil
	}
	var set []Validator
	if err := dcbor.DecMode.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("%w: validator set: %v", ErrCorrupt, err)
	}
	return set, nil
}

// GetProposal returns a proposal, or nil if there is none of that number.
func GetProposal(kv KV, id uint64) (*ValidatorProposal, error) {
	b, err := kv.Get(ProposalKey(id))
	if err != nil || b == nil {
		return nil, err
	}
	p := new(ValidatorProposal)
	if err := dcbor.DecMode.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("%w: proposal %d: %v", ErrCorrupt, id, err)
	}
	return p, nil
}

// GetOpenProposals returns the numbers of the open proposals, in order.
func GetOpenProposals(kv KV) ([]uint64, error) {
	b, err := kv.Get([]byte(KeyOpenProposals))
	if err != nil || b == nil {
		return nil, err
	}
	var ids []uint64
	if err := dcbor.DecMode.Unmarshal(b, &ids); err != nil {
		return nil, fmt.Errorf("%w: open proposals: %v", ErrCorrupt, err)
	}
	return ids, nil
}

// SortValidators sorts a set by key, the order of every stored set.
func SortValidators(vs []Validator) {
	sort.Slice(vs, func(i, j int) bool { return bytes.Compare(vs[i].Key, vs[j].Key) < 0 })
}

// FindValidator returns the index of key in a sorted set, or -1.
func FindValidator(set []Validator, key []byte) int {
	i := sort.Search(len(set), func(i int) bool { return bytes.Compare(set[i].Key, key) >= 0 })
	if i < len(set) && bytes.Equal(set[i].Key, key) {
		return i
	}
	return -1
}

// TotalPower is the voting power of a set.
func TotalPower(set []Validator) int64 {
	var t int64
	for _, v := range set {
		t += v.Power
	}
	return t
}

// NeededPower is the least voting power that is more than two thirds of total.
func NeededPower(total int64) int64 { return total*2/3 + 1 }

// ApprovedPower is the power the approvers of p hold in set.
func ApprovedPower(set []Validator, p *ValidatorProposal) int64 {
	var power int64
	for _, a := range p.Approvals {
		if i := FindValidator(set, a.Key); i >= 0 {
			power += set[i].Power
		}
	}
	return power
}
