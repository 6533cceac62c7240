package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/testonly/receiptfix"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/verdict"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// env is an API server over the fake ledger.
type env struct {
	ledger *apitest.Ledger
	api    *api.Server
	srv    *httptest.Server
	logs   *syncBuffer
}

func newEnv(t *testing.T, opts api.Options) *env {
	t.Helper()
	e := &env{ledger: apitest.New(t), logs: new(syncBuffer)}
	opts.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	e.api = api.New(e.ledger, e.ledger, opts)
	e.srv = httptest.NewServer(e.api.Handler())
	t.Cleanup(e.srv.Close)
	// Every answer the test receives through e.srv.Client() is checked
	// against the OpenAPI document (schema_test.go).
	rec := &recorder{next: e.srv.Client().Transport}
	e.srv.Client().Transport = rec
	t.Cleanup(func() { rec.report(t) })
	return e
}

// syncBuffer is a bytes.Buffer for a logger that handlers share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// answer is a response with its body read.
type answer struct {
	*http.Response
	body []byte
}

func (e *env) do(t *testing.T, method, path, contentType string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp, b}
}

func (e *env) get(t *testing.T, path string) answer {
	t.Helper()
	return e.do(t, http.MethodGet, path, "", nil)
}

// ok checks a 200 JSON answer and decodes it into v (if not nil).
func (a answer) ok(t *testing.T, v any) {
	t.Helper()
	if a.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d, want 200; body %s", a.Request.Method, a.Request.URL.Path, a.StatusCode, a.body)
	}
	if ct := a.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if v != nil {
		if err := json.Unmarshal(a.body, v); err != nil {
			t.Fatalf("decode %s: %v", a.body, err)
		}
	}
}

// problem checks a problem answer and returns it.
func (a answer) problem(t *testing.T, status int, kind string) api.Problem {
	t.Helper()
	if a.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", a.Request.Method, a.Request.URL.Path, a.StatusCode, status, a.body)
	}
	if ct := a.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p api.Problem
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decode problem %s: %v", a.body, err)
	}
	want := api.Problem{Type: api.ProblemType + kind, Title: p.Title, Status: status, Detail: p.Detail, Instance: a.Request.URL.Path}
	if diff := cmp.Diff(p, want); diff != "" {
		t.Errorf("problem (-got +want):\n%s", diff)
	}
	if p.Title == "" || p.Detail == "" {
		t.Errorf("problem %+v lacks a title or a detail", p)
	}
	return p
}

// golden compares a JSON answer, indented, with testdata/name.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got = buf.Bytes()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(got), string(want)); diff != "" {
		t.Errorf("%s (-got +want):\n%s", name, diff)
	}
}

// unknownDevice is a well-formed id that no device of the fake has.
var unknownDevice = address.Device(receiptfix.DeviceKey("nobody").Public().(ed25519.PublicKey))

func TestStatus(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.get(t, "/v1/status")
	a.ok(t, nil)
	golden(t, "status.json", a.body)
}

func TestDevices(t *testing.T) {
	e := newEnv(t, api.Options{})
	ids := func(p apiwire.DevicePage) []string {
		var out []string
		for _, d := range p.Devices {
			out = append(out, d.ID)
		}
		return out
	}
	all := make([]string, 0, 3)
	for _, d := range e.ledger.DeviceList {
		all = append(all, d.ID)
	}

	var first apiwire.DevicePage
	a := e.get(t, "/v1/devices")
	a.ok(t, &first)
	golden(t, "devices.json", a.body)
	if diff := cmp.Diff(ids(first), all); diff != "" || first.Next != "" {
		t.Errorf("all devices: next %q, ids (-got +want):\n%s", first.Next, diff)
	}

	var p1, p2 apiwire.DevicePage
	e.get(t, "/v1/devices?limit=2").ok(t, &p1)
	if diff := cmp.Diff(ids(p1), all[:2]); diff != "" || p1.Next != all[1] {
		t.Errorf("page 1: next %q, ids (-got +want):\n%s", p1.Next, diff)
	}
	e.get(t, "/v1/devices?limit=2&after="+p1.Next).ok(t, &p2)
	if diff := cmp.Diff(ids(p2), all[2:]); diff != "" || p2.Next != "" {
		t.Errorf("page 2: next %q, ids (-got +want):\n%s", p2.Next, diff)
	}

	var last apiwire.DevicePage
	a = e.get(t, "/v1/devices?limit=5000&after="+all[2])
	a.ok(t, &last)
	if string(a.body) != `{"devices":[],"next":""}`+"\n" {
		t.Errorf("after the last device: %s, want an empty list", a.body)
	}

	for _, tc := range []struct {
		query, kind, detail string
	}{
		{"?after=dev1xyz", api.KindInvalidID, "query parameter after"},
		{"?after=" + address.Account(receiptfix.DeviceKey("x").Public().(ed25519.PublicKey)), api.KindInvalidID, `want "dev1"`},
		{"?limit=0", api.KindInvalidParameter, "limit"},
		{"?limit=ten", api.KindInvalidParameter, "limit"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			p := e.get(t, "/v1/devices"+tc.query).problem(t, http.StatusBadRequest, tc.kind)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, tc.detail)
			}
		})
	}
}

func TestDevice(t *testing.T) {
	e := newEnv(t, api.Options{})
	id := apitest.DeviceID(1)
	a := e.get(t, "/v1/devices/"+id)
	a.ok(t, nil)
	golden(t, "device.json", a.body)

	a = e.get(t, "/v1/devices/dev1notanid")
	p := a.problem(t, http.StatusBadRequest, api.KindInvalidID)
	golden(t, "problem.json", a.body)
	if !strings.Contains(p.Detail, `"dev1notanid"`) || !strings.Contains(p.Detail, "dev1...") {
		t.Errorf("detail %q does not name the id and say what a device id is", p.Detail)
	}
	p = e.get(t, "/v1/devices/"+unknownDevice).problem(t, http.StatusNotFound, api.KindNotFound)
	if !strings.Contains(p.Detail, unknownDevice) {
		t.Errorf("detail %q does not name the device", p.Detail)
	}
}

func TestReadings(t *testing.T) {
	e := newEnv(t, api.Options{})
	id := apitest.DeviceID(0) // seqs 100, 103, 106
	stored := e.ledger.Stored[id]
	timeOf := func(i int) string { return stored[i].Timestamp().Format(time.RFC3339Nano) }
	msOf := func(i int) string { return strconv.FormatInt(stored[i].Time, 10) }

	a := e.get(t, "/v1/devices/"+id+"/readings")
	a.ok(t, nil)
	golden(t, "readings.json", a.body)

	for _, tc := range []struct {
		query    string
		wantSeqs []uint64
		wantNext *uint64
	}{
		{"", []uint64{100, 103, 106}, nil},
		{"?by=seq&from=101", []uint64{103, 106}, nil},
		{"?from=100&to=103", []uint64{100, 103}, nil},
		{"?limit=1", []uint64{100}, ptr(uint64(103))},
		{"?from=103&limit=1", []uint64{103}, ptr(uint64(106))},
		{"?from=107", []uint64{}, nil},
		{"?by=time&from=" + timeOf(1), []uint64{103, 106}, nil},
		{"?by=time&to=" + msOf(1), []uint64{100, 103}, nil},
		{"?by=time&from=" + msOf(1) + "&to=" + msOf(1), []uint64{103}, nil},
		{"?by=time&limit=2", []uint64{100, 103}, ptr(uint64(106))},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var page apiwire.ReadingPage
			e.get(t, "/v1/devices/"+id+"/readings"+tc.query).ok(t, &page)
			seqs := []uint64{}
			for _, r := range page.Readings {
				seqs = append(seqs, r.Seq)
			}
			if diff := cmp.Diff(seqs, tc.wantSeqs); diff != "" {
				t.Errorf("seqs (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(page.Next, tc.wantNext); diff != "" {
				t.Errorf("next (-got +want):\n%s", diff)
			}
		})
	}

	for _, tc := range []struct {
		query, detail string
	}{
		{"?by=day", "by=seq"},
		{"?from=x", "sequence number"},
		{"?to=-1", "sequence number"},
		{"?from=5&to=4", "swap"},
		{"?by=time&from=yesterday", "RFC 3339"},
		{"?by=time&from=2025-06-01T12:00:00", "RFC 3339"},
		{"?by=time&from=-5", "1970"},
		{"?limit=-1", "limit"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			p := e.get(t, "/v1/devices/"+id+"/readings"+tc.query).problem(t, http.StatusBadRequest, api.KindInvalidParameter)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, tc.detail)
			}
		})
	}
	e.get(t, "/v1/devices/x/readings").problem(t, http.StatusBadRequest, api.KindInvalidID)
	e.get(t, "/v1/devices/"+unknownDevice+"/readings").problem(t, http.StatusNotFound, api.KindNotFound)
}

func ptr[T any](v T) *T { return &v }

func TestGaps(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.get(t, "/v1/devices/"+apitest.DeviceID(0)+"/gaps")
	a.ok(t, nil)
	golden(t, "gaps.json", a.body)
	e.get(t, "/v1/devices/dev1/gaps").problem(t, http.StatusBadRequest, api.KindInvalidID)
	e.get(t, "/v1/devices/"+unknownDevice+"/gaps").problem(t, http.StatusNotFound, api.KindNotFound)
}

func TestReceipt(t *testing.T) {
	e := newEnv(t, api.Options{})

	t.Run("verifies", func(t *testing.T) {
		// Leaf 5: device 2, seq 105.
		a := e.get(t, "/v1/devices/"+apitest.DeviceID(2)+"/readings/105/receipt")
		a.ok(t, nil)
		want, err := e.ledger.Fixture.Receipt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(a.body), string(want)); diff != "" {
			t.Errorf("receipt (-got +want):\n%s", diff)
		}
		r, err := receipt.Parse(a.body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := receipt.Verify(r, e.ledger.Fixture.Genesis); err != nil {
			t.Errorf("the served receipt does not verify: %v", err)
		}
	})
	t.Run("not yet", func(t *testing.T) {
		a := e.get(t, "/v1/devices/"+apitest.DeviceID(0)+"/readings/106/receipt")
		p := a.problem(t, http.StatusTooEarly, api.KindReceiptNotYet)
		if got := a.Header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After %q, want 1", got)
		}
		if !strings.Contains(p.Detail, "next block") {
			t.Errorf("detail %q does not say what it waits for", p.Detail)
		}
	})
	t.Run("unknown seq", func(t *testing.T) {
		e.get(t, "/v1/devices/"+apitest.DeviceID(0)+"/readings/101/receipt").problem(t, http.StatusNotFound, api.KindNotFound)
	})
	t.Run("unknown device", func(t *testing.T) {
		e.get(t, "/v1/devices/"+unknownDevice+"/readings/1/receipt").problem(t, http.StatusNotFound, api.KindNotFound)
	})
	t.Run("bad seq", func(t *testing.T) {
		e.get(t, "/v1/devices/"+apitest.DeviceID(0)+"/readings/-1/receipt").problem(t, http.StatusBadRequest, api.KindInvalidParameter)
	})
	t.Run("bad id", func(t *testing.T) {
		e.get(t, "/v1/devices/acc1x/readings/1/receipt").problem(t, http.StatusBadRequest, api.KindInvalidID)
	})
}

func TestBlock(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.get(t, "/v1/blocks/41")
	a.ok(t, nil)
	golden(t, "block.json", a.body)
	e.get(t, "/v1/blocks/43").problem(t, http.StatusNotFound, api.KindNotFound)
	e.get(t, "/v1/blocks/0").problem(t, http.StatusBadRequest, api.KindInvalidParameter)
	e.get(t, "/v1/blocks/top").problem(t, http.StatusBadRequest, api.KindInvalidParameter)
}

// batch is the JSON body of a submission of raws.
func batch(raws ...[]byte) []byte {
	s := apiwire.Submission{Readings: []string{}}
	for _, r := range raws {
		s.Readings = append(s.Readings, base64.StdEncoding.EncodeToString(r))
	}
	b, _ := json.Marshal(s)
	return b
}

// newReading signs a reading of device 1 with seq.
func newReading(t *testing.T, seq uint64) []byte {
	t.Helper()
	raw, err := reading.Sign(reading.Reading{Seq: seq, Time: 1748779300000, Data: map[string]any{"temp_c": 21.5}}, receiptfix.DeviceKey("device 1"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestSubmit(t *testing.T) {
	e := newEnv(t, api.Options{MaxBodyBytes: 4096})
	fresh := newReading(t, 200)
	dup := e.ledger.Fixture.Readings[4] // device 1, seq 104
	junk := []byte("not a reading")

	t.Run("batch waits", func(t *testing.T) {
		a := e.do(t, http.MethodPost, "/v1/readings", "application/json", batch(fresh, dup, junk))
		a.ok(t, nil)
		golden(t, "submit.json", a.body)
	})
	t.Run("batch without wait", func(t *testing.T) {
		var got apiwire.Results
		e.do(t, http.MethodPost, "/v1/readings?wait=false", "application/json", batch(fresh, dup)).ok(t, &got)
		var statuses []string
		for _, r := range got.Results {
			statuses = append(statuses, string(r.Status))
		}
		if diff := cmp.Diff(statuses, []string{"pending", "duplicate"}); diff != "" {
			t.Errorf("statuses (-got +want):\n%s", diff)
		}
	})
	t.Run("cbor batch", func(t *testing.T) {
		var got apiwire.Results
		e.do(t, http.MethodPost, "/v1/readings?wait=false", "application/cbor", cborBatch(t, fresh, dup, junk)).ok(t, &got)
		var statuses []string
		for _, r := range got.Results {
			statuses = append(statuses, string(r.Status))
		}
		if diff := cmp.Diff(statuses, []string{"pending", "duplicate", "rejected"}); diff != "" {
			t.Errorf("statuses (-got +want):\n%s", diff)
		}
	})
	t.Run("cose", func(t *testing.T) {
		var got apiwire.Results
		e.do(t, http.MethodPost, "/v1/readings", "application/cose; cose-type=\"cose-sign1\"", fresh).ok(t, &got)
		want := []verdict.Result{{Device: apitest.DeviceID(1), Seq: 200, Status: "accepted", Index: ptr(uint64(7)), Height: apitest.Height + 2, Receipt: verdict.ReceiptPath(apitest.DeviceID(1), 200)}}
		if diff := cmp.Diff(got.Results, want); diff != "" {
			t.Errorf("results (-got +want):\n%s", diff)
		}
	})

	bad := []struct {
		name, contentType, query string
		body                     []byte
		status                   int
		kind, detail             string
	}{
		{"bad base64", "application/json", "", []byte(`{"readings":["` + base64.StdEncoding.EncodeToString(fresh) + `","@@@"]}`), 400, api.KindInvalidBody, "readings[1]"},
		{"url base64", "application/json", "", []byte(`{"readings":["-_-_"]}`), 400, api.KindInvalidBody, "readings[0] is not standard base64"},
		{"not a string", "application/json", "", []byte(`{"readings":[12]}`), 400, api.KindInvalidBody, "readings[0] is not a string"},
		{"empty reading", "application/json", "", []byte(`{"readings":[""]}`), 400, api.KindInvalidBody, "readings[0] is empty"},
		{"no readings", "application/json", "", []byte(`{"readings":[]}`), 400, api.KindInvalidBody, "at least one"},
		{"bad json", "application/json", "", []byte(`{"readings":`), 400, api.KindInvalidBody, "not JSON"},
		{"unknown field", "application/json", "", []byte(`{"reading":["AA=="]}`), 400, api.KindInvalidBody, `not JSON of the form {"readings": ["<base64>", ...]}: the key "reading" is unknown`},
		{"readings twice", "application/json", "", []byte(`{"readings":["` + base64.StdEncoding.EncodeToString(fresh) + `"],"readings":["AA=="]}`), 400, api.KindInvalidBody, `the key "readings" appears twice; send all the readings in one array`},
		{"readings twice, the first empty", "application/json", "", []byte(`{"readings":[],"readings":["AA=="]}`), 400, api.KindInvalidBody, `the key "readings" appears twice`},
		{"readings in another case", "application/json", "", []byte(`{"Readings":["AA=="]}`), 400, api.KindInvalidBody, `the key "Readings" is unknown (keys are case-sensitive: "readings")`},
		{"readings and Readings", "application/json", "", []byte(`{"readings":["AA=="],"READINGS":["AA=="]}`), 400, api.KindInvalidBody, `the key "READINGS" is unknown`},
		{"not an object", "application/json", "", []byte(`["AA=="]`), 400, api.KindInvalidBody, "not an object"},
		{"two values", "application/json", "", []byte(`{"readings":["AA=="]} {}`), 400, api.KindInvalidBody, "more than one"},
		{"cbor not an array", "application/cbor", "", []byte{0xa0}, 400, api.KindInvalidBody, "not one CBOR array of byte strings"},
		{"cbor text element", "application/cbor", "", []byte{0x81, 0x61, 'x'}, 400, api.KindInvalidBody, "not one CBOR array of byte strings"},
		{"cbor trailing bytes", "application/cbor", "", []byte{0x80, 0x00}, 400, api.KindInvalidBody, "not one CBOR array of byte strings"},
		{"cbor empty batch", "application/cbor", "", []byte{0x80}, 400, api.KindInvalidBody, "at least one"},
		{"cbor empty reading", "application/cbor", "", []byte{0x81, 0x40}, 400, api.KindInvalidBody, "readings[0] is empty"},
		{"empty cose", "application/cose", "", nil, 400, api.KindInvalidBody, "empty"},
		{"bad wait", "application/cose", "?wait=maybe", fresh, 400, api.KindInvalidParameter, "wait="},
		{"no content type", "", "", fresh, 415, api.KindUnsupportedMedia, "application/cose"},
		{"text", "text/plain", "", fresh, 415, api.KindUnsupportedMedia, "text/plain"},
		{"too large", "application/cose", "", make([]byte, 4097), 413, api.KindTooLarge, "4096 bytes"},
		{"too large json", "application/json", "", batch(make([]byte, 3100)), 413, api.KindTooLarge, "fewer readings"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do(t, http.MethodPost, "/v1/readings"+tc.query, tc.contentType, tc.body).problem(t, tc.status, tc.kind)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, tc.detail)
			}
		})
	}

	t.Run("too many readings", func(t *testing.T) {
		small := newEnv(t, api.Options{MaxBatch: 2})
		for ct, body := range map[string][]byte{"application/json": batch(fresh, fresh, fresh), "application/cbor": cborBatch(t, fresh, fresh, fresh)} {
			p := small.do(t, http.MethodPost, "/v1/readings", ct, body).problem(t, 413, api.KindTooLarge)
			if !strings.Contains(p.Detail, "3 readings, at most 2") {
				t.Errorf("%s: detail %q does not give the count and the limit", ct, p.Detail)
			}
		}
	})

	t.Run("busy", func(t *testing.T) {
		e.ledger.SetBusy(true)
		defer e.ledger.SetBusy(false)
		a := e.do(t, http.MethodPost, "/v1/readings", "application/cose", fresh)
		a.problem(t, http.StatusServiceUnavailable, api.KindBusy)
		if got := a.Header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After %q, want 1", got)
		}
	})
}

// deadlineLedger records the deadline of Submit's context.
type deadlineLedger struct {
	*apitest.Ledger
	mu       sync.Mutex
	deadline time.Time
	hasIt    bool
}

func (l *deadlineLedger) last() (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadline, l.hasIt
}

func (l *deadlineLedger) Submit(ctx context.Context, raws [][]byte, wait bool) ([]verdict.Verdict, error) {
	l.mu.Lock()
	l.deadline, l.hasIt = ctx.Deadline()
	l.mu.Unlock()
	return l.Ledger.Submit(ctx, raws, wait)
}

func TestSubmitWaitTimeout(t *testing.T) {
	l := &deadlineLedger{Ledger: apitest.New(t)}
	srv := httptest.NewServer(api.New(l, l, api.Options{WaitTimeout: time.Hour}).Handler())
	defer srv.Close()
	post := func(query string) {
		t.Helper()
		resp, err := srv.Client().Post(srv.URL+"/v1/readings"+query, "application/cose", bytes.NewReader(newReading(t, 300)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	start := time.Now()
	post("")
	if d, ok := l.last(); !ok || d.Before(start.Add(59*time.Minute)) || d.After(time.Now().Add(time.Hour)) {
		t.Errorf("with wait: deadline %v (set %v), want about an hour from now", d, ok)
	}
	post("?wait=false")
	if d, ok := l.last(); ok {
		t.Errorf("without wait: deadline %v, want none", d)
	}
}

func TestInternalError(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.ledger.SetErr(errors.New("pebble: disk on fire at /var/lib/secret"))
	for _, path := range []string{
		"/v1/status",
		"/v1/devices",
		"/v1/devices/" + apitest.DeviceID(0),
		"/v1/devices/" + apitest.DeviceID(0) + "/readings/100/receipt",
		"/v1/blocks/41",
	} {
		p := e.get(t, path).problem(t, http.StatusInternalServerError, api.KindInternal)
		if strings.Contains(p.Detail, "fire") || strings.Contains(p.Detail, "secret") {
			t.Errorf("%s: detail %q leaks the internal cause", path, p.Detail)
		}
	}
	if logs := e.logs.String(); strings.Count(logs, "disk on fire") != 5 {
		t.Errorf("the cause is not logged once per request:\n%s", logs)
	}
}

func TestUnmatched(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.get(t, "/v2/status").problem(t, http.StatusNotFound, api.KindNotFound)
	e.get(t, "/v1/devices/"+apitest.DeviceID(0)+"/readings/100").problem(t, http.StatusNotFound, api.KindNotFound)
	a := e.do(t, http.MethodPost, "/v1/status", "application/json", nil)
	a.problem(t, http.StatusMethodNotAllowed, api.KindMethodNotAllowed)
	if got := a.Header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow %q, want GET, HEAD", got)
	}
	a = e.do(t, http.MethodDelete, "/v1/readings", "", nil)
	a.problem(t, http.StatusMethodNotAllowed, api.KindMethodNotAllowed)
	if got := a.Header.Get("Allow"); got != "GET, HEAD, POST" {
		t.Errorf("Allow %q, want GET, HEAD, POST (the newest readings, and submission)", got)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, api.Options{Registry: reg})
	// A second server on the same registry shares the counter.
	api.New(e.ledger, e.ledger, api.Options{Registry: reg})
	e.get(t, "/v1/status")
	e.get(t, "/v1/status")
	e.get(t, "/v1/devices/"+unknownDevice)
	e.get(t, "/nowhere")
	a := e.get(t, "/metrics")
	if a.StatusCode != http.StatusOK {
		t.Fatalf("status %d", a.StatusCode)
	}
	for _, want := range []string{
		`iotledger_http_requests_total{code="200",route="GET /v1/status"} 2`,
		`iotledger_http_requests_total{code="404",route="GET /v1/devices/{id}"} 1`,
		`iotledger_http_requests_total{code="404",route="unmatched"} 1`,
	} {
		if !strings.Contains(string(a.body), want) {
			t.Errorf("metrics lack %s:\n%s", want, a.body)
		}
	}
}

// cborBatch is an application/cbor body of raws.
func cborBatch(t *testing.T, raws ...[]byte) []byte {
	t.Helper()
	b, err := dcbor.EncMode.Marshal(raws)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAccount(t *testing.T) {
	e := newEnv(t, api.Options{})
	owner := apitest.Owner()
	var first apiwire.Account
	e.do(t, http.MethodGet, "/v1/accounts/"+owner+"?limit=1", "", nil).ok(t, &first)
	want := apiwire.Account{Address: owner, Token: "IOT", Balance: 93, Nonce: 4,
		History: []apiwire.Payment{{Height: 5, Amount: -7, Counterparty: e.ledger.DeviceList[0].ID, Memo: "top-up", BalanceAfter: 93}},
		Next:    hex.EncodeToString(append(make([]byte, 11), 1))}
	if d := cmp.Diff(first, want, cmpopts.IgnoreFields(apiwire.Account{}, "NextPageToken")); d != "" { // TestPaging checks the token
		t.Errorf("first page (-got +want):\n%s", d)
	}
	var second apiwire.Account
	e.do(t, http.MethodGet, "/v1/accounts/"+owner+"?limit=1&before="+first.Next, "", nil).ok(t, &second)
	if len(second.History) != 1 || second.History[0].Counterparty != state.Genesis || second.Next != "" {
		t.Errorf("second page = %+v, want the genesis credit and no next", second)
	}
	var empty apiwire.Account
	a := e.do(t, http.MethodGet, "/v1/accounts/"+apitest.DeviceID(2), "", nil)
	a.ok(t, &empty)
	if empty.Balance != 0 || empty.History == nil || len(empty.History) != 0 || !strings.Contains(string(a.body), `"history":[]`) {
		t.Errorf("unused account = %s, want a zero balance and an empty history list", a.body)
	}
	var escrow apiwire.Account // a contract's account is its escrow
	e.do(t, http.MethodGet, "/v1/accounts/ctr-7", "", nil).ok(t, &escrow)
	if escrow.Address != "ctr-7" {
		t.Errorf("escrow account = %+v, want address ctr-7", escrow)
	}
	for _, tc := range []struct{ path, kind, detail string }{
		{"/v1/accounts/bob", api.KindInvalidID, "neither an account address"},
		{"/v1/accounts/ctr-x", api.KindInvalidID, "contract id (ctr-N"},
		{"/v1/accounts/" + owner + "?before=zz", api.KindInvalidParameter, "cursor"},
		{"/v1/accounts/" + owner + "?limit=0", api.KindInvalidParameter, "limit"},
	} {
		p := e.do(t, http.MethodGet, tc.path, "", nil).problem(t, 400, tc.kind)
		if !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: detail %q does not say %q", tc.path, p.Detail, tc.detail)
		}
	}
}

func TestTwin(t *testing.T) {
	e := newEnv(t, api.Options{})
	id := e.ledger.DeviceList[0].ID
	var now apiwire.Twin
	e.do(t, http.MethodGet, "/v1/devices/"+id+"/twin", "", nil).ok(t, &now)
	if d := cmp.Diff(now.Delta, map[string]any{"firmware": "1.3.0"}); d != "" || now.Desired.Version != 2 || now.AsOf != 0 {
		t.Errorf("twin = %+v; delta (-got +want):\n%s", now, d)
	}
	var then apiwire.Twin
	e.do(t, http.MethodGet, "/v1/devices/"+id+"/twin?height=6", "", nil).ok(t, &then)
	if then.Desired.Version != 1 || then.AsOf != 6 || len(then.Delta) != 0 {
		t.Errorf("twin as of 6 = %+v, want desired version 1 and no delta (firmware 1.2.0 on both sides)", then)
	}
	var empty apiwire.Twin
	a := e.do(t, http.MethodGet, "/v1/devices/"+e.ledger.DeviceList[1].ID+"/twin", "", nil)
	a.ok(t, &empty)
	if !strings.Contains(string(a.body), `"state":{}`) || !strings.Contains(string(a.body), `"delta":{}`) {
		t.Errorf("empty twin = %s, want empty objects, not null", a.body)
	}
	var h1, h2 apiwire.TwinHistory
	e.do(t, http.MethodGet, "/v1/devices/"+id+"/twin/history?limit=1", "", nil).ok(t, &h1)
	if len(h1.Changes) != 1 || h1.Changes[0].Version != 2 || h1.Next == "" || h1.Side != "desired" {
		t.Fatalf("history page 1 = %+v", h1)
	}
	e.do(t, http.MethodGet, "/v1/devices/"+id+"/twin/history?limit=1&before="+h1.Next, "", nil).ok(t, &h2)
	if len(h2.Changes) != 1 || h2.Changes[0].Version != 1 || h2.Next != "" {
		t.Errorf("history page 2 = %+v, want version 1 and no next", h2)
	}
	for _, tc := range []struct{ path, detail string }{
		{"/v1/devices/" + id + "/twin?height=0", "height"},
		{"/v1/devices/" + id + "/twin?height=x", "height"},
		{"/v1/devices/" + id + "/twin/history?side=both", "side"},
		{"/v1/devices/" + id + "/twin/history?before=00", "cursor"},
	} {
		p := e.do(t, http.MethodGet, tc.path, "", nil).problem(t, 400, api.KindInvalidParameter)
		if !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: detail %q does not say %q", tc.path, p.Detail, tc.detail)
		}
	}
}

func TestSubmitTx(t *testing.T) {
	e := newEnv(t, api.Options{})
	var ok apiwire.TxCommit
	e.do(t, http.MethodPost, "/v1/txs", "application/cbor", []byte{0x82, 0x02, 0x40}).ok(t, &ok)
	if !ok.Committed || ok.Height != 9 || ok.Code != 0 || len(ok.Hash) != 32 {
		t.Errorf("committed transaction = %+v", ok)
	}
	var refused apiwire.TxCommit
	e.do(t, http.MethodPost, "/v1/txs", "application/cbor", []byte{1}).ok(t, &refused)
	if refused.Committed || refused.Name != "malformed_tx" || refused.Height != 0 {
		t.Errorf("refused transaction = %+v, want not committed, malformed_tx", refused)
	}
	for _, tc := range []struct {
		ct     string
		body   []byte
		status int
		kind   string
	}{
		{"application/json", []byte("{}"), 415, api.KindUnsupportedMedia},
		{"application/cbor", nil, 400, api.KindInvalidBody},
		{"application/cbor", make([]byte, api.MaxTxBody+1), 413, api.KindTooLarge},
	} {
		e.do(t, http.MethodPost, "/v1/txs", tc.ct, tc.body).problem(t, tc.status, tc.kind)
	}
}

func TestTwinDeltaNumbers(t *testing.T) {
	for _, tc := range []struct {
		a, b any
		same bool
	}{
		{int64(60), float64(60), true},
		{int64(60), float64(60.5), false},
		{int64(1 << 60), int64(1<<60 + 1), false},
		{"60", int64(60), false},
		{true, true, true},
	} {
		if got := api.SameValue(tc.a, tc.b); got != tc.same {
			t.Errorf("SameValue(%#v, %#v) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
