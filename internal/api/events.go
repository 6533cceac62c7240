package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/iotledger/iotledger/address"
)

// EventWriteTimeout bounds the write of one event (or heartbeat) to a
// subscriber: a client that reads slower than that is disconnected.
const EventWriteTimeout = 30 * time.Second

// DefaultEventReplayBlocks is Options.EventReplayBlocks unless set: how
// many of the latest blocks a stream resumed with Last-Event-ID may replay.
// Under full load a block holds some 37,000 readings and the node commits
// about one a second, so this is about 15 minutes of events then; an idle
// chain makes a block every 10 s, about 3 hours.
const DefaultEventReplayBlocks = 1000

// EventTypes are the types of event the node publishes, in the order each
// block's events come: the block, the readings it accepted (in log order),
// then its device changes, twin changes and contract events, each in
// execution order.
var EventTypes = []string{"block", "reading", "device", "twin", "contract_event"}

// EventID is an event's place in the chain: the N-th event (from 1) of
// the block at Height, in the order of EventTypes. N 0 is the place before
// the block's first event. An id stays valid across restarts of the node,
// and on every node of the chain: it is the same event everywhere.
type EventID struct {
	Height int64
	N      uint32
}

// String is the id as the stream's id: lines carry it: "<height>-<n>".
func (id EventID) String() string {
	return strconv.FormatInt(id.Height, 10) + "-" + strconv.FormatUint(uint64(id.N), 10)
}

// Compare returns -1, 0 or +1 as id is before, at or after o.
func (id EventID) Compare(o EventID) int {
	switch {
	case id.Height < o.Height:
		return -1
	case id.Height > o.Height:
		return 1
	case id.N < o.N:
		return -1
	case id.N > o.N:
		return 1
	}
	return 0
}

// ParseEventID reads an id String wrote.
func ParseEventID(s string) (EventID, error) {
	hs, ns, ok := strings.Cut(s, "-")
	h, herr := strconv.ParseInt(hs, 10, 64)
	n, nerr := strconv.ParseUint(ns, 10, 32)
	if !ok || herr != nil || nerr != nil || h < 1 || hs[0] == '+' || ns[0] == '+' {
		return EventID{}, fmt.Errorf("api: %q is not an event id <height>-<n>", s)
	}
	return EventID{Height: h, N: uint32(n)}, nil
}

// Event is one event of the stream.
type Event struct {
	ID     EventID
	Type   string // one of EventTypes
	Device string // the device the event names (reading, device, twin); empty for the others
	Data   any    // encoded as the event's JSON data
}

// Subscription is one subscriber's live events.
type Subscription struct {
	// Events delivers the events of committed blocks in order. It is
	// bounded: the ledger drops an event for a subscriber that has no room
	// for it rather than wait, and tells it on Lost. It is closed when the
	// ledger closes.
	Events <-chan Event
	// Lost receives (it holds one signal at most) when an event was
	// dropped for this subscriber. The ledger signals before it sends the
	// next event on Events, so a subscriber that checks Lost after each
	// event it receives knows of every gap before it passes it.
	Lost <-chan struct{}
	// Cancel ends the subscription.
	Cancel func()
}

// EventSource is the part of a Ledger the event stream reads.
type EventSource interface {
	// Subscribe returns the live events from now on.
	Subscribe() Subscription
	// EventRange returns the first block whose events ReplayEvents can
	// give (0: none) and the last committed block. The events of blocks up
	// to last are in the store before any of them is sent live.
	EventRange() (first, last int64, err error)
	// ReplayEvents calls emit with the events of the committed blocks from
	// to to (within EventRange), in order, exactly as Subscribe gave or
	// gives them live (the same ids, types and data). It stops at ctx's end
	// and at emit's first error, which it returns.
	ReplayEvents(ctx context.Context, from, to int64, emit func(*Event) error) error
}

// eventFilter is what a stream's query keeps: types (nil: all), and of
// the events that name a device, those of device (empty: all).
type eventFilter struct {
	types  map[string]bool
	device string
}

func (f *eventFilter) keep(ev *Event) bool {
	if f.types != nil && !f.types[ev.Type] {
		return false
	}
	return f.device == "" || ev.Device == "" || ev.Device == f.device
}

// eventQuery reads the stream's filters and where it resumes: the
// Last-Event-ID header, else the last_event_id query parameter (for a
// client that cannot set headers; a browser's EventSource sends the header
// itself when it reconnects, which then wins over the URL's parameter).
func eventQuery(r *http.Request) (f eventFilter, resume *EventID, err error) {
	q := r.URL.Query()
	if v := q.Get("types"); v != "" {
		f.types = map[string]bool{}
		for _, t := range strings.Split(v, ",") {
			if !knownEventType(t) {
				return f, nil, invalidParameter("types=%q: %q is not an event type; give a comma-separated list of %s", v, t, strings.Join(EventTypes, ", "))
			}
			f.types[t] = true
		}
	}
	if v := q.Get("device"); v != "" {
		if err := address.ParseDevice(v); err != nil {
			return f, nil, invalidID("query parameter device", err)
		}
		f.device = v
	}
	name, v := "Last-Event-ID", r.Header.Get("Last-Event-ID")
	if v == "" {
		name, v = "last_event_id", q.Get("last_event_id")
	}
	if v == "" {
		return f, nil, nil
	}
	id, err := ParseEventID(v)
	if err != nil {
		return f, nil, newProblem(http.StatusBadRequest, KindInvalidEventID, "Invalid event id",
			"%s %q is not an event id; an id is <height>-<n>, as the stream's id: lines give it (<height>-0 starts at block <height>). Leave it out to start with the next block", name, v)
	}
	return f, &id, nil
}

func knownEventType(t string) bool {
	for _, k := range EventTypes {
		if t == k {
			return true
		}
	}
	return false
}

// replayFloor returns the first block a stream may replay from: the
// first the ledger can replay, and none more than EventReplayBlocks back.
func (s *Server) replayFloor(first, last int64) int64 {
	if first <= 0 {
		return last + 1 // no block can be replayed
	}
	return max(first, last-int64(s.replayBlocks)+1)
}

// checkResume refuses a resume id the stream cannot honour: one whose
// block is older than the replay floor (what came after it is no longer
// replayed), or so far ahead of the node that it is not this chain's.
func (s *Server) checkResume(name string, id EventID, first, last int64) error {
	if id.Height > last+1+int64(s.replayBlocks) {
		return newProblem(http.StatusBadRequest, KindInvalidEventID, "Invalid event id",
			"%s %s is from block %d, and this node has committed block %d only: the id is not from this chain. Leave it out to start with the next block", name, id, id.Height, last)
	}
	if id.Height > last {
		return nil // after the latest block: the stream waits for it
	}
	if floor := s.replayFloor(first, last); id.Height < floor {
		where := fmt.Sprintf("it replays the events of blocks %d to %d only", floor, last)
		if floor > last {
			where = "it has no block whose events it can replay"
		}
		return newProblem(http.StatusGone, KindEventIDExpired, "Event id expired",
			"%s %s is from block %d; this node cannot replay what came after it: %s (the last %d blocks at most, from the first it recorded events of). Read what was missed through the other routes (/v1/blocks/{height}, /v1/devices/{id}/readings, /v1/contracts/{id}/events) and reconnect without an event id",
			name, id, id.Height, where, s.replayBlocks)
	}
	return nil
}

// events streams the ledger's events as server-sent events until the client
// goes or the ledger closes the subscription. Each event carries its id; a
// stream resumed with an id first replays from the store what came after
// it, then continues live. The ledger's channel is bounded and the ledger
// drops events for a subscriber that lags, so a slow client never holds
// the node back; the stream then fills the gap from the store before it
// goes on. A client that stops reading altogether is disconnected after
// EventWriteTimeout.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	filter, resume, err := eventQuery(r)
	if err != nil {
		return err
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "text/event-stream")
		return nil
	}
	// Subscribe first, then read the last committed block: every event of
	// a later block is sent live after this, and the store holds the rest.
	sub := s.ledger.Subscribe()
	defer sub.Cancel()
	first, last, err := s.ledger.EventRange()
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	st := &eventStream{s: s, w: w, ctx: r.Context(), filter: filter, cursor: EventID{Height: last + 1}}
	if resume != nil {
		name := "Last-Event-ID"
		if r.Header.Get(name) == "" {
			name = "last_event_id"
		}
		if err := s.checkResume(name, *resume, first, last); err != nil {
			return err
		}
		st.cursor = *resume
	}

	st.rc = http.NewResponseController(w)
	// The server's read and write timeouts are for requests that end; this
	// one does not. The end of the request body is reached, so the read
	// deadline only limits the server's watch for the client going away.
	if err := st.rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	// The first id names where the stream starts: a client that loses the
	// connection before any event resumes from there.
	st.buf.WriteString(": iotledger events\n")
	if st.cursor.Height > last+1 {
		fmt.Fprintf(&st.buf, ": waiting for block %d; this node has committed block %d\n", st.cursor.Height, last)
	}
	if err := st.flushID(); err != nil {
		return nil
	}
	if err := st.catchUp(last); err != nil {
		return st.end(err)
	}

	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-beat.C:
			st.buf.WriteString(": heartbeat\n")
			if err := st.flushID(); err != nil {
				return nil
			}
		case <-sub.Lost:
			if err := st.catchUpLatest(); err != nil {
				return st.end(err)
			}
		case ev, ok := <-sub.Events:
			if !ok {
				return nil // the ledger is closing
			}
			// The ledger signals a drop before it sends the next event:
			// fill the gap before this event passes it.
			select {
			case <-sub.Lost:
				if err := st.catchUpLatest(); err != nil {
					return st.end(err)
				}
			default:
			}
			if err := st.send(&ev); err != nil {
				return st.end(err)
			}
		}
	}
}

// eventStream is one client's stream: its filter and cursor, the id of the
// last event considered (sent, or left out by the filter).
type eventStream struct {
	s      *Server
	w      http.ResponseWriter
	rc     *http.ResponseController
	ctx    context.Context
	filter eventFilter
	cursor EventID // events up to here were sent or left out
	sentID EventID // the last id the client was given
	buf    bytes.Buffer
}

// errLagged ends a stream whose client fell behind the replay floor.
var errLagged = errors.New("api: the event stream's client fell behind what the node replays")

// errWrite ends a stream whose client is gone or too slow.
var errWrite = errors.New("api: event stream write failed")

// end ends the stream after err: the client is gone (nothing to say), fell
// behind (logged), or the ledger failed (logged).
func (st *eventStream) end(err error) error {
	switch {
	case errors.Is(err, errWrite) || st.ctx.Err() != nil:
	case errors.Is(err, errLagged):
		st.s.log.Warn("api: event stream ended: its client fell behind the blocks the node replays; it resumes with Last-Event-ID and is told what to do",
			"cursor", st.cursor.String())
	default:
		st.s.log.Error("api: event stream ended: replaying events failed", "cursor", st.cursor.String(), "err", err)
	}
	return nil // the answer has started: nothing more can be said in it
}

// catchUpLatest replays what came after the cursor up to the latest
// committed block: an event was dropped for this stream.
func (st *eventStream) catchUpLatest() error {
	first, last, err := st.s.ledger.EventRange()
	if err != nil {
		return err
	}
	if st.cursor.Height <= last && st.cursor.Height < st.s.replayFloor(first, last) {
		return errLagged
	}
	return st.catchUp(last)
}

// catchUp sends, from the store, the events after the cursor up to the end
// of block last; the cursor is then past block last.
func (st *eventStream) catchUp(last int64) error {
	if st.cursor.Height > last {
		return nil
	}
	err := st.s.ledger.ReplayEvents(st.ctx, st.cursor.Height, last, st.send)
	if err != nil {
		return err
	}
	if end := (EventID{Height: last + 1}); st.cursor.Compare(end) < 0 {
		st.cursor = end
	}
	return nil
}

// send sends ev if it is after the cursor and the filter keeps it.
func (st *eventStream) send(ev *Event) error {
	if ev.ID.Compare(st.cursor) <= 0 {
		return nil // sent already, or before where the stream starts
	}
	st.cursor = ev.ID
	if !st.filter.keep(ev) {
		return nil
	}
	if ev.Type == "" || strings.ContainsAny(ev.Type, "\r\n") {
		st.s.log.Error("api: event with an invalid type dropped", "id", ev.ID.String(), "type", ev.Type)
		return nil
	}
	data, err := json.Marshal(ev.Data)
	if err != nil {
		st.s.log.Error("api: event dropped: its data does not encode", "id", ev.ID.String(), "type", ev.Type, "err", err)
		return nil
	}
	st.buf.Reset()
	st.buf.WriteString("id: ")
	st.buf.WriteString(ev.ID.String())
	st.buf.WriteString("\nevent: ")
	st.buf.WriteString(ev.Type)
	st.buf.WriteString("\ndata: ")
	st.buf.Write(data) // compact JSON: no newline inside
	st.buf.WriteString("\n\n")
	st.sentID = ev.ID
	return st.write()
}

// flushID ends what buf holds (comment lines) with the cursor as an id, if
// the client does not have it yet, and sends it: a block with an id and no
// data moves the client's last event id and dispatches no event, so a
// stream whose filter leaves most events out still resumes from near its
// end.
func (st *eventStream) flushID() error {
	if st.sentID != st.cursor {
		st.buf.WriteString("id: ")
		st.buf.WriteString(st.cursor.String())
		st.buf.WriteString("\n")
		st.sentID = st.cursor
	}
	st.buf.WriteString("\n")
	err := st.write()
	st.buf.Reset()
	return err
}

// write sends buf and flushes it within EventWriteTimeout. An error means
// the client is gone or too slow: the stream ends.
func (st *eventStream) write() error {
	if err := st.rc.SetWriteDeadline(time.Now().Add(EventWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("%w: %v", errWrite, err)
	}
	if _, err := st.w.Write(st.buf.Bytes()); err != nil {
		return fmt.Errorf("%w: %v", errWrite, err)
	}
	if err := st.rc.Flush(); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			st.s.log.Error("api: the response writer cannot flush; events cannot be streamed", "err", err)
		}
		return fmt.Errorf("%w: %v", errWrite, err)
	}
	return nil
}
