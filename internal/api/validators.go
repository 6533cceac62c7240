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
	"github.com/iotledger/iotledger/apiwire"
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

// NewValidator describes the validator of consensus key key.
func NewValidator(key []byte, power int64) apiwire.Validator {
	v := apiwire.Validator{PubKey: base64.StdEncoding.EncodeToString(key), Power: power, Account: address.Account(key)}
	if len(key) == cmted25519.PubKeySize {
		v.Address = strings.ToUpper(fmt.Sprintf("%x", []byte(cmted25519.PubKey(key).Address())))
	}
	return v
}

// NewValidatorProposal describes a proposal as the app holds it.
func NewValidatorProposal(p *query.ProposalInfo) apiwire.ValidatorProposal {
	out := apiwire.ValidatorProposal{
		ID: p.ID, Action: p.Action, Validator: NewValidator(p.Key, 0), Power: p.Power,
		Height: p.Height, ExpiresHeight: p.Expires, Status: p.Status, ClosedHeight: p.Closed,
		Effective: p.Effective, Reason: p.Reason, Approvals: []apiwire.ProposalApproval{},
		ApprovedPower: p.ApprovedPower, TotalPower: p.TotalPower, NeededPower: p.NeededPower,
	}
	for _, a := range p.Approvals {
		v := NewValidator(a.Key, 0)
		out.Approvals = append(out.Approvals, apiwire.ProposalApproval{Address: v.Address, PubKey: v.PubKey, Height: a.Height})
	}
	return out
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
func NewValidatorSet(info *query.ValidatorSetInfo) *apiwire.ValidatorSet {
	out := &apiwire.ValidatorSet{Height: info.Height, From: info.From, Changes: []apiwire.ValidatorSetChange{}}
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
		out.Changes = append(out.Changes, apiwire.ValidatorSetChange{Height: c.Height, Proposals: c.Proposals, Validators: len(c.Set), TotalPower: total})
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
	after, err := afterParam(q, "proposal", listProposals)
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	page := apiwire.ValidatorProposalPage{Proposals: []apiwire.ValidatorProposal{}, Next: after}
	if after == math.MaxUint64 {
		return writePage(w, r, "", page)
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
	if page.More {
		page.NextPageToken = uintPageToken(listProposals, page.Next)
	}
	return writePage(w, r, page.NextPageToken, page)
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
