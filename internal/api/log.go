package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/verdict"
)

// LogReader is what the log routes read: the committed reading log.
// package query's Reader implements it.
type LogReader interface {
	// LogSize returns the committed size of the log.
	LogSize() uint64
	// LogEntry returns the reading at an index; query.ErrPastLog
	// (wrapped) at or past the committed size.
	LogEntry(index uint64) (*query.LogEntry, error)
	// LogConsistency returns the consistency proof between two sizes,
	// from <= to; query.ErrPastLog (wrapped) if to is past the committed
	// size.
	LogConsistency(from, to uint64) (*query.Consistency, error)
}

// logNumber reads a log index or size (what): a decimal number from 0.
func logNumber(name, what, v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || v[0] == '+' {
		return 0, invalidParameter("%s %q is not a log %s: give a decimal number from 0", name, v, what)
	}
	return n, nil
}

func (s *Server) logEntry(w http.ResponseWriter, r *http.Request) error {
	i, err := logNumber("index", "index", r.PathValue("index"))
	if err != nil {
		return err
	}
	e, err := s.reader.LogEntry(i)
	if errors.Is(err, query.ErrPastLog) {
		if size := s.reader.LogSize(); size > 0 {
			return notFound("log index %d is past the committed log of %d readings (indices 0 to %d); the log's size is log_size in /v1/status", i, size, size-1)
		}
		return notFound("log index %d is past the committed log, which is empty: no reading is committed yet", i)
	} else if err != nil {
		return fmt.Errorf("log entry %d: %w", i, err)
	}
	return writeJSON(w, http.StatusOK, &apiwire.LogEntry{
		Index: e.Index, Device: e.Device, Seq: e.Seq, Height: e.Height,
		LeafHash: e.LeafHash,
		Receipt:  verdict.ReceiptPath(e.Device, e.Seq),
	})
}

func (s *Server) logConsistency(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	size := s.reader.LogSize()
	if !q.Has("from") {
		return invalidParameter("query parameter from is missing: give the smaller log size, 0 to %d", size)
	}
	from, err := logNumber("from", "size", q.Get("from"))
	if err != nil {
		return err
	}
	to := size
	if q.Has("to") {
		if to, err = logNumber("to", "size", q.Get("to")); err != nil {
			return err
		}
	}
	switch {
	case to > size:
		return invalidParameter("to=%d is past the committed log of %d readings: give a size up to %d (log_size in /v1/status)", to, size, size)
	case from > to:
		return invalidParameter("from=%d is larger than to=%d: a consistency proof goes from a smaller size to a larger one", from, to)
	}
	c, err := s.reader.LogConsistency(from, to)
	if errors.Is(err, query.ErrPastLog) {
		return invalidParameter("to=%d is past the committed log: give a size up to log_size in /v1/status", to) // unreachable: checked above, and the log only grows
	} else if err != nil {
		return fmt.Errorf("log consistency %d to %d: %w", from, to, err)
	}
	proof := make([]apiwire.Hex, len(c.Proof))
	for i, h := range c.Proof {
		proof[i] = h
	}
	return writeJSON(w, http.StatusOK, &apiwire.LogConsistency{From: c.From, To: c.To, FromRoot: c.FromRoot, ToRoot: c.ToRoot, Proof: proof})
}
