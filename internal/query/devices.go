package query

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/state"
)

// DeviceFilter selects the devices of a list: those that match every field
// set. The zero value selects every device.
type DeviceFilter struct {
	// Status, when set, is the status a device must have (state.StatusActive,
	// StatusQuarantined or StatusRevoked).
	Status string
	// Labels are key=value pairs a device's labels must all hold.
	Labels []Label
	// Search, when set, is text a device's id, its owner's address or one
	// of its label values must contain, ignoring ASCII case: a prefix of an
	// id or an address finds that device or owner, "hall" finds a device
	// labelled site=Hall-B.
	Search string
}

// Label is one key=value pair of a DeviceFilter.
type Label struct{ Key, Value string }

// DeviceCounts counts the registered devices by status.
type DeviceCounts struct {
	Active, Quarantined, Revoked int
}

// Total is the number of registered devices.
func (c DeviceCounts) Total() int { return c.Active + c.Quarantined + c.Revoked }

// SearchDevices lists up to limit devices that match f, in id order,
// after the id `after` ("" from the first). It reads the in-memory device
// index (built from the store on first use, then kept by Written), so a
// search over 100,000 devices costs a scan of memory, not of the store;
// the records returned are read from committed state and are the caller's.
func (r *Reader) SearchDevices(f DeviceFilter, after string, limit int) ([]*state.Device, error) {
	ids, err := r.c.devices.search(r.c, f, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*state.Device, 0, len(ids))
	for _, id := range ids {
		d, err := state.GetDevice(r.c, id)
		if err != nil {
			return nil, err
		}
		if d == nil {
			continue // deleted since the scan (devices are not deleted today)
		}
		out = append(out, d)
	}
	return out, nil
}

// DeviceCounts counts the registered devices by status, from the device
// index.
func (r *Reader) DeviceCounts() (DeviceCounts, error) {
	return r.c.devices.count(r.c)
}

// Activity is what a device list shows of a device's readings, from its
// progress record and one (device, seq) index entry: how many are
// committed, the newest by sequence number (nil if none), and how many
// gaps are open.
type Activity struct {
	Count uint64
	Last  *LastReading
	// Gaps is the number of open gaps; GapsTruncated says more were open
	// than the ledger keeps (state.MaxGaps).
	Gaps          int
	GapsTruncated bool
}

// LastReading locates a device's reading of the highest sequence number.
type LastReading struct {
	Seq    uint64
	Index  uint64
	Height int64
	TimeMs int64 // device time
}

// Activity returns what the ledger knows of a device's readings; a device
// that sent nothing has a zero Activity.
func (r *Reader) Activity(id string) (*Activity, error) {
	p, err := r.c.SharedProgress(id)
	if err != nil {
		return nil, err
	}
	a := &Activity{Count: p.Count, Gaps: len(p.Gaps), GapsTruncated: p.GapsTruncated}
	if p.Count == 0 {
		return a, nil
	}
	e, err := state.GetSeq(r.c, id, p.MaxSeq)
	if err != nil {
		return nil, err
	}
	if e != nil { // absent only while Commit runs: its progress is ahead of the index
		a.Last = &LastReading{Seq: p.MaxSeq, Index: e.Index, Height: e.Height, TimeMs: e.Time}
	}
	return a, nil
}

// deviceIndex holds what a device search looks at, for every committed
// device, in memory: 100,000 devices take a few tens of MB and a search
// scans them in milliseconds. It is derived from the device records (d/),
// built from the store on first use and kept equal to it by Written (a
// block's device writes) and Reset; nothing of it is stored or hashed.
type deviceIndex struct {
	mu     sync.Mutex // guards every field; held while the index is built from the store
	built  bool
	byID   map[string]*indexedDevice
	sorted []*indexedDevice // by id; devices added since the last search are in fresh
	fresh  []*indexedDevice
	counts DeviceCounts
	owners map[string]string // interned owner addresses: many devices share one
}

// indexedDevice is what the index keeps of one device.
type indexedDevice struct {
	id, owner string
	status    string
	labels    []Label // sorted by key
	// text is the label values, lower-cased and joined by NUL, for Search.
	text string
}

// written applies a committed block's device writes (id to record, nil
// for a deleted one) to the index, if it is built; Committed.Written
// calls it after the block's batch is in the store.
func (x *deviceIndex) written(devs map[string][]byte) {
	if len(devs) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.built {
		return // the first search reads the store, which has the block
	}
	for id, v := range devs {
		if v == nil {
			x.remove(id)
			continue
		}
		d, err := state.DecodeDevice(state.DeviceKey(id), v)
		if err != nil {
			// The store holds the record it could not decode: the next
			// search builds the index from there and reports it.
			x.reset()
			return
		}
		x.put(d)
	}
}

// forget forgets the index (the store was replaced); the next search
// builds it again.
func (x *deviceIndex) forget() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.reset()
}

// reset empties the index. x.mu is held.
func (x *deviceIndex) reset() {
	x.built = false
	x.byID, x.sorted, x.fresh, x.owners = nil, nil, nil, nil
	x.counts = DeviceCounts{}
}

// load builds the index from the store unless it is built. x.mu is held.
func (x *deviceIndex) load(c *Committed) error {
	if x.built {
		return nil
	}
	x.byID, x.owners = map[string]*indexedDevice{}, map[string]string{}
	x.sorted, x.fresh, x.counts = nil, nil, DeviceCounts{}
	err := c.Each(state.PrefixDevice, func(k, v []byte) error {
		d, err := state.DecodeDevice(k, v)
		if err != nil {
			return err
		}
		x.put(d)
		return nil
	})
	if err != nil {
		x.reset()
		return err
	}
	x.built = true
	return nil
}

// put adds or replaces the entry of d.
func (x *deviceIndex) put(d *state.Device) {
	e, ok := x.byID[d.ID]
	if ok {
		x.countStatus(e.status, -1)
	} else {
		e = &indexedDevice{id: d.ID}
		x.byID[d.ID] = e
		x.fresh = append(x.fresh, e)
	}
	owner, ok := x.owners[d.Owner]
	if !ok {
		owner = d.Owner
		x.owners[owner] = owner
	}
	e.owner, e.status = owner, internStatus(d.Status)
	e.labels = e.labels[:0]
	for k, v := range d.Labels {
		e.labels = append(e.labels, Label{k, v})
	}
	slices.SortFunc(e.labels, func(a, b Label) int { return strings.Compare(a.Key, b.Key) })
	var text strings.Builder
	for i, l := range e.labels {
		if i > 0 {
			text.WriteByte(0)
		}
		text.WriteString(strings.ToLower(l.Value))
	}
	e.text = text.String()
	x.countStatus(e.status, 1)
}

// remove drops the entry of id.
func (x *deviceIndex) remove(id string) {
	e, ok := x.byID[id]
	if !ok {
		return
	}
	delete(x.byID, id)
	x.countStatus(e.status, -1)
	x.merge()
	if i, ok := slices.BinarySearchFunc(x.sorted, id, byID); ok {
		x.sorted = slices.Delete(x.sorted, i, i+1)
	}
}

// internStatus returns the package state constant equal to status, so
// that the index does not keep a copy per device.
func internStatus(status string) string {
	for _, c := range []string{state.StatusActive, state.StatusQuarantined, state.StatusRevoked} {
		if status == c {
			return c
		}
	}
	return status
}

func (x *deviceIndex) countStatus(status string, n int) {
	switch status {
	case state.StatusActive:
		x.counts.Active += n
	case state.StatusQuarantined:
		x.counts.Quarantined += n
	case state.StatusRevoked:
		x.counts.Revoked += n
	}
}

func byID(e *indexedDevice, id string) int { return strings.Compare(e.id, id) }

// merge moves the devices added since the last search into sorted.
func (x *deviceIndex) merge() {
	if len(x.fresh) == 0 {
		return
	}
	slices.SortFunc(x.fresh, func(a, b *indexedDevice) int { return strings.Compare(a.id, b.id) })
	if len(x.sorted) == 0 {
		x.sorted, x.fresh = x.fresh, nil
		return
	}
	out := make([]*indexedDevice, 0, len(x.sorted)+len(x.fresh))
	i, j := 0, 0
	for i < len(x.sorted) && j < len(x.fresh) {
		if x.sorted[i].id < x.fresh[j].id {
			out = append(out, x.sorted[i])
			i++
		} else {
			out = append(out, x.fresh[j])
			j++
		}
	}
	out = append(append(out, x.sorted[i:]...), x.fresh[j:]...)
	x.sorted, x.fresh = out, nil
}

// search returns the ids of up to limit devices that match f, after the
// id after, in id order.
func (x *deviceIndex) search(c *Committed, f DeviceFilter, after string, limit int) ([]string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.load(c); err != nil {
		return nil, err
	}
	x.merge()
	start := 0
	if after != "" {
		var found bool
		start, found = slices.BinarySearchFunc(x.sorted, after, byID)
		if found {
			start++
		}
	}
	search := strings.ToLower(f.Search)
	var out []string
	for _, e := range x.sorted[start:] {
		if len(out) == limit {
			break
		}
		if e.matches(&f, search) {
			out = append(out, e.id)
		}
	}
	return out, nil
}

// matches reports whether e matches f; search is f.Search, lower-cased.
func (e *indexedDevice) matches(f *DeviceFilter, search string) bool {
	if f.Status != "" && e.status != f.Status {
		return false
	}
	for _, want := range f.Labels {
		i, ok := slices.BinarySearchFunc(e.labels, want.Key, func(l Label, k string) int { return strings.Compare(l.Key, k) })
		if !ok || e.labels[i].Value != want.Value {
			return false
		}
	}
	if search == "" {
		return true
	}
	// Ids and addresses are lower-case bech32.
	return strings.Contains(e.id, search) || strings.Contains(e.owner, search) || strings.Contains(e.text, search)
}

func (x *deviceIndex) count(c *Committed) (DeviceCounts, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.load(c); err != nil {
		return DeviceCounts{}, err
	}
	return x.counts, nil
}

// DeviceChangeAt is a committed change of a device (state.DeviceChange)
// and the block that made it.
type DeviceChangeAt struct {
	state.DeviceChange
	Height int64
}

// MaxFeedScan bounds the block feeds one DeviceChanges call reads.
const MaxFeedScan = 100_000

// maxFeedScan is MaxFeedScan; tests lower it.
var maxFeedScan = MaxFeedScan

// DeviceChanges returns the committed changes of device id (registered,
// revoked, rotated, quarantined, reactivated, as the node's events told
// them), newest first, from the blocks below `below` (0: from the
// latest), and the height to continue below (0: no more). It reads the
// feeds (f/<height>) of the blocks between the device's registration and
// its last change, skipping the empty ones, at most MaxFeedScan of them a
// call: a device changed long after its registration may take a page
// with fewer than limit changes, or none, and a next height. A page ends
// at a block boundary, so it holds more than limit changes when its last
// block changed the device several times. Blocks committed before feeds
// existed (FirstFeed) tell nothing. A device that is not registered has
// no changes.
func (r *Reader) DeviceChanges(id string, below int64, limit int) ([]DeviceChangeAt, int64, error) {
	d, err := r.c.SharedDevice(id)
	if err != nil || d == nil {
		return nil, 0, err
	}
	top := d.Updated
	if below > 0 {
		top = min(top, below-1)
	}
	bottom := max(d.Registered, 1)
	if top < bottom {
		return nil, 0, nil
	}
	it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: state.FeedKey(bottom), UpperBound: state.FeedKey(top + 1)})
	if err != nil {
		return nil, 0, err
	}
	defer it.Close()
	var out []DeviceChangeAt
	scanned := 0
	for ok := it.Last(); ok; ok = it.Prev() {
		k := it.Key()[len(state.PrefixFeed):]
		if len(k) != 8 {
			return nil, 0, fmt.Errorf("%w: feed key %q", state.ErrCorrupt, it.Key())
		}
		h := int64(binary.BigEndian.Uint64(k))
		if len(out) >= limit || scanned == maxFeedScan {
			return out, h + 1, nil
		}
		scanned++
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, err
		}
		if len(v) == 1 && v[0] == 0xa0 {
			continue // an empty feed, {}: most blocks
		}
		f, err := state.DecodeFeed(h, v)
		if err != nil {
			return nil, 0, err
		}
		for i := len(f.Devices) - 1; i >= 0; i-- {
			if c := f.Devices[i]; c.Device.ID == id {
				out = append(out, DeviceChangeAt{DeviceChange: c, Height: h})
			}
		}
	}
	return out, 0, it.Error()
}
