package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
	"github.com/iotledger/iotledger/internal/cli"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

// fakeNode serves the API over the fake ledger and returns it, a home
// holding the key "owner", and the flags that point a command at both.
func fakeNode(t *testing.T) (*apitest.Ledger, *keystore.Key, []string) {
	t.Helper()
	l := apitest.New(t)
	srv := httptest.NewServer(api.New(l, l, api.Options{}).Handler())
	t.Cleanup(srv.Close)
	home := t.TempDir()
	k := importKey(t, home, "owner", fixedSeed(7))
	return l, k, []string{"--home", home, "--api", srv.URL}
}

// signed returns the only transaction l received since it had n.
func signed(t *testing.T, l *apitest.Ledger, n int) *tx.Signed {
	t.Helper()
	txs := l.SignedTxs()
	if len(txs) != n+1 {
		t.Fatalf("the node received %d transactions, want %d", len(txs), n+1)
	}
	return txs[n]
}

func writeDoc(t *testing.T, body []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tip.yaml")
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestContractDeploy(t *testing.T) {
	l, k, flags := fakeNode(t)
	doc := writeDoc(t, []byte(apitest.TipSource))
	out := mustRun(t, append([]string{"contract", "deploy", doc, "--fund", "500"}, flags...)...)
	// The fake names the contract in its log but does not store it: the
	// command says what it sent.
	want := fmt.Sprintf("deployed contract ctr-3\n  owner:  %s\n  escrow: 500\n  block:  9\n", k.Address())
	if diff := cmp.Diff(out, want); diff != "" {
		t.Errorf("deploy said (-got +want):\n%s", diff)
	}
	s := signed(t, l, 0)
	if d, ok := s.Fields.(*tx.DeployContract); s.Type != tx.TypeDeployContract || !ok || string(d.Source) != apitest.TipSource || d.Fund != 500 || s.Account != k.Address() {
		t.Errorf("sent %s %+v signed by %s, want the document with fund 500 signed by %s", s.Type, s.Fields, s.Account, k.Address())
	}

	t.Run("log without the id", func(t *testing.T) {
		l.SetDeployLog("ok")
		defer l.SetDeployLog("")
		out := mustRun(t, append([]string{"contract", "deploy", doc}, flags...)...)
		if !strings.Contains(out, "does not name it") || !strings.Contains(out, "contract list") {
			t.Errorf("deploy with no contract found said %q, want a pointer to contract list", out)
		}
		// Listing finds the owner's contract of the block.
		l.AddContract(query.ContractInfo{Contract: state.Contract{Owner: k.Address(), Name: "mine", Status: state.ContractActive, Deployed: 9}, Balance: 40, Token: "IOT"})
		out = mustRun(t, append([]string{"contract", "deploy", doc}, flags...)...)
		want := fmt.Sprintf("deployed contract ctr-3\n  name:   mine\n  owner:  %s\n  escrow: 40 IOT\n  block:  9\n", k.Address())
		if diff := cmp.Diff(out, want); diff != "" {
			t.Errorf("deploy found by listing said (-got +want):\n%s", diff)
		}
	})
}

func TestContractDeployRefuses(t *testing.T) {
	l, _, flags := fakeNode(t)
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	empty := writeDoc(t, []byte(" \n\t\n"))
	large := writeDoc(t, bytes.Repeat([]byte("#"), tx.MaxContractBytes+1))
	exact := writeDoc(t, append([]byte("name: x\n"), bytes.Repeat([]byte("#"), tx.MaxContractBytes-8)...))
	for _, tc := range []struct {
		name  string
		args  []string
		hints []string
	}{
		{"missing file", []string{missing}, []string{"nope.yaml"}},
		{"empty file", []string{empty}, []string{"is empty", "name"}},
		{"too large", []string{large}, []string{large, "65536 bytes", "shorten"}},
		{"no file", nil, []string{"accepts 1 arg(s), received 0"}},
		{"unknown key", []string{exact, "--key", "pump"}, []string{"`iotledger keys new pump`"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustFail(t, 1, tc.hints, append(append([]string{"contract", "deploy"}, tc.args...), flags...)...)
		})
	}
	if n := len(l.SignedTxs()); n != 0 {
		t.Errorf("refused deployments sent %d transactions", n)
	}
	// A document of exactly the limit goes.
	mustRun(t, append([]string{"contract", "deploy", exact}, flags...)...)
}

// moreArgs returns the command line a list's output ends with, after
// "more: iotledger", failing t unless it pages by --page-token, as the
// API does (the older --after is deprecated).
func moreArgs(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	args, ok := strings.CutPrefix(lines[len(lines)-1], "more: iotledger ")
	if !ok {
		t.Fatalf("output does not end with a more: line:\n%s", out)
	}
	f := strings.Fields(args)
	if i := slices.Index(f, "--page-token"); i < 0 || i != len(f)-2 || slices.Contains(f, "--after") {
		t.Fatalf("more: line %q does not end with --page-token TOKEN, or names --after", lines[len(lines)-1])
	}
	return f
}

func TestContractList(t *testing.T) {
	_, _, flags := fakeNode(t)
	golden(t, "contract-list.golden", mustRun(t, append([]string{"contract", "list"}, flags...)...))

	out := mustRun(t, append([]string{"contract", "list", "--limit", "1"}, flags...)...)
	next := moreArgs(t, out)
	if !strings.HasPrefix(out, "ctr-1 ") || strings.Contains(out, "ctr-2") || !slices.Equal(next[:len(next)-1], []string{"contract", "list", "--limit", "1", "--page-token"}) {
		t.Errorf("first page of one: %q", out)
	}
	token := next[len(next)-1]
	// The printed command line lists the next page, the last.
	if out := mustRun(t, append(next, flags...)...); !strings.HasPrefix(out, "ctr-2 ") || strings.Count(out, "\n") != 1 {
		t.Errorf("%s: %q, want ctr-2 alone and no more: line", strings.Join(next, " "), out)
	}
	var p client.ContractPage
	out = mustRun(t, append([]string{"contract", "list", "--page-token", token, "--json"}, flags...)...)
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Contracts) != 1 || p.Contracts[0].ID != "ctr-2" || p.NextPageToken != "" {
		t.Errorf("list --page-token %s --json = %+v (%v), want ctr-2 alone", token, p, err)
	}
	// The deprecated --after still pages.
	p = client.ContractPage{}
	out = mustRun(t, append([]string{"contract", "list", "--after", "1", "--json"}, flags...)...)
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Contracts) != 1 || p.Contracts[0].ID != "ctr-2" || p.Next != 2 || p.More {
		t.Errorf("list --after 1 --json = %+v (%v), want ctr-2 alone", p, err)
	}
	if out := mustRun(t, append([]string{"contract", "list", "--after", "2"}, flags...)...); out != "" {
		t.Errorf("list past the last: %q, want nothing", out)
	}
	mustFail(t, 1, []string{"--after and --page-token do not go together", "--page-token alone"},
		append([]string{"contract", "list", "--after", "1", "--page-token", token}, flags...)...)
	mustFail(t, 1, []string{"page_token", "next_page_token"}, append([]string{"contract", "list", "--page-token", "nope"}, flags...)...)
}

func TestContractShow(t *testing.T) {
	_, _, flags := fakeNode(t)
	golden(t, "contract-show.golden", mustRun(t, append([]string{"contract", "show", "ctr-1"}, flags...)...))
	golden(t, "contract-show-stopped.golden", mustRun(t, append([]string{"contract", "show", "ctr-2"}, flags...)...))

	var c client.Contract
	out := mustRun(t, append([]string{"contract", "show", "ctr-1", "--json"}, flags...)...)
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.Source != apitest.TipSource || c.Balance != 250 {
		t.Errorf("show --json = %+v (%v)", c, err)
	}
	mustFail(t, 1, []string{"ctr-9", "contract deploy"}, append([]string{"contract", "show", "ctr-9"}, flags...)...)
	mustFail(t, 1, []string{`"7"`, "ctr-7", "contract list"}, append([]string{"contract", "show", "7"}, flags...)...)
}

func TestContractEvents(t *testing.T) {
	_, _, flags := fakeNode(t)
	golden(t, "contract-events.golden", mustRun(t, append([]string{"contract", "events", "ctr-1"}, flags...)...))

	out := mustRun(t, append([]string{"contract", "events", "ctr-1", "--after", "1", "--limit", "1"}, flags...)...)
	if !strings.HasPrefix(out, "#2 block 8 (pay) paid ") || !strings.HasSuffix(out, "more: iotledger contract events ctr-1 --after 2\n") {
		t.Errorf("events --after 1 --limit 1: %q", out)
	}
	if out := mustRun(t, append([]string{"contract", "events", "ctr-2"}, flags...)...); out != "no events of ctr-2 after #0 yet\n" {
		t.Errorf("events of a contract without any: %q", out)
	}
	var p client.ContractEvents
	out = mustRun(t, append([]string{"contract", "events", "ctr-1", "--json"}, flags...)...)
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Events) != 3 || p.Next != 3 {
		t.Errorf("events --json = %+v (%v)", p, err)
	}
	mustFail(t, 1, []string{"ctr-9"}, append([]string{"contract", "events", "ctr-9"}, flags...)...)
	mustFail(t, 1, []string{"follow", "ctr-9"}, append([]string{"contract", "events", "ctr-9", "--follow"}, flags...)...)
}

// lockedBuffer is a bytes.Buffer that a command writes while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor polls until out holds want, for at most 10 seconds.
func waitFor(t *testing.T, out *lockedBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %q after 10s:\n%s", want, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestContractEventsFollow(t *testing.T) {
	defer cli.SetFollowInterval(10 * time.Millisecond)()
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) {
			l, _, flags := fakeNode(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var out lockedBuffer
			args := append([]string{"contract", "events", "ctr-1", "--follow", "--after", "1"}, flags...)
			if asJSON {
				args = append(args, "--json")
			}
			done := make(chan error, 1)
			go func() { done <- cli.Run(ctx, args, &out, &out) }()

			first, added := "#3 block 9", "#4 block 12"
			if asJSON {
				first, added = `"n":3,`, `"n":4,`
			}
			waitFor(t, &out, first)
			l.AddContractEvent("ctr-1", 12, "paid", map[string]any{"amount": int64(7)})
			waitFor(t, &out, added)
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("follow ended with %v, want no error when interrupted", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("follow did not end within 10s of its context")
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != 3 {
				t.Fatalf("printed %d lines, want events 2, 3 and 4 once each:\n%s", len(lines), out.String())
			}
			for i, line := range lines {
				n := uint64(i + 2)
				if asJSON {
					var ev client.ContractEvent
					if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.N != n || ev.Contract != "ctr-1" {
						t.Errorf("line %q: %+v (%v), want event %d as JSON", line, ev, err, n)
					}
				} else if !strings.HasPrefix(line, fmt.Sprintf("#%d block ", n)) {
					t.Errorf("line %q, want event %d", line, n)
				}
			}
			if last := lines[2]; !asJSON && last != `#4 block 12 (pay) paid {"amount":7}` {
				t.Errorf("new event printed as %q", last)
			}
		})
	}
}

func TestContractCall(t *testing.T) {
	l, k, flags := fakeNode(t)
	dev := apitest.DeviceID(1)
	out := mustRun(t, append([]string{"contract", "call", "ctr-1", "--trigger", "pay", "--arg", "to=" + dev, "--arg", "amount=100", "--arg", "memo=a=b"}, flags...)...)
	want := fmt.Sprintf("called ctr-1 (pay) in block 9\n  #4 block 9 (pay) called {\"amount\":\"100\",\"memo\":\"a=b\",\"to\":%q}\n", dev)
	if diff := cmp.Diff(out, want); diff != "" {
		t.Errorf("call said (-got +want):\n%s", diff)
	}
	s := signed(t, l, 0)
	wantCall := &tx.CallContract{Contract: "ctr-1", Trigger: "pay", Args: map[string]string{"to": dev, "amount": "100", "memo": "a=b"}}
	if diff := cmp.Diff(s.Fields, any(wantCall)); diff != "" || s.Account != k.Address() {
		t.Errorf("sent signed by %s (-got +want):\n%s", s.Account, diff)
	}

	// Refused by the ledger: the rule's name and its log.
	mustFail(t, 1, []string{"call_contract refused in block 9", "contract_stopped", "stopped by its owner in block 8"},
		append([]string{"contract", "call", "ctr-2"}, flags...)...)
	n := len(l.SignedTxs())

	many := []string{"contract", "call", "ctr-1"}
	for i := range tx.MaxArgs + 1 {
		many = append(many, "--arg", fmt.Sprintf("a%d=1", i))
	}
	for _, tc := range []struct {
		name  string
		args  []string
		hints []string
	}{
		{"unknown contract", []string{"contract", "call", "ctr-9"}, []string{"404", "ctr-9"}},
		{"not an id", []string{"contract", "call", "coldchain"}, []string{`"coldchain"`, "ctr-7"}},
		{"arg without =", []string{"contract", "call", "ctr-1", "--arg", "amount"}, []string{`"amount"`, "NAME=VALUE"}},
		{"arg without name", []string{"contract", "call", "ctr-1", "--arg", "=5"}, []string{"NAME=VALUE"}},
		{"arg twice", []string{"contract", "call", "ctr-1", "--arg", "a=1", "--arg", "a=2"}, []string{"a given twice"}},
		{"long value", []string{"contract", "call", "ctr-1", "--arg", "a=" + strings.Repeat("x", tx.MaxArgLen+1)}, []string{"at most 256 bytes"}},
		{"too many args", many, []string{"33 arguments", "at most 32"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustFail(t, 1, tc.hints, append(tc.args, flags...)...)
		})
	}
	if got := len(l.SignedTxs()); got != n {
		t.Errorf("refused calls sent %d transactions", got-n)
	}
}

func TestContractFundAndStop(t *testing.T) {
	l, k, flags := fakeNode(t)
	out := mustRun(t, append([]string{"contract", "fund", "ctr-1", "--amount", "500"}, flags...)...)
	if want := fmt.Sprintf("funded ctr-1 with 500 from %s in block 9\n  escrow: 750 IOT\n", k.Address()); out != want {
		t.Errorf("fund said %q, want %q", out, want)
	}
	if f, ok := signed(t, l, 0).Fields.(*tx.FundContract); !ok || *f != (tx.FundContract{Contract: "ctr-1", Amount: 500}) {
		t.Errorf("fund sent %+v", signed(t, l, 0).Fields)
	}
	mustFail(t, 1, []string{`"amount"`}, append([]string{"contract", "fund", "ctr-1"}, flags...)...)

	out = mustRun(t, append([]string{"contract", "stop", "ctr-1"}, flags...)...)
	if want := "stopped contract ctr-1 in block 9; what was left in its escrow went back to its owner " + apitest.Owner() + "\n"; out != want {
		t.Errorf("stop said %q, want %q", out, want)
	}
	if f, ok := signed(t, l, 1).Fields.(*tx.StopContract); !ok || f.Contract != "ctr-1" {
		t.Errorf("stop sent %+v", signed(t, l, 1).Fields)
	}
	mustFail(t, 1, []string{"fund_contract refused", "contract_stopped"}, append([]string{"contract", "fund", "ctr-1", "--amount", "1"}, flags...)...)
	mustFail(t, 1, []string{"stop_contract refused", "contract_stopped"}, append([]string{"contract", "stop", "ctr-1"}, flags...)...)
	mustFail(t, 1, []string{"ctr-9"}, append([]string{"contract", "stop", "ctr-9"}, flags...)...)
}

func TestDeviceList(t *testing.T) {
	_, _, flags := fakeNode(t)
	ids := []string{apitest.DeviceID(0), apitest.DeviceID(1), apitest.DeviceID(2)}
	slices.Sort(ids)
	listed := func(out string) []string {
		var got []string
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if id, _, ok := strings.Cut(l, "  "); ok && !strings.HasPrefix(l, "more: ") {
				got = append(got, id)
			}
		}
		return got
	}

	out := mustRun(t, append([]string{"device", "list"}, flags...)...)
	if diff := cmp.Diff(listed(out), ids); diff != "" || strings.Contains(out, "more:") {
		t.Errorf("device list (-got +want):\n%s\n%s", diff, out)
	}
	out = mustRun(t, append([]string{"device", "list", "--limit", "2"}, flags...)...)
	next := moreArgs(t, out)
	if diff := cmp.Diff(listed(out), ids[:2]); diff != "" || !slices.Equal(next[:len(next)-1], []string{"device", "list", "--limit", "2", "--page-token"}) {
		t.Errorf("first page of two (-got +want):\n%s\n%s", diff, out)
	}
	// The printed command line lists the next page, the last.
	out = mustRun(t, append(next, flags...)...)
	if diff := cmp.Diff(listed(out), ids[2:]); diff != "" || strings.Contains(out, "more:") {
		t.Errorf("%s (-got +want):\n%s\n%s", strings.Join(next, " "), diff, out)
	}
	// The deprecated --after still pages, and its page prints the token.
	out = mustRun(t, append([]string{"device", "list", "--after", ids[0], "--limit", "1"}, flags...)...)
	next = moreArgs(t, out)
	if diff := cmp.Diff(listed(out), ids[1:2]); diff != "" {
		t.Errorf("list --after %s --limit 1 (-got +want):\n%s\n%s", ids[0], diff, out)
	}
	if out := mustRun(t, append(next, flags...)...); !slices.Equal(listed(out), ids[2:]) {
		t.Errorf("%s after --after: %q, want %s", strings.Join(next, " "), out, ids[2])
	}
	mustFail(t, 1, []string{"--after and --page-token do not go together", "--page-token alone"},
		append([]string{"device", "list", "--after", ids[0], "--page-token", next[len(next)-1]}, flags...)...)
}

func TestDeviceStatus(t *testing.T) {
	l, _, flags := fakeNode(t)
	id := apitest.DeviceID(2)
	out := mustRun(t, append([]string{"device", "quarantine", id}, flags...)...)
	if want := "quarantined device " + id + " in block 9; its readings are refused until `iotledger device reactivate " + id + "`\n"; out != want {
		t.Errorf("quarantine said %q, want %q", out, want)
	}
	out = mustRun(t, append([]string{"device", "reactivate", id}, flags...)...)
	if want := "reactivated device " + id + " in block 9; its readings are accepted again\n"; out != want {
		t.Errorf("reactivate said %q, want %q", out, want)
	}
	var got []tx.DeviceStatus
	for _, s := range l.SignedTxs() {
		if f, ok := s.Fields.(*tx.DeviceStatus); ok && s.Type == tx.TypeDeviceStatus {
			got = append(got, *f)
		}
	}
	if diff := cmp.Diff(got, []tx.DeviceStatus{{Device: id, Status: "quarantined"}, {Device: id, Status: "active"}}); diff != "" {
		t.Errorf("sent (-got +want):\n%s", diff)
	}
	mustFail(t, 1, []string{`"dev1nope"`, "dev1..."}, append([]string{"device", "quarantine", "dev1nope"}, flags...)...)
	if n := len(l.SignedTxs()); n != 2 {
		t.Errorf("%d transactions sent, want the two above", n)
	}
}
