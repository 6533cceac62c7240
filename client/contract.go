package client

import (
	"context"
	"net/url"
	"strconv"
)

// Contract is a deployed contract: its record, its escrow balance and, from
// Contract (not Contracts), its document.
type Contract struct {
	ID       string `json:"id"`     // ctr-<Number>
	Number   uint64 `json:"number"` // deployment order on the chain, from 1
	Owner    string `json:"owner"`  // the deployer's account, who alone may stop it
	Name     string `json:"name"`
	Status   string `json:"status"` // active or stopped
	Deployed int64  `json:"deployed_height"`
	Stopped  int64  `json:"stopped_height,omitempty"`
	// State holds the document's state fields: string, bool, json.Number
	// or []any of strings.
	State   map[string]any `json:"state"`
	Events  uint64         `json:"events"`  // emitted so far; the next is numbered Events+1
	Balance uint64         `json:"balance"` // the escrow, in Token
	Token   string         `json:"token"`
	Source  string         `json:"source,omitempty"` // the document; empty in a ContractPage
}

// ContractPage is a page of contracts in deployment order, without their
// documents. Next is the after of the following request, on the last page
// too (asking again with it later finds contracts deployed since); More
// says the page was cut at its limit.
type ContractPage struct {
	Contracts []Contract `json:"contracts"`
	Next      uint64     `json:"next"`
	More      bool       `json:"more"`
}

// ContractEvent is an event a contract emitted; Name "failed" is a run of
// a trigger that failed, its effects discarded (Fields error and trigger).
// It is also the data of a "contract_event" live event.
type ContractEvent struct {
	Contract string         `json:"contract"`
	N        uint64         `json:"n"` // 1, 2, ... per contract
	Height   int64          `json:"height"`
	Tx       int32          `json:"tx"` // index of the transaction in its block; -1 for the end of the block
	Trigger  string         `json:"trigger"`
	Name     string         `json:"name"`
	Fields   map[string]any `json:"fields"`
}

// ContractEvents is a page of a contract's events, oldest first. Next and
// More are as in ContractPage: pass Next as after to get the events
// emitted since.
type ContractEvents struct {
	Contract string          `json:"contract"`
	Events   []ContractEvent `json:"events"`
	Next     uint64          `json:"next"`
	More     bool            `json:"more"`
}

// Contracts returns up to limit contracts (0: the node's default, 100) in
// deployment order, numbered after after (0: from the first).
func (c *Client) Contracts(ctx context.Context, after uint64, limit int) (*ContractPage, error) {
	var p ContractPage
	return &p, c.getJSON(ctx, "/v1/contracts", afterQuery(after, limit), &p)
}

// Contract returns a contract with its document; the error is ErrNotFound
// if no contract has that id.
func (c *Client) Contract(ctx context.Context, id string) (*Contract, error) {
	var k Contract
	return &k, c.getJSON(ctx, "/v1/contracts/"+url.PathEscape(id), nil, &k)
}

// ContractEvents returns up to limit events of a contract (0: the node's
// default, 100), oldest first, numbered after after (0: from the first).
// The error is ErrNotFound if no contract has that id.
func (c *Client) ContractEvents(ctx context.Context, id string, after uint64, limit int) (*ContractEvents, error) {
	var e ContractEvents
	return &e, c.getJSON(ctx, "/v1/contracts/"+url.PathEscape(id)+"/events", afterQuery(after, limit), &e)
}

func afterQuery(after uint64, limit int) url.Values {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatUint(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}
