package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/iotledger/iotledger/internal/cli"
)

func TestValidatorList(t *testing.T) {
	_, _, flags := fakeNode(t)
	golden(t, "validator-list.golden", mustRun(t, append([]string{"validator", "list"}, flags...)...))
}

func TestValidatorProposals(t *testing.T) {
	_, _, flags := fakeNode(t)
	golden(t, "validator-proposals.golden", mustRun(t, append([]string{"validator", "proposals"}, flags...)...))
	golden(t, "validator-proposals-all.golden", mustRun(t, append([]string{"validator", "proposals", "--all"}, flags...)...))
}

func TestValidatorRefusals(t *testing.T) {
	defer cli.SetProposalWait(200 * time.Millisecond)()
	_, _, flags := fakeNode(t)
	for _, tc := range []struct {
		name  string
		args  []string
		hints []string
	}{
		{"no change", []string{"propose"}, []string{"--add PUBKEY", "--remove KEY", "--set-power KEY"}},
		{"two changes", []string{"propose", "--remove", "x", "--set-power", "y", "--power", "3"}, []string{"one of"}},
		{"add a bad key", []string{"propose", "--add", "AAAA", "--power", "3", "--consent", "x"}, []string{"--add", "not an Ed25519 public key in base64"}},
		{"add without consent", []string{"propose", "--add", "f3swdjk9D7ccc6F6zQ+7/3YRJbnn5Ps+kZcbnG1etFc=", "--power", "3"}, []string{"--consent SIG", "iotledger validator consent"}},
		{"add without power", []string{"propose", "--add", "f3swdjk9D7ccc6F6zQ+7/3YRJbnn5Ps+kZcbnG1etFc=", "--consent",
			"UEzA7gb0+YnS/91xuqGL0V98kPbeX8N+IIbPSzY0r5nzfoe1WHULoUlDcOYQKkx1ldAZsfHaSyi4OJNhkJX3DA=="}, []string{"--power N"}},
		{"remove an unknown validator", []string{"propose", "--remove", "nonsense"}, []string{"neither the address nor the key of a validator"}},
		{"approve proposal 0", []string{"approve", "0"}, []string{"numbered from 1"}},
		{"approve no proposal", []string{"approve", "9"}, []string{"no validator change proposal 9"}},
		{"approve an expired proposal", []string{"approve", "2"}, []string{"proposal 2 (remove validator", "expired at block 30"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustFail(t, 1, tc.hints, append(append([]string{"validator"}, tc.args...), flags...)...)
		})
	}
}

// TestApproveWaitsForTheNextBlock: a proposal committed through another
// node reaches this one with its next block; approve looks for it until
// then instead of answering that there is none. The node here answers 404
// for proposal 3 until its height moves from 7 to 8, and then has it, as
// applied (approve's answer for an applied proposal names its block).
func TestApproveWaitsForTheNextBlock(t *testing.T) {
	var mu sync.Mutex
	height, asked := int64(7), 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.URL.Path == "/v1/status":
			if asked++; asked == 3 {
				height = 8
			}
			json.NewEncoder(w).Encode(map[string]any{"chain_id": "test", "height": height})
		case r.URL.Path == "/v1/validators/proposals/3" && height == 8:
			json.NewEncoder(w).Encode(map[string]any{"id": 3, "action": "remove", "status": "applied", "closed_height": 8, "effective_height": 10,
				"validator": map[string]any{"address": "AB", "pub_key": "f3swdjk9D7ccc6F6zQ+7/3YRJbnn5Ps+kZcbnG1etFc=", "power": 10}})
		default:
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		}
	}))
	defer srv.Close()
	mustFail(t, 1, []string{"proposal 3", "was applied in block 8"}, "validator", "approve", "3", "--api", srv.URL)
}
