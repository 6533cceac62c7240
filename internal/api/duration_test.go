package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iotledger/iotledger/internal/api"
)

// TestRequestDurations: every answer is timed under its route pattern
// (bounded label values, whatever the paths); the event stream, which
// lasts as long as its client, is not.
func TestRequestDurations(t *testing.T) {
	e := newEnv(t, api.Options{})
	e.get(t, "/v1/status")
	e.get(t, "/v1/status")
	e.get(t, "/v1/devices/"+unknownDevice)
	e.get(t, "/v1/devices/another-device")
	e.get(t, "/nowhere")

	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	// The stream's handler ends once it sees its client gone.
	deadline := time.Now().Add(10 * time.Second)
	var body string
	for {
		body = string(e.get(t, "/metrics").body)
		if strings.Contains(body, `iotledger_http_requests_total{code="200",route="GET /v1/events"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the event stream was never counted:\n%s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{
		`iotledger_http_request_duration_seconds_count{route="GET /v1/status"} 2`,
		`iotledger_http_request_duration_seconds_count{route="GET /v1/devices/{id}"} 2`,
		`iotledger_http_request_duration_seconds_count{route="unmatched"} 1`,
		`iotledger_http_request_duration_seconds_bucket{route="GET /v1/status",le="+Inf"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, `iotledger_http_request_duration_seconds_count{route="GET /v1/events"}`) {
		t.Errorf("the event stream is timed:\n%s", body)
	}
}

// TestMetricsServeTheGatherer: /metrics serves Options.Gatherer, so the
// node can add what is registered elsewhere (CometBFT's metrics).
func TestMetricsServeTheGatherer(t *testing.T) {
	reg, other := prometheus.NewRegistry(), prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "cometbft_consensus_height", Help: "Height of the chain."})
	g.Set(42)
	other.MustRegister(g)
	e := newEnv(t, api.Options{Registry: reg, Gatherer: prometheus.Gatherers{reg, other}})
	e.get(t, "/v1/status")
	body := string(e.get(t, "/metrics").body)
	for _, want := range []string{
		"cometbft_consensus_height 42",
		`iotledger_http_requests_total{code="200",route="GET /v1/status"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
}
