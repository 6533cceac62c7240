package sim

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Figures are the results of a simulation, as `iotledger sim` prints them.
type Figures struct {
	Devices     int     `json:"devices"`
	Registered  int     `json:"registered_now"` // devices the run had to register
	Via         string  `json:"via"`
	OfferedPerS float64 `json:"offered_per_s"`
	DurationS   float64 `json:"duration_s"`
	WarmupS     float64 `json:"warmup_s"`
	WindowS     float64 `json:"window_s"`
	Batch       int     `json:"batch"`
	InFlight    int     `json:"inflight"`

	Offered   int            `json:"offered"`
	Sent      int            `json:"sent"`
	Unsent    int            `json:"unsent"`
	Committed int            `json:"committed"`
	Duplicate int            `json:"duplicate"`
	Rejected  map[string]int `json:"rejected"`
	Pending   int            `json:"pending"`
	Lost      int            `json:"lost"`
	FirstErr  string         `json:"first_error,omitempty"`

	// CommittedPerS is sustained throughput: the readings committed inside
	// the window after the warm-up, by the node's log size
	// (CommittedFrom "log") or, when that could not be read, by the
	// senders' answers ("answers"). AckedPerS is the answers' count.
	CommittedPerS float64 `json:"committed_per_s"`
	CommittedFrom string  `json:"committed_from"`
	AckedPerS     float64 `json:"acked_per_s"`
	// Latency percentiles are over the readings due inside the window that
	// were answered committed; NotAckedInWindow more were due inside it but
	// answered pending or not at all, so with any of those the true
	// percentiles are higher.
	NotAckedInWindow int     `json:"not_acked_in_window"`
	P50Ms            float64 `json:"p50_ms"`
	P90Ms            float64 `json:"p90_ms"`
	P99Ms            float64 `json:"p99_ms"`
	MaxMs            float64 `json:"max_ms"`
	LatencyN         int     `json:"latency_readings"` // readings the percentiles are over
	// The same readings' latency from the moment their batch was sent, not
	// due: the time spent in the node (and on the connection).
	NodeP50Ms float64 `json:"node_p50_ms"`
	NodeP99Ms float64 `json:"node_p99_ms"`
	LagMaxMs  float64 `json:"send_lag_max_ms"` // the latest a batch was sent after its due time

	ReadingBytes   float64 `json:"reading_bytes"`   // average size of a signed reading
	PresignedBytes int64   `json:"presigned_bytes"` // memory the pre-signed readings take, at least

	Stats *Stats `json:"-"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func newFigures(c Config, s Schedule, p *prepared, st *Stats) *Figures {
	f := &Figures{
		Devices: c.Devices, Registered: p.reg.New, Via: c.Via,
		OfferedPerS: s.Rate, DurationS: s.Duration.Seconds(), WarmupS: s.Warmup.Seconds(), WindowS: st.Window.Seconds(),
		Batch: s.Batch, InFlight: s.InFlight,
		Offered: st.Offered, Sent: st.Sent, Unsent: st.Unsent, Committed: st.Committed, Duplicate: st.Duplicate,
		Rejected: st.Rejected, Pending: st.Pending, Lost: st.Lost, FirstErr: st.FirstErr,
		CommittedPerS: st.CommittedPerSec, CommittedFrom: "answers", AckedPerS: st.AckedPerSec, NotAckedInWindow: st.PendingInWindow,
		P50Ms: ms(st.Latency.P50), P90Ms: ms(st.Latency.P90), P99Ms: ms(st.Latency.P99), MaxMs: ms(st.Latency.Max),
		LatencyN: st.Latency.N, LagMaxMs: ms(st.LagMax),
		NodeP50Ms: ms(st.Service.P50), NodeP99Ms: ms(st.Service.P99),
		PresignedBytes: p.size,
		Stats:          st,
	}
	if st.FromLog {
		f.CommittedFrom = "log"
	}
	if len(p.raws) > 0 {
		f.ReadingBytes = float64(p.size) / float64(len(p.raws))
	}
	return f
}

// WriteText writes the figures for a person.
func (f *Figures) WriteText(w io.Writer) {
	fmt.Fprintf(w, "load:        %d devices, %.0f readings/s for the whole fleet (%.3g per device), for %gs via %s, batches of %d, up to %d requests in flight; %d devices registered by this run\n",
		f.Devices, f.OfferedPerS, f.OfferedPerS/float64(f.Devices), f.DurationS, f.Via, f.Batch, f.InFlight, f.Registered)
	fmt.Fprintf(w, "readings:    %d offered, %d sent, %d unsent (no free in-flight slot in time)\n", f.Offered, f.Sent, f.Unsent)
	fmt.Fprintf(w, "fates:       %d committed, %d duplicate, %d pending (not committed within the node's wait), %d lost (no answer)\n",
		f.Committed, f.Duplicate, f.Pending, f.Lost)
	fmt.Fprintf(w, "rejected:    %s\n", formatRejected(f.Rejected))
	if f.FirstErr != "" {
		fmt.Fprintf(w, "first error: %s\n", f.FirstErr)
	}
	fmt.Fprintf(w, "latency:     p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms (publish to committed, over the %d readings due after the %gs warm-up that were answered committed; latest send %.0f ms behind schedule)\n",
		f.P50Ms, f.P90Ms, f.P99Ms, f.MaxMs, f.LatencyN, f.WarmupS, f.LagMaxMs)
	fmt.Fprintf(w, "             from send rather than due: p50 %.0f ms, p99 %.0f ms (time in the node, without the wait for an in-flight slot)\n", f.NodeP50Ms, f.NodeP99Ms)
	if f.NotAckedInWindow > 0 {
		fmt.Fprintf(w, "             %d more readings due after the warm-up were not answered committed (pending or lost): the true percentiles are higher\n", f.NotAckedInWindow)
	}
	by := "the node's log size"
	if f.CommittedFrom != "log" {
		by = "the answers (the node's log size could not be read)"
	}
	fmt.Fprintf(w, "throughput:  %.0f committed readings/s over the %.1fs window after warm-up, by %s (offered %.0f/s; answered committed in the window: %.0f/s)\n",
		f.CommittedPerS, f.WindowS, by, f.OfferedPerS, f.AckedPerS)
	fmt.Fprintf(w, "reading:     %.0f bytes on average\n", f.ReadingBytes)
}

func formatRejected(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
