package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// EventWriteTimeout bounds the write of one event (or heartbeat) to a
// subscriber: a client that reads slower than that is disconnected.
const EventWriteTimeout = 30 * time.Second

// events streams the ledger's events as server-sent events until the client
// goes or the ledger closes the subscription. The ledger's channel is
// bounded and the ledger drops events for a subscriber that lags, so a slow
// client never holds the node back; a client that stops reading altogether
// is disconnected after EventWriteTimeout.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "text/event-stream")
		return nil
	}
	events, cancel := s.ledger.Subscribe()
	defer cancel()

	rc := http.NewResponseController(w)
	// The server's read and write timeouts are for requests that end; this
	// one does not. The end of the request body is reached, so the read
	// deadline only limits the server's watch for the client going away.
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	if err := s.sendEvent(w, rc, []byte(": iotledger events\n\n")); err != nil {
		return nil
	}

	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	var buf bytes.Buffer
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-beat.C:
			if err := s.sendEvent(w, rc, []byte(": heartbeat\n\n")); err != nil {
				return nil
			}
		case ev, ok := <-events:
			if !ok {
				return nil // the ledger is closing
			}
			if ev.Type == "" || strings.ContainsAny(ev.Type, "\r\n") {
				s.log.Error("api: event with an invalid type dropped", "type", ev.Type)
				continue
			}
			data, err := json.Marshal(ev.Data)
			if err != nil {
				s.log.Error("api: event dropped: its data does not encode", "type", ev.Type, "err", err)
				continue
			}
			buf.Reset()
			buf.WriteString("event: ")
			buf.WriteString(ev.Type)
			buf.WriteString("\ndata: ")
			buf.Write(data) // compact JSON: no newline inside
			buf.WriteString("\n\n")
			if err := s.sendEvent(w, rc, buf.Bytes()); err != nil {
				return nil
			}
		}
	}
}

// sendEvent writes b and flushes it within EventWriteTimeout. An error means
// the client is gone or too slow: the stream ends.
func (s *Server) sendEvent(w http.ResponseWriter, rc *http.ResponseController, b []byte) error {
	if err := rc.SetWriteDeadline(time.Now().Add(EventWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	if err := rc.Flush(); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			s.log.Error("api: the response writer cannot flush; events cannot be streamed", "err", err)
		}
		return err
	}
	return nil
}
