package maintenance_test

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/testonly"
)

// Hashes on the document's approved list.
const approved = "c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8"

func TestMain(m *testing.M) { os.Exit(testonly.Main(m)) }

// TestMaintenance runs contract.yaml as the README does, with the real
// binary on a dev node and two presses: a vibration reading over the limit
// orders maintenance and sets the press's desired firmware; a press that
// reports approved firmware stays active, one that reports anything else
// is quarantined and its next reading refused (quarantined_device) until
// the owner reactivates it.
func TestMaintenance(t *testing.T) {
	_, cli := testonly.DevNode(t)
	p1 := cli.NewDevice(t, "press-1", "line=press-1").DeviceID()
	p2 := cli.NewDevice(t, "press-2", "line=press-1").DeviceID()
	id := cli.Deploy(t, "contract.yaml")
	twin := func(dev string) client.Twin {
		t.Helper()
		var tw client.Twin
		cli.JSON(t, &tw, "device", "twin", dev)
		return tw
	}
	status := func(dev string) string {
		t.Helper()
		var d struct{ Device client.Device }
		cli.JSON(t, &d, "device", "show", dev)
		return d.Device.Status
	}

	cli.Send(t, "press-1", "vibration=3.2", "temp=41")
	cli.Send(t, "press-2", "temp=39")
	if events := cli.Events(t, id); len(events) != 0 {
		t.Fatalf("events after readings under the limit: %+v, want none", events)
	}
	cli.Send(t, "press-1", "vibration=9.8", "temp=44")
	events := cli.Events(t, id)
	if len(events) != 1 || events[0].Name != "maintenance_order" {
		t.Fatalf("events %+v, want one maintenance_order", events)
	}
	want := map[string]any{"order": 1.0, "device": p1, "seq": 2.0, "vibration": 9.8, "firmware": "2.4.1"}
	if d := cmp.Diff(events[0].Fields, want); d != "" {
		t.Errorf("maintenance_order fields (-got +want):\n%s", d)
	}
	if tw := twin(p1); tw.Desired.State["firmware"] != "2.4.1" || tw.Delta["firmware"] != "2.4.1" {
		t.Errorf("press-1's twin %+v, want desired firmware 2.4.1, not yet reported", tw)
	}

	// press-1 installs it and reports an approved hash: nothing happens.
	cli.MustRun(t, "device", "twin", p1, "--report", "--key", "press-1", "--set", "firmware=2.4.1", "--set", "firmware_hash="+approved)
	if tw, s := twin(p1), status(p1); len(tw.Delta) != 0 || s != "active" {
		t.Errorf("press-1 after its report: delta %v, status %s; want no delta, active", tw.Delta, s)
	}
	// press-2 reports firmware nobody approved: quarantined.
	cli.MustRun(t, "device", "twin", p2, "--report", "--key", "press-2", "--set", "firmware_hash=b0gus0f1rmware")
	if s := status(p2); s != "quarantined" {
		t.Fatalf("press-2 after reporting unapproved firmware is %s, want quarantined", s)
	}
	events = cli.Events(t, id)
	if len(events) != 2 || events[1].Name != "unapproved_firmware" || events[1].Fields["device"] != p2 || events[1].Fields["firmware_hash"] != "b0gus0f1rmware" {
		t.Errorf("events %+v, want a second, unapproved_firmware of press-2", events)
	}
	out, code := cli.Run(t, "reading", "send", "--device", "press-2", "vibration=2.5")
	if code == 0 || !strings.Contains(out, "rejected (quarantined_device)") {
		t.Errorf("press-2's reading: exit %d, %q; want it rejected (quarantined_device)", code, out)
	}
	cli.Send(t, "press-1", "vibration=2.9")

	// The owner reflashes press-2 and lets it back in.
	cli.MustRun(t, "device", "reactivate", p2)
	cli.MustRun(t, "device", "twin", p2, "--report", "--key", "press-2", "--set", "firmware_hash="+approved)
	cli.Send(t, "press-2", "vibration=2.5")
	if s := status(p2); s != "active" {
		t.Errorf("press-2 after reactivation is %s, want active", s)
	}
}
