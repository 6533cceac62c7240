package main_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/reading"
)

// metricValue reads one series (its name and labels as /metrics prints
// them, such as iotledger_readings_rejected_total{reason="seq_reused"})
// from the node's /metrics.
func metricValue(t *testing.T, api, series string) float64 {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	prefix := series + " "
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", sc.Text(), err)
			}
			return f
		}
	}
	t.Fatalf("no %s... line in /metrics", prefix)
	return 0
}

// TestReadingSendBesideDev: `reading send --device sensor-1` while dev
// simulates sensor-1 (a reading a second, from the same sequence file)
// never takes a number the simulator takes: every reading the CLI sends
// is accepted, and no reading of either is refused as a duplicate or a
// reused number.
func TestReadingSendBesideDev(t *testing.T) {
	n, cli := testonly.DevNode(t)
	id := cli.Key(t, "sensor-1").DeviceID()
	var last uint64
	for i := range 4 {
		out := cli.MustRun(t, "reading", "send", "--device", "sensor-1", fmt.Sprintf("manual=%d", i))
		var seq uint64
		if _, err := fmt.Sscanf(out, "accepted: device "+id+" seq %d", &seq); err != nil {
			t.Fatalf("reading send %d printed %q, want it accepted", i, out)
		}
		if seq <= last {
			t.Errorf("reading send %d took seq %d after %d", i, seq, last)
		}
		last = seq
	}
	// The simulator signs again after the last manual reading: its next
	// one must be committed above it.
	c := client.New(n.URL())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	testonly.Poll(t, ctx, "a simulated reading of sensor-1 after the manual ones", func() (bool, error) {
		page, err := c.Readings(ctx, id, client.ReadingQuery{From: last + 1, To: last + 1000})
		return err == nil && len(page.Readings) > 0, err
	})
	for _, series := range []string{"iotledger_readings_duplicate_total", `iotledger_readings_rejected_total{reason="seq_reused"}`} {
		if got := metricValue(t, n.URL(), series); got != 0 {
			t.Errorf("%s is %g: the CLI and dev used a sequence number twice", series, got)
		}
	}
}

// TestSeqReusedEndToEnd: new data under a sequence number already
// committed (a device whose sequence state was lost) is refused as
// seq_reused through the CLI and the HTTP API, with the original's
// location, and counted; the original stays.
func TestSeqReusedEndToEnd(t *testing.T) {
	n, cli := testonly.DevNode(t)
	k := cli.NewDevice(t, "pump")
	id := k.DeviceID()
	out := cli.MustRun(t, "reading", "send", "--device", "pump", "flow=1.5")
	var index uint64
	if _, err := fmt.Sscanf(out, "accepted: device "+id+" seq 1, log index %d", &index); err != nil {
		t.Fatalf("first reading send printed %q", out)
	}
	// The device forgets its numbers, and signs new data with seq 1.
	if err := os.WriteFile(filepath.Join(cli.Home, "devices", id+".seq"), []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := cli.Run(t, "reading", "send", "--device", "pump", "flow=2.5")
	want := fmt.Sprintf("rejected (seq_reused): device %s seq 1 was committed before with other data (log index %d, block ", id, index)
	if code != 2 || !strings.Contains(out, want) {
		t.Errorf("reading send with a reused seq: exit %d, printed\n%s\nwant exit 2 and %q", code, out, want)
	}

	c := client.New(n.URL())
	raw, err := reading.Sign(reading.Reading{Seq: 1, Time: time.Now().UnixMilli(), Data: map[string]any{"flow": 3.5}}, k.Private)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.SubmitCOSE(t.Context(), raw, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != client.Rejected || r.Reason != client.ReasonSeqReused || r.Index == nil || *r.Index != index ||
		r.Receipt != fmt.Sprintf("/v1/devices/%s/readings/1/receipt", id) {
		t.Errorf("API result %+v (index %v), want rejected seq_reused with the original's index %d and receipt", r, r.Index, index)
	}
	if got := metricValue(t, n.URL(), `iotledger_readings_rejected_total{reason="seq_reused"}`); got < 2 {
		t.Errorf("iotledger_readings_rejected_total{reason=\"seq_reused\"} = %g, want 2", got)
	}
	page, err := c.Readings(t.Context(), id, client.ReadingQuery{From: 1, To: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Readings) != 1 || fmt.Sprint(page.Readings[0].Data["flow"]) != "1.5" || page.Readings[0].Index != index {
		t.Errorf("reading seq 1 is %+v, want the original (flow 1.5, index %d)", page.Readings, index)
	}
}

// TestSecondNodeOnAHomeEndToEnd: a second node, and an audit, on the home
// of a running node are refused with the pid of the process that holds it.
func TestSecondNodeOnAHomeEndToEnd(t *testing.T) {
	n, cli := testonly.DevNode(t)
	want := fmt.Sprintf("the home is in use: process %d holds %s", n.Pid(), cli.Home)
	for _, args := range [][]string{
		{"start", "--home", cli.Home, "--api-addr", testonly.FreeAddr(t), "--rpc-addr", testonly.FreeAddr(t), "--p2p-addr", testonly.FreeAddr(t), "--mqtt-addr", testonly.FreeAddr(t)},
		{"audit", "--home", cli.Home},
	} {
		out, code := testonly.Run(t, args...)
		if code == 0 || !strings.Contains(out, want) || !strings.Contains(out, "stop it first, or use another --home") {
			t.Errorf("iotledger %s: exit %d, printed\n%s\nwant a refusal saying %q", args[0], code, out, want)
		}
		if strings.Contains(out, "resource temporarily unavailable") {
			t.Errorf("iotledger %s still says resource temporarily unavailable:\n%s", args[0], out)
		}
	}
}
