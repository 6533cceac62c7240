package client_test

import (
	"iter"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
)

// collect drains seq, failing on an error.
func collect[T any](t *testing.T, seq iter.Seq2[T, error]) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// The All... iterators follow next_page_token through pages of one item
// and get what one page of all of them holds.
func TestAllPages(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	ctx := t.Context()
	dev0 := l.DeviceList[0].ID
	check := func(what string, got, want any, n int) {
		t.Helper()
		if diff := cmp.Diff(got, want); diff != "" || n < 2 {
			t.Errorf("%s: %d in one page; paged (-got +want):\n%s", what, n, diff)
		}
	}
	d, _ := c.DevicesPage(ctx, 1000, "")
	check("devices", collect(t, c.AllDevices(ctx, 1)), d.Devices, len(d.Devices))
	r, _ := c.Readings(ctx, dev0, client.ReadingQuery{Limit: 1000})
	check("readings", collect(t, c.AllReadings(ctx, dev0, client.ReadingQuery{Limit: 1})), r.Readings, len(r.Readings))
	rt, _ := c.Readings(ctx, dev0, client.ReadingQuery{Limit: 1000, ByTime: true})
	check("readings by time", collect(t, c.AllReadings(ctx, dev0, client.ReadingQuery{Limit: 1, ByTime: true})), rt.Readings, len(rt.Readings))
	a, _ := c.AccountPage(ctx, apitest.Owner(), 1000, "")
	check("payments", collect(t, c.AllPayments(ctx, apitest.Owner(), 1)), a.History, len(a.History))
	h, _ := c.TwinHistoryPage(ctx, dev0, "", 1000, "")
	check("twin history", collect(t, c.AllTwinChanges(ctx, dev0, "", 1)), h.Changes, len(h.Changes))
	k, _ := c.ContractsPage(ctx, 1000, "")
	check("contracts", collect(t, c.AllContracts(ctx, 1)), k.Contracts, len(k.Contracts))
	e, _ := c.ContractEventsPage(ctx, "ctr-1", 1000, "")
	check("contract events", collect(t, c.AllContractEvents(ctx, "ctr-1", 1)), e.Events, len(e.Events))
	p, _ := c.ValidatorProposalsPage(ctx, 1000, "")
	check("proposals", collect(t, c.AllValidatorProposals(ctx, 1)), p.Proposals, len(p.Proposals))

	// A page at a token, by hand.
	first, err := c.DevicesPage(ctx, 1, "")
	if err != nil || first.NextPageToken == "" {
		t.Fatalf("first page %+v, %v: want a next_page_token", first, err)
	}
	second, err := c.DevicesPage(ctx, 1, first.NextPageToken)
	if err != nil || len(second.Devices) != 1 || second.Devices[0].ID != d.Devices[1].ID {
		t.Errorf("second page %+v, %v: want device %s", second, err, d.Devices[1].ID)
	}
	_, err = c.DevicesPage(ctx, 1, "bogus")
	wantError(t, err, 400, api.KindInvalidParameter, nil)
	for _, err := range c.AllContractEvents(ctx, "ctr-9", 1) {
		wantError(t, err, 404, api.KindNotFound, client.ErrNotFound)
	}
}
