package device

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/iotledger/iotledger/client"
)

// HTTP is the Transport over a node's HTTP API: it posts each batch to
// /v1/readings and lets the node wait for commit (wait=true), so most
// readings are answered Accepted, Duplicate or Rejected at once; the node
// answers Pending for those its wait did not see committed.
//
// A request refused as a whole is handled so that no reading is dropped
// and none retried forever: a busy node (503), a rate limit (429) or a
// server or proxy error is a *RetryError with the node's Retry-After, and
// the batch is sent again; a batch the node cannot read (400) or too large
// a batch (413) is split in halves until the one reading at fault is
// alone, which is then Rejected with the problem's type (invalid-body,
// too-large) as reason. Answers that point at a wrong URL or a missing
// route (404, 405, 415) are errors too: a configuration to fix, not a
// reason to give readings up.
type HTTP struct {
	c *client.Client
}

// NewHTTP returns the transport that sends readings with c.
func NewHTTP(c *client.Client) *HTTP { return &HTTP{c: c} }

// Send implements Transport.
func (h *HTTP) Send(ctx context.Context, raws [][]byte) ([]Answer, error) {
	rs, err := h.c.Submit(ctx, raws, true)
	if err == nil {
		out := make([]Answer, len(rs))
		for i, r := range rs {
			out[i] = answerOf(r)
		}
		return out, nil
	}
	ce, ok := errors.AsType[*client.Error](err)
	if !ok {
		return nil, err // the network, or an answer that did not decode
	}
	if ce.Status != http.StatusBadRequest && ce.Status != http.StatusRequestEntityTooLarge {
		return nil, &RetryError{Err: err, After: ce.RetryAfter}
	}
	if len(raws) == 1 {
		reason := strings.TrimPrefix(ce.Type, "urn:iotledger:problem:")
		if reason == "" {
			reason = http.StatusText(ce.Status)
		}
		return []Answer{{Status: Rejected, Reason: reason, Detail: ce.Detail}}, nil
	}
	// Find the reading at fault: each half on its own. What the second
	// half cannot learn is Pending, so the first half's answers count.
	mid := len(raws) / 2
	first, err := h.Send(ctx, raws[:mid])
	if err != nil {
		return nil, err
	}
	second, err := h.Send(ctx, raws[mid:])
	if err != nil {
		second = make([]Answer, len(raws)-mid)
		for i := range second {
			second[i] = Answer{Status: Pending, Detail: err.Error()}
			if re, ok := errors.AsType[*RetryError](err); ok {
				second[i].RetryAfter = re.After
			}
		}
	}
	return append(first, second...), nil
}

func answerOf(r client.Result) Answer {
	a := Answer{Status: r.Status, Reason: r.Reason, Detail: r.Detail, Height: r.Height, Receipt: r.Receipt}
	if r.Index != nil {
		a.Index = *r.Index
	}
	return a
}
