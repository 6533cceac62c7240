package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
	"github.com/iotledger/iotledger/internal/keybox"
	"github.com/iotledger/iotledger/internal/keybox/keyboxtest"
)

// keyLedger is the fake ledger with a real key box over a ledger of
// epochs the test sets.
type keyLedger struct {
	*apitest.Ledger
	box *keybox.Box
}

func (l keyLedger) PutStreamKey(s keybox.Slot, wrapped []byte) (keybox.Outcome, error) {
	return l.box.Put(s, wrapped)
}

func (l keyLedger) StreamKey(s keybox.Slot) (*keybox.Key, error) { return l.box.Get(s) }

// newKeyEnv is newEnv whose ledger has a key box.
func newKeyEnv(t *testing.T, epochs *keyboxtest.Ledger, opts api.Options) (*env, *keybox.Box) {
	t.Helper()
	e := &env{ledger: apitest.New(t), logs: new(syncBuffer)}
	box, err := keybox.Open(t.TempDir(), epochs, slog.New(slog.NewTextHandler(e.logs, nil)), keybox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(box.Close)
	opts.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	e.api = api.New(keyLedger{e.ledger, box}, e.ledger, opts)
	e.srv = httptest.NewServer(e.api.Handler())
	t.Cleanup(e.srv.Close)
	rec := &recorder{next: e.srv.Client().Transport}
	e.srv.Client().Transport = rec
	t.Cleanup(func() { rec.report(t) })
	return e, box
}

func uploadBody(t *testing.T, items ...apiwire.StreamKeyItem) []byte {
	t.Helper()
	b, err := json.Marshal(apiwire.StreamKeyUpload{Keys: items})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStreamKeys(t *testing.T) {
	id := apitest.DeviceID(0)
	owner, consumer, stranger := keyboxtest.Account(1), keyboxtest.Account(2), keyboxtest.Account(3)
	slot := func(n uint64, r string) keybox.Slot { return keybox.Slot{Device: id, Epoch: n, Recipient: r} }
	epochs := keyboxtest.NewLedger()
	stored := keyboxtest.Wrap(t, slot(1, owner), true)
	epochs.Commit(slot(1, owner), stored, 4)
	epochs.Start(id, 2, owner, consumer) // announced below: held until then
	held := keyboxtest.Wrap(t, slot(2, owner), false)
	other := keyboxtest.Wrap(t, slot(1, owner), false) // not the committed one
	erasedKey := keyboxtest.Wrap(t, slot(3, owner), false)
	epochs.Commit(slot(3, owner), erasedKey, 5)
	epochs.Erase(id, 3, 7)
	e, box := newKeyEnv(t, epochs, api.Options{})
	path := "/v1/devices/" + id + "/stream-keys"

	a := e.do(t, http.MethodPost, path, "application/json", uploadBody(t,
		apiwire.StreamKeyItem{Epoch: 1, Recipient: owner, Wrapped: stored},
		apiwire.StreamKeyItem{Epoch: 2, Recipient: owner, Wrapped: held},
		apiwire.StreamKeyItem{Epoch: 1, Recipient: owner, Wrapped: other},
		apiwire.StreamKeyItem{Epoch: 3, Recipient: owner, Wrapped: erasedKey},
		apiwire.StreamKeyItem{Epoch: 9, Recipient: owner, Wrapped: held},
		apiwire.StreamKeyItem{Epoch: 2, Recipient: "acc1nope", Wrapped: held},
		apiwire.StreamKeyItem{Epoch: 2, Recipient: consumer, Wrapped: []byte("not a wrapped key")},
	))
	var got apiwire.StreamKeyResults
	a.ok(t, &got)
	type result struct {
		Status, Kind, Detail string
		Status2              int
	}
	want := []result{
		{"stored", "", "", 0},
		{"held", "", "the node holds it until the transaction that carries commitment", 0},
		{"refused", "commitment-mismatch", "is not the wrapped key that was announced", 409},
		{"refused", "epoch-erased", "was erased in block 7", 404},
		{"refused", "unknown-epoch", "the ledger has no epoch 9", 404},
		{"refused", "malformed", "recipient", 400},
		{"refused", "malformed", "wrapped key", 400},
	}
	if len(got.Results) != len(want) {
		t.Fatalf("%d results, want %d: %s", len(got.Results), len(want), a.body)
	}
	for i, r := range got.Results {
		w := want[i]
		var kind, detail string
		var status int
		if r.Problem != nil {
			kind, detail, status = strings.TrimPrefix(r.Problem.Type, api.ProblemType), r.Problem.Detail, r.Problem.Status
			if r.Problem.Instance != path || r.Problem.Title == "" {
				t.Errorf("result %d: problem %+v; want a title and the instance %s", i, r.Problem, path)
			}
		} else {
			detail = r.Detail
		}
		if r.Status != w.Status || kind != w.Kind || status != w.Status2 || !strings.Contains(detail, w.Detail) {
			t.Errorf("result %d: %s %s %d %q; want %s %s %d saying %q", i, r.Status, kind, status, detail, w.Status, w.Kind, w.Status2, w.Detail)
		}
	}
	if sum := sha256.Sum256(held); fmt.Sprintf("%x", got.Results[1].Commitment) != fmt.Sprintf("%x", sum) {
		t.Errorf("held key's commitment %x, want its SHA-256 %x", got.Results[1].Commitment, sum)
	}

	// The stored key comes back, with what the ledger says of it.
	var k apiwire.StreamKey
	e.get(t, path+"/1?recipient="+owner).ok(t, &k)
	sum := sha256.Sum256(stored)
	wantKey := apiwire.StreamKey{Device: id, Epoch: 1, Recipient: owner, KEM: 0x0020, Wrapped: stored, Commitment: sum[:], Height: 4}
	if diff := cmp.Diff(k, wantKey); diff != "" {
		t.Errorf("GET stream key (-got +want):\n%s", diff)
	}
	if raw := string(e.get(t, path+"/1?recipient="+owner).body); !strings.Contains(raw, base64.StdEncoding.EncodeToString(stored)) {
		t.Errorf("wrapped is not standard base64: %s", raw)
	}

	// Why there is none.
	for _, tc := range []struct {
		query  string
		status int
		kind   string
		detail string
	}{
		{"/3?recipient=" + owner, 404, api.KindEpochErased, "erased in block 7"},
		{"/1?recipient=" + stranger, 404, api.KindNotFound, "is not a recipient of epoch 1"},
		{"/2?recipient=" + consumer, 404, api.KindNotFound, "no wrapped key for it is committed yet"},
		{"/9?recipient=" + owner, 404, api.KindNotFound, "no epoch 9"},
		{"/1", 400, api.KindInvalidParameter, "recipient is missing"},
		{"/1?recipient=dev1x", 400, api.KindInvalidParameter, "recipient:"},
		{"/0?recipient=" + owner, 400, api.KindInvalidParameter, "epochs are numbered from 1"},
		{"/x?recipient=" + owner, 400, api.KindInvalidParameter, "is not an epoch"},
	} {
		p := e.get(t, path+tc.query).problem(t, tc.status, tc.kind)
		if !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("GET %s: %q; want it to say %q", tc.query, p.Detail, tc.detail)
		}
	}
	if p := e.get(t, "/v1/devices/"+apitest.DeviceID(99)+"/stream-keys/1?recipient="+owner).problem(t, 404, api.KindNotFound); !strings.Contains(p.Detail, "no device") {
		t.Errorf("unknown device: %q", p.Detail)
	}

	// The held key's commitment commits: it is stored, and served.
	epochs.Commit(slot(2, owner), held, 9)
	a = e.get(t, path+"/2?recipient="+owner)
	a.problem(t, 404, api.KindKeyNotHere)
	if a.Header.Get("Retry-After") == "" {
		t.Error("key-not-here without Retry-After")
	}
	box.Apply(keybox.Commit{Height: 9, Committed: []keybox.Span{{Device: id, From: 2, To: 2}}})
	e.get(t, path+"/2?recipient="+owner).ok(t, &k)
	if string(k.Wrapped) != string(held) || k.Height != 9 {
		t.Errorf("the held key after its commitment: %+v; want it, committed at 9", k)
	}
}

func TestStreamKeysUploadRefused(t *testing.T) {
	id := apitest.DeviceID(0)
	e, _ := newKeyEnv(t, keyboxtest.NewLedger(), api.Options{})
	path := "/v1/devices/" + id + "/stream-keys"
	item := `{"epoch": 1, "recipient": "` + keyboxtest.Account(1) + `", "wrapped": "AAAA"}`
	many := make([]string, api.MaxStreamKeysPerUpload+1)
	for i := range many {
		many[i] = item
	}
	for _, tc := range []struct {
		name, ct, body string
		status         int
		kind, detail   string
	}{
		{"not JSON", "application/json", "{", 400, api.KindInvalidBody, "not JSON of the form"},
		{"no keys", "application/json", `{"keys": []}`, 400, api.KindInvalidBody, "no keys"},
		{"unknown field", "application/json", `{"keys": [` + item + `], "extra": 1}`, 400, api.KindInvalidBody, "extra"},
		{"unknown item field", "application/json", `{"keys": [{"epoch": 1, "commitment": "00"}]}`, 400, api.KindInvalidBody, "key 1"},
		{"not base64", "application/json", `{"keys": [` + item + `, {"epoch": 1, "recipient": "x", "wrapped": "!!"}]}`, 400, api.KindInvalidBody, "key 2"},
		{"no wrapped key", "application/json", `{"keys": [{"epoch": 1, "recipient": "x"}]}`, 400, api.KindInvalidBody, "no wrapped key"},
		{"negative epoch", "application/json", `{"keys": [{"epoch": -1, "recipient": "x", "wrapped": "AAAA"}]}`, 400, api.KindInvalidBody, "epoch is a number"},
		{"two values", "application/json", `{"keys": [` + item + `]} {}`, 400, api.KindInvalidBody, "more than one JSON value"},
		{"too many", "application/json", `{"keys": [` + strings.Join(many, ",") + `]}`, 413, api.KindTooLarge, "at most 1024"},
		{"CBOR", "application/cbor", `{}`, 415, api.KindUnsupportedMedia, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do(t, http.MethodPost, path, tc.ct, []byte(tc.body)).problem(t, tc.status, tc.kind)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q; want it to say %q", p.Detail, tc.detail)
			}
		})
	}
	e.do(t, http.MethodPost, "/v1/devices/"+apitest.DeviceID(99)+"/stream-keys", "application/json", []byte(`{"keys": [`+item+`]}`)).problem(t, 404, api.KindNotFound)
	e.do(t, http.MethodPost, "/v1/devices/x/stream-keys", "application/json", []byte(`{"keys": [`+item+`]}`)).problem(t, 400, api.KindInvalidID)
}

// TestStreamKeysWithoutKeyBox: a Ledger without a key box answers 404.
func TestStreamKeysWithoutKeyBox(t *testing.T) {
	e := newEnv(t, api.Options{})
	id := apitest.DeviceID(0)
	p := e.get(t, "/v1/devices/"+id+"/stream-keys/1?recipient="+keyboxtest.Account(1)).problem(t, 404, api.KindNotFound)
	if !strings.Contains(p.Detail, "keeps no key box") {
		t.Errorf("detail %q", p.Detail)
	}
	e.do(t, http.MethodPost, "/v1/devices/"+id+"/stream-keys", "application/json", []byte(`{}`)).problem(t, 404, api.KindNotFound)
}

// TestStreamKeysRateLimited: uploads count against the client's rate as
// every request does.
func TestStreamKeysRateLimited(t *testing.T) {
	frozen := time.Unix(1000, 0)
	e, _ := newKeyEnv(t, keyboxtest.NewLedger(), api.Options{RatePerIP: 1, BurstPerIP: 1, LimitLoopback: true, Now: func() time.Time { return frozen }})
	path := "/v1/devices/" + apitest.DeviceID(0) + "/stream-keys"
	body := []byte(`{"keys": [{"epoch": 1, "recipient": "` + keyboxtest.Account(1) + `", "wrapped": "AAAA"}]}`)
	e.do(t, http.MethodPost, path, "application/json", body).ok(t, nil)
	a := e.do(t, http.MethodPost, path, "application/json", body)
	a.problem(t, http.StatusTooManyRequests, api.KindRateLimited)
}
