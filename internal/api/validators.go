package api

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/query"
)

// ValidatorReader is what GET /v1/validators and the proposals need,
// beyond Reader; a Reader without it answers them 404.
type ValidatorReader interface {
	// Validators returns the validator set as the chain decided it, with
	// the changes so far.
	Validators() (*query.ValidatorSetInfo, error)
	// ValidatorProposals returns up to limit proposals in number order,
	// after the after-th (0: from the first), each with its tally.
	ValidatorProposals(after uint64, limit int) ([]*query.ProposalInfo, error)
	// ValidatorProposal returns one proposal; nil, nil if none has that number.
	ValidatorProposal(id uint64) (*query.ProposalInfo, error)
}

// Validator is one member of the validator set.
type Validator struct {
	Address string `json:"address"` // CometBFT's: hex of the first 20 bytes of the key's SHA-256
	PubKey  string `json:"pub_key"` // base64 of the Ed25519 consensus key, as genesis.json and priv_validator_key.json write it
	Power   int64  `json:"power,omitempty"`
	Account string `json:"account"` // the account (acc1...) the key signs validator transactions as
}

// NewValidator describes the validator of consensus key key.
func NewValidator(key []byte, power int64) Validator {
	v := Validator{PubKey: base64.StdEncoding.EncodeToString(key), Power: power, Account: address.Account(key)}
	if len(key) == cmted25519.PubKeySize {
		v.Address = strings.ToUpper(fmt.Sprintf("%x", []byte(cmted25519.PubKey(key).Address())))
	}
	return v
}

// ValidatorSet is GET /v1/validators: the set as the chain decided it.
// CometBFT uses a change decided in block H from block H+2 on, so From
// may be beyond Height+1 for a block or two.
type ValidatorSet struct {
	Height     int64                `json:"height"`      // the latest committed block
	From       int64                `json:"from_height"` // the first block this set signs (1: the genesis set)
	TotalPower int64                `json:"total_power"`
	Validators []Validator          `json:"validators"` // by power, then address, as CometBFT orders them
	Changes    []ValidatorSetChange `json:"changes"`    // oldest first
}

// ValidatorSetChange is one change of the set: from block Height on, the
// set that the proposals left signs.
type ValidatorSetChange struct {
	Height     int64    `json:"height"`
	Proposals  []uint64 `json:"proposals"`
	Validators int      `json:"validators"`  // how many
	TotalPower int64    `json:"total_power"` // of the new set
}

// ValidatorProposal is a proposed change of the validator set, with its
// approvals counted against the set as it is now.
type ValidatorProposal struct {
	ID            uint64             `json:"id"`
	Action        string             `json:"action"` // add, remove or power
	Validator     Validator          `json:"validator"`
	Power         int64              `json:"power,omitempty"` // add, power: the new power
	Height        int64              `json:"height"`          // the block that holds it
	ExpiresHeight int64              `json:"expires_height"`  // the last block whose approvals count
	Status        string             `json:"status"`          // open, applied, expired or dropped
	ClosedHeight  int64              `json:"closed_height,omitempty"`
	Effective     int64              `json:"effective_height,omitempty"` // applied: the first block the new set signs
	Reason        string             `json:"reason,omitempty"`           // dropped: why
	Approvals     []ProposalApproval `json:"approvals"`                  // the proposer's first
	ApprovedPower int64              `json:"approved_power"`             // held by approvers in the set now
	TotalPower    int64              `json:"total_power"`
	NeededPower   int64              `json:"needed_power"` // more than two thirds of total_power
}

// ProposalApproval is one validator's approval.
type ProposalApproval struct {
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`
	Height  int64  `json:"height"`
}

// NewValidatorProposal describes a proposal as the app holds it.
func NewValidatorProposal(p *query.ProposalInfo) ValidatorProposal {
	out := ValidatorProposal{
		ID: p.ID, Action: p.Action, Validator: NewValidator(p.Key, 0), Power: p.Power,
		Height: p.Height, ExpiresHeight: p.Expires, Status: p.Status, ClosedHeight: p.Closed,
		Effective: p.Effective, Reason: p.Reason, Approvals: []ProposalApproval{},
		ApprovedPower: p.ApprovedPower, TotalPower: p.TotalPower, NeededPower: p.NeededPower,
	}
	for _, a := range p.Approvals {
		v := NewValidator(a.Key, 0)
		out.Approvals = append(out.Approvals, ProposalApproval{Address: v.Address, PubKey: v.PubKey, Height: a.Height})
	}
	return out
}

// ValidatorProposalPage is GET /v1/validators/proposals: proposals in
// number order; Next and More are as in ContractPage.
type ValidatorProposalPage struct {
	Proposals []ValidatorProposal `json:"proposals"`
	Next      uint64              `json:"next"`
	More      bool                `json:"more"`
}

func (s *Server) validatorReader() (ValidatorReader, error) {
	l, ok := s.reader.(ValidatorReader)
	if !ok {
		return nil, notFound("this node does not serve its validator set")
	}
	return l, nil
}

// NewValidatorSet describes the set as the app holds it, in CometBFT's
// order.
func NewValidatorSet(info *query.ValidatorSetInfo) *ValidatorSet {
	out := &ValidatorSet{Height: info.Height, From: info.From, Changes: []ValidatorSetChange{}}
	for _, v := range info.Validators {
		out.Validators = append(out.Validators, NewValidator(v.Key, v.Power))
		out.TotalPower += v.Power
	}
	sort.SliceStable(out.Validators, func(i, j int) bool { // CometBFT's order: power, then address
		a, b := out.Validators[i], out.Validators[j]
		if a.Power != b.Power {
			return a.Power > b.Power
		}
		return a.Address < b.Address
	})
	for _, c := range info.Changes {
		var total int64
		for _, v := range c.Set {
			total += v.Power
		}
		out.Changes = append(out.Changes, ValidatorSetChange{Height: c.Height, Proposals: c.Proposals, Validators: len(c.Set), TotalPower: total})
	}
	return out
}

func (s *Server) validators(w http.ResponseWriter, r *http.Request) error {
	l, err := s.validatorReader()
	if err != nil {
		return err
	}
	info, err := l.Validators()
	if err != nil {
		return fmt.Errorf("validator set: %w", err)
	}
	return writeJSON(w, http.StatusOK, NewValidatorSet(info))
}

func (s *Server) validatorProposals(w http.ResponseWriter, r *http.Request) error {
	l, err := s.validatorReader()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	after, err := afterParam(q, "proposal")
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	page := ValidatorProposalPage{Proposals: []ValidatorProposal{}, Next: after}
	if after == math.MaxUint64 {
		return writeJSON(w, http.StatusOK, page)
	}
	ps, err := l.ValidatorProposals(after, limit+1)
	if err != nil {
		return fmt.Errorf("validator proposals after %d: %w", after, err)
	}
	if len(ps) > limit {
		ps, page.More = ps[:limit], true
	}
	for _, p := range ps {
		page.Proposals = append(page.Proposals, NewValidatorProposal(p))
		page.Next = p.ID
	}
	return writeJSON(w, http.StatusOK, page)
}

func (s *Server) validatorProposal(w http.ResponseWriter, r *http.Request) error {
	l, err := s.validatorReader()
	if err != nil {
		return err
	}
	v := r.PathValue("id")
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return newProblem(http.StatusBadRequest, KindInvalidID, "Invalid proposal number",
			"proposal %q: proposals are numbered from 1; they are listed at /v1/validators/proposals", v)
	}
	p, err := l.ValidatorProposal(id)
	if err != nil {
		return fmt.Errorf("validator proposal %d: %w", id, err)
	}
	if p == nil {
		return notFound("there is no validator change proposal %d; they are listed at /v1/validators/proposals (iotledger validator proposals)", id)
	}
	return writeJSON(w, http.StatusOK, NewValidatorProposal(p))
}
