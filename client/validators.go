package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/iotledger/iotledger/apiwire"
)

// The validator set's answers (package apiwire's types).
type (
	Validator             = apiwire.Validator             // a member of the validator set
	ValidatorSet          = apiwire.ValidatorSet          // the set and its changes (GET /v1/validators)
	ValidatorSetChange    = apiwire.ValidatorSetChange    // a change of the set
	ValidatorProposal     = apiwire.ValidatorProposal     // a proposed change of the set, with its tally
	ProposalApproval      = apiwire.ProposalApproval      // a validator's approval of a proposal
	ValidatorProposalPage = apiwire.ValidatorProposalPage // a page of proposals in number order
)

// Validators returns the validator set and its changes.
func (c *Client) Validators(ctx context.Context) (*ValidatorSet, error) {
	var s ValidatorSet
	return &s, c.getJSON(ctx, "/v1/validators", nil, &s)
}

// ValidatorProposals returns up to limit proposals (0: the server's
// default) numbered after after.
func (c *Client) ValidatorProposals(ctx context.Context, after uint64, limit int) (*ValidatorProposalPage, error) {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatUint(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p ValidatorProposalPage
	return &p, c.getJSON(ctx, "/v1/validators/proposals", q, &p)
}

// ValidatorProposal returns proposal id; the error is ErrNotFound if there
// is none.
func (c *Client) ValidatorProposal(ctx context.Context, id uint64) (*ValidatorProposal, error) {
	var p ValidatorProposal
	return &p, c.getJSON(ctx, "/v1/validators/proposals/"+strconv.FormatUint(id, 10), nil, &p)
}
