package device_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/reading"
)

// fakeNode serves POST /v1/readings with answer, which gets the sequence
// numbers of the batch.
func fakeNode(t *testing.T, answer func(w http.ResponseWriter, seqs []uint64)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/readings" || r.URL.Query().Get("wait") != "" {
			t.Errorf("request %s %s, want POST /v1/readings waiting for commit", r.Method, r.URL)
		}
		// client.Submit sends a CBOR array of the readings' bytes.
		var raws [][]byte
		if ct := r.Header.Get("Content-Type"); ct != "application/cbor" {
			t.Errorf("Content-Type %q, want application/cbor", ct)
		}
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = dcbor.DecMode.Unmarshal(body, &raws)
		}
		if err != nil {
			t.Errorf("body: %v", err)
		}
		var seqs []uint64
		for _, raw := range raws {
			rd, err := reading.Decode(raw)
			if err != nil {
				t.Errorf("reading: %v", err)
				return
			}
			seqs = append(seqs, rd.Seq)
		}
		answer(w, seqs)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func results(w http.ResponseWriter, rs ...client.Result) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"results": rs})
}

func problem(w http.ResponseWriter, status int, kind, detail, retryAfter string) {
	w.Header().Set("Content-Type", "application/problem+json")
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "urn:iotledger:problem:" + kind, "title": http.StatusText(status), "detail": detail})
}

// signed returns readings 1..n of a device.
func signed(t *testing.T, n int) [][]byte {
	t.Helper()
	s := newSigner(t, newKey(1), "", "")
	var raws [][]byte
	for range n {
		raw, _, err := s.Sign(map[string]any{"temp": 21.5}, readingTime)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	return raws
}

func ptr[T any](v T) *T { return &v }

func TestHTTPAnswers(t *testing.T) {
	srv := fakeNode(t, func(w http.ResponseWriter, seqs []uint64) {
		results(w,
			client.Result{Seq: seqs[0], Status: client.Accepted, Index: ptr(uint64(7)), Height: 3, Receipt: "/v1/devices/d/readings/1/receipt"},
			client.Result{Seq: seqs[1], Status: client.Duplicate, Reason: "duplicate", Detail: "committed before", Index: ptr(uint64(2)), Height: 2, Receipt: "/v1/devices/d/readings/2/receipt"},
			client.Result{Seq: seqs[2], Status: client.Rejected, Reason: "bad_signature", Detail: "the signature does not verify"},
			client.Result{Seq: seqs[3], Status: client.Pending},
		)
	})
	got, err := device.NewHTTP(client.New(srv.URL)).Send(t.Context(), signed(t, 4))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := []device.Answer{
		{Status: device.Accepted, Index: 7, Height: 3, Receipt: "/v1/devices/d/readings/1/receipt"},
		{Status: device.Duplicate, Reason: "duplicate", Detail: "committed before", Index: 2, Height: 2, Receipt: "/v1/devices/d/readings/2/receipt"},
		{Status: device.Rejected, Reason: "bad_signature", Detail: "the signature does not verify"},
		{Status: device.Pending},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("answers (-got +want):\n%s", diff)
	}
}

func TestHTTPRefusedRequests(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		kind       string
		retryAfter string
		wantAfter  time.Duration
		wantIs     error
	}{
		{"busy", http.StatusServiceUnavailable, "busy", "7", 7 * time.Second, client.ErrBusy},
		{"rate limited", http.StatusTooManyRequests, "rate-limited", "2", 2 * time.Second, nil},
		{"internal error", http.StatusInternalServerError, "internal", "", 0, nil},
		// A wrong URL is a configuration to fix, not a reason to give
		// readings up.
		{"not found", http.StatusNotFound, "not-found", "", 0, client.ErrNotFound},
		{"unsupported media type", http.StatusUnsupportedMediaType, "unsupported-media-type", "", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeNode(t, func(w http.ResponseWriter, seqs []uint64) {
				problem(w, tt.status, tt.kind, "try later", tt.retryAfter)
			})
			got, err := device.NewHTTP(client.New(srv.URL)).Send(t.Context(), signed(t, 3))
			re, ok := errors.AsType[*device.RetryError](err)
			if !ok {
				t.Fatalf("Send = %v, %v; want a *device.RetryError", got, err)
			}
			if re.After != tt.wantAfter {
				t.Errorf("RetryError.After = %v, want %v", re.After, tt.wantAfter)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
		})
	}
}

func TestHTTPFindsTheReadingAtFault(t *testing.T) {
	// The node refuses a whole request it cannot read (400) or that is too
	// large (413); the transport splits the batch until the reading at
	// fault is alone, and only that one is rejected.
	tests := []struct {
		name   string
		status int
		kind   string
	}{
		{"unreadable", http.StatusBadRequest, "invalid-body"},
		{"too large", http.StatusRequestEntityTooLarge, "too-large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requests := 0
			srv := fakeNode(t, func(w http.ResponseWriter, seqs []uint64) {
				requests++
				var rs []client.Result
				for _, seq := range seqs {
					if seq == 4 {
						problem(w, tt.status, tt.kind, fmt.Sprintf("reading %d is at fault", seq), "")
						return
					}
					rs = append(rs, client.Result{Seq: seq, Status: client.Accepted, Index: ptr(seq)})
				}
				results(w, rs...)
			})
			got, err := device.NewHTTP(client.New(srv.URL)).Send(t.Context(), signed(t, 6))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			want := []device.Answer{
				{Status: device.Accepted, Index: 1},
				{Status: device.Accepted, Index: 2},
				{Status: device.Accepted, Index: 3},
				{Status: device.Rejected, Reason: tt.kind, Detail: "reading 4 is at fault"},
				{Status: device.Accepted, Index: 5},
				{Status: device.Accepted, Index: 6},
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("answers (-got +want):\n%s", diff)
			}
			// [1..6] [1..3] [4..6] [4] [5..6]
			if requests != 5 {
				t.Errorf("%d requests, want 5", requests)
			}
		})
	}
}

func TestHTTPNetworkDown(t *testing.T) {
	srv := fakeNode(t, func(w http.ResponseWriter, seqs []uint64) {})
	srv.Close()
	got, err := device.NewHTTP(client.New(srv.URL)).Send(t.Context(), signed(t, 1))
	if err == nil {
		t.Fatalf("Send to a closed server = %v, want an error", got)
	}
}
