package api_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
	"github.com/iotledger/iotledger/internal/state"
)

var lowerHex = regexp.MustCompile(`^([0-9a-f]{2})+$`)

// hexField checks that field of the JSON object b is a lowercase hex
// string of want's bytes.
func hexField(t *testing.T, what string, b []byte, field string, want []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	s, ok := m[field].(string)
	if !ok || !lowerHex.MatchString(s) {
		t.Errorf("%s %s = %v, want lowercase hex", what, field, m[field])
		return
	}
	if got, _ := hex.DecodeString(s); !bytes.Equal(got, want) || len(want) == 0 {
		t.Errorf("%s %s = %s, want %x", what, field, s, want)
	}
}

// Every hash of the API's own answers is lowercase hex: /v1/status,
// /v1/blocks and the data of a block event (which the node publishes as
// api.BlockEvent).
func TestHashesAreHex(t *testing.T) {
	e := newEnv(t, api.Options{})
	b, _ := e.ledger.Block(t.Context(), apitest.Height)
	top, _ := e.ledger.Block(t.Context(), apitest.Height+1)

	st := e.get(t, "/v1/status")
	st.ok(t, nil)
	hexField(t, "status", st.body, "app_hash", top.AppHash)
	hexField(t, "status", st.body, "log_root", top.LogRoot)

	blk := e.get(t, "/v1/blocks/41")
	blk.ok(t, nil)
	for field, want := range map[string][]byte{"app_hash": b.AppHash, "log_root": b.LogRoot, "state_digest": b.StateDigest, "hash": b.Hash} {
		hexField(t, "block", blk.body, field, want)
	}

	ev, err := json.Marshal(api.BlockEvent(&b.Block))
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string][]byte{"app_hash": b.AppHash, "log_root": b.LogRoot, "state_digest": b.StateDigest} {
		hexField(t, "block event", ev, field, want)
	}

	var tx map[string]any
	e.do(t, "POST", "/v1/txs", "application/cbor", []byte{0x82, 0x02, 0x40}).ok(t, &tx)
	if s, _ := tx["hash"].(string); !lowerHex.MatchString(s) || len(s) != 64 {
		t.Errorf("transaction hash %v, want 64 lowercase hex digits", tx["hash"])
	}
}

// Balances, amounts and nonces above 2^53 (where JavaScript numbers lose
// integers) are decimal strings, exact.
func TestBigIntegersAreStrings(t *testing.T) {
	e := newEnv(t, api.Options{})
	const big = 1<<53 + 1
	addr := apitest.DeviceID(2)
	e.ledger.SetAccount(&state.Account{Address: addr, Balance: big + 2, Nonce: big},
		[]*state.Payment{{Height: 7, Amount: -big, Counterparty: apitest.Owner(), Balance: big + 2}})
	a := e.get(t, "/v1/accounts/"+addr)
	a.ok(t, nil)
	var m struct {
		Balance, Nonce any
		History        []map[string]any
	}
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Balance != "9007199254740995" || m.Nonce != "9007199254740993" || len(m.History) != 1 ||
		m.History[0]["amount"] != "-9007199254740993" || m.History[0]["balance_after"] != "9007199254740995" {
		t.Errorf("account %s: want balance, nonce, amount and balance_after as exact decimal strings", a.body)
	}
	var c map[string]any
	e.get(t, "/v1/contracts/ctr-1").ok(t, &c)
	if c["balance"] != "250" {
		t.Errorf("contract escrow %#v, want the string \"250\"", c["balance"])
	}
}
