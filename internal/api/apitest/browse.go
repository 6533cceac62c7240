package apitest

import (
	"slices"
	"strings"

	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
)

// SearchDevices implements api.Reader over DeviceList, matching as
// query.Reader does.
func (l *Ledger) SearchDevices(f query.DeviceFilter, after string, limit int) ([]*state.Device, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	search := strings.ToLower(f.Search)
	var out []*state.Device
	for _, d := range l.DeviceList {
		if d.ID <= after || len(out) == limit {
			continue
		}
		if f.Status != "" && d.Status != f.Status {
			continue
		}
		ok := true
		for _, want := range f.Labels {
			if v, has := d.Labels[want.Key]; !has || v != want.Value {
				ok = false
			}
		}
		if ok && search != "" {
			ok = strings.Contains(d.ID, search) || strings.Contains(d.Owner, search)
			for _, v := range d.Labels {
				ok = ok || strings.Contains(strings.ToLower(v), search)
			}
		}
		if ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// DeviceCounts implements api.Reader.
func (l *Ledger) DeviceCounts() (query.DeviceCounts, error) {
	if err := l.fault(); err != nil {
		return query.DeviceCounts{}, err
	}
	var c query.DeviceCounts
	for _, d := range l.DeviceList {
		switch d.Status {
		case state.StatusActive:
			c.Active++
		case state.StatusQuarantined:
			c.Quarantined++
		case state.StatusRevoked:
			c.Revoked++
		}
	}
	return c, nil
}

// Activity implements api.Reader: from Progress and Stored.
func (l *Ledger) Activity(id string) (*query.Activity, error) {
	p, err := l.Progress(id)
	if err != nil {
		return nil, err
	}
	a := &query.Activity{Count: p.Count, Gaps: len(p.Gaps)}
	if s := l.find(id, p.MaxSeq); p.Count > 0 && s != nil {
		a.Last = &query.LastReading{Seq: s.Seq, Index: s.Index, Height: s.Height, TimeMs: s.Time}
	}
	return a, nil
}

// Meta implements api.Reader: the chain id, the latest height and no
// contract deployed past the fake's two.
func (l *Ledger) Meta() state.Meta {
	l.mu.Lock()
	defer l.mu.Unlock()
	return state.Meta{ChainID: l.status.ChainID, Height: l.status.Height, Contracts: uint64(len(l.contracts))}
}

// blockRecord returns the app's record of block h as the fake holds it
// (Height and Height+1), or nil.
func (l *Ledger) blockRecord(h int64) *state.Block {
	b, ok := l.blocks[h]
	if !ok {
		return nil
	}
	rec := b.Block
	return &rec
}

// Blocks implements api.Reader: the fake's two blocks, newest first.
func (l *Ledger) Blocks(from int64, limit int) ([]*state.Block, int64, error) {
	if err := l.fault(); err != nil {
		return nil, 0, err
	}
	var hs []int64
	for h := range l.blocks {
		if from == 0 || h <= from {
			hs = append(hs, h)
		}
	}
	slices.Sort(hs)
	slices.Reverse(hs)
	var out []*state.Block
	for _, h := range hs {
		if len(out) == limit {
			return out, h, nil
		}
		out = append(out, l.blockRecord(h))
	}
	return out, 0, nil
}

// all returns every stored reading in log order.
func (l *Ledger) all() []*query.Stored {
	var out []*query.Stored
	for _, ss := range l.Stored {
		out = append(out, ss...)
	}
	slices.SortFunc(out, func(a, b *query.Stored) int { return int(a.Index) - int(b.Index) })
	return out
}

// LatestReadings implements api.Reader: the seven readings, newest first.
func (l *Ledger) LatestReadings(from uint64, limit int) ([]*query.Stored, *uint64, error) {
	if err := l.fault(); err != nil {
		return nil, nil, err
	}
	all := l.all()
	slices.Reverse(all)
	var out []*query.Stored
	for _, s := range all {
		if s.Index > from {
			continue
		}
		if len(out) == limit {
			next := s.Index
			return out, &next, nil
		}
		out = append(out, s)
	}
	return out, nil, nil
}

// BlockReadings implements api.Reader.
func (l *Ledger) BlockReadings(b *state.Block, from uint64, limit int) ([]*query.Stored, *uint64, error) {
	if err := l.fault(); err != nil {
		return nil, nil, err
	}
	var out []*query.Stored
	for _, s := range l.all() {
		if s.Height != b.Height || s.Index < from {
			continue
		}
		if len(out) == limit {
			next := s.Index
			return out, &next, nil
		}
		out = append(out, s)
	}
	return out, nil, nil
}

// DeviceChanges implements api.Reader: each fake device was registered in
// block 3 and never changed since.
func (l *Ledger) DeviceChanges(id string, below int64, limit int) ([]query.DeviceChangeAt, int64, error) {
	d, err := l.Device(id)
	if err != nil || d == nil || (below > 0 && below <= d.Registered) {
		return nil, 0, err
	}
	return []query.DeviceChangeAt{{DeviceChange: state.DeviceChange{Action: "registered", Device: *d}, Height: d.Registered}}, 0, nil
}
