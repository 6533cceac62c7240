package query

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/tlog"
)

// Reader answers questions about committed state. Its methods are safe to
// call from any goroutine while blocks execute.
type Reader struct {
	c    *Committed
	log  *tlog.Log
	meta func() state.Meta
}

// New returns the reader of committed state c, whose reading log is log
// and whose meta record meta returns. The app builds its reader so, on the
// committed state, log and meta it executes blocks against.
func New(c *Committed, log *tlog.Log, meta func() state.Meta) *Reader {
	return &Reader{c: c, log: log, meta: meta}
}

// Open opens committed state on a store that no node writes meanwhile (a
// stopped node's, for audit): its meta is read once.
func Open(db *pebble.DB) (*Reader, error) {
	l, err := tlog.Open(db)
	if err != nil {
		return nil, err
	}
	c := NewCommitted(db)
	m, err := state.GetMeta(c)
	if err != nil {
		return nil, fmt.Errorf("query: read meta: %w", err)
	}
	if m == nil {
		m = &state.Meta{}
	}
	meta := *m
	return New(c, l, func() state.Meta { return meta }), nil
}

// Meta returns the app's meta record as of the last committed block.
func (r *Reader) Meta() state.Meta { return r.meta() }

// Committed returns committed state, for reads this type has no method for.
func (r *Reader) Committed() *Committed { return r.c }

// Log returns the reading log.
func (r *Reader) Log() *tlog.Log { return r.log }

// Token returns the name of the chain's token.
func (r *Reader) Token() string { return r.meta().TokenName() }

// Device returns a device record, or nil if none is registered under id.
// The record is the caller's.
func (r *Reader) Device(id string) (*state.Device, error) {
	return state.GetDevice(r.c, id)
}

// Devices lists devices in id order, starting after the id `after`.
func (r *Reader) Devices(after string, limit int) ([]*state.Device, error) {
	lower := state.DeviceKey(after)
	if after != "" {
		lower = append(lower, 0)
	}
	it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: state.PrefixEnd(state.PrefixDevice)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*state.Device
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		d, err := state.DecodeDevice(it.Key(), v)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, it.Error()
}

// Progress returns what the ledger knows of a device's sequence numbers.
func (r *Reader) Progress(id string) (*state.Progress, error) {
	return state.GetProgress(r.c, id)
}

// Account returns an account, or nil.
func (r *Reader) Account(addr string) (*state.Account, error) {
	return state.GetAccount(r.c, addr)
}

// History returns up to limit of an account's payments, newest first,
// starting below the cursor before (a key from a previous page's next, or
// nil for the newest); and the cursor of the next page, if any.
func (r *Reader) History(addr string, before []byte, limit int) ([]*state.Payment, []byte, error) {
	return newestFirst(r.c.db, state.HistoryPrefix(addr), before, limit, state.DecodePayment)
}

// Block returns the app's record of a committed block, or nil.
func (r *Reader) Block(h int64) (*state.Block, error) {
	return state.GetBlock(r.c, h)
}

// newestFirst pages backwards through the keys under prefix: up to limit
// decoded values below prefix+before (all, for a nil before), and the
// cursor of the next page (the suffix of the last key returned), if any.
func newestFirst[T any](db *pebble.DB, prefix, before []byte, limit int, decode func([]byte) (*T, error)) ([]*T, []byte, error) {
	upper := append(append([]byte(nil), prefix...), 0xff)
	if len(before) > 0 {
		upper = append(append([]byte(nil), prefix...), before...)
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	var out []*T
	var last []byte // the key of the last entry returned: the next page ends below it
	for ok := it.Last(); ok; ok = it.Prev() {
		if len(out) == limit {
			return out, last, nil
		}
		last = append(last[:0], it.Key()[len(prefix):]...)
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, nil, err
		}
		d, err := decode(v)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, d)
	}
	return out, nil, it.Error()
}
