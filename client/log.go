package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/iotledger/iotledger/apiwire"
)

// LogEntry and LogConsistency are the answers of the log routes.
type (
	LogEntry       = apiwire.LogEntry
	LogConsistency = apiwire.LogConsistency
)

// LogEntry returns the reading at a log index: its device, sequence
// number, block, RFC 6962 leaf hash and receipt path. An index at or past
// the committed size is an *Error with status 404.
func (c *Client) LogEntry(ctx context.Context, index uint64) (*LogEntry, error) {
	var e LogEntry
	return &e, c.getJSON(ctx, "/v1/log/entries/"+strconv.FormatUint(index, 10), nil, &e)
}

// LogConsistency returns the RFC 6962 consistency proof between the log's
// sizes from and to (to 0: the committed size), with the roots of both;
// transparency-dev/merkle's proof.VerifyConsistency checks it.
func (c *Client) LogConsistency(ctx context.Context, from, to uint64) (*LogConsistency, error) {
	q := url.Values{"from": {strconv.FormatUint(from, 10)}}
	if to > 0 {
		q.Set("to", strconv.FormatUint(to, 10))
	}
	var p LogConsistency
	return &p, c.getJSON(ctx, "/v1/log/consistency", q, &p)
}
