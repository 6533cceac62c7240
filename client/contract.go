package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/iotledger/iotledger/apiwire"
)

// The contracts' answers (package apiwire's types).
type (
	Contract        = apiwire.Contract        // a contract with its escrow and document (GET /v1/contracts/{id})
	ContractSummary = apiwire.ContractSummary // a contract in a ContractPage, without its document
	ContractPage    = apiwire.ContractPage    // a page of contracts in deployment order
	ContractEvent   = apiwire.ContractEvent   // an event a contract emitted; also the data of a "contract_event" event
	ContractEvents  = apiwire.ContractEvents  // a page of a contract's events, oldest first
)

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
