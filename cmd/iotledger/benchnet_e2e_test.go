package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/internal/testonly"
)

// TestBenchValidators runs `iotledger bench --validators 4` briefly, as a
// user would, and checks that it prints the single-node bench's figures
// (the same JSON keys) for a network whose four validators agree, with
// every offered reading committed.
func TestBenchValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	out := testonly.MustRun(t, "bench", "--validators", "4", "--devices", "50", "--rate", "200", "--duration", "6s", "--json")
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "{") {
			line = l
		}
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("bench --validators 4 --json printed no JSON object (%v):\n%s", err, out)
	}
	for _, k := range []string{"devices", "offered", "committed", "lost", "committed_per_s", "p50_ms", "p99_ms", "verify_ceiling_per_s", "ratio",
		"cpu_s_per_1000", "cpu_s_per_1000_node", "loadgen_cpu_share", "bytes_per_reading", "store_bytes_per_reading", "peak_rss_bytes",
		"validators", "heights", "app_hash", "peak_rss_bytes_per_validator"} {
		if _, ok := r[k]; !ok {
			t.Errorf("no %q in the figures:\n%s", k, line)
		}
	}
	if r["validators"] != 4.0 || r["offered"] != 1200.0 || r["committed"] != 1200.0 || r["lost"] != 0.0 {
		t.Errorf("validators %v, offered %v, committed %v, lost %v; want 4, 1200, 1200, 0", r["validators"], r["offered"], r["committed"], r["lost"])
	}
	if h, _ := r["heights"].([]any); len(h) != 4 || r["app_hash"] == "" {
		t.Errorf("heights %v, app hash %v: want four heights and the app hash they agree on", r["heights"], r["app_hash"])
	}
	for _, k := range []string{"committed_per_s", "cpu_s_per_1000_node", "bytes_per_reading", "peak_rss_bytes"} {
		if v, _ := r[k].(float64); v <= 0 {
			t.Errorf("%s = %v, want > 0", k, r[k])
		}
	}
}
