package client

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
)

// MaxEventLine bounds one line of the event stream.
const MaxEventLine = 1 << 20

// Events subscribes to the node's live events (server-sent events). The
// channel delivers them in order and is closed when ctx is done or the
// stream ends (the node stopped or dropped a client that read too slowly);
// reconnect if ctx is not done. Events have no replay: what happened while
// disconnected is read through the other methods. Read the channel
// promptly; the client does not buffer much.
func (c *Client) Events(ctx context.Context) (<-chan Event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/events", nil)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
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
			typ  string
			data bytes.Buffer
			has  bool // a data line was seen
		)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 { // dispatch
				if has {
					ev := Event{Type: typ, Data: bytes.Clone(data.Bytes())}
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
			case "data":
				if has {
					data.WriteByte('\n')
				}
				data.Write(value)
				has = true
			}
			// id and retry are not used by the node; others are ignored, as the spec says.
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
