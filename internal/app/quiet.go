package app

import (
	"slices"
	"sync"

	"github.com/iotledger/iotledger/internal/contract"
	"github.com/iotledger/iotledger/internal/state"
)

// quietIndex is where silence triggers find their devices: for each device
// whose last reading is at most contract.MaxSilence blocks old, the height
// of that reading, and the devices by that height. At height H a trigger
// that waits N blocks looks at the devices whose last reading is at H-N.
//
// It lives in memory and is derived from committed state only: built from
// the progress records (state.PrefixProgress) by the first block that
// has a silence trigger to run, then moved on by each Commit with the
// devices that read in the block. A node that restarts or restores a
// snapshot builds it again from the same records, so every validator sees
// the same devices at the same height, and a snapshot cannot bring marks
// of its own. Nothing in it is trusted on its own either: the trigger
// still checks each device's progress record before it fires.
//
// It replaces a store record per device per block (a silence mark written
// when the device read and deleted when it fell due), which cost the
// contract bench a Pebble write and a delete per device per block.
type quietIndex struct {
	mu   sync.Mutex
	last map[string]int64              // device → height of its last reading
	at   map[int64]map[string]struct{} // height → devices whose last reading is there
	// height is the last block the index includes.
	height int64
}

// quiet returns the index as of committed height h, building it from the
// committed progress records if the app has none.
func (a *App) quiet(h int64) (*quietIndex, error) {
	a.quietMu.Lock()
	defer a.quietMu.Unlock()
	if a.quietIdx != nil && a.quietIdx.height == h {
		return a.quietIdx, nil
	}
	q := &quietIndex{last: map[string]int64{}, at: map[int64]map[string]struct{}{}, height: h}
	err := a.kv.Each(state.PrefixProgress, func(k, v []byte) error {
		p, err := state.DecodeProgress(k, v)
		if err != nil {
			return err
		}
		if p.LastHeight > 0 && p.LastHeight > h-contract.MaxSilence-1 {
			q.put(string(k[len(state.PrefixProgress):]), p.LastHeight)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.quietIdx = q
	return q, nil
}

func (q *quietIndex) put(id string, h int64) {
	if old, ok := q.last[id]; ok {
		if old == h {
			return
		}
		if s := q.at[old]; s != nil {
			delete(s, id)
			if len(s) == 0 {
				delete(q.at, old)
			}
		}
	}
	q.last[id] = h
	s := q.at[h]
	if s == nil {
		s = map[string]struct{}{}
		q.at[h] = s
	}
	s[id] = struct{}{}
}

// devices lists the devices whose last reading is at height h, in id order.
func (q *quietIndex) devices(h int64) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.at[h]
	ids := make([]string, 0, len(s))
	for id := range s {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// committed moves the index on to block h, whose devices' progress after
// the block is progress (the devices that read in it have LastHeight h),
// and forgets readings too old for any silence trigger.
func (q *quietIndex) committed(h int64, progress map[string]*state.Progress) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for id, p := range progress {
		if p != nil && p.LastHeight == h {
			q.put(id, h)
		}
	}
	if s := q.at[h-contract.MaxSilence-1]; s != nil {
		for id := range s {
			delete(q.last, id)
		}
		delete(q.at, h-contract.MaxSilence-1)
	}
	q.height = h
}

// quietCommitted moves the app's index on to the committed block h, or
// drops it when the block ran no silence trigger (none is active; the
// next one builds it again).
func (a *App) quietCommitted(h int64, used bool, progress map[string]*state.Progress) {
	a.quietMu.Lock()
	defer a.quietMu.Unlock()
	switch {
	case !used:
		a.quietIdx = nil
	case a.quietIdx != nil && a.quietIdx.height == h-1:
		a.quietIdx.committed(h, progress)
	default:
		a.quietIdx = nil
	}
}

// dropQuiet forgets the index (the store was replaced).
func (a *App) dropQuiet() {
	a.quietMu.Lock()
	a.quietIdx = nil
	a.quietMu.Unlock()
}
