package app_test

import (
	"crypto/sha256"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/registry"
	"github.com/iotledger/iotledger/reading"
)

func TestCheckReading(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	bad := c.reading(sensor, "", 2, c.nowMs())
	bad[len(bad)-1] ^= 1
	tests := []struct {
		name  string
		raw   []byte
		want  app.Code
		hints []string
	}{
		{"good", c.reading(sensor, "", 1, c.nowMs()), app.CodeOK, nil},
		{"unregistered", c.reading(spare, "", 1, c.nowMs()), app.CodeUnregisteredDevice, []string{deviceID(spare)}},
		{"bad signature", bad, app.CodeBadSignature, []string{id, "seq 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := reading.Decode(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			code, msg := c.app.CheckReading(s, sha256.Sum256(s.Raw))
			wantCode(t, "CheckReading", uint32(code), msg, tt.want, tt.hints...)
		})
	}
}

func TestQueryAccount(t *testing.T) {
	c := newChain(t)
	c.register(alice, sensor)
	for _, tt := range []struct {
		who  string
		want uint64
	}{{accountID(alice), 1}, {accountID(bob), 0}} {
		res, err := c.app.Query(t.Context(), &abci.QueryRequest{Path: "/accounts/" + tt.who})
		if err != nil || res.Code != 0 {
			t.Fatalf("Query %s: %v, code %d %q", tt.who, err, res.GetCode(), res.GetLog())
		}
		var a registry.Account
		if err := json.Unmarshal(res.Value, &a); err != nil {
			t.Fatal(err)
		}
		if a.Address != tt.who || a.Nonce != tt.want || res.Height != c.height {
			t.Errorf("Query %s: %+v at height %d; want nonce %d at %d", tt.who, a, res.Height, tt.want, c.height)
		}
	}
	res, err := c.app.Query(t.Context(), &abci.QueryRequest{Path: "/nowhere"})
	if err != nil || res.Code == 0 {
		t.Errorf("Query of an unknown path: %v, %+v; want a non-zero code", err, res)
	}
}
