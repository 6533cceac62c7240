package client

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// MaxEventLine bounds one line of the event stream.
const MaxEventLine = 1 << 20

// Events subscribes to the node's live events (server-sent events): it is
// EventsWith without options.
func (c *Client) Events(ctx context.Context) (<-chan Event, error) {
	return c.EventsWith(ctx, EventOptions{})
}

// EventOptions selects and resumes an event stream.
type EventOptions struct {
	// Types keeps the events of these types (block, reading, device, twin,
	// contract_event); nil keeps all.
	Types []string
	// Device keeps the events of this device, and those that name no
	// device (block, contract_event); empty keeps all.
	Device string
	// LastEventID resumes after this event (its Event.ID): the node first
	// replays from its store what followed it, then goes on live, so no
	// event is lost or repeated across a reconnection, or a restart of the
	// node. "<height>-0" starts at block height. The node replays a bounded
	// number of blocks (1000 by default): an older id is refused with an
	// *Error of status 410 (kind event-id-expired); read what was missed
	// through the other methods and subscribe without an id.
	LastEventID string
}

// EventsWith subscribes to the node's events (server-sent events) as opts
// say. The channel delivers them in order and is closed when ctx is done
// or the stream ends (the node stopped, or dropped a client that read too
// slowly); if ctx is not done, subscribe again with the ID of the last
// event received as LastEventID. Read the channel promptly; the client
// does not buffer much.
func (c *Client) EventsWith(ctx context.Context, opts EventOptions) (<-chan Event, error) {
	q := url.Values{}
	if len(opts.Types) > 0 {
		q.Set("types", strings.Join(opts.Types, ","))
	}
	if opts.Device != "" {
		q.Set("device", opts.Device)
	}
	u := c.base + "/v1/events"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if opts.LastEventID != "" {
		req.Header.Set("Last-Event-ID", opts.LastEventID)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, errorFrom(resp)
	}
	out := make(chan Event, 16)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 4096), MaxEventLine)
		sc.Split(scanLines)
		var (
			id   string // the last event id, as the stream format keeps it
			typ  string
			data bytes.Buffer
			has  bool // a data line was seen
		)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 { // dispatch
				if has {
					ev := Event{ID: id, Type: typ, Data: bytes.Clone(data.Bytes())}
					if ev.Type == "" {
						ev.Type = "message"
					}
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				}
				typ, has = "", false
				data.Reset()
				continue
			}
			if line[0] == ':' {
				continue // a comment: the heartbeat
			}
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "event":
				typ = string(value)
			case "id":
				if !bytes.ContainsRune(value, 0) {
					id = string(value)
				}
			case "data":
				if has {
					data.WriteByte('\n')
				}
				data.Write(value)
				has = true
			}
			// retry is not used by the node; others are ignored, as the spec says.
		}
	}()
	return out, nil
}

// scanLines splits at "\n", "\r\n" or "\r", the line ends of the event
// stream format.
func scanLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\r' {
			if i+1 == len(data) && !atEOF {
				return 0, nil, nil // is it "\r\n"? ask for more
			}
			if i+1 < len(data) && data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
		}
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
