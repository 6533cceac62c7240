package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/iotledger/iotledger/apiwire"
)

// HaltRetryAfter is the Retry-After, in seconds, of readings and
// transactions refused because consensus has halted: a halt waits for an
// operator or a healed network, so asking every second only adds load.
const HaltRetryAfter = 30

// ReadyLedger is what GET /readyz asks the node, beyond Ledger. A Ledger
// without it is ready when its Status answers, neither catching up nor
// halted.
type ReadyLedger interface {
	// Ready runs the node's readiness checks, always the same ones in the
	// same order.
	Ready(ctx context.Context) []apiwire.Check
}

// healthz answers 200 while the server runs: the process serves. Whether
// it can take readings is /readyz.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, apiwire.Health{Status: "serving"})
}

// readyz answers 200 when the node can take readings now, else 503 naming
// each failing check and what to do.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	var checks []apiwire.Check
	if l, ok := s.ledger.(ReadyLedger); ok {
		checks = l.Ready(r.Context())
	} else {
		checks = s.statusChecks(r.Context())
	}
	var failed []string
	for _, c := range checks {
		if !c.OK {
			failed = append(failed, c.Name+": "+c.Detail)
		}
	}
	if len(failed) > 0 {
		p := newProblem(http.StatusServiceUnavailable, KindNotReady, "Node not ready",
			"this node cannot take readings now; failing checks: %s", strings.Join(failed, "; "))
		p.retryAfter = RetryAfter
		return p
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, apiwire.Readiness{Ready: true, Checks: checks})
}

// statusChecks are the readiness checks of a Ledger that has no Ready: its
// Status answers, it is not catching up, its consensus has not halted.
func (s *Server) statusChecks(ctx context.Context) []apiwire.Check {
	st, err := s.ledger.Status(ctx)
	if err != nil {
		s.log.Error("api: readiness: status", "err", err)
		return []apiwire.Check{{Name: "store", Detail: "the node cannot read its state; the cause is in its log"}}
	}
	checks := []apiwire.Check{
		{Name: "store", OK: true, Detail: fmt.Sprintf("open, at block %d", st.Height)},
		{Name: "sync", OK: !st.CatchingUp, Detail: "in step with the chain"},
		{Name: "consensus", OK: st.Halted == nil, Detail: "committing blocks"},
	}
	if st.CatchingUp {
		checks[1].Detail = CatchingUpDetail(st.Height)
	}
	if st.Halted != nil {
		checks[2].Detail = HaltedDetail(st.Halted.Since, st.Halted.Reason)
	}
	return checks
}

// CatchingUpDetail is the readiness detail of a node that is catching up.
func CatchingUpDetail(height int64) string {
	return fmt.Sprintf("catching up with the chain (at block %d); it takes readings once it has caught up: wait, or send them to another node", height)
}

// HaltedDetail is the readiness detail of a node whose consensus halted.
func HaltedDetail(since time.Time, reason string) string {
	return fmt.Sprintf("consensus halted since %s: %s", since.UTC().Format(time.RFC3339), reason)
}

// haltError is an error that says the node's consensus has halted:
// ingest's *HaltedError.
type haltError interface {
	error
	Halt() (since time.Time, reason string)
}

// halted answers a submission refused because consensus has halted; what
// is "readings" or "the transaction".
func halted(err error, what string) (*problem, bool) {
	h, ok := errors.AsType[haltError](err)
	if !ok {
		return nil, false
	}
	since, reason := h.Halt()
	p := newProblem(http.StatusServiceUnavailable, KindHalted, "Consensus halted",
		"this node's consensus has halted since %s, so it cannot commit %s: %s. It took none: send again after the Retry-After delay, or to another node",
		since.UTC().Format(time.RFC3339), what, reason)
	p.retryAfter = HaltRetryAfter
	return p, true
}
