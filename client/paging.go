package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"

	"github.com/iotledger/iotledger/apiwire"
)

// Every list of the API pages the same way: an answer with more after it
// carries NextPageToken, which the next request passes as page_token; the
// last page has none. The ...Page methods fetch one page at a token (""
// for the first); the All... methods return iterators over every item,
// fetching the pages as they go. Stop a range loop early and no further
// page is fetched; an error ends the iteration (its last pair).
//
// The older methods (Devices, Contracts, ContractEvents,
// ValidatorProposals with after; Account with before; ReadingQuery.From
// and StartSeq fed a page's Next) keep working.

// The twin history's answers (package apiwire's types).
type (
	TwinHistory = apiwire.TwinHistory // versions of one side of a twin, newest first
	TwinChange  = apiwire.TwinChange  // one version
)

// pageQuery is the query of a page of limit items (0: the node's
// default) at token ("" for the first).
func pageQuery(limit int, token string) url.Values {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if token != "" {
		q.Set("page_token", token)
	}
	return q
}

// DevicesPage returns a page of up to limit devices in id order, at token
// ("" for the first page).
func (c *Client) DevicesPage(ctx context.Context, limit int, token string) (*DevicePage, error) {
	var p DevicePage
	return &p, c.getJSON(ctx, "/v1/devices", pageQuery(limit, token), &p)
}

// AccountPage returns an account with a page of up to limit payments,
// newest first, at token ("" for the first page).
func (c *Client) AccountPage(ctx context.Context, addr string, limit int, token string) (*Account, error) {
	var a Account
	return &a, c.getJSON(ctx, "/v1/accounts/"+url.PathEscape(addr), pageQuery(limit, token), &a)
}

// TwinHistoryPage returns a page of up to limit versions of one side
// ("desired", the default for "", or "reported") of a device's twin,
// newest first, at token ("" for the first page).
func (c *Client) TwinHistoryPage(ctx context.Context, id, side string, limit int, token string) (*TwinHistory, error) {
	q := pageQuery(limit, token)
	if side != "" {
		q.Set("side", side)
	}
	var h TwinHistory
	return &h, c.getJSON(ctx, "/v1/devices/"+url.PathEscape(id)+"/twin/history", q, &h)
}

// ContractsPage returns a page of up to limit contracts in deployment
// order, at token ("" for the first page).
func (c *Client) ContractsPage(ctx context.Context, limit int, token string) (*ContractPage, error) {
	var p ContractPage
	return &p, c.getJSON(ctx, "/v1/contracts", pageQuery(limit, token), &p)
}

// ContractEventsPage returns a page of up to limit events of a contract,
// oldest first, at token ("" for the first page).
func (c *Client) ContractEventsPage(ctx context.Context, id string, limit int, token string) (*ContractEvents, error) {
	var e ContractEvents
	return &e, c.getJSON(ctx, "/v1/contracts/"+url.PathEscape(id)+"/events", pageQuery(limit, token), &e)
}

// ValidatorProposalsPage returns a page of up to limit validator set
// proposals in number order, at token ("" for the first page).
func (c *Client) ValidatorProposalsPage(ctx context.Context, limit int, token string) (*ValidatorProposalPage, error) {
	var p ValidatorProposalPage
	return &p, c.getJSON(ctx, "/v1/validators/proposals", pageQuery(limit, token), &p)
}

// all iterates over the items of every page that page fetches, from the
// first ("") through each page's next token.
func all[T any](page func(token string) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		token := ""
		for {
			items, next, err := page(token)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			token = next
		}
	}
}

// AllDevices iterates over every registered device in id order, in pages
// of limit (0: the node's default).
func (c *Client) AllDevices(ctx context.Context, limit int) iter.Seq2[Device, error] {
	return all(func(token string) ([]Device, string, error) {
		p, err := c.DevicesPage(ctx, limit, token)
		return p.Devices, p.NextPageToken, err
	})
}

// AllReadings iterates over every reading of a device that rq selects
// (its Limit is the page size; StartSeq is ignored), in sequence order.
func (c *Client) AllReadings(ctx context.Context, id string, rq ReadingQuery) iter.Seq2[ReadingEntry, error] {
	rq.StartSeq = 0
	return all(func(token string) ([]ReadingEntry, string, error) {
		rq.PageToken = token
		p, err := c.Readings(ctx, id, rq)
		return p.Readings, p.NextPageToken, err
	})
}

// AllPayments iterates over an account's payments, newest first, in pages
// of limit.
func (c *Client) AllPayments(ctx context.Context, addr string, limit int) iter.Seq2[Payment, error] {
	return all(func(token string) ([]Payment, string, error) {
		a, err := c.AccountPage(ctx, addr, limit, token)
		return a.History, a.NextPageToken, err
	})
}

// AllTwinChanges iterates over the versions of one side of a device's
// twin, newest first, in pages of limit.
func (c *Client) AllTwinChanges(ctx context.Context, id, side string, limit int) iter.Seq2[TwinChange, error] {
	return all(func(token string) ([]TwinChange, string, error) {
		h, err := c.TwinHistoryPage(ctx, id, side, limit, token)
		return h.Changes, h.NextPageToken, err
	})
}

// AllContracts iterates over every contract in deployment order, in pages
// of limit.
func (c *Client) AllContracts(ctx context.Context, limit int) iter.Seq2[ContractSummary, error] {
	return all(func(token string) ([]ContractSummary, string, error) {
		p, err := c.ContractsPage(ctx, limit, token)
		return p.Contracts, p.NextPageToken, err
	})
}

// AllContractEvents iterates over every event of a contract, oldest
// first, in pages of limit.
func (c *Client) AllContractEvents(ctx context.Context, id string, limit int) iter.Seq2[ContractEvent, error] {
	return all(func(token string) ([]ContractEvent, string, error) {
		e, err := c.ContractEventsPage(ctx, id, limit, token)
		return e.Events, e.NextPageToken, err
	})
}

// AllValidatorProposals iterates over every validator set proposal in
// number order, in pages of limit.
func (c *Client) AllValidatorProposals(ctx context.Context, limit int) iter.Seq2[ValidatorProposal, error] {
	return all(func(token string) ([]ValidatorProposal, string, error) {
		p, err := c.ValidatorProposalsPage(ctx, limit, token)
		return p.Proposals, p.NextPageToken, err
	})
}
