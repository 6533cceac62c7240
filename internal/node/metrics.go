package node

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iotledger/iotledger/internal/app"
)

type metrics struct {
	height    prometheus.Gauge
	logSize   prometheus.Gauge
	readings  prometheus.Counter
	rejected  *prometheus.CounterVec
	busy      prometheus.Counter
	verify    prometheus.Histogram
	blockTime prometheus.Histogram

	lastBlock int64 // block time of the previous block, unix ms; touched only from Committed
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		height:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "iotledger_height", Help: "Height of the last committed block."}),
		logSize:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "iotledger_log_size", Help: "Readings in the log."}),
		readings: prometheus.NewCounter(prometheus.CounterOpts{Name: "iotledger_readings_committed_total", Help: "Readings committed to the log."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iotledger_readings_rejected_total", Help: "Readings refused, by reason."}, []string{"reason"}),
		busy:     prometheus.NewCounter(prometheus.CounterOpts{Name: "iotledger_ingest_busy_total", Help: "Submissions refused because the ingest queue was full."}),
		verify: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "iotledger_verify_seconds", Help: "Time to verify one reading's signature.",
			Buckets: prometheus.ExponentialBuckets(5e-6, 2, 14)}),
		blockTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "iotledger_block_interval_seconds", Help: "Block time minus the previous block's time.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
	}
	reg.MustRegister(m.height, m.logSize, m.readings, m.rejected, m.busy, m.verify, m.blockTime)
	for _, c := range app.Codes() {
		if c != app.CodeOK {
			m.rejected.WithLabelValues(c.String())
		}
	}
	return m
}

func (m *metrics) observeVerify(n int, verify func()) {
	start := time.Now()
	verify()
	if n > 0 {
		m.verify.Observe(time.Since(start).Seconds() / float64(n))
	}
}

func (m *metrics) committed(b *app.Block, outcomes []app.Outcome) {
	m.height.Set(float64(b.Height))
	m.logSize.Set(float64(b.LogSize))
	m.readings.Add(float64(b.Readings))
	for _, o := range outcomes {
		if o.Status != "accepted" {
			m.rejected.WithLabelValues(o.Reason).Inc()
		}
	}
	if m.lastBlock != 0 {
		m.blockTime.Observe(float64(b.Time-m.lastBlock) / 1000)
	}
	m.lastBlock = b.Time
}
