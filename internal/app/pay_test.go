package app_test

import (
	"crypto/ed25519"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

var carol = key(3)

func (c *testChain) transferTx(signer ed25519.PrivateKey, f tx.Transfer) []byte {
	c.t.Helper()
	return c.sign(signer, c.nonce(signer), tx.TypeTransfer, &f)
}

func (c *testChain) balance(addr string) uint64 {
	c.t.Helper()
	a, err := c.app.Reader().Account(addr)
	if err != nil {
		c.t.Fatal(err)
	}
	if a == nil {
		return 0
	}
	return a.Balance
}

func (c *testChain) wantBalances(want map[string]uint64) {
	c.t.Helper()
	for addr, w := range want {
		if got := c.balance(addr); got != w {
			c.t.Errorf("balance of %s = %d, want %d", addr, got, w)
		}
	}
}

func payChain(t *testing.T) *testChain {
	g := app.DefaultGenesis()
	g.Balances = []app.Allocation{
		{Address: accountID(alice), Amount: 1000},
		{Address: deviceID(sensor), Amount: 50},
	}
	return newChainGenesis(t, g)
}

func TestGenesisBalances(t *testing.T) {
	c := payChain(t)
	c.wantBalances(map[string]uint64{accountID(alice): 0}) // nothing before the first block
	c.mustOK()
	c.wantBalances(map[string]uint64{accountID(alice): 1000, deviceID(sensor): 50, accountID(bob): 0})
	h, next, err := c.app.Reader().History(accountID(alice), nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []*state.Payment{{Height: 1, Amount: 1000, Counterparty: state.Genesis, Balance: 1000}}
	if d := cmp.Diff(h, want); d != "" || next != nil {
		t.Errorf("history (-got +want):\n%s\nnext %x", d, next)
	}
	// A restart does not credit genesis twice.
	c.reopen()
	c.mustOK()
	c.wantBalances(map[string]uint64{accountID(alice): 1000})
	if got := c.app.Reader().Token(); got != state.DefaultToken {
		t.Errorf("Token() = %q, want %q", got, state.DefaultToken)
	}
}

func TestTransfer(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	c.mustOK(c.transferTx(alice, tx.Transfer{To: accountID(bob), Amount: 300, Memo: "rent"}))
	c.wantBalances(map[string]uint64{accountID(alice): 700, accountID(bob): 300})
	for who, want := range map[string]*state.Payment{
		accountID(alice): {Height: 2, Amount: -300, Counterparty: accountID(bob), Memo: "rent", Balance: 700},
		accountID(bob):   {Height: 2, Amount: 300, Counterparty: accountID(alice), Memo: "rent", Balance: 300},
	} {
		h, _, err := c.app.Reader().History(who, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(h, []*state.Payment{want}); d != "" {
			t.Errorf("newest payment of %s (-got +want):\n%s", who, d)
		}
	}
	// Pages: newest first, the cursor continues below the last one returned.
	first, next, err := c.app.Reader().History(accountID(alice), nil, 1)
	if err != nil || len(first) != 1 || next == nil {
		t.Fatalf("History page 1 = %v, %x, %v", first, next, err)
	}
	second, next, err := c.app.Reader().History(accountID(alice), next, 1)
	if err != nil || len(second) != 1 || second[0].Counterparty != state.Genesis || next != nil {
		t.Fatalf("History page 2 = %+v, %x, %v; want the genesis credit and no more", second, next, err)
	}
}

func TestTransferRefusals(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	c.register(alice, sensor)
	other := key(11) // registered by bob
	c.register(bob, other)
	c.mustOK(c.transferTx(alice, tx.Transfer{To: accountID(bob), Amount: 10}))

	tests := []struct {
		name   string
		signer ed25519.PrivateKey
		f      tx.Transfer
		want   app.Code
		hints  []string
	}{
		{"overdraw", bob, tx.Transfer{To: accountID(alice), Amount: 11}, app.CodeInsufficientFunds, []string{"holds 10", "11"}},
		{"zero", alice, tx.Transfer{To: accountID(bob)}, app.CodeInvalidAmount, []string{"amount 0"}},
		{"above int64", alice, tx.Transfer{To: accountID(bob), Amount: math.MaxInt64 + 1}, app.CodeInvalidAmount, nil},
		{"to itself", alice, tx.Transfer{To: accountID(alice), Amount: 1}, app.CodeInvalidRecipient, []string{"pays itself"}},
		{"to unregistered device", alice, tx.Transfer{To: deviceID(key(12)), Amount: 1}, app.CodeInvalidRecipient, []string{"not registered"}},
		{"from another account", bob, tx.Transfer{From: accountID(alice), To: accountID(bob), Amount: 1}, app.CodeNotController, []string{accountID(alice)}},
		{"from a device of another owner", bob, tx.Transfer{From: deviceID(sensor), To: accountID(bob), Amount: 1}, app.CodeNotController, []string{"neither the owner"}},
		{"from an unregistered device", alice, tx.Transfer{From: deviceID(key(12)), To: accountID(bob), Amount: 1}, app.CodeUnregisteredDevice, nil},
	}
	// No balance can pass 2^64-1: genesis bounds the total supply by that
	// (TestGenesisValidate) and transfers move money without making any,
	// so CodeBalanceOverflow guards a case that cannot arise today.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[string]uint64{accountID(alice): c.balance(accountID(alice)), accountID(bob): c.balance(accountID(bob))}
			nonce := c.nonce(tt.signer)
			r := c.block(c.transferTx(tt.signer, tt.f)).TxResults[0]
			wantCode(t, tt.name, r.Code, r.Log, tt.want, tt.hints...)
			if got := c.nonce(tt.signer); got != nonce+1 {
				t.Errorf("nonce %d after the transaction, want %d: a refused transfer spends its nonce", got, nonce+1)
			}
			if tt.want != app.CodeOK {
				c.wantBalances(before) // a refusal moves nothing
			}
		})
	}
}

// TestDevicePays: a machine pays a machine with its own key; its owner may
// move its money too; a revoked device's key may not.
func TestDevicePays(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	id := c.register(alice, sensor)
	charger := key(13)
	chargerID := c.register(bob, charger)
	c.mustOK(c.transferTx(sensor, tx.Transfer{From: id, To: chargerID, Amount: 20, Memo: "kWh"}))
	c.mustOK(c.transferTx(alice, tx.Transfer{From: id, To: accountID(alice), Amount: 5}))
	c.wantBalances(map[string]uint64{id: 25, chargerID: 20, accountID(alice): 1005})
	h, _, err := c.app.Reader().History(chargerID, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := &state.Payment{Height: c.height - 1, Amount: 20, Counterparty: id, Memo: "kWh", Balance: 20, By: accountID(sensor)}
	if d := cmp.Diff(h, []*state.Payment{want}); d != "" {
		t.Errorf("charger's history (-got +want):\n%s", d)
	}

	replay := c.transferTx(sensor, tx.Transfer{From: id, To: chargerID, Amount: 1})
	c.mustOK(replay)
	r := c.block(replay).TxResults[0]
	wantCode(t, "replayed transfer", r.Code, r.Log, app.CodeWrongNonce)
	c.wantBalances(map[string]uint64{chargerID: 21})

	c.mustOK(c.revokeTx(alice, id, c.nonce(alice)))
	r = c.block(c.transferTx(sensor, tx.Transfer{From: id, To: chargerID, Amount: 1})).TxResults[0]
	wantCode(t, "revoked device pays", r.Code, r.Log, app.CodeRevokedDevice, "its owner")
	c.mustOK(c.transferTx(alice, tx.Transfer{From: id, To: accountID(alice), Amount: 24}))
	c.wantBalances(map[string]uint64{id: 0, accountID(alice): 1029})
}

func TestGenesisValidate(t *testing.T) {
	for name, b := range map[string][]app.Allocation{
		"bad address": {{Address: "acc1nope", Amount: 1}},
		"twice":       {{Address: accountID(alice), Amount: 1}, {Address: accountID(alice), Amount: 2}},
		"zero":        {{Address: accountID(alice)}},
		"sum":         {{Address: accountID(alice), Amount: math.MaxInt64}, {Address: accountID(bob), Amount: math.MaxInt64}, {Address: accountID(carol), Amount: 2}},
	} {
		g := app.DefaultGenesis()
		g.Balances = b
		if err := g.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, b)
		}
	}
}
