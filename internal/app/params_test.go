package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
)

// genesis.json's app_state keeps its names although the stored record of
// the params (state.Params) carries no JSON names: a default genesis
// writes them, a written one reads back the same, a partial one keeps the
// defaults of what it leaves out, and an unknown key is refused.
func TestGenesisJSON(t *testing.T) {
	def := app.DefaultGenesis()
	b, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"params":{"reading_window_back_ms":86400000,"reading_window_ahead_ms":300000,"max_batch_readings":4096,"max_tx_bytes":4194304,"device_rate_per_s":100,"device_burst":1000,"validator_proposal_blocks":10000},"token":"IOT"}`
	if string(b) != want {
		t.Errorf("default app_state:\n%s\nwant\n%s", b, want)
	}
	back, err := app.ParseGenesis(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(back, def); diff != "" {
		t.Errorf("read back (-got +want):\n%s", diff)
	}

	partial, err := app.ParseGenesis([]byte(`{"params":{"device_burst":7},"token":"WATT","balances":[{"address":"` + accountID(alice) + `","amount":5}]}`))
	if err != nil {
		t.Fatal(err)
	}
	wantPartial := app.DefaultGenesis()
	wantPartial.Params.DeviceBurst, wantPartial.Token = 7, "WATT"
	wantPartial.Balances = []app.Allocation{{Address: accountID(alice), Amount: 5}}
	if diff := cmp.Diff(partial, wantPartial); diff != "" {
		t.Errorf("partial app_state (-got +want):\n%s", diff)
	}

	for _, bad := range []string{`{"params":{"device_bursts":7}}`, `{"tokens":"X"}`, `{"params":{"DeviceBurst":7}}`} {
		if _, err := app.ParseGenesis([]byte(bad)); err == nil || !strings.Contains(err.Error(), "unknown field") {
			t.Errorf("%s: err %v, want an unknown field refused", bad, err)
		}
	}
}
