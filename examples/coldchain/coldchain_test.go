package coldchain_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/testonly"
)

func TestMain(m *testing.M) { os.Exit(testonly.Main(m)) }

// TestColdChain runs contract.yaml as the README does, with the real
// binary on a dev node: the shipper (the dev owner) deploys it with an
// escrow of 1000 for shipment S-42 and its two sensors; three hot readings
// in a row pay the buyer one penalty; a sensor that stops reporting is
// flagged after 10 blocks while the other keeps reporting; only the buyer
// can confirm delivery, which returns the rest of the escrow to the
// shipper, after which readings no longer count.
func TestColdChain(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	n, cli := testonly.DevNode(t)
	api := client.New(n.URL())
	buyer := cli.NewKey(t, "buyer")
	cli.NewDevice(t, "box-a", "shipment=S-42", "kind=thermometer")
	b := cli.NewDevice(t, "box-b", "shipment=S-42", "kind=thermometer")
	shipper := cli.Balance(t, "owner")

	doc := testonly.Document(t, "contract.yaml", map[string]string{"buyer": strconv.Quote(buyer.Address())})
	id := cli.Deploy(t, doc, "--fund", "1000")

	// hot, hot, cool (the streak ends), hot, hot, hot: the excursion, at
	// the third; a fourth hot reading is the same excursion; a reading
	// without temp is no business of the contract.
	var lastB int64
	for _, r := range []struct{ sensor, data string }{
		{"box-a", "temp=9.1"}, {"box-b", "temp=9.4"}, {"box-a", "temp=7"},
		{"box-a", "temp=9"}, {"box-b", "temp=9.6"}, {"box-a", "temp=10.2"},
		{"box-b", "temp=11"}, {"box-a", "humidity=80"},
	} {
		h := cli.Send(t, r.sensor, r.data)
		if r.sensor == "box-b" {
			lastB = h
		}
	}
	events := cli.Events(t, id)
	if len(events) != 1 || events[0].Name != "excursion" {
		t.Fatalf("events after the readings: %+v, want one excursion", events)
	}
	wantFields := map[string]any{"device": cli.Key(t, "box-a").DeviceID(), "seq": 4.0, "temp": 10.2, "penalty": 100.0}
	if d := cmp.Diff(events[0].Fields, wantFields); d != "" {
		t.Errorf("excursion fields (-got +want):\n%s", d)
	}
	if got := cli.Balance(t, buyer.Address()); got != 100 {
		t.Errorf("the buyer holds %d, want the penalty of 100", got)
	}
	if got := escrow(t, cli, id); got != 900 {
		t.Errorf("the escrow holds %d, want 900", got)
	}

	// box-b stops reporting; box-a goes on, one reading a block or so.
	testonly.Poll(t, ctx, "box-b flagged silent", func() (bool, error) {
		cli.Send(t, "box-a", "temp=5")
		p, err := api.ContractEvents(ctx, id, 1, 0)
		return err == nil && len(p.Events) > 0, err
	})
	events = cli.Events(t, id)
	silent := events[len(events)-1]
	if len(events) != 2 || silent.Name != "sensor_silent" {
		t.Fatalf("events %+v, want the excursion and one sensor_silent", events)
	}
	want := map[string]any{"device": b.DeviceID(), "last_height": float64(lastB), "blocks": 10.0}
	if d := cmp.Diff(silent.Fields, want); d != "" || silent.Height != lastB+10 {
		t.Errorf("sensor_silent at block %d (-got +want):\n%s\nwant it at block %d, 10 after box-b's last reading", silent.Height, d, lastB+10)
	}

	// Only the buyer confirms delivery: not the shipper.
	out, code := cli.Run(t, "contract", "call", id, "--key", "owner")
	if code == 0 || !strings.Contains(out, "condition_false") {
		t.Errorf("delivery called by the shipper: exit %d, %q; want condition_false", code, out)
	}
	out = cli.MustRun(t, "contract", "call", id, "--key", "buyer")
	if !strings.Contains(out, `(deliver) delivered {"excursions":1,"paid":100,"refund":900}`) {
		t.Errorf("delivery said %q, want the delivered event with a refund of 900", out)
	}
	if got := escrow(t, cli, id); got != 0 {
		t.Errorf("the escrow holds %d after delivery, want 0", got)
	}
	if got := cli.Balance(t, "owner"); got != shipper-100 {
		t.Errorf("the shipper holds %d after delivery, want %d: all but the penalty back", got, shipper-100)
	}

	// Delivered: hot readings no longer count.
	for range 3 {
		cli.Send(t, "box-a", "temp=12")
	}
	var names []string
	for _, e := range cli.Events(t, id) {
		names = append(names, e.Name)
	}
	if want := []string{"excursion", "sensor_silent", "delivered"}; !cmp.Equal(names, want) {
		t.Errorf("events %v, want %v", names, want)
	}
}

// escrow is what contract id holds, as `contract show ID --json` says.
func escrow(t *testing.T, cli *testonly.CLI, id string) uint64 {
	t.Helper()
	var c client.Contract
	cli.JSON(t, &c, "contract", "show", id, "--json")
	return uint64(c.Balance)
}
