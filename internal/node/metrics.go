package node

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/buildinfo"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

// cometNamespace is the prefix of CometBFT's metrics on /metrics
// (cometbft_consensus_height, cometbft_p2p_peers, ...), whatever
// instrumentation.namespace config.toml sets: dashboards and alert rules
// rely on it.
const cometNamespace = "cometbft"

// metrics is what GET /metrics serves: the node's own (iotledger_*), the
// Go runtime's (go_*) and the process's (process_*) on reg, where the API
// adds its own; and CometBFT's (cometbft_*) on comet, a registry of their
// own (see cometMetrics). Gatherer serves both.
type metrics struct {
	reg   *prometheus.Registry
	comet *prometheus.Registry

	readings  prometheus.Counter
	duplicate prometheus.Counter
	rejected  *prometheus.CounterVec
	txs       *prometheus.CounterVec
	busy      prometheus.Counter
	verify    prometheus.Histogram
	blockTime prometheus.Histogram
	lastBlock prometheus.Gauge

	lastBlockMs int64 // block time of the previous block, unix ms; touched only from Committed
}

// readingRefusals are the codes a reading can be refused with, counted
// from the start so that a rate over them is defined before the first.
// Transaction codes (wrong_nonce, not_owner, ...) are no reading's: they
// go to iotledger_txs_total.
var readingRefusals = []app.Code{
	app.CodeMalformedReading, app.CodeReadingTooLarge, app.CodeUnregisteredDevice, app.CodeRevokedDevice,
	app.CodeQuarantinedDevice, app.CodeBadSignature, app.CodeKeyRotated, app.CodeTimeOutOfWindow, app.CodeRateLimited, app.CodeSeqReused,
}

// newMetrics makes the node's metrics. The gauges read n's parts when
// scraped, which is after Start has set them.
func newMetrics(n *Node) *metrics {
	m := &metrics{
		reg:   prometheus.NewRegistry(),
		comet: prometheus.NewRegistry(),
		readings: prometheus.NewCounter(prometheus.CounterOpts{Name: "iotledger_readings_committed_total",
			Help: "Readings committed to the log (every node counts every block)."}),
		duplicate: prometheus.NewCounter(prometheus.CounterOpts{Name: "iotledger_readings_duplicate_total",
			Help: "Readings answered as a resend of one committed before: at this node's intake, or in a block."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iotledger_readings_rejected_total",
			Help: "Readings refused, by reason: at this node's intake (before any block), or in a block."}, []string{"reason"}),
		txs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iotledger_txs_total",
			Help: "Signed transactions sent to this node's API (POST /v1/txs), by type and result: ok, or the code that refused it."}, []string{"type", "result"}),
		busy: prometheus.NewCounter(prometheus.CounterOpts{Name: "iotledger_ingest_busy_total",
			Help: "HTTP submissions of readings answered 503 busy because the ingest queue was full."}),
		verify: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "iotledger_verify_seconds", Help: "Time to verify one reading's signature.",
			Buckets: prometheus.ExponentialBuckets(5e-6, 2, 14)}),
		blockTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "iotledger_block_interval_seconds", Help: "Block time minus the previous block's time.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
		lastBlock: prometheus.NewGauge(prometheus.GaugeOpts{Name: "iotledger_last_block_timestamp_seconds",
			Help: "Time of the last block this node committed (its header's time), in Unix seconds."}),
	}
	bi := buildinfo.Read()
	revision := bi.Commit
	if bi.Modified && revision != buildinfo.Unknown {
		revision += "-modified"
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "iotledger_build_info",
		Help:        "Always 1; the labels say which build runs: its version, VCS revision and Go version (as `iotledger version` prints them).",
		ConstLabels: prometheus.Labels{"version": bi.Version, "revision": revision, "goversion": bi.Go}})
	info.Set(1)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		info, m.readings, m.duplicate, m.rejected, m.txs, m.busy, m.verify, m.blockTime, m.lastBlock,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iotledger_height", Help: "Height of the last committed block."}, func() float64 {
			if n.app == nil {
				return 0
			}
			return float64(n.app.Meta().Height)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iotledger_log_size", Help: "Readings in the log."}, func() float64 {
			if n.app == nil {
				return 0
			}
			return float64(n.app.Log().Size())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iotledger_ingest_queue_readings", Help: "Readings waiting in the ingest queue for a batch."}, func() float64 {
			if n.ingest == nil {
				return 0
			}
			return float64(n.ingest.QueueLen())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iotledger_ingest_queue_capacity_readings",
			Help: "Readings the ingest queue holds at most ([ingest] queue_size); when full, submissions are answered busy."}, func() float64 {
			return float64(n.cfg.Ingest.QueueSize)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iotledger_mqtt_connections", Help: "Devices connected to the embedded MQTT broker."}, func() float64 {
			if n.mqtt == nil {
				return 0
			}
			return float64(n.mqtt.Connections())
		}),
	)
	for _, c := range readingRefusals {
		m.rejected.WithLabelValues(c.String())
	}
	m.registerDataSpace(filepath.Dir(AppDBDir(n.home)))
	return m
}

// registerDataSpace serves the free and total bytes of the file system
// that holds dir, when the platform can tell.
func (m *metrics) registerDataSpace(dir string) {
	if _, err := diskUsage(dir); err != nil {
		return
	}
	space := func(free bool) func() float64 {
		return func() float64 {
			u, err := diskUsage(dir)
			switch {
			case err != nil:
				return -1
			case free:
				return float64(u.AvailBytes)
			}
			return float64(u.TotalBytes)
		}
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iotledger_data_free_bytes",
			Help: "Bytes free for the node on the file system of its data folder (-1 when it cannot be read)."}, space(true)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iotledger_data_capacity_bytes",
			Help: "Size of the file system of the node's data folder, in bytes (-1 when it cannot be read)."}, space(false)),
	)
}

// Gatherer is what GET /metrics serves: the node's metrics and CometBFT's.
func (m *metrics) gatherer() prometheus.Gatherer { return prometheus.Gatherers{m.reg, m.comet} }

// cometRegisterMu serialises the swap of prometheus.DefaultRegisterer in
// cometMetrics, for nodes started at once in one process (tests).
var cometRegisterMu sync.Mutex

// cometMetrics is CometBFT's own metrics provider with the namespace
// cometNamespace, registering on m.comet. CometBFT's metric constructors
// register on prometheus.DefaultRegisterer, where a second node in the same
// process (tests, bench) would panic on the names the first registered:
// while they run, DefaultRegisterer is this node's registry. The provider's
// results are of CometBFT's internal types, which cannot be named outside
// its module, hence reflect to wrap it. CometBFT's own listener
// (instrumentation.prometheus_listen_addr) stays off: the node serves the
// metrics on its API address.
func (m *metrics) cometMetrics() nm.MetricsProvider {
	def := nm.DefaultMetricsProvider(&cmtcfg.InstrumentationConfig{Prometheus: true, Namespace: cometNamespace})
	wrapped := reflect.MakeFunc(reflect.TypeOf(def), func(args []reflect.Value) []reflect.Value {
		cometRegisterMu.Lock()
		defer cometRegisterMu.Unlock()
		saved := prometheus.DefaultRegisterer
		prometheus.DefaultRegisterer = m.comet
		defer func() { prometheus.DefaultRegisterer = saved }()
		out := reflect.ValueOf(def).Call(args)
		// CometBFT counts peers up and down from no series at all: start
		// at 0, so that a node that never finds a peer says so.
		if p, ok := out[1].Interface().(*p2p.Metrics); ok {
			p.Peers.Set(0)
		}
		return out
	})
	return wrapped.Interface().(nm.MetricsProvider)
}

func (m *metrics) observeVerify(n int, verify func()) {
	start := time.Now()
	verify()
	if n > 0 {
		m.verify.Observe(time.Since(start).Seconds() / float64(n))
	}
}

// committed counts a committed block's readings by outcome.
func (m *metrics) committed(b *state.Block, outcomes []app.Outcome) {
	m.readings.Add(float64(b.Readings))
	for i := range outcomes {
		switch o := &outcomes[i]; o.Status {
		case verdict.Accepted:
		case verdict.Duplicate:
			m.duplicate.Inc()
		default:
			m.rejected.WithLabelValues(o.Code.String()).Inc()
		}
	}
	if m.lastBlockMs != 0 {
		m.blockTime.Observe(float64(b.Time-m.lastBlockMs) / 1000)
	}
	m.lastBlockMs = b.Time
	m.lastBlock.Set(float64(b.Time) / 1000)
}

// answered counts a reading ingest answered without a block
// (ingest.OnAnswered).
func (m *metrics) answered(r verdict.Verdict) {
	switch r.Status {
	case verdict.Accepted, verdict.Pending:
	case verdict.Duplicate:
		m.duplicate.Inc()
	default:
		m.rejected.WithLabelValues(r.Code.String()).Inc()
	}
}

// tx counts a signed transaction sent to the API by its type and result.
func (m *metrics) tx(raw []byte, out *apiwire.TxCommit, err error) {
	typ := "malformed"
	if t, derr := tx.Decode(raw); derr == nil {
		switch {
		case t.Kind == tx.KindBatch:
			typ = "batch"
		case strings.HasPrefix(t.Signed.Type.String(), "type("):
			typ = "unknown"
		default:
			typ = t.Signed.Type.String()
		}
	}
	result := "error"
	switch {
	case errors.Is(err, api.ErrBusy):
		result = "busy"
	case errors.As(err, new(*ingest.HaltedError)):
		result = "halted"
	case err == nil && out != nil:
		result = out.Name
	}
	m.txs.WithLabelValues(typ, result).Inc()
}
