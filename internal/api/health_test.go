package api_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
)

// haltedAt is the halt the tests put the fake ledger in.
var haltedAt = &apiwire.Halt{
	Since:  time.Date(2026, time.December, 7, 19, 39, 12, 0, time.UTC),
	Reason: "consensus failure: write data/blockstore.db/000006.log: no space left on device; free space, then restart the node",
}

// schemaOK fails unless body is valid against the document's schema name.
func schemaOK(t *testing.T, body []byte, name string) {
	t.Helper()
	checkSchema(t, name, body)
}

// TestHealthz: 200 while the server runs, whatever the ledger's state.
func TestHealthz(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.ledger.SetHalted(haltedAt)
	e.ledger.SetErr(errors.New("store closed"))
	var h apiwire.Health
	a := e.get(t, "/healthz")
	a.ok(t, &h)
	if h.Status != "serving" {
		t.Errorf("healthz status %q, want serving", h.Status)
	}
	schemaOK(t, a.body, "Health")
}

// TestReadyz: 200 naming each check while all pass; 503 not-ready naming
// every failing check and what to do otherwise.
func TestReadyz(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(l *apitest.Ledger)
		wants []string // in the detail of the 503; none: ready
	}{
		{name: "ready", set: func(*apitest.Ledger) {}},
		{name: "halted", set: func(l *apitest.Ledger) { l.SetHalted(haltedAt) },
			wants: []string{"consensus: consensus halted since 2026-12-07T19:39:12Z: " + haltedAt.Reason}},
		{name: "catching up", set: func(l *apitest.Ledger) { l.SetCatchingUp(true) },
			wants: []string{"sync: catching up with the chain (at block 42)"}},
		{name: "mempool full", set: func(l *apitest.Ledger) { l.SetMempoolFull(true) },
			wants: []string{"mempool: full"}},
		{name: "store", set: func(l *apitest.Ledger) { l.SetErr(errors.New("pebble: closed")) },
			wants: []string{"store: the store does not answer"}},
		{name: "two", set: func(l *apitest.Ledger) { l.SetHalted(haltedAt); l.SetMempoolFull(true) },
			wants: []string{"consensus: consensus halted", "mempool: full"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, api.Options{})
			tc.set(e.ledger)
			a := e.get(t, "/readyz")
			if len(tc.wants) == 0 {
				var got apiwire.Readiness
				a.ok(t, &got)
				var names []string
				for _, c := range got.Checks {
					names = append(names, c.Name)
					if !c.OK || c.Detail == "" {
						t.Errorf("check %+v of a ready node", c)
					}
				}
				if diff := cmp.Diff(names, []string{"store", "sync", "consensus", "mempool"}); diff != "" || !got.Ready {
					t.Errorf("ready %v, checks (-got +want):\n%s", got.Ready, diff)
				}
				schemaOK(t, a.body, "Readiness")
				return
			}
			p := a.problem(t, http.StatusServiceUnavailable, api.KindNotReady)
			for _, want := range tc.wants {
				if !strings.Contains(p.Detail, want) {
					t.Errorf("detail %q lacks %q", p.Detail, want)
				}
			}
			if ra := a.Header.Get("Retry-After"); ra == "" {
				t.Error("503 without Retry-After")
			}
			schemaOK(t, a.body, "Problem")
		})
	}
}

// statusOnly is a Ledger without Ready: GET /readyz judges it from Status.
type statusOnly struct{ api.Ledger }

func TestReadyzFromStatus(t *testing.T) {
	l := apitest.New(t)
	e := &env{ledger: l, srv: httptest.NewServer(api.New(statusOnly{l}, l, api.Options{}).Handler())}
	t.Cleanup(e.srv.Close)
	e.get(t, "/readyz").ok(t, nil)
	l.SetHalted(haltedAt)
	p := e.get(t, "/readyz").problem(t, http.StatusServiceUnavailable, api.KindNotReady)
	if !strings.Contains(p.Detail, "consensus: consensus halted since 2026-12-07T19:39:12Z: "+haltedAt.Reason) {
		t.Errorf("detail %q lacks the halt", p.Detail)
	}
	l.SetHalted(nil)
	l.SetCatchingUp(true)
	p = e.get(t, "/readyz").problem(t, http.StatusServiceUnavailable, api.KindNotReady)
	if !strings.Contains(p.Detail, "sync: catching up") {
		t.Errorf("detail %q lacks catching up", p.Detail)
	}
}

// TestStatusHalted: GET /v1/status carries halted {since, reason} while
// consensus has halted, and no halted key otherwise.
func TestStatusHalted(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.get(t, "/v1/status")
	if bytes.Contains(a.body, []byte(`"halted"`)) {
		t.Errorf("status of a committing node has halted: %s", a.body)
	}
	e.ledger.SetHalted(haltedAt)
	a = e.get(t, "/v1/status")
	var got struct {
		Halted map[string]any `json:"halted"`
	}
	a.ok(t, &got)
	want := map[string]any{"since": "2026-12-07T19:39:12Z", "reason": haltedAt.Reason}
	if diff := cmp.Diff(got.Halted, want); diff != "" {
		t.Errorf("halted (-got +want):\n%s", diff)
	}
	schemaOK(t, a.body, "Status")
}

// TestSubmitHalted: while consensus has halted, readings in every form and
// transactions are answered 503 kind halted with the reason, since when,
// and Retry-After; nothing is taken.
func TestSubmitHalted(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.ledger.SetHalted(haltedAt)
	raw := newReading(t, 500)
	for _, tc := range []struct {
		name, path, ct string
		body           []byte
		what           string
	}{
		{"cose", "/v1/readings", "application/cose", raw, "readings"},
		{"json", "/v1/readings", "application/json", batch(raw), "readings"},
		{"json without wait", "/v1/readings?wait=false", "application/json", batch(raw), "readings"},
		{"cbor", "/v1/readings", "application/cbor", cborBatch(t, raw), "readings"},
		{"tx", "/v1/txs", "application/cbor", []byte("\x82\x02\x40"), "the transaction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, http.MethodPost, tc.path, tc.ct, tc.body)
			p := a.problem(t, http.StatusServiceUnavailable, api.KindHalted)
			for _, want := range []string{"since 2026-12-07T19:39:12Z", "cannot commit " + tc.what, haltedAt.Reason, "It took none"} {
				if !strings.Contains(p.Detail, want) {
					t.Errorf("detail %q lacks %q", p.Detail, want)
				}
			}
			if ra := a.Header.Get("Retry-After"); ra != "30" {
				t.Errorf("Retry-After %q, want 30", ra)
			}
		})
	}

	// Once consensus commits again, the same reading is taken.
	e.ledger.SetHalted(nil)
	var res apiwire.Results
	e.do(t, http.MethodPost, "/v1/readings", "application/cose", raw).ok(t, &res)
	if len(res.Results) != 1 || res.Results[0].Status != "accepted" {
		t.Errorf("after the halt: %+v", res.Results)
	}
}
