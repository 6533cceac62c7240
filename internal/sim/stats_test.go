package sim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/sim"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	ten := ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"no values", nil, 50, 0},
		{"one value, p50", ms(7), 50, 7 * time.Millisecond},
		{"one value, p99", ms(7), 99, 7 * time.Millisecond},
		{"p0 is the smallest", ten, 0, 1 * time.Millisecond},
		{"negative p is the smallest", ten, -5, 1 * time.Millisecond},
		{"p10 of ten", ten, 10, 1 * time.Millisecond},
		{"p11 of ten rounds the rank up", ten, 11, 2 * time.Millisecond},
		{"p50 of ten", ten, 50, 5 * time.Millisecond},
		{"p90 of ten", ten, 90, 9 * time.Millisecond},
		{"p99 of ten", ten, 99, 10 * time.Millisecond},
		{"p100 is the largest", ten, 100, 10 * time.Millisecond},
		{"above 100 is the largest", ten, 150, 10 * time.Millisecond},
		{"p50 of two", ms(1, 9), 50, 1 * time.Millisecond},
		{"p51 of two", ms(1, 9), 51, 9 * time.Millisecond},
		{"p99 of a hundred", hundred, 99, 99 * time.Millisecond},
		{"p99.5 of a hundred", hundred, 99.5, 100 * time.Millisecond},
		{"p90 of a hundred", hundred, 90, 90 * time.Millisecond},
		{"ties", ms(5, 5, 5, 5), 50, 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sim.Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(p%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeSortsAndOrders(t *testing.T) {
	got := sim.Summarize(ms(30, 10, 20, 50, 40))
	want := sim.Latency{N: 5, P50: 30 * time.Millisecond, P90: 50 * time.Millisecond, P99: 50 * time.Millisecond, Max: 50 * time.Millisecond}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("Summarize (-got +want):\n%s", d)
	}
}

func ExamplePercentile() {
	sorted := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond}
	fmt.Println(sim.Percentile(sorted, 50), sim.Percentile(sorted, 99))
	// Output: 20ms 40ms
}
