package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
)

// BrowseReader is what the lists an explorer shows read: device searches
// and counts, what the ledger holds of a device's readings, blocks newest
// first, the newest readings of every device and a block's readings.
// package query's Reader implements it.
type BrowseReader interface {
	// SearchDevices returns up to limit devices that match f, in id
	// order, after the id after ("": from the first).
	SearchDevices(f query.DeviceFilter, after string, limit int) ([]*state.Device, error)
	// DeviceCounts counts the registered devices by status.
	DeviceCounts() (query.DeviceCounts, error)
	// Activity returns what the ledger holds of a device's readings.
	Activity(id string) (*query.Activity, error)
	// DeviceChanges returns a device's committed changes newest first,
	// from the blocks below below (0: from the latest), and the height to
	// continue below (0: none); a page ends at a block boundary, and may
	// be short (even empty) with a next height when the changes lie far
	// apart (query.MaxFeedScan).
	DeviceChanges(id string, below int64, limit int) ([]query.DeviceChangeAt, int64, error)
	// Meta is the app's meta record as of the latest committed block.
	Meta() state.Meta
	// Blocks returns up to limit block records newest first from height
	// from down (0: from the latest), and the height of the next page (0:
	// none).
	Blocks(from int64, limit int) ([]*state.Block, int64, error)
	// LatestReadings returns up to limit readings newest first by log
	// index from index from down, and the index of the next page (nil:
	// none).
	LatestReadings(from uint64, limit int) ([]*query.Stored, *uint64, error)
	// BlockReadings returns up to limit of block b's readings in log
	// order from index from, and the index of the next page (nil: none).
	BlockReadings(b *state.Block, from uint64, limit int) ([]*query.Stored, *uint64, error)
}

// MaxSearch bounds the q parameter of GET /v1/devices, in bytes.
const MaxSearch = 256

// deviceFilter reads the filters of GET /v1/devices: status, label
// (repeated, key=value, all must hold) and q (a search).
func deviceFilter(q url.Values) (query.DeviceFilter, error) {
	var f query.DeviceFilter
	switch st := q.Get("status"); st {
	case "", state.StatusActive, state.StatusQuarantined, state.StatusRevoked:
		f.Status = st
	default:
		return f, invalidParameter("status=%q is not a device status; give active, quarantined or revoked", st)
	}
	for _, l := range q["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return f, invalidParameter("label=%q is not key=value; give a label such as label=site=hall-b, and repeat label for each that must hold", l)
		}
		f.Labels = append(f.Labels, query.Label{Key: k, Value: v})
	}
	f.Search = strings.TrimSpace(q.Get("q"))
	if len(f.Search) > MaxSearch {
		return f, invalidParameter("q is %d bytes long; a search is at most %d bytes (part of a device id, an owner's address or a label value)", len(f.Search), MaxSearch)
	}
	return f, nil
}

// stats answers GET /v1/stats.
func (s *Server) stats(w http.ResponseWriter, r *http.Request) error {
	m := s.reader.Meta()
	c, err := s.reader.DeviceCounts()
	if err != nil {
		return fmt.Errorf("device counts: %w", err)
	}
	return writeJSON(w, http.StatusOK, apiwire.Stats{
		Height: m.Height, LogSize: s.reader.LogSize(), Contracts: m.Contracts,
		Devices: apiwire.DeviceStats{Total: c.Total(), Active: c.Active, Quarantined: c.Quarantined, Revoked: c.Revoked},
	})
}

// blocks answers GET /v1/blocks: block records newest first.
func (s *Server) blocks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	var from int64
	if v := q.Get("from_height"); v != "" {
		if from, err = strconv.ParseInt(v, 10, 64); err != nil || from < 1 {
			return invalidParameter("from_height=%q is not a block height; give a positive integer (the newest block of the page), or leave it out for the latest", v)
		}
	}
	if h, ok, err := uintPageCursor(q, listBlocks); err != nil {
		return err
	} else if ok {
		if h == 0 || h > 1<<62 {
			return badPageToken(q.Get("page_token"))
		}
		from = int64(h)
	}
	bs, next, err := s.reader.Blocks(from, limit)
	if err != nil {
		return fmt.Errorf("blocks from %d: %w", from, err)
	}
	page := apiwire.BlockPage{Blocks: make([]apiwire.BlockEvent, 0, len(bs))}
	for _, b := range bs {
		page.Blocks = append(page.Blocks, BlockEvent(b))
	}
	if next > 0 {
		page.NextPageToken = uintPageToken(listBlocks, uint64(next))
	}
	return writePage(w, r, page.NextPageToken, page)
}

// latestReadings answers GET /v1/readings: the newest readings of every
// device, newest first by log index.
func (s *Server) latestReadings(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	from := ^uint64(0)
	if i, ok, err := uintPageCursor(q, listLatestReadings); err != nil {
		return err
	} else if ok {
		from = i
	}
	stored, next, err := s.reader.LatestReadings(from, limit)
	if err != nil {
		return fmt.Errorf("latest readings from %d: %w", from, err)
	}
	return writeLogReadings(w, r, listLatestReadings, stored, next)
}

// blockReadings answers GET /v1/blocks/{height}/readings: the readings a
// block appended to the log, in log order.
func (s *Server) blockReadings(w http.ResponseWriter, r *http.Request) error {
	v := r.PathValue("height")
	h, err := strconv.ParseInt(v, 10, 64)
	if err != nil || h < 1 {
		return invalidParameter("block height %q is not a positive integer", v)
	}
	q := r.URL.Query()
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	bs, _, err := s.reader.Blocks(h, 1) // the newest block up to h
	if err != nil {
		return fmt.Errorf("block %d: %w", h, err)
	}
	if len(bs) == 0 || bs[0].Height != h {
		return notFound("block %d is not committed; the latest height is in /v1/status", h)
	}
	b := bs[0]
	var from uint64
	if i, ok, err := uintPageCursor(q, listBlockReadings); err != nil {
		return err
	} else if ok {
		if i < b.LogSize-b.Readings || i >= b.LogSize {
			return badPageToken(q.Get("page_token"))
		}
		from = i
	}
	stored, next, err := s.reader.BlockReadings(b, from, limit)
	if errors.Is(err, query.ErrPastLog) {
		// Commit writes the block's record, then moves the log's size.
		return notFound("block %d is being committed; ask again in a moment", h)
	} else if err != nil {
		return fmt.Errorf("readings of block %d: %w", h, err)
	}
	return writeLogReadings(w, r, listBlockReadings, stored, next)
}

// writeLogReadings writes stored as a page of list, whose next page
// starts at log index next (nil: this is the last page).
func writeLogReadings(w http.ResponseWriter, r *http.Request, list pageList, stored []*query.Stored, next *uint64) error {
	page := apiwire.LogReadingPage{Readings: make([]apiwire.LogReading, 0, len(stored))}
	for _, st := range stored {
		page.Readings = append(page.Readings, logReading(st))
	}
	if next != nil {
		page.NextPageToken = uintPageToken(list, *next)
	}
	return writePage(w, r, page.NextPageToken, page)
}

// deviceChanges answers GET /v1/devices/{id}/changes: a device's
// committed changes, newest first.
func (s *Server) deviceChanges(w http.ResponseWriter, r *http.Request) error {
	d, err := s.knownDevice(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	var below int64
	if h, ok, err := uintPageCursor(q, listDeviceChanges); err != nil {
		return err
	} else if ok {
		if h < 2 || h > 1<<62 {
			return badPageToken(q.Get("page_token"))
		}
		below = int64(h)
	}
	cs, next, err := s.reader.DeviceChanges(d.ID, below, limit)
	if err != nil {
		return fmt.Errorf("changes of %s: %w", d.ID, err)
	}
	out := apiwire.DeviceChanges{Device: d.ID, Changes: make([]apiwire.DeviceEvent, 0, len(cs))}
	for _, c := range cs {
		out.Changes = append(out.Changes, DeviceEvent(c.Action, &c.Device, c.Access, c.Height))
	}
	if next > 0 {
		out.NextPageToken = uintPageToken(listDeviceChanges, uint64(next))
	}
	return writePage(w, r, out.NextPageToken, out)
}
