package sim

import (
	"math"
	"slices"
	"time"
)

// Stats is what became of the readings of one Run.
type Stats struct {
	Offered   int            // readings in the schedule
	Sent      int            // readings handed to the sender
	Unsent    int            // readings whose batch could not be sent in time (every in-flight slot taken)
	Committed int            // readings the node committed ("accepted")
	Duplicate int            // readings the node had committed before
	Rejected  map[string]int // readings refused, by reason; "busy" is the node refusing a whole request (HTTP 503)
	Pending   int            // readings the node took but did not answer committed before its wait timeout
	Lost      int            // readings of requests that got no answer (transport error, timeout)
	FirstErr  string         // the first error of a lost request, for diagnosis

	Window time.Duration // the measured window: from the end of the warm-up to the end of the schedule
	Warmup time.Duration
	// CommittedInWindow is the readings the node's log grew by inside the
	// window, when Schedule.Committed is set; else AckedInWindow.
	CommittedInWindow int
	CommittedPerSec   float64 // CommittedInWindow / Window
	FromLog           bool    // CommittedInWindow was counted by the node's log
	AckedInWindow     int     // readings whose commit the sender learned inside the window
	AckedPerSec       float64 // AckedInWindow / Window
	// Latency is publish to committed, over the readings due inside the
	// window that the node answered committed; PendingInWindow more were
	// due inside the window but not answered committed (pending or lost).
	Latency         Latency
	PendingInWindow int
	// Service is the same readings' latency from the moment their batch was
	// sent: without the wait for an in-flight slot, so the time spent in
	// the node (and on the connection).
	Service Latency
	LagMax  time.Duration
}

// RejectedTotal is the number of rejected readings, whatever the reason.
func (s *Stats) RejectedTotal() int {
	n := 0
	for _, v := range s.Rejected {
		n += v
	}
	return n
}

// Latency summarises a set of latencies.
type Latency struct {
	N                  int // latencies summarised
	P50, P90, P99, Max time.Duration
}

// Summarize sorts ds in place and returns its percentiles.
func Summarize(ds []time.Duration) Latency {
	slices.Sort(ds)
	return Latency{
		N:   len(ds),
		P50: Percentile(ds, 50),
		P90: Percentile(ds, 90),
		P99: Percentile(ds, 99),
		Max: Percentile(ds, 100),
	}
}

// Percentile returns the p-th percentile of sorted (ascending) by the
// nearest-rank method: the smallest value such that at least p percent of
// the values are at or below it. p <= 0 gives the smallest value, p >= 100
// the largest; no values give 0.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	switch {
	case n == 0:
		return 0
	case p <= 0:
		return sorted[0]
	case p >= 100:
		return sorted[n-1]
	}
	rank := int(math.Ceil(p * float64(n) / 100))
	return sorted[min(max(rank, 1), n)-1]
}
