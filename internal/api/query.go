package api

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
)

// Page sizes of the list endpoints.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	st, err := s.ledger.Status(r.Context())
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	return writeJSON(w, http.StatusOK, st)
}

// genesisFile answers the chain's genesis.json byte for byte, so that its
// SHA-256 is the one an operator publishes for the file.
func (s *Server) genesisFile(w http.ResponseWriter, r *http.Request) error {
	if s.genesis == nil {
		return notFound("this node serves no genesis file: get genesis.json from the network's operator")
	}
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(s.genesis)
	return err
}

func (s *Server) devices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	after := q.Get("after")
	if after != "" {
		if err := address.ParseDevice(after); err != nil {
			return invalidID("query parameter after", err)
		}
	}
	cursor, err := pageCursor(q, listDevices, 0)
	if err != nil {
		return err
	}
	if cursor != nil {
		if address.ParseDevice(string(cursor)) != nil {
			return badPageToken(q.Get("page_token"))
		}
		after = string(cursor)
	}
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	f, err := deviceFilter(q)
	if err != nil {
		return err
	}
	var ds []*state.Device
	if f.Status == "" && len(f.Labels) == 0 && f.Search == "" {
		ds, err = s.reader.Devices(after, limit+1)
	} else {
		ds, err = s.reader.SearchDevices(f, after, limit+1)
	}
	if err != nil {
		return fmt.Errorf("devices after %q: %w", after, err)
	}
	page := apiwire.DevicePage{Devices: make([]apiwire.Device, 0, min(len(ds), limit))}
	if len(ds) > limit {
		ds = ds[:limit]
		page.Next = ds[limit-1].ID
		page.NextPageToken = pageToken(listDevices, []byte(page.Next))
	}
	for _, d := range ds {
		out, err := s.deviceWithActivity(d)
		if err != nil {
			return err
		}
		page.Devices = append(page.Devices, out)
	}
	return writePage(w, r, page.NextPageToken, page)
}

func (s *Server) device(w http.ResponseWriter, r *http.Request) error {
	d, err := s.knownDevice(r)
	if err != nil {
		return err
	}
	out, err := s.deviceWithActivity(d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// deviceWithActivity is the wire form of d with what the ledger holds of
// its readings.
func (s *Server) deviceWithActivity(d *state.Device) (apiwire.Device, error) {
	a, err := s.reader.Activity(d.ID)
	if err != nil {
		return apiwire.Device{}, fmt.Errorf("activity of %s: %w", d.ID, err)
	}
	return DeviceActivity(d, a), nil
}

func (s *Server) readings(w http.ResponseWriter, r *http.Request) error {
	d, err := s.knownDevice(r)
	if err != nil {
		return err
	}
	q, err := readingQuery(r.URL.Query())
	if err != nil {
		return err
	}
	stored, next, err := s.reader.Readings(d.ID, q)
	if err != nil {
		return fmt.Errorf("readings of %s: %w", d.ID, err)
	}
	page := apiwire.ReadingPage{Readings: make([]apiwire.ReadingEntry, 0, len(stored)), Next: next}
	if next != nil {
		page.NextPageToken = uintPageToken(readingList(q), *next)
	}
	for _, st := range stored {
		page.Readings = append(page.Readings, readingEntry(d.ID, st))
	}
	return writePage(w, r, page.NextPageToken, page)
}

// readingList is the page list of a reading query.
func readingList(q query.ReadingRange) pageList {
	if q.ByTime {
		return listReadingsByTime
	}
	return listReadingsBySeq
}

// readingQuery reads from, to, limit and by.
func readingQuery(q url.Values) (query.ReadingRange, error) {
	var rq query.ReadingRange
	limit, err := limitParam(q)
	if err != nil {
		return rq, err
	}
	rq.Limit = limit
	switch by := q.Get("by"); by {
	case "", "seq":
		rq.From, rq.To = 0, math.MaxUint64
		if v := q.Get("from"); v != "" {
			if rq.From, err = strconv.ParseUint(v, 10, 64); err != nil {
				return rq, invalidParameter("from=%q is not a sequence number; with by=seq, from and to are unsigned integers", v)
			}
		}
		if v := q.Get("to"); v != "" {
			if rq.To, err = strconv.ParseUint(v, 10, 64); err != nil {
				return rq, invalidParameter("to=%q is not a sequence number; with by=seq, from and to are unsigned integers", v)
			}
		}
	case "time":
		rq.ByTime = true
		from, to := int64(0), int64(math.MaxInt64)
		if v := q.Get("from"); v != "" {
			if from, err = timeParam("from", v); err != nil {
				return rq, err
			}
		}
		if v := q.Get("to"); v != "" {
			if to, err = timeParam("to", v); err != nil {
				return rq, err
			}
		}
		rq.From, rq.To = uint64(from), uint64(to)
		if v := q.Get("start_seq"); v != "" {
			if rq.StartSeq, err = strconv.ParseUint(v, 10, 64); err != nil {
				return rq, invalidParameter("start_seq=%q is not a sequence number; pass the next value of the previous page", v)
			}
		}
	default:
		return rq, invalidParameter("by=%q is not known; use by=seq (the default) or by=time", by)
	}
	if rq.From > rq.To {
		return rq, invalidParameter("from=%s is after to=%s; swap them", q.Get("from"), q.Get("to"))
	}
	// The page token stands for the deprecated cursors: from (by seq) and
	// start_seq (by time), the seq of the first reading of the page.
	seq, ok, err := uintPageCursor(q, readingList(rq))
	switch {
	case err != nil:
		return rq, err
	case ok && rq.ByTime:
		rq.StartSeq = seq
	case ok:
		if seq < rq.From || seq > rq.To {
			return rq, badPageToken(q.Get("page_token"))
		}
		rq.From = seq
	}
	return rq, nil
}

// timeParam reads a time given as RFC 3339 or unix milliseconds.
func timeParam(name, v string) (int64, error) {
	var ms int64
	if strings.ContainsAny(v, "T:") {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return 0, invalidParameter("%s=%q is not an RFC 3339 time (such as 2025-06-01T12:00:00Z) nor unix milliseconds", name, v)
		}
		ms = t.UnixMilli()
	} else {
		var err error
		if ms, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, invalidParameter("%s=%q is not unix milliseconds nor an RFC 3339 time (such as 2025-06-01T12:00:00Z)", name, v)
		}
	}
	if ms < 0 {
		return 0, invalidParameter("%s=%q is before 1970, where no reading can be; give a later time", name, v)
	}
	return ms, nil
}

func limitParam(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, invalidParameter("limit=%q is not a positive integer; give 1 to %d (default %d)", v, MaxLimit, DefaultLimit)
	}
	return min(n, MaxLimit), nil
}

func (s *Server) gaps(w http.ResponseWriter, r *http.Request) error {
	d, err := s.knownDevice(r)
	if err != nil {
		return err
	}
	p, err := s.reader.Progress(d.ID)
	if err != nil {
		return fmt.Errorf("progress of %s: %w", d.ID, err)
	}
	if p == nil {
		p = &state.Progress{}
	}
	return writeJSON(w, http.StatusOK, gaps(d.ID, p))
}

func (s *Server) receipt(w http.ResponseWriter, r *http.Request) error {
	id, err := deviceID(r)
	if err != nil {
		return err
	}
	v := r.PathValue("seq")
	seq, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return invalidParameter("sequence number %q is not an unsigned integer", v)
	}
	rc, err := s.ledger.Receipt(r.Context(), id, seq)
	switch {
	case errors.Is(err, ErrNotFound):
		return notFound("device %s has no committed reading with seq %d; a reading gets a receipt once it is committed, see /v1/devices/%s/gaps", id, seq, id)
	case errors.As(err, new(*BlockNotOnNodeError)):
		var nb *BlockNotOnNodeError
		errors.As(err, &nb)
		return newProblem(http.StatusGone, KindBlockNotOnNode, "Block not on this node",
			"reading %d of device %s is committed, but its receipt needs the header and commit of block %d, and this node holds blocks from %d on only: it joined the network by state sync. Ask a node with the full history (one that joined by block sync) for this receipt", seq, id, nb.Height, nb.First)
	case errors.Is(err, ErrNotYet):
		p := newProblem(http.StatusTooEarly, KindReceiptNotYet, "Receipt not available yet",
			"reading %d of device %s is committed, but its receipt needs the header of the next block, which is not committed yet; ask again after the Retry-After delay", seq, id)
		p.retryAfter = RetryAfter
		return p
	case err != nil:
		return fmt.Errorf("receipt of %s/%d: %w", id, seq, err)
	case rc == nil:
		return fmt.Errorf("receipt of %s/%d: ledger returned neither receipt nor error", id, seq)
	}
	b, err := rc.Marshal()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

func (s *Server) block(w http.ResponseWriter, r *http.Request) error {
	v := r.PathValue("height")
	h, err := strconv.ParseInt(v, 10, 64)
	if err != nil || h < 1 {
		return invalidParameter("block height %q is not a positive integer", v)
	}
	b, err := s.ledger.Block(r.Context(), h)
	if err != nil {
		return fmt.Errorf("block %d: %w", h, err)
	}
	if b == nil {
		return notFound("block %d is not committed; the latest height is in /v1/status", h)
	}
	return writeJSON(w, http.StatusOK, Block(b))
}

// deviceID returns the {id} of the path, checked.
func deviceID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if err := address.ParseDevice(id); err != nil {
		return "", invalidID("device id", err)
	}
	return id, nil
}

// knownDevice returns the device {id} of the path, or a 404 problem.
func (s *Server) knownDevice(r *http.Request) (*state.Device, error) {
	id, err := deviceID(r)
	if err != nil {
		return nil, err
	}
	d, err := s.reader.Device(id)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", id, err)
	}
	if d == nil {
		return nil, notFound("no device %s is registered; check the id, or register the device first", id)
	}
	return d, nil
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
	return nil
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) error {
	addr := r.PathValue("addr")
	if address.ParseAccount(addr) != nil && address.ParseDevice(addr) != nil && !ValidContractID(addr) {
		return newProblem(http.StatusBadRequest, KindInvalidID, "Invalid address",
			"%q is neither an account address (acc1...), a device id (dev1...) nor a contract id (ctr-N, whose account is its escrow)", addr)
	}
	q := r.URL.Query()
	before, limit, err := pageParams(q, listHistory)
	if err != nil {
		return err
	}
	acct, err := s.reader.Account(addr)
	if err != nil {
		return fmt.Errorf("account %s: %w", addr, err)
	}
	a := apiwire.Account{Address: addr, Token: s.reader.Token()}
	if acct != nil {
		a.Balance, a.Nonce = apiwire.Uint64(acct.Balance), apiwire.Uint64(acct.Nonce)
	}
	if pr, ok := s.reader.(PrivateReader); ok && address.ParseAccount(addr) == nil {
		k, err := pr.EncryptionKey(addr)
		if err != nil {
			return fmt.Errorf("encryption key of %s: %w", addr, err)
		}
		a.EncryptionKey = EncryptionKey(k)
	}
	history, next, err := s.reader.History(addr, before, limit)
	if err != nil {
		return fmt.Errorf("account %s: %w", addr, err)
	}
	a.History, a.Next = make([]apiwire.Payment, 0, len(history)), hex.EncodeToString(next)
	if next != nil {
		a.NextPageToken = pageToken(listHistory, next)
	}
	for _, p := range history {
		a.History = append(a.History, payment(p))
	}
	return writePage(w, r, a.NextPageToken, a)
}

func (s *Server) twin(w http.ResponseWriter, r *http.Request) error {
	d, err := s.knownDevice(r)
	if err != nil {
		return err
	}
	var height int64
	if v := r.URL.Query().Get("height"); v != "" {
		if height, err = strconv.ParseInt(v, 10, 64); err != nil || height < 1 {
			return invalidParameter("height=%q is not a block height; give a positive integer, or leave it out for now", v)
		}
	}
	t, err := s.reader.Twin(d.ID, height)
	if err != nil {
		return fmt.Errorf("twin of %s: %w", d.ID, err)
	}
	out := apiwire.Twin{Device: d.ID, AsOf: height, Desired: twinState(t.Desired), Reported: twinState(t.Reported), Delta: map[string]any{}}
	for k, v := range out.Desired.State {
		if rv, ok := out.Reported.State[k]; !ok || !sameValue(rv, v) {
			out.Delta[k] = v
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) twinHistory(w http.ResponseWriter, r *http.Request) error {
	d, err := s.knownDevice(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	side := q.Get("side")
	switch side {
	case "":
		side = state.SideDesired
	case state.SideDesired, state.SideReported:
	default:
		return invalidParameter("side=%q: give desired (the default) or reported", side)
	}
	before, limit, err := pageParams(q, listTwinHistory)
	if err != nil {
		return err
	}
	changes, next, err := s.reader.TwinHistory(d.ID, side, before, limit)
	if err != nil {
		return fmt.Errorf("twin history of %s: %w", d.ID, err)
	}
	out := apiwire.TwinHistory{Device: d.ID, Side: side, Changes: make([]apiwire.TwinChange, 0, len(changes)), Next: hex.EncodeToString(next)}
	if next != nil {
		out.NextPageToken = pageToken(listTwinHistory, next)
	}
	for _, c := range changes {
		out.Changes = append(out.Changes, twinChange(c))
	}
	return writePage(w, r, out.NextPageToken, out)
}

// pageParams reads limit and the paging cursor of list: page_token, or
// the deprecated "before", a (height, tx) key suffix in hex.
func pageParams(q url.Values, list pageList) (before []byte, limit int, err error) {
	if limit, err = limitParam(q); err != nil {
		return nil, 0, err
	}
	if before, err = pageCursor(q, list, 12); err != nil || before != nil {
		return before, limit, err
	}
	v := q.Get("before")
	if v == "" {
		return nil, limit, nil
	}
	if before, err = hex.DecodeString(v); err != nil || len(before) != 12 {
		return nil, 0, invalidParameter("before=%q is not a cursor; pass the next value of the previous page as it is", v)
	}
	return before, limit, nil
}

// sameValue compares two twin values; numbers by value, so a device that
// reports 60.0 (JSON has one number type) matches a desired 60.
func sameValue(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	_, af := a.(float64)
	_, bf := b.(float64)
	x, aok := number(a)
	y, bok := number(b)
	return aok && bok && (af || bf) && x == y // integers of one type compare exactly above
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
