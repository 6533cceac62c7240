package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/iotledger/iotledger/apiwire"
)

// Problem is the body of every error answer: problem details (RFC 9457),
// served as application/problem+json. Detail says what was wrong and what to
// do; it never carries an internal cause, which is logged instead.
type Problem = apiwire.Problem

// ProblemType prefixes the type of every problem the API answers; the kind
// follows it. The kinds are listed in the OpenAPI document.
const ProblemType = apiwire.ProblemType

// Kinds of problem, the suffixes of Problem.Type.
const (
	KindInvalidID        = "invalid-id"
	KindInvalidParameter = "invalid-parameter"
	KindInvalidBody      = "invalid-body"
	KindUnsupportedMedia = "unsupported-media-type"
	KindTooLarge         = "too-large"
	KindNotFound         = "not-found"
	KindMethodNotAllowed = "method-not-allowed"
	KindReceiptNotYet    = "receipt-not-yet"
	KindBlockNotOnNode   = "block-not-on-node"
	KindInvalidEventID   = "invalid-event-id" // 400: Last-Event-ID is no event id of this chain
	KindEventIDExpired   = "event-id-expired" // 410: what came after Last-Event-ID is no longer replayed
	KindBusy             = "busy"
	KindRateLimited      = "rate-limited"
	KindHalted           = "halted"    // 503: consensus has halted, nothing was taken
	KindNotReady         = "not-ready" // 503 from GET /readyz
	KindInternal         = "internal"
)

// RetryAfter is the Retry-After, in seconds, of a busy node (503) and of a
// receipt not available yet (425): about one block.
const RetryAfter = 1

// problem is an error a handler returns to answer it as a Problem.
type problem struct {
	status     int
	kind       string
	title      string
	detail     string
	retryAfter int      // seconds; 0: no Retry-After header
	allow      []string // the Allow header of a 405
}

func (p *problem) Error() string { return p.kind + ": " + p.detail }

func newProblem(status int, kind, title, format string, args ...any) *problem {
	return &problem{status: status, kind: kind, title: title, detail: fmt.Sprintf(format, args...)}
}

// invalidID answers an id that address.ParseDevice refused with err, which
// quotes the id.
func invalidID(name string, err error) *problem {
	return newProblem(http.StatusBadRequest, KindInvalidID, "Invalid device id",
		"%s: %s; a device id is the bech32 text dev1... derived from the device's public key",
		name, strings.TrimPrefix(err.Error(), "address: "))
}

func invalidParameter(format string, args ...any) *problem {
	return newProblem(http.StatusBadRequest, KindInvalidParameter, "Invalid parameter", format, args...)
}

func invalidBody(format string, args ...any) *problem {
	return newProblem(http.StatusBadRequest, KindInvalidBody, "Invalid request body", format, args...)
}

func notFound(format string, args ...any) *problem {
	return newProblem(http.StatusNotFound, KindNotFound, "Not found", format, args...)
}

func methodNotAllowed(method string, allow []string) *problem {
	p := newProblem(http.StatusMethodNotAllowed, KindMethodNotAllowed, "Method not allowed",
		"%s is not allowed here; use %s", method, strings.Join(allow, " or "))
	p.allow = allow
	return p
}

func busy() *problem {
	p := newProblem(http.StatusServiceUnavailable, KindBusy, "Node busy",
		"the node is saturated and took none of the readings; send them again after the Retry-After delay, or to another node")
	p.retryAfter = RetryAfter
	return p
}

func internalError() *problem {
	return newProblem(http.StatusInternalServerError, KindInternal, "Internal error",
		"the node failed to answer; the cause is in its log. Try again; if it persists, tell the node's operator")
}

// writeProblem answers p.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, p *problem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	if len(p.allow) > 0 {
		h.Set("Allow", strings.Join(p.allow, ", "))
	}
	b, err := json.Marshal(Problem{
		Type:     ProblemType + p.kind,
		Title:    p.title,
		Status:   p.status,
		Detail:   p.detail,
		Instance: r.URL.Path,
	})
	if err != nil {
		panic("api: encode problem: " + err.Error()) // strings and ints always encode
	}
	w.WriteHeader(p.status)
	w.Write(append(b, '\n'))
}
