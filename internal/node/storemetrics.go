package node

import "github.com/prometheus/client_golang/prometheus"

// storeMetrics are the metrics of the stores' start-up.
type storeMetrics struct {
	replayed prometheus.Gauge
}

func newStoreMetrics(reg prometheus.Registerer) *storeMetrics {
	m := &storeMetrics{
		replayed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "iotledger_store_replayed_blocks",
			Help: "Blocks the app store lacked at start against CometBFT's block store, which CometBFT replayed into it " +
				"(0 after a clean stop; more means the app store lost writes, such as to a damaged log file)."}),
	}
	reg.MustRegister(m.replayed)
	return m
}
