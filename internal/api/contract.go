package api

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
)

// ValidContractID reports whether id is a contract id: "ctr-" and a
// number from 1, without leading zeros.
func ValidContractID(id string) bool {
	n, ok := strings.CutPrefix(id, "ctr-")
	if !ok {
		return false
	}
	v, err := strconv.ParseUint(n, 10, 64)
	return err == nil && v > 0 && state.ContractID(v) == id
}

func (s *Server) contracts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	after, err := afterParam(q, "contract", listContracts)
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	page := apiwire.ContractPage{Contracts: []apiwire.ContractSummary{}, Next: after}
	if after == math.MaxUint64 {
		return writePage(w, r, "", page) // nothing comes after it
	}
	cs, err := s.reader.Contracts(after, limit+1)
	if err != nil {
		return fmt.Errorf("contracts after %d: %w", after, err)
	}
	if len(cs) > limit {
		cs, page.More = cs[:limit], true
	}
	for _, c := range cs {
		page.Contracts = append(page.Contracts, ContractSummary(c))
		page.Next = c.Number
	}
	if page.More {
		page.NextPageToken = uintPageToken(listContracts, page.Next)
	}
	return writePage(w, r, page.NextPageToken, page)
}

func (s *Server) contract(w http.ResponseWriter, r *http.Request) error {
	c, err := s.knownContract(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, Contract(c))
}

func (s *Server) contractEvents(w http.ResponseWriter, r *http.Request) error {
	c, err := s.knownContract(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	after, err := afterParam(q, "event", listContractEvents)
	if err != nil {
		return err
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	out := apiwire.ContractEvents{Contract: c.ID, Events: []apiwire.ContractEvent{}, Next: after}
	if after >= c.Events {
		// None yet (the record counts them, as of the same or an earlier
		// block than a query of the events would see).
		return writePage(w, r, "", out)
	}
	evs, err := s.reader.ContractEvents(c.ID, after, limit+1)
	if err != nil {
		return fmt.Errorf("events of %s after %d: %w", c.ID, after, err)
	}
	if len(evs) > limit {
		evs, out.More = evs[:limit], true
	}
	for _, e := range evs {
		out.Events = append(out.Events, ContractEvent(e))
		out.Next = e.N
	}
	if out.More {
		out.NextPageToken = uintPageToken(listContractEvents, out.Next)
	}
	return writePage(w, r, out.NextPageToken, out)
}

// knownContract returns the contract {id} of the path, or a problem: 400
// for an id that is not one, 404 for one nobody deployed.
func (s *Server) knownContract(r *http.Request) (*query.ContractInfo, error) {
	id := r.PathValue("id")
	if !ValidContractID(id) {
		return nil, newProblem(http.StatusBadRequest, KindInvalidID, "Invalid contract id",
			"contract id %q: a contract id is ctr- followed by its number, such as ctr-7; the deployed contracts are listed at /v1/contracts", id)
	}
	c, err := s.reader.Contract(id)
	if err != nil {
		return nil, fmt.Errorf("contract %s: %w", id, err)
	}
	if c == nil {
		return nil, notFound("no contract %s is deployed; the deployed contracts are listed at /v1/contracts (iotledger contract list), and `iotledger contract deploy FILE` deploys one", id)
	}
	return c, nil
}

// afterParam reads the cursor of list, a count of contracts, events or
// proposals seen: page_token, or the deprecated after.
func afterParam(q url.Values, what string, list pageList) (uint64, error) {
	if n, ok, err := uintPageCursor(q, list); err != nil || ok {
		return n, err
	}
	v := q.Get("after")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, invalidParameter("after=%q is not a %s number; pass the next value of the previous page, or leave it out to start from the first", v, what)
	}
	return n, nil
}
