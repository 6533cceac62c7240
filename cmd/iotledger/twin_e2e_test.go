package main_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/testonly"
)

// TestTwinCLI runs the real binary: the owner sets a desired state, the
// device reports its state with its own key, and the twin shows the delta,
// now and as of an earlier block.
func TestTwinCLI(t *testing.T) {
	_, flags, keys := devNode(t, "sensor-1")
	id := keys[0].DeviceID()
	show := func(extra ...string) client.Twin {
		t.Helper()
		var tw client.Twin
		out := testonly.MustRun(t, append(append([]string{"device", "twin", id}, extra...), flags...)...)
		if err := json.Unmarshal([]byte(out), &tw); err != nil {
			t.Fatalf("device twin: %v\n%s", err, out)
		}
		return tw
	}
	out := testonly.MustRun(t, append([]string{"device", "twin", id, "--set", "firmware=1.3.0", "--set", "interval_s=60"}, flags...)...)
	if !strings.Contains(out, "desired state of "+id+" changed in block") {
		t.Errorf("set desired said %q", out)
	}
	first := show()
	testonly.MustRun(t, append([]string{"device", "twin", id, "--report", "--key", "sensor-1", "--set", "firmware=1.2.0", "--set", "interval_s=60"}, flags...)...)
	tw := show()
	if tw.Desired.Version != 1 || tw.Reported.Version != 1 || len(tw.Delta) != 1 || tw.Delta["firmware"] != "1.3.0" {
		t.Errorf("twin = %+v, want desired v1, reported v1, delta {firmware: 1.3.0}", tw)
	}
	if then := show("--height", strconv.FormatInt(first.Desired.Height, 10)); then.Reported.Version != 0 || len(then.Delta) != 2 {
		t.Errorf("twin as of block %d = %+v, want nothing reported yet and both fields in the delta", first.Desired.Height, then)
	}
	// Only the owner sets the desired state; only the device reports.
	for _, args := range [][]string{
		{"device", "twin", id, "--owner", "sensor-2", "--set", "x=1"},
		{"device", "twin", id, "--report", "--key", "sensor-2", "--set", "x=1"},
	} {
		out, code := testonly.Run(t, append(args, flags...)...)
		if code == 0 || !(strings.Contains(out, "not_owner") || strings.Contains(out, "not_controller")) {
			t.Errorf("%v: exit %d, %q; want a refusal naming the rule", args, code, out)
		}
	}
}
