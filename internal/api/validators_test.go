package api_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
)

func TestValidators(t *testing.T) {
	e := newEnv(t, api.Options{})
	var set apiwire.ValidatorSet
	e.get(t, "/v1/validators").ok(t, &set)
	if len(set.Validators) != 4 || set.TotalPower != 40 || set.From != 1 || set.Height != apitest.Height+1 {
		t.Errorf("set: %d validators, total %d, from %d, height %d; want 4, 40, 1, %d", len(set.Validators), set.TotalPower, set.From, set.Height, apitest.Height+1)
	}
	v := set.Validators[0]
	want := api.NewValidator(e.ledger.Fixture.ValSet.Validators[0].PubKey.Bytes(), 10)
	if diff := cmp.Diff(v, want); diff != "" || v.Address != e.ledger.Fixture.ValSet.Validators[0].Address.String() {
		t.Errorf("validator 0 (-got +want):\n%s\naddress %s, CometBFT's %s", diff, v.Address, e.ledger.Fixture.ValSet.Validators[0].Address)
	}
}

func TestValidatorProposalPages(t *testing.T) {
	e := newEnv(t, api.Options{})
	for _, tc := range []struct {
		query string
		ids   []uint64
		next  uint64
		more  bool
	}{
		{"", []uint64{1, 2}, 2, false},
		{"?limit=1", []uint64{1}, 1, true},
		{"?after=1", []uint64{2}, 2, false},
		{"?after=2", nil, 2, false},
		{"?after=" + strconv.FormatUint(1<<64-1, 10), nil, 1<<64 - 1, false},
	} {
		var page apiwire.ValidatorProposalPage
		e.get(t, "/v1/validators/proposals"+tc.query).ok(t, &page)
		var ids []uint64
		for _, p := range page.Proposals {
			ids = append(ids, p.ID)
		}
		if !cmp.Equal(ids, tc.ids) || page.Next != tc.next || page.More != tc.more {
			t.Errorf("%s: proposals %v next %d more %v; want %v %d %v", tc.query, ids, page.Next, page.More, tc.ids, tc.next, tc.more)
		}
	}
	var p apiwire.ValidatorProposal
	e.get(t, "/v1/validators/proposals/1").ok(t, &p)
	if p.Status != "open" || len(p.Approvals) != 2 || p.ApprovedPower != 20 || p.NeededPower != 27 || p.Validator.Power != 0 {
		t.Errorf("proposal 1: %+v", p)
	}
	for path, status := range map[string]int{
		"/v1/validators/proposals/3":        http.StatusNotFound,
		"/v1/validators/proposals/0":        http.StatusBadRequest,
		"/v1/validators/proposals/x":        http.StatusBadRequest,
		"/v1/validators/proposals?after=-1": http.StatusBadRequest,
	} {
		if a := e.get(t, path); a.StatusCode != status {
			t.Errorf("%s: status %d, want %d", path, a.StatusCode, status)
		}
	}
}

// A Reader without the validator methods answers 404, saying so.
func TestValidatorsNotServed(t *testing.T) {
	l := apitest.New(t)
	srv := httptest.NewServer(api.New(l, struct{ api.Reader }{l}, api.Options{}).Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/v1/validators")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", res.StatusCode)
	}
}
