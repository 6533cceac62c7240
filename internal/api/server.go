package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults of Options.
const (
	DefaultMaxBodyBytes = 8 << 20
	// DefaultMaxBatch is the most readings one JSON batch may hold, the
	// ledger's default max_batch_readings.
	DefaultMaxBatch    = 4096
	DefaultWaitTimeout = 10 * time.Second
	DefaultHeartbeat   = 15 * time.Second
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// MaxBodyBytes bounds a request body; a larger one is answered 413.
	// Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Registry holds the API's own metrics. The node registers the
	// ledger's and ingest's metrics on the same registry. Nil means a new
	// registry.
	Registry *prometheus.Registry
	// Gatherer is what GET /metrics serves: Registry and whatever else the
	// node gathers (CometBFT's metrics). Nil means Registry.
	Gatherer prometheus.Gatherer
	// Logger receives internal errors (answered 500 with a generic detail).
	// Nil means slog.Default().
	Logger *slog.Logger
	// WaitTimeout bounds how long POST /v1/readings waits for commit when
	// the client did not ask for ?wait=false. The request's own context
	// bounds it too. Zero means DefaultWaitTimeout.
	WaitTimeout time.Duration
	// MaxBatch bounds the readings of one JSON batch; a larger batch is
	// answered 413. Zero means DefaultMaxBatch.
	MaxBatch int
	// Heartbeat is the interval of the comment lines GET /v1/events sends
	// so that proxies and clients see a live connection. Zero means
	// DefaultHeartbeat.
	Heartbeat time.Duration
	// RatePerIP is the requests a second each client address may send
	// (an IPv4 address, or an IPv6 /64), with bursts of BurstPerIP; a
	// client over it is answered 429 with Retry-After. Zero turns the limit
	// off. Loopback clients are not limited unless LimitLoopback is set: a
	// reverse proxy, the dashboard and benchmarks come from there.
	RatePerIP     float64
	BurstPerIP    int  // zero means DefaultBurstPerIP
	MaxIPs        int  // client addresses tracked at once; zero means DefaultMaxIPs
	LimitLoopback bool // limit loopback clients too
	// Now is the limiter's clock; nil means time.Now.
	Now func() time.Time
	// EventReplayBlocks bounds how far back GET /v1/events replays when
	// it resumes after a Last-Event-ID: the events of that many latest
	// blocks at most. An older id is answered 410 (kind
	// event-id-expired). Zero means DefaultEventReplayBlocks.
	EventReplayBlocks int
	// Explorer, when set, answers GET / and GET /explorer/... (the web
	// explorer, package internal/explorer); every other path answers as
	// without it.
	Explorer http.Handler
	// Genesis is the chain's genesis.json as the node read it, served
	// unchanged at GET /v1/genesis (the explorer pins it and shows its
	// SHA-256); nil answers 404.
	Genesis []byte
}

// Server is the HTTP JSON API of a node. It holds no goroutine of its own:
// every goroutine it runs belongs to a request.
type Server struct {
	ledger    Ledger
	reader    Reader
	maxBody   int64
	maxBatch  int
	wait      time.Duration
	heartbeat time.Duration
	// replayBlocks bounds an event stream's replay (EventReplayBlocks).
	replayBlocks int
	genesis      []byte // GET /v1/genesis (Options.Genesis)
	log          *slog.Logger
	registry     *prometheus.Registry
	gatherer     prometheus.Gatherer
	requests     *prometheus.CounterVec
	durations    *prometheus.HistogramVec
	limiter      *limiter // nil: no rate limit

	mux    *http.ServeMux
	routes []string // the patterns registered on mux, in order
}

// New returns the API of node l, whose committed state r reads.
func New(l Ledger, r Reader, opts Options) *Server {
	s := &Server{
		ledger:       l,
		reader:       r,
		maxBody:      opts.MaxBodyBytes,
		maxBatch:     opts.MaxBatch,
		wait:         opts.WaitTimeout,
		heartbeat:    opts.Heartbeat,
		replayBlocks: opts.EventReplayBlocks,
		genesis:      opts.Genesis,
		log:          opts.Logger,
		registry:     opts.Registry,
		gatherer:     opts.Gatherer,
		mux:          http.NewServeMux(),
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxBatch <= 0 {
		s.maxBatch = DefaultMaxBatch
	}
	if s.wait <= 0 {
		s.wait = DefaultWaitTimeout
	}
	if s.heartbeat <= 0 {
		s.heartbeat = DefaultHeartbeat
	}
	if s.replayBlocks <= 0 {
		s.replayBlocks = DefaultEventReplayBlocks
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	if s.gatherer == nil {
		s.gatherer = s.registry
	}
	if opts.RatePerIP > 0 {
		s.limiter = newLimiter(opts.RatePerIP, opts.BurstPerIP, opts.MaxIPs, opts.LimitLoopback, opts.Now)
	}
	s.requests = register(s.registry, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "iotledger_http_requests_total",
		Help: "HTTP API requests answered, by route pattern and status code.",
	}, []string{"route", "code"}))
	s.durations = register(s.registry, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "iotledger_http_request_duration_seconds",
		Help: "Time to answer an HTTP API request, by route pattern (GET /v1/events, a stream, is left out).",
		// From a status read to a submission that waits for its block
		// (api.wait_timeout, 10 s by default).
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"route"}))

	s.handle("POST /v1/readings", s.submit)
	s.handle("GET /v1/readings", s.latestReadings)
	s.handle("POST /v1/txs", s.submitTx)
	s.handle("GET /v1/status", s.status)
	s.handle("GET /v1/genesis", s.genesisFile)
	s.handle("GET /v1/stats", s.stats)
	s.handle("GET /v1/devices", s.devices)
	s.handle("GET /v1/devices/{id}", s.device)
	s.handle("GET /v1/devices/{id}/readings", s.readings)
	s.handle("GET /v1/devices/{id}/gaps", s.gaps)
	s.handle("GET /v1/devices/{id}/changes", s.deviceChanges)
	s.handle("GET /v1/devices/{id}/access", s.deviceAccess)
	s.handle("GET /v1/devices/{id}/twin", s.twin)
	s.handle("GET /v1/devices/{id}/twin/history", s.twinHistory)
	s.handle("GET /v1/devices/{id}/readings/{seq}/receipt", s.receipt)
	s.handle("POST /v1/devices/{id}/stream-keys", s.putStreamKeys)
	s.handle("GET /v1/devices/{id}/stream-keys/{epoch}", s.streamKey)
	s.handle("GET /v1/blocks", s.blocks)
	s.handle("GET /v1/blocks/{height}", s.block)
	s.handle("GET /v1/blocks/{height}/readings", s.blockReadings)
	s.handle("GET /v1/accounts/{addr}", s.account)
	s.handle("GET /v1/contracts", s.contracts)
	s.handle("GET /v1/contracts/{id}", s.contract)
	s.handle("GET /v1/contracts/{id}/events", s.contractEvents)
	s.handle("GET /v1/validators", s.validators)
	s.handle("GET /v1/validators/proposals", s.validatorProposals)
	s.handle("GET /v1/validators/proposals/{id}", s.validatorProposal)
	s.handle("GET /v1/log/entries/{index}", s.logEntry)
	s.handle("GET /v1/log/consistency", s.logConsistency)
	s.handle("GET /v1/events", s.events)
	s.handle("GET /v1/openapi.json", s.openapi)
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	s.handleHTTP("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	if opts.Explorer != nil {
		// Not listed in routes: the explorer is no part of the API.
		ex := s.instrument("explorer", func(w http.ResponseWriter, r *http.Request) error { opts.Explorer.ServeHTTP(w, r); return nil })
		s.mux.Handle("GET /{$}", ex)
		s.mux.Handle("GET /explorer/", ex)
	}
	// Anything else: 404 or 405, as problem+json. Not listed in routes.
	s.mux.Handle("/", s.instrument("unmatched", handlerFunc(s.unmatched)))
	return s
}

// register registers c on reg, or returns the collector already
// registered under its name (a second Server on the same registry).
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("api: register metrics: " + err.Error())
	}
	return c
}

// streamRoute is the route whose requests last as long as the client
// listens: its durations would say nothing of the API's speed.
const streamRoute = "GET /v1/events"

// Handler returns the API's handler: the /v1/ routes and /metrics, behind
// the per-client rate limit when there is one.
func (s *Server) Handler() http.Handler {
	if s.limiter != nil {
		return s.limit(s.mux)
	}
	return s.mux
}

// HTTPServer returns an http.Server for the API with timeouts that bound
// slow clients: headers in 10 s; a request and its answer in 1 minute plus
// WaitTimeout (read) and 30 s more (write), which leaves a slow link a
// minute for an 8 MiB body before a submission waits for commit; idle
// connections closed after 2 minutes. (The read timeout must outlast the
// wait: net/http cancels the request's context when it expires.)
// GET /v1/events lifts the read and write deadlines of its own connection
// and bounds each event's write instead. The caller runs the server
// (ListenAndServe) and stops it (Shutdown, then Close for the event
// streams, which never become idle).
func (s *Server) HTTPServer(addr string) *http.Server {
	read := time.Minute + s.wait
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       read,
		WriteTimeout:      read + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// handlerFunc is a handler that returns its error instead of answering it:
// a *problem is answered as it is, anything else is logged and answered
// 500 with a generic detail.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(pattern string, h handlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, s.instrument(pattern, h))
}

func (s *Server) handleHTTP(pattern string, h http.Handler) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, s.instrument(pattern, handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	})))
}

// instrument counts the answers of a route and times them (route is the
// pattern, so the label values are as few as the routes), turns the error
// of h into a problem answer, and answers 500 if h panics.
func (s *Server) instrument(route string, h handlerFunc) http.Handler {
	var duration prometheus.Observer
	if route != streamRoute {
		duration = s.durations.WithLabelValues(route)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("api: handler panicked", "route", route, "path", r.URL.Path, "panic", v)
				if rec.code == 0 {
					s.writeProblem(rec, r, internalError())
				}
			}
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			s.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
			if duration != nil {
				duration.Observe(time.Since(start).Seconds())
			}
		}()
		if err := h(rec, r); err != nil {
			s.fail(rec, r, route, err)
		}
	})
}

// fail answers err, which a handler returned.
func (s *Server) fail(w *recorder, r *http.Request, route string, err error) {
	p, ok := errors.AsType[*problem](err)
	if !ok {
		if r.Context().Err() != nil {
			// The client went away or timed out; nobody reads the answer.
			s.log.Debug("api: request ended by its context", "route", route, "path", r.URL.Path, "err", err)
		} else {
			s.log.Error("api: internal error", "route", route, "path", r.URL.Path, "err", err)
		}
		p = internalError()
	}
	if w.code != 0 {
		// The answer has started; the problem cannot be sent any more.
		s.log.Warn("api: error after the answer started", "route", route, "path", r.URL.Path, "err", err)
		return
	}
	s.writeProblem(w, r, p)
}

// recorder notes the status code of an answer. Unwrap lets
// http.ResponseController reach the connection (flush, deadlines).
type recorder struct {
	http.ResponseWriter
	code int
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// unmatched answers a request no route takes: 405 if the path has routes
// for other methods, 404 otherwise.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := *r
		probe.Method = m
		if _, pattern := s.mux.Handler(&probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		return methodNotAllowed(r.Method, allow)
	}
	return notFound("there is no endpoint at %s; the API is described at /v1/openapi.json", r.URL.Path)
}
