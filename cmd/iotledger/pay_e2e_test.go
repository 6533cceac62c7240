package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
)

// devNode starts `iotledger dev` (testonly.DevNode) and returns it, the
// flags that point a command at it, and the named keys.
func devNode(t *testing.T, keys ...string) (*testonly.Node, []string, []*keystore.Key) {
	t.Helper()
	n, cli := testonly.DevNode(t)
	var out []*keystore.Key
	for _, name := range keys {
		out = append(out, cli.Key(t, name))
	}
	return n, cli.Flags, out
}

// TestPayments runs the real binary: dev funds its owner at genesis, the
// owner pays a sensor, the sensor pays another sensor with its own key,
// and each refusal names its rule.
func TestPayments(t *testing.T) {
	_, flags, keys := devNode(t, "sensor-1", "sensor-2")
	s1, s2 := keys[0], keys[1]
	show := func(who string) client.Account {
		t.Helper()
		var a client.Account
		out := testonly.MustRun(t, append([]string{"account", "show", who}, flags...)...)
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("account show %s: %v\n%s", who, err, out)
		}
		return a
	}
	if a := show("owner"); a.Balance != 1_000_000 || a.Token != "IOT" || len(a.History) != 1 || a.History[0].Counterparty != "genesis" {
		t.Fatalf("dev owner account = %+v, want 1000000 IOT from genesis", a)
	}

	out := testonly.MustRun(t, append([]string{"account", "transfer", "--from", "owner", "--to", s1.DeviceID(), "--amount", "500", "--memo", "prepaid"}, flags...)...)
	if !strings.Contains(out, "paid 500") {
		t.Errorf("transfer said %q", out)
	}
	// A machine pays a machine: sensor-1's key spends from sensor-1's account.
	testonly.MustRun(t, append([]string{"account", "transfer", "--from", "sensor-1", "--payer", s1.DeviceID(), "--to", s2.DeviceID(), "--amount", "120", "--memo", "kWh"}, flags...)...)
	if a := show(s1.DeviceID()); a.Balance != 380 {
		t.Errorf("sensor-1 holds %d, want 380", a.Balance)
	}
	a := show(s2.DeviceID())
	want := client.Payment{Amount: 120, Counterparty: s1.DeviceID(), Memo: "kWh", BalanceAfter: 120, SignedBy: s1.Address()}
	if a.Balance != 120 || len(a.History) != 1 || a.History[0].Height == 0 {
		t.Fatalf("sensor-2 = %+v, want 120 from sensor-1", a)
	}
	a.History[0].Height = 0
	if a.History[0] != want {
		t.Errorf("sensor-2's payment = %+v, want %+v", a.History[0], want)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "sensor-1", "--payer", s1.DeviceID(), "--to", s2.DeviceID(), "--amount", "381"}, "insufficient_funds"},
		{[]string{"--from", "sensor-2", "--payer", s1.DeviceID(), "--to", s2.DeviceID(), "--amount", "1"}, "not_controller"},
		{[]string{"--from", "owner", "--to", "owner", "--amount", "1"}, "invalid_recipient"},
		{[]string{"--from", "owner", "--to", s1.DeviceID(), "--amount", "0"}, "invalid_amount"},
		{[]string{"--from", "owner", "--to", "dev1qqqq", "--amount", "1"}, "neither a valid account address"},
	} {
		out, code := testonly.Run(t, append(append([]string{"account", "transfer"}, tc.args...), flags...)...)
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("transfer %v: exit %d, output %q; want a failure naming %s", tc.args, code, out, tc.want)
		}
	}
	if a := show("owner"); a.Balance != 999_500 {
		t.Errorf("owner holds %d after the refusals, want 999500", a.Balance)
	}
}
