package app_test

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

func (c *testChain) twinTx(signer ed25519.PrivateKey, typ tx.Type, p tx.TwinPatch) []byte {
	c.t.Helper()
	return c.sign(signer, c.nonce(signer), typ, &p)
}

func TestTwin(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	c.mustOK(c.twinTx(alice, tx.TypeSetDesired, tx.TwinPatch{Device: id, Set: map[string]any{"firmware": "1.2.0", "interval_s": int64(60)}}))
	h1 := c.height
	c.mustOK(c.twinTx(sensor, tx.TypeReportState, tx.TwinPatch{Device: id, Set: map[string]any{"firmware": "1.1.0", "battery": 0.93}}))
	c.mustOK(c.twinTx(alice, tx.TypeSetDesired, tx.TwinPatch{Device: id, Set: map[string]any{"firmware": "1.3.0"}, Unset: []string{"interval_s"}}))
	h3 := c.height

	now, err := c.app.Reader().Twin(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := &state.Twin{
		Desired:  state.TwinState{Version: 2, Height: h3, State: map[string]any{"firmware": "1.3.0"}},
		Reported: state.TwinState{Version: 1, Height: h1 + 1, State: map[string]any{"firmware": "1.1.0", "battery": 0.93}},
	}
	if d := cmp.Diff(now, want); d != "" {
		t.Errorf("twin now (-got +want):\n%s", d)
	}
	then, err := c.app.Reader().Twin(id, h1)
	if err != nil {
		t.Fatal(err)
	}
	wantThen := &state.Twin{Desired: state.TwinState{Version: 1, Height: h1, State: map[string]any{"firmware": "1.2.0", "interval_s": int64(60)}}}
	if d := cmp.Diff(then, wantThen); d != "" {
		t.Errorf("twin as of block %d (-got +want):\n%s", h1, d)
	}
	hist, next, err := c.app.Reader().TwinHistory(id, state.SideDesired, nil, 1)
	if err != nil || len(hist) != 1 || next == nil {
		t.Fatalf("TwinHistory page 1 = %v, %x, %v", hist, next, err)
	}
	wantChange := &state.TwinChange{Version: 2, Height: h3, Set: map[string]any{"firmware": "1.3.0"}, Unset: []string{"interval_s"},
		State: map[string]any{"firmware": "1.3.0"}, By: accountID(alice)}
	if d := cmp.Diff(hist[0], wantChange); d != "" {
		t.Errorf("newest desired change (-got +want):\n%s", d)
	}
	if older, next, err := c.app.Reader().TwinHistory(id, state.SideDesired, next, 5); err != nil || len(older) != 1 || older[0].Version != 1 || next != nil {
		t.Errorf("TwinHistory page 2 = %+v, %x, %v; want version 1 and no more", older, next, err)
	}
}

func TestTwinRefusals(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	other := key(11)
	otherID := c.register(bob, other)
	many := map[string]any{}
	for i := range tx.MaxTwinFields {
		many[fmt.Sprintf("f%02d", i)] = int64(i)
	}
	c.mustOK(c.twinTx(alice, tx.TypeSetDesired, tx.TwinPatch{Device: id, Set: many}))
	for _, tc := range []struct {
		name   string
		signer ed25519.PrivateKey
		typ    tx.Type
		p      tx.TwinPatch
		want   app.Code
		hint   string
	}{
		{"desired by a non-owner", bob, tx.TypeSetDesired, tx.TwinPatch{Device: id, Set: map[string]any{"x": true}}, app.CodeNotOwner, "owner"},
		{"reported by the owner", alice, tx.TypeReportState, tx.TwinPatch{Device: id, Set: map[string]any{"x": true}}, app.CodeNotController, "current key"},
		{"reported by another device", other, tx.TypeReportState, tx.TwinPatch{Device: id, Set: map[string]any{"x": true}}, app.CodeNotController, "current key"},
		{"unregistered device", alice, tx.TypeSetDesired, tx.TwinPatch{Device: deviceID(key(12)), Set: map[string]any{"x": true}}, app.CodeUnregisteredDevice, "not registered"},
		{"one field too many", alice, tx.TypeSetDesired, tx.TwinPatch{Device: id, Set: map[string]any{"extra": true}}, app.CodeTwinTooLarge, "at most 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := c.app.Reader().Twin(id, 0)
			r := c.block(c.twinTx(tc.signer, tc.typ, tc.p)).TxResults[0]
			wantCode(t, tc.name, r.Code, r.Log, tc.want, tc.hint)
			after, _ := c.app.Reader().Twin(id, 0)
			if d := cmp.Diff(after, before); d != "" {
				t.Errorf("a refused patch changed the twin (-after +before):\n%s", d)
			}
		})
	}
	c.mustOK(c.revokeTx(bob, otherID, c.nonce(bob)))
	r := c.block(c.twinTx(other, tx.TypeReportState, tx.TwinPatch{Device: otherID, Set: map[string]any{"x": true}})).TxResults[0]
	wantCode(t, "revoked device reports", r.Code, r.Log, app.CodeRevokedDevice, "revoked")
}
