package device_test

import (
	"testing"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/mqttwire"
)

// A device follows its twin: the owner sets a desired state, the device
// gets it over MQTT, applies it and reports back through the API, and the
// twin then has no delta.
func TestTwinFollow(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	n, k, flags := testonly.DeviceNode(t, "device-twin")
	ctx := bounded(t)
	desired := make(chan mqttwire.TwinDesiredMessage, 4)
	tr := newMQTT(t, device.MQTTOptions{URL: "tcp://" + n.MQTTAddr, Key: k.Private,
		OnDesired: func(m mqttwire.TwinDesiredMessage) { desired <- m }})
	if err := tr.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	testonly.MustRun(t, append([]string{"device", "twin", k.DeviceID(), "--owner", "owner", "--set", "firmware=1.3.0", "--set", "interval_s=60"}, flags...)...)
	var m mqttwire.TwinDesiredMessage
	select {
	case m = <-desired:
	case <-ctx.Done():
		t.Fatal("no desired state arrived over MQTT")
	}
	if m.Version != 1 || m.State["firmware"] != "1.3.0" || m.State["interval_s"] != float64(60) {
		t.Fatalf("desired state %+v, want version 1 with firmware 1.3.0 and interval_s 60", m)
	}
	c := client.New(n.URL())
	if _, err := device.ReportState(ctx, c, k.Private, "", m.State, nil); err != nil {
		t.Fatal(err)
	}
	tw, err := c.Twin(ctx, k.DeviceID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if tw.Reported.Version != 1 || len(tw.Delta) != 0 {
		t.Errorf("twin after the report = %+v, want reported version 1 and no delta", tw)
	}
	// A report the ledger refuses is an error that names the rule.
	if _, err := device.ReportState(ctx, c, k.Private, "", map[string]any{"": 1}, nil); err == nil {
		t.Error("ReportState with an empty field name succeeded")
	}
}
