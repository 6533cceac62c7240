package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/receipt/format"
	"github.com/iotledger/iotledger/verdict"
)

// MaxAnswer bounds the JSON answers the client reads (receipts are bounded
// by receipt.MaxSize).
const MaxAnswer = 32 << 20

// Client calls the API of one iotledger node. Its methods are safe for
// concurrent use.
type Client struct {
	base      string // without a trailing slash
	hc        *http.Client
	userAgent string
	chain     chain // the node's chain id, once asked (ChainID)
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc. A Timeout on
// hc also ends the stream of Events; prefer contexts.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent of the requests.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the node whose API is at baseURL, such as
// "http://localhost:8080". Requests are bounded by their context only,
// unless WithHTTPClient gives a client with a timeout.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:      strings.TrimRight(baseURL, "/"),
		hc:        http.DefaultClient,
		userAgent: "iotledger-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Status returns the node's view of the chain.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	return &s, c.getJSON(ctx, "/v1/status", nil, &s)
}

// Device returns a registered device; the error is ErrNotFound if none has
// that id.
func (c *Client) Device(ctx context.Context, id string) (*Device, error) {
	var d Device
	return &d, c.getJSON(ctx, "/v1/devices/"+url.PathEscape(id), nil, &d)
}

// Devices returns up to limit devices (0: the server's default, 100) in id
// order, after the device id after ("" for the first page). Pass the
// page's Next as after to get the next page.
func (c *Client) Devices(ctx context.Context, after string, limit int) (*DevicePage, error) {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p DevicePage
	return &p, c.getJSON(ctx, "/v1/devices", q, &p)
}

// Readings returns a page of a device's committed readings.
func (c *Client) Readings(ctx context.Context, id string, rq ReadingQuery) (*ReadingPage, error) {
	q := url.Values{}
	if rq.ByTime {
		q.Set("by", "time")
		if rq.StartSeq > 0 {
			q.Set("start_seq", strconv.FormatUint(rq.StartSeq, 10))
		}
	}
	if rq.From > 0 {
		q.Set("from", strconv.FormatUint(rq.From, 10))
	}
	if rq.To > 0 {
		q.Set("to", strconv.FormatUint(rq.To, 10))
	}
	if rq.Limit > 0 {
		q.Set("limit", strconv.Itoa(rq.Limit))
	}
	if rq.PageToken != "" {
		q.Set("page_token", rq.PageToken)
	}
	var p ReadingPage
	return &p, c.getJSON(ctx, "/v1/devices/"+url.PathEscape(id)+"/readings", q, &p)
}

// Gaps returns what the ledger knows of a device's sequence numbers.
func (c *Client) Gaps(ctx context.Context, id string) (*Gaps, error) {
	var g Gaps
	return &g, c.getJSON(ctx, "/v1/devices/"+url.PathEscape(id)+"/gaps", nil, &g)
}

// Account returns an account with up to limit payments (0: the node's
// default), newest first, below cursor before (empty: from the newest).
func (c *Client) Account(ctx context.Context, addr string, limit int, before string) (*Account, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if before != "" {
		q.Set("before", before)
	}
	var a Account
	return &a, c.getJSON(ctx, "/v1/accounts/"+url.PathEscape(addr), q, &a)
}

// SubmitTx sends a signed transaction (package tx) and waits for its
// block. A refusal is not an error: see the result's Committed and Code.
func (c *Client) SubmitTx(ctx context.Context, raw []byte) (*TxCommit, error) {
	resp, err := c.do(ctx, http.MethodPost, "/v1/txs", nil, "application/cbor", raw)
	if err != nil {
		return nil, err
	}
	var r TxCommit
	if err := decodeJSON(resp, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Twin returns a device's twin as of block height (0: now).
func (c *Client) Twin(ctx context.Context, id string, height int64) (*Twin, error) {
	q := url.Values{}
	if height > 0 {
		q.Set("height", strconv.FormatInt(height, 10))
	}
	var t Twin
	return &t, c.getJSON(ctx, "/v1/devices/"+url.PathEscape(id)+"/twin", q, &t)
}

// Receipt returns the receipt of reading seq of a device, parsed (but not
// verified: use receipt.Verify with the chain's genesis). The error is
// ErrNotFound if the reading was never committed and ErrNotYet if it was
// but the block that completes its receipt is not committed yet: ask again
// after the error's RetryAfter.
func (c *Client) Receipt(ctx context.Context, id string, seq uint64) (*format.Receipt, error) {
	path := verdict.ReceiptPath(id, seq)
	b, err := c.get(ctx, path, nil, format.MaxSize)
	if err != nil {
		return nil, err
	}
	r, err := format.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("client: GET %s: %w", path, err)
	}
	return r, nil
}

// Block returns a committed block; the error is ErrNotFound if the block
// is not committed.
func (c *Client) Block(ctx context.Context, height int64) (*Block, error) {
	var b Block
	return &b, c.getJSON(ctx, "/v1/blocks/"+strconv.FormatInt(height, 10), nil, &b)
}

// Submit sends COSE_Sign1 readings in one batch and returns one result
// per reading, in order. With wait, the node answers when each reading is
// committed or refused, or when its wait timeout passes (the rest are then
// Pending); without, it answers at once. The error is ErrBusy if the node
// took none of them (and ErrHalted too if that is because its consensus
// has halted): send them again after the error's RetryAfter, or to
// another node.
//
// The batch goes as application/cbor, a CBOR array of the readings' bytes:
// a third smaller than the JSON form and much cheaper for the node to read.
func (c *Client) Submit(ctx context.Context, raws [][]byte, wait bool) ([]Result, error) {
	body, err := dcbor.EncMode.Marshal(raws)
	if err != nil {
		return nil, fmt.Errorf("client: encode readings: %w", err)
	}
	results, err := c.submit(ctx, "application/cbor", body, wait)
	if err != nil {
		return nil, err
	}
	if len(results) != len(raws) {
		return nil, fmt.Errorf("client: POST /v1/readings: %d results for %d readings", len(results), len(raws))
	}
	return results, nil
}

// SubmitCOSE sends one COSE_Sign1 reading as application/cose, the form a
// device without a JSON library can send. See Submit.
func (c *Client) SubmitCOSE(ctx context.Context, raw []byte, wait bool) (*Result, error) {
	results, err := c.submit(ctx, "application/cose", raw, wait)
	if err != nil {
		return nil, err
	}
	if len(results) != 1 {
		return nil, fmt.Errorf("client: POST /v1/readings: %d results for one reading", len(results))
	}
	return &results[0], nil
}

func (c *Client) submit(ctx context.Context, contentType string, body []byte, wait bool) ([]Result, error) {
	q := url.Values{}
	if !wait {
		q.Set("wait", "false")
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/readings", q, contentType, body)
	if err != nil {
		return nil, err
	}
	var rs struct {
		Results []Result `json:"results"`
	}
	if err := decodeJSON(resp, &rs); err != nil {
		return nil, err
	}
	return rs.Results, nil
}

// getJSON GETs path and decodes the JSON answer into v.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, q, "", nil)
	if err != nil {
		return err
	}
	return decodeJSON(resp, v)
}

// get GETs path and returns the answer, of at most max bytes.
func (c *Client) get(ctx context.Context, path string, q url.Values, max int64) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, path, q, "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return readBody(resp, max)
}

// do sends a request and returns a 2xx response; any other becomes an
// *Error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, contentType string, body []byte) (*http.Response, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, errorFrom(resp)
	}
	return resp, nil
}

func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	b, err := readBody(resp, MaxAnswer)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

func readBody(resp *http.Response, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: read answer: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("client: %s %s: answer larger than %d bytes", resp.Request.Method, resp.Request.URL.Path, max)
	}
	return b, nil
}

// Errors that an *Error matches with errors.Is.
var (
	ErrNotFound = errors.New("client: not found")                 // 404
	ErrNotYet   = errors.New("client: receipt not available yet") // 425 Too Early
	ErrBusy     = errors.New("client: node busy")                 // 503
	// ErrHalted is a 503 of kind halted: the node's consensus has halted
	// and it took nothing; the detail says why. Send again after
	// RetryAfter, or to another node. It matches ErrBusy too.
	ErrHalted = errors.New("client: consensus halted")
)

// Error is an error answer of the node, from its problem details (RFC
// 9457). errors.Is(err, ErrNotFound), ErrNotYet, ErrBusy or ErrHalted tells the cases
// a caller handles apart.
type Error struct {
	Status     int    // the HTTP status code
	Type       string // the problem type, such as "urn:iotledger:problem:not-found"
	Title      string
	Detail     string // what was wrong and what to do
	Instance   string // the request path
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := fmt.Sprintf("client: %d %s", e.Status, e.Title)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is reports whether e is the case target names.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrNotYet:
		return e.Status == http.StatusTooEarly
	case ErrBusy:
		return e.Status == http.StatusServiceUnavailable
	case ErrHalted:
		return e.Status == http.StatusServiceUnavailable && e.Type == "urn:iotledger:problem:halted"
	}
	return false
}

// errorFrom reads an error answer. A body that is not problem details (a
// proxy's page, say) becomes the detail, shortened.
func errorFrom(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), Instance: resp.Request.URL.Path}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(resp.Header.Get("Retry-After")); err == nil {
		e.RetryAfter = max(time.Until(t), 0)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	media, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if media == "application/problem+json" || media == "application/json" {
		var p struct {
			Type, Title, Detail, Instance string
		}
		if json.Unmarshal(b, &p) == nil && (p.Title != "" || p.Detail != "") {
			e.Type, e.Detail = p.Type, p.Detail
			if p.Title != "" {
				e.Title = p.Title
			}
			if p.Instance != "" {
				e.Instance = p.Instance
			}
			return e
		}
	}
	text := strings.TrimSpace(string(b))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	e.Detail = text
	return e
}
