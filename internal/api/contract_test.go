package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
)

func TestContracts(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.get(t, "/v1/contracts")
	a.ok(t, nil)
	golden(t, "contracts.json", a.body)
	if strings.Contains(string(a.body), "source") || strings.Contains(string(a.body), "triggers") {
		t.Errorf("the list carries the documents: %s", a.body)
	}

	ids := func(p apiwire.ContractPage) []string {
		out := []string{}
		for _, c := range p.Contracts {
			out = append(out, c.ID)
		}
		return out
	}
	for _, tc := range []struct {
		query    string
		wantIDs  []string
		wantNext uint64
		wantMore bool
	}{
		{"", []string{"ctr-1", "ctr-2"}, 2, false},
		{"?limit=1", []string{"ctr-1"}, 1, true},
		{"?after=1&limit=1", []string{"ctr-2"}, 2, false},
		{"?after=2", []string{}, 2, false},
		{"?after=0", []string{"ctr-1", "ctr-2"}, 2, false},
		{"?after=18446744073709551615", []string{}, 18446744073709551615, false},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var p apiwire.ContractPage
			e.get(t, "/v1/contracts"+tc.query).ok(t, &p)
			if diff := cmp.Diff(ids(p), tc.wantIDs); diff != "" || p.Next != tc.wantNext || p.More != tc.wantMore {
				t.Errorf("next %d more %v, want %d %v; ids (-got +want):\n%s", p.Next, p.More, tc.wantNext, tc.wantMore, diff)
			}
		})
	}

	// Asking again with next finds what was deployed since.
	var last apiwire.ContractPage
	e.get(t, "/v1/contracts").ok(t, &last)
	e.ledger.AddContract(query.ContractInfo{Contract: state.Contract{Owner: apitest.Owner(), Name: "late", Status: state.ContractActive, Deployed: 12}, Token: "IOT"})
	var since apiwire.ContractPage
	e.get(t, "/v1/contracts?after="+jsonNumber(last.Next)).ok(t, &since)
	if diff := cmp.Diff(ids(since), []string{"ctr-3"}); diff != "" || since.Contracts[0].State == nil {
		t.Errorf("after %d: (-got +want):\n%s", last.Next, diff)
	}

	for _, tc := range []struct{ query, detail string }{
		{"?after=-1", "after"},
		{"?after=ctr-1", "contract number"},
		{"?limit=0", "limit"},
	} {
		p := e.get(t, "/v1/contracts"+tc.query).problem(t, http.StatusBadRequest, api.KindInvalidParameter)
		if !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: detail %q does not say %q", tc.query, p.Detail, tc.detail)
		}
	}
}

func TestContract(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.get(t, "/v1/contracts/ctr-1")
	a.ok(t, nil)
	golden(t, "contract.json", a.body)
	var c apiwire.Contract
	a.ok(t, &c)
	if c.Source != apitest.TipSource || c.Balance != 250 || c.Events != 3 || c.Status != state.ContractActive {
		t.Errorf("ctr-1 = %+v, want active, its document, escrow 250 and 3 events", c)
	}

	a = e.get(t, "/v1/contracts/ctr-2")
	a.ok(t, nil)
	if !strings.Contains(string(a.body), `"state":{}`) || !strings.Contains(string(a.body), `"stopped_height":8`) {
		t.Errorf("stopped contract without state = %s, want state {} and its stop height", a.body)
	}

	p := e.get(t, "/v1/contracts/ctr-9").problem(t, http.StatusNotFound, api.KindNotFound)
	for _, want := range []string{"ctr-9", "/v1/contracts", "contract deploy"} {
		if !strings.Contains(p.Detail, want) {
			t.Errorf("404 detail %q does not say %q", p.Detail, want)
		}
	}
	for _, id := range []string{"ctr-0", "ctr-01", "ctr-x", "ctr-", "dev1abc", "CTR-1", "ctr-18446744073709551616"} {
		p := e.get(t, "/v1/contracts/"+id).problem(t, http.StatusBadRequest, api.KindInvalidID)
		if !strings.Contains(p.Detail, `"`+id+`"`) || !strings.Contains(p.Detail, "ctr-7") {
			t.Errorf("%s: detail %q does not quote the id and say what one looks like", id, p.Detail)
		}
	}
}

func TestContractEvents(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.get(t, "/v1/contracts/ctr-1/events")
	a.ok(t, nil)
	golden(t, "contract-events.json", a.body)

	ns := func(p apiwire.ContractEvents) []uint64 {
		out := []uint64{}
		for _, ev := range p.Events {
			out = append(out, ev.N)
		}
		return out
	}
	for _, tc := range []struct {
		path     string
		wantN    []uint64
		wantNext uint64
		wantMore bool
	}{
		{"/v1/contracts/ctr-1/events", []uint64{1, 2, 3}, 3, false},
		{"/v1/contracts/ctr-1/events?limit=2", []uint64{1, 2}, 2, true},
		{"/v1/contracts/ctr-1/events?after=2", []uint64{3}, 3, false},
		{"/v1/contracts/ctr-1/events?after=3", []uint64{}, 3, false},
		{"/v1/contracts/ctr-1/events?after=18446744073709551615", []uint64{}, 18446744073709551615, false},
		{"/v1/contracts/ctr-2/events", []uint64{}, 0, false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var p apiwire.ContractEvents
			e.get(t, tc.path).ok(t, &p)
			if diff := cmp.Diff(ns(p), tc.wantN); diff != "" || p.Next != tc.wantNext || p.More != tc.wantMore {
				t.Errorf("next %d more %v, want %d %v; events (-got +want):\n%s", p.Next, p.More, tc.wantNext, tc.wantMore, diff)
			}
		})
	}

	// A follower asks again with next and gets only the new event.
	e.ledger.AddContractEvent("ctr-1", 12, "paid", nil)
	var p apiwire.ContractEvents
	a = e.get(t, "/v1/contracts/ctr-1/events?after=3")
	a.ok(t, &p)
	if diff := cmp.Diff(ns(p), []uint64{4}); diff != "" || p.Next != 4 || !strings.Contains(string(a.body), `"fields":{}`) {
		t.Errorf("after 3: %s; want event 4, fields {} (-got +want):\n%s", a.body, diff)
	}

	e.get(t, "/v1/contracts/ctr-9/events").problem(t, http.StatusNotFound, api.KindNotFound)
	e.get(t, "/v1/contracts/9/events").problem(t, http.StatusBadRequest, api.KindInvalidID)
	e.get(t, "/v1/contracts/ctr-1/events?after=x").problem(t, http.StatusBadRequest, api.KindInvalidParameter)
	e.get(t, "/v1/contracts/ctr-1/events?limit=x").problem(t, http.StatusBadRequest, api.KindInvalidParameter)
}

func TestContractInternalError(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.ledger.SetErr(errors.New("pebble: disk on fire"))
	for _, path := range []string{"/v1/contracts", "/v1/contracts/ctr-1", "/v1/contracts/ctr-1/events"} {
		p := e.get(t, path).problem(t, http.StatusInternalServerError, api.KindInternal)
		if strings.Contains(p.Detail, "fire") {
			t.Errorf("%s: detail %q leaks the cause", path, p.Detail)
		}
	}
	if logs := e.logs.String(); strings.Count(logs, "disk on fire") != 3 {
		t.Errorf("the cause is not logged once per request:\n%s", logs)
	}
}

// TestContractEventStream relays a contract_event and checks its data
// against the ContractEvent schema of the OpenAPI document.
func TestContractEventStream(t *testing.T) {
	e := newEnv(t, api.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := subscribe(t, ctx, e.srv.Client(), e.srv.URL)
	if err := e.ledger.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ev := &state.Event{Contract: "ctr-1", N: 4, Height: 12, Tx: -1, Trigger: "tick", Name: "check", Fields: map[string]any{"height": int64(12), "tags": []string{"a"}}}
	e.ledger.Publish(api.Event{Type: "contract_event", Data: api.ContractEvent(ev)})
	typ, data := s.nextEvent()
	if typ != "contract_event" {
		t.Fatalf("event type %q, want contract_event", typ)
	}
	checkSchema(t, "ContractEvent", []byte(data))
	var got apiwire.ContractEvent
	if err := json.NewDecoder(bytes.NewReader([]byte(data))).Decode(&got); err != nil || got.N != 4 || got.Tx != -1 || got.Name != "check" {
		t.Errorf("data %s (%v), want event 4 of ctr-1", data, err)
	}
}

func jsonNumber(n uint64) string { b, _ := json.Marshal(n); return string(b) }
