package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/testonly/receiptfix"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/verdict"
)

// newNode serves the API over the fake ledger and returns a client of it.
func newNode(t *testing.T, opts api.Options) (*client.Client, *apitest.Ledger, *httptest.Server) {
	t.Helper()
	l := apitest.New(t)
	srv := httptest.NewServer(api.New(l, l, opts).Handler())
	t.Cleanup(srv.Close)
	return client.New(srv.URL+"/", client.WithHTTPClient(srv.Client())), l, srv
}

var unknownDevice = address.Device(receiptfix.DeviceKey("nobody").Public().(ed25519.PublicKey))

// wantError checks that err is an *Error with status and problem kind.
func wantError(t *testing.T, err error, status int, kind string, is error) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a *client.Error", err, err)
	}
	if e.Status != status || e.Type != api.ProblemType+kind || e.Title == "" || e.Detail == "" || e.Instance == "" {
		t.Errorf("error %+v, want status %d and kind %s with a title, a detail and an instance", e, status, kind)
	}
	if is != nil && !errors.Is(err, is) {
		t.Errorf("errors.Is(%v, %v) is false", err, is)
	}
	for _, other := range []error{client.ErrNotFound, client.ErrNotYet, client.ErrBusy} {
		if other != is && errors.Is(err, other) {
			t.Errorf("errors.Is(%v, %v) is true", err, other)
		}
	}
	return e
}

func TestStatus(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	got, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := l.Status(t.Context())
	if diff := cmp.Diff(mirror(t, got), mirror(t, want)); diff != "" {
		t.Errorf("status (-got +want):\n%s", diff)
	}
	if got.Height != 42 || got.ChainID != receiptfix.ChainID {
		t.Errorf("status %+v", got)
	}
}

func TestDevices(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	var ids []string
	after := ""
	for range 5 {
		page, err := c.Devices(t.Context(), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Devices {
			ids = append(ids, d.ID)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	var want []string
	for _, d := range l.DeviceList {
		want = append(want, d.ID)
	}
	if diff := cmp.Diff(ids, want); diff != "" {
		t.Errorf("paged ids (-got +want):\n%s", diff)
	}
	_, err := c.Devices(t.Context(), "acc1nope", 0)
	wantError(t, err, 400, api.KindInvalidID, nil)
}

func TestDevice(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	id := apitest.DeviceID(1)
	got, err := c.Device(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := l.Device(id)
	activity, _ := l.Activity(id)
	if diff := cmp.Diff(mirror(t, got), mirror(t, api.DeviceActivity(want, activity))); diff != "" {
		t.Errorf("device (-got +want):\n%s", diff)
	}
	_, err = c.Device(t.Context(), unknownDevice)
	wantError(t, err, 404, api.KindNotFound, client.ErrNotFound)
	_, err = c.Device(t.Context(), "dev1bad")
	e := wantError(t, err, 400, api.KindInvalidID, nil)
	if !strings.Contains(e.Error(), "dev1bad") {
		t.Errorf("error %q does not name the id", e)
	}
}

func TestReadings(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	id := apitest.DeviceID(0)
	stored := l.Stored[id]

	page, err := c.Readings(t.Context(), id, client.ReadingQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Readings) != 3 || page.Next != nil {
		t.Fatalf("page %+v, want 3 readings and no next", page)
	}
	for i, r := range page.Readings {
		s := stored[i]
		if r.Seq != s.Seq || r.TimeMs != s.Time || !r.Time.Equal(s.Timestamp()) || r.Time.Location() != time.UTC ||
			r.Index != s.Index || r.Height != s.Height || r.Receipt != verdict.ReceiptPath(id, s.Seq) {
			t.Errorf("reading %d: %+v, stored %+v", i, r, s)
		}
	}
	if got := page.Readings[2].Data["count"]; got != json.Number("1152921504606846976") {
		t.Errorf("a 64-bit integer came back as %v (%T)", got, got)
	}
	if got := page.Readings[0].Data["door"]; got != true {
		t.Errorf("door %v", got)
	}

	for _, tc := range []struct {
		name string
		q    client.ReadingQuery
		seqs []uint64
		next *uint64
	}{
		{"seq range", client.ReadingQuery{From: 101, To: 105}, []uint64{103}, nil},
		{"limit", client.ReadingQuery{Limit: 2}, []uint64{100, 103}, ptr(uint64(106))},
		{"from next", client.ReadingQuery{From: 106}, []uint64{106}, nil},
		{"time", client.ReadingQuery{ByTime: true, From: uint64(stored[1].Time)}, []uint64{103, 106}, nil},
		{"time range", client.ReadingQuery{ByTime: true, From: uint64(stored[0].Time), To: uint64(stored[1].Time), Limit: 1}, []uint64{100}, ptr(uint64(103))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := c.Readings(t.Context(), id, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			seqs := []uint64{}
			for _, r := range page.Readings {
				seqs = append(seqs, r.Seq)
			}
			if diff := cmp.Diff(seqs, tc.seqs); diff != "" {
				t.Errorf("seqs (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(page.Next, tc.next); diff != "" {
				t.Errorf("next (-got +want):\n%s", diff)
			}
		})
	}
	_, err = c.Readings(t.Context(), unknownDevice, client.ReadingQuery{})
	wantError(t, err, 404, api.KindNotFound, client.ErrNotFound)
	_, err = c.Readings(t.Context(), id, client.ReadingQuery{From: 9, To: 3})
	wantError(t, err, 400, api.KindInvalidParameter, nil)
}

func ptr[T any](v T) *T { return &v }

func TestGaps(t *testing.T) {
	c, _, _ := newNode(t, api.Options{})
	got, err := c.Gaps(t.Context(), apitest.DeviceID(0))
	if err != nil {
		t.Fatal(err)
	}
	want := &client.Gaps{Device: apitest.DeviceID(0), Count: 3, MinSeq: 100, MaxSeq: 106, Gaps: []client.Range{{From: 101, To: 102}, {From: 104, To: 105}}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("gaps (-got +want):\n%s", diff)
	}
	_, err = c.Gaps(t.Context(), unknownDevice)
	wantError(t, err, 404, api.KindNotFound, client.ErrNotFound)
}

func TestReceipt(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	r, err := c.Receipt(t.Context(), apitest.DeviceID(2), 105)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.Marshal() // RawMessage fields come back indented: compare the files
	want, _ := l.Fixture.Receipt.Marshal()
	if diff := cmp.Diff(string(got), string(want)); diff != "" {
		t.Errorf("receipt (-got +want):\n%s", diff)
	}
	if _, err := receipt.Verify(r, l.Fixture.Genesis); err != nil {
		t.Errorf("receipt does not verify: %v", err)
	}

	_, err = c.Receipt(t.Context(), apitest.DeviceID(0), 106)
	e := wantError(t, err, 425, api.KindReceiptNotYet, client.ErrNotYet)
	if e.RetryAfter != time.Second {
		t.Errorf("RetryAfter %v, want 1s", e.RetryAfter)
	}
	_, err = c.Receipt(t.Context(), apitest.DeviceID(0), 101)
	wantError(t, err, 404, api.KindNotFound, client.ErrNotFound)
}

func TestBlock(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	got, err := c.Block(t.Context(), apitest.Height)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := l.Block(t.Context(), apitest.Height)
	if diff := cmp.Diff(mirror(t, got), mirror(t, api.Block(want))); diff != "" {
		t.Errorf("block (-got +want):\n%s", diff)
	}
	if got.Height != apitest.Height || got.Readings != 6 || hex.EncodeToString(got.AppHash) == "" {
		t.Errorf("block %+v", got)
	}
	_, err = c.Block(t.Context(), 99)
	wantError(t, err, 404, api.KindNotFound, client.ErrNotFound)
}

func TestSubmit(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	fresh, err := reading.Sign(reading.Reading{Seq: 500, Time: 1748779300000, Data: map[string]any{"v": 1.5}}, receiptfix.DeviceKey("device 2"))
	if err != nil {
		t.Fatal(err)
	}
	dup := l.Fixture.Readings[0]
	dev2, dev0 := apitest.DeviceID(2), apitest.DeviceID(0)

	got, err := c.Submit(t.Context(), [][]byte{fresh, dup, []byte{0x01}}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []client.Result{
		{Device: dev2, Seq: 500, Status: client.Accepted, Index: ptr(uint64(7)), Height: apitest.Height + 2, Receipt: verdict.ReceiptPath(dev2, 500)},
		{Device: dev0, Seq: 100, Status: client.Duplicate, Reason: "duplicate", Index: ptr(uint64(0)), Height: apitest.Height, Receipt: verdict.ReceiptPath(dev0, 100)},
		{Status: client.Rejected, Reason: "malformed_reading", Detail: got[2].Detail},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("results (-got +want):\n%s", diff)
	}

	got, err = c.Submit(t.Context(), [][]byte{fresh}, false)
	if err != nil || len(got) != 1 || got[0].Status != client.Pending {
		t.Errorf("without wait: %+v, %v; want pending", got, err)
	}
	one, err := c.SubmitCOSE(t.Context(), fresh, true)
	if err != nil || one.Status != client.Accepted || one.Seq != 500 {
		t.Errorf("SubmitCOSE: %+v, %v; want accepted", one, err)
	}

	_, err = c.Submit(t.Context(), nil, true)
	wantError(t, err, 400, api.KindInvalidBody, nil)

	l.SetBusy(true)
	_, err = c.SubmitCOSE(t.Context(), fresh, true)
	e := wantError(t, err, 503, api.KindBusy, client.ErrBusy)
	if e.RetryAfter != time.Second {
		t.Errorf("RetryAfter %v, want 1s", e.RetryAfter)
	}
}

func TestSubmitTooLarge(t *testing.T) {
	c, _, _ := newNode(t, api.Options{MaxBodyBytes: 1000})
	_, err := c.Submit(t.Context(), [][]byte{make([]byte, 1000)}, true)
	wantError(t, err, 413, api.KindTooLarge, nil)
}

func TestEvents(t *testing.T) {
	c, l, _ := newNode(t, api.Options{Heartbeat: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	l.Publish(api.Event{Type: "block", Data: map[string]int{"height": 43}})
	l.Publish(api.Event{Type: "reading", Data: map[string]any{"device": apitest.DeviceID(1), "seq": 7, "status": "accepted"}})

	ev := <-events
	var b struct{ Height int64 }
	if ev.Type != "block" || ev.Decode(&b) != nil || b.Height != 43 {
		t.Errorf("first event %s %s", ev.Type, ev.Data)
	}
	ev = <-events
	if ev.Type != "reading" || !strings.Contains(string(ev.Data), `"seq":7`) {
		t.Errorf("second event %s %s", ev.Type, ev.Data)
	}

	cancel()
	for range events { // closed once the client is done
	}
	wait, stop := context.WithTimeout(t.Context(), 5*time.Second)
	defer stop()
	if err := l.WaitSubscribers(wait, 0); err != nil {
		t.Fatal(err)
	}
}

// TestEventsFormat reads a stream with every line ending and multi-line data.
func TestEventsFormat(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, ": hello\r\n\r\nevent: a\r\ndata: 1\r\n\r\nevent: b\rdata: x\rdata:y\r\rdata: plain\n\nid: 5\nevent: c\nretry: 10\ndata: {}\n\n: bye\n")
	}))
	defer srv.Close()
	events, err := client.New(srv.URL).Events(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []client.Event
	for ev := range events {
		got = append(got, ev)
	}
	want := []client.Event{
		{Type: "a", Data: json.RawMessage("1")},
		{Type: "b", Data: json.RawMessage("x\ny")},
		{Type: "message", Data: json.RawMessage("plain")},
		{ID: "5", Type: "c", Data: json.RawMessage("{}")},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
}

func TestErrorNotProblem(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "<html>upstream is down</html>")
	}))
	defer srv.Close()
	c := client.New(srv.URL)
	_, err := c.Status(t.Context())
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want a *client.Error", err)
	}
	want := &client.Error{Status: 503, Title: "Service Unavailable", Detail: "<html>upstream is down</html>", Instance: "/v1/status", RetryAfter: 7 * time.Second}
	if diff := cmp.Diff(e, want); diff != "" {
		t.Errorf("error (-got +want):\n%s", diff)
	}
	if !errors.Is(err, client.ErrBusy) {
		t.Error("a 503 is not ErrBusy")
	}
	_, err = c.Events(t.Context())
	if !errors.Is(err, client.ErrBusy) {
		t.Errorf("Events: %v, want ErrBusy", err)
	}
}

// TestTypesMirrorAPI decodes each answer of the API strictly into the
// client's type and encodes it again: no field is lost or renamed.
func TestTypesMirrorAPI(t *testing.T) {
	_, l, srv := newNode(t, api.Options{})
	id := apitest.DeviceID(0)
	post := func(path string) ([]byte, error) {
		body, _ := json.Marshal(apiwire.Submission{Readings: []string{"AQ==", base64.StdEncoding.EncodeToString(l.Fixture.Readings[1])}})
		resp, err := srv.Client().Post(srv.URL+path, "application/json", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	get := func(path string) ([]byte, error) {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	for _, tc := range []struct {
		path  string
		fetch func(string) ([]byte, error)
		into  any
	}{
		{"/v1/status", get, new(client.Status)},
		{"/v1/devices", get, new(client.DevicePage)},
		{"/v1/devices/" + id, get, new(client.Device)},
		{"/v1/devices/" + id + "/readings", get, new(client.ReadingPage)},
		{"/v1/devices/" + id + "/readings?limit=1", get, new(client.ReadingPage)},
		{"/v1/devices/" + id + "/gaps", get, new(client.Gaps)},
		{"/v1/blocks/41", get, new(client.Block)},
		{"/v1/contracts", get, new(client.ContractPage)},
		{"/v1/contracts/ctr-1", get, new(client.Contract)},
		{"/v1/contracts/ctr-2", get, new(client.Contract)},
		{"/v1/contracts/ctr-1/events", get, new(client.ContractEvents)},
		{"/v1/readings", post, new(struct {
			Results []client.Result `json:"results"`
		})},
	} {
		t.Run(tc.path, func(t *testing.T) {
			raw, err := tc.fetch(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			dec.UseNumber()
			if err := dec.Decode(tc.into); err != nil {
				t.Fatalf("%s into %T: %v", raw, tc.into, err)
			}
			if diff := cmp.Diff(mirror(t, tc.into), mirror(t, json.RawMessage(raw))); diff != "" {
				t.Errorf("%T re-encoded (-) differs from the answer (+):\n%s", tc.into, diff)
			}
		})
	}
}

// mirror returns v's JSON as generic values, so that values of two types
// that mirror each other compare equal.
func mirror(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The client's exported API must not expose internal types.
func TestNoInternalTypes(t *testing.T) {
	c := reflect.TypeOf(client.New(""))
	var check func(at string, ty reflect.Type, seen map[reflect.Type]bool)
	check = func(at string, ty reflect.Type, seen map[reflect.Type]bool) {
		if seen[ty] {
			return
		}
		seen[ty] = true
		if strings.Contains(ty.PkgPath(), "/internal") {
			t.Errorf("%s uses %s.%s", at, ty.PkgPath(), ty.Name())
		}
		switch ty.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan, reflect.Map:
			check(at, ty.Elem(), seen)
		case reflect.Struct:
			for i := range ty.NumField() {
				if f := ty.Field(i); f.IsExported() {
					check(at+"."+f.Name, f.Type, seen)
				}
			}
		case reflect.Func:
			for i := range ty.NumIn() {
				check(at, ty.In(i), seen)
			}
			for i := range ty.NumOut() {
				check(at, ty.Out(i), seen)
			}
		}
	}
	for i := range c.NumMethod() {
		m := c.Method(i)
		check("Client."+m.Name, m.Type, map[reflect.Type]bool{})
	}
}

func TestReadingsTimePaging(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	id := apitest.DeviceID(0)
	stored := l.Stored[id]
	var got []uint64
	q := client.ReadingQuery{ByTime: true, From: uint64(stored[0].Time), Limit: 1}
	for range 10 {
		p, err := c.Readings(t.Context(), id, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Readings {
			got = append(got, r.Seq)
		}
		if p.Next == nil {
			break
		}
		q.StartSeq = *p.Next
	}
	var want []uint64
	for _, s := range stored {
		want = append(want, s.Seq)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("time pages (-want +got):\n%s", diff)
	}
}

// TestHalted: a node whose consensus has halted shows it in its status,
// and its 503 for readings is ErrHalted (and ErrBusy) with the reason and
// a Retry-After.
func TestHalted(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	since := time.Date(2026, time.December, 7, 19, 39, 12, 0, time.UTC)
	reason := "consensus failure: no space left on device; free space, then restart the node"
	l.SetHalted(&apiwire.Halt{Since: since, Reason: reason})
	st, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st.Halted, &client.Halt{Since: since, Reason: reason}); diff != "" {
		t.Errorf("status halted (-got +want):\n%s", diff)
	}
	fresh, err := reading.Sign(reading.Reading{Seq: 500, Time: 1748779300000, Data: map[string]any{"v": 1.5}}, receiptfix.DeviceKey("device 2"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Submit(t.Context(), [][]byte{fresh}, true)
	var e *client.Error
	if !errors.As(err, &e) || !errors.Is(err, client.ErrHalted) || !errors.Is(err, client.ErrBusy) {
		t.Fatalf("Submit while halted: %v, want an *Error that is ErrHalted and ErrBusy", err)
	}
	if e.RetryAfter != api.HaltRetryAfter*time.Second || !strings.Contains(e.Detail, reason) {
		t.Errorf("error %+v, want Retry-After %ds and the reason", e, api.HaltRetryAfter)
	}

	l.SetHalted(nil)
	if st, err := c.Status(t.Context()); err != nil || st.Halted != nil {
		t.Errorf("status after the halt: %+v, %v", st, err)
	}
	l.SetBusy(true)
	if _, err := c.Submit(t.Context(), [][]byte{fresh}, true); !errors.Is(err, client.ErrBusy) || errors.Is(err, client.ErrHalted) {
		t.Errorf("busy node: %v, want ErrBusy and not ErrHalted", err)
	}
}

// A balance above 2^53 (where a float64 loses integers) comes through the
// API and the client exactly.
func TestBigBalance(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	const big = 1<<53 + 1
	addr := apitest.DeviceID(2)
	l.SetAccount(&state.Account{Address: addr, Balance: big, Nonce: big + 2},
		[]*state.Payment{{Height: 7, Amount: -big, Counterparty: apitest.Owner(), Balance: big}})
	a, err := c.Account(t.Context(), addr, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Balance != big || a.Nonce != big+2 || len(a.History) != 1 || a.History[0].Amount != -big || a.History[0].BalanceAfter != big {
		t.Errorf("account %+v, want balance and balance_after %d, nonce %d, amount %d", a, uint64(big), uint64(big+2), -big)
	}
}
