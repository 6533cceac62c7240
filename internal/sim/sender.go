package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/verdict"
)

// Fate is what became of one published reading.
type Fate struct {
	Status verdict.Status // client.Accepted, Duplicate, Rejected or Pending
	Reason string         // for Rejected: the node's reason code, or ReasonBusy
	At     time.Time      // when the sender learned it
}

// ReasonBusy is the reason of readings the node refused as a whole request
// because its queue was full (HTTP 503): backpressure. The simulator does not
// send them again (it is open-loop), so they are counted as rejected.
const ReasonBusy = "busy"

// Sender publishes readings to a node.
type Sender interface {
	// Send publishes a batch of readings and returns, once each is
	// committed or refused (or ctx ends), one Fate per reading, in order.
	// An error means the sender learned nothing of the batch.
	Send(ctx context.Context, raws [][]byte) ([]Fate, error)
	// Close releases the sender's connections.
	Close() error
}

// Ways to publish readings.
const (
	ViaHTTP = "http"
	ViaMQTT = "mqtt"
)

// Endpoints are where a node takes readings.
type Endpoints struct {
	API      string // base URL of the HTTP API, such as http://127.0.0.1:8080
	MQTT     string // MQTT broker URL, such as tcp://127.0.0.1:1883
	InFlight int    // most concurrent requests the sender must carry
	// ReceiptQoS is the QoS of MQTT devices' subscriptions to their
	// receipts and errors (see Config.ReceiptQoS).
	ReceiptQoS int
}

// NewSender returns the sender for via: ViaHTTP or ViaMQTT. The MQTT sender
// is a Connector: it connects the fleet's devices in Connect.
func NewSender(via string, ep Endpoints) (Sender, error) {
	switch via {
	case ViaHTTP:
		return HTTP(ep.API, ep.InFlight)
	case ViaMQTT:
		s, err := MQTT(ep.MQTT)
		if err != nil {
			return nil, err
		}
		s.receiptQoS = byte(ep.ReceiptQoS)
		return s, nil
	}
	return nil, fmt.Errorf("sim: --via %q: want %s or %s", via, ViaHTTP, ViaMQTT)
}

// HTTP returns a sender that posts each batch as one JSON request to the
// node's API at apiURL (POST /v1/readings, wait=true), over up to inFlight
// connections.
func HTTP(apiURL string, inFlight int) (Sender, error) {
	if err := CheckLoopback(apiURL); err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(inFlight, 2)
	tr.MaxIdleConns = max(inFlight, 2)
	tr.Proxy = nil // loopback only: never through a proxy
	hc := &http.Client{Transport: tr}
	return &httpSender{c: client.New(apiURL, client.WithHTTPClient(hc), client.WithUserAgent("iotledger-sim")), tr: tr}, nil
}

// APIClient returns a client of the node's API at apiURL that keeps a
// connection for each of Register's concurrent lookups.
func APIClient(apiURL string) *client.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = lookupWorkers
	tr.Proxy = nil
	return client.New(apiURL, client.WithHTTPClient(&http.Client{Transport: tr}), client.WithUserAgent("iotledger-sim"))
}

type httpSender struct {
	c  *client.Client
	tr *http.Transport
}

func (s *httpSender) Send(ctx context.Context, raws [][]byte) ([]Fate, error) {
	rs, err := s.c.Submit(ctx, raws, true)
	now := time.Now()
	if errors.Is(err, client.ErrBusy) {
		fates := make([]Fate, len(raws))
		for i := range fates {
			fates[i] = Fate{Status: client.Rejected, Reason: ReasonBusy, At: now}
		}
		return fates, nil
	}
	if err != nil {
		return nil, err
	}
	fates := make([]Fate, len(rs))
	for i, r := range rs {
		fates[i] = Fate{Status: r.Status, Reason: r.Reason, At: now}
	}
	return fates, nil
}

func (s *httpSender) Close() error {
	s.tr.CloseIdleConnections()
	return nil
}

// CheckLoopback checks that addr, a URL (http://127.0.0.1:8080,
// tcp://localhost:26657) or a HOST:PORT, names a loopback host.
func CheckLoopback(addr string) error {
	host := addr
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil {
			return fmt.Errorf("sim: address %q: %v", addr, err)
		}
		host = u.Hostname()
	} else if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("sim: %s is not a loopback address; the simulator only drives a node on this machine (127.0.0.1, ::1 or localhost)", addr)
}
