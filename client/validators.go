package client

import (
	"context"
	"net/url"
	"strconv"
)

// Validator is a member of the validator set.
type Validator struct {
	Address string `json:"address"` // CometBFT's: hex of the first 20 bytes of the key's SHA-256
	PubKey  string `json:"pub_key"` // base64 of the Ed25519 consensus key, as genesis.json writes it
	Power   int64  `json:"power,omitempty"`
	Account string `json:"account"` // the account (acc1...) the key signs validator transactions as
}

// ValidatorSet is the validator set as the chain decided it (GET
// /v1/validators): it signs from block From on, which may lie a block or
// two after Height, the latest, while a change takes effect.
type ValidatorSet struct {
	Height     int64                `json:"height"`
	From       int64                `json:"from_height"`
	TotalPower int64                `json:"total_power"`
	Validators []Validator          `json:"validators"` // by power, then address
	Changes    []ValidatorSetChange `json:"changes"`    // oldest first
}

// ValidatorSetChange is a change of the set: from block Height on, the set
// the proposals left signs.
type ValidatorSetChange struct {
	Height     int64    `json:"height"`
	Proposals  []uint64 `json:"proposals"`
	Validators int      `json:"validators"`
	TotalPower int64    `json:"total_power"`
}

// ValidatorProposal is a proposed change of the validator set, with its
// approvals counted against the set as it is now.
type ValidatorProposal struct {
	ID            uint64             `json:"id"`
	Action        string             `json:"action"` // add, remove or power
	Validator     Validator          `json:"validator"`
	Power         int64              `json:"power,omitempty"`
	Height        int64              `json:"height"`
	ExpiresHeight int64              `json:"expires_height"`
	Status        string             `json:"status"` // open, applied, expired or dropped
	ClosedHeight  int64              `json:"closed_height,omitempty"`
	Effective     int64              `json:"effective_height,omitempty"`
	Reason        string             `json:"reason,omitempty"`
	Approvals     []ProposalApproval `json:"approvals"`
	ApprovedPower int64              `json:"approved_power"`
	TotalPower    int64              `json:"total_power"`
	NeededPower   int64              `json:"needed_power"`
}

// ProposalApproval is one validator's approval of a proposal.
type ProposalApproval struct {
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`
	Height  int64  `json:"height"`
}

// ValidatorProposalPage is a page of proposals in number order; pass Next
// as after for the next page. More says the page was cut at its limit.
type ValidatorProposalPage struct {
	Proposals []ValidatorProposal `json:"proposals"`
	Next      uint64              `json:"next"`
	More      bool                `json:"more"`
}

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
