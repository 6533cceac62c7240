package query_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/query/querytest"
	"github.com/iotledger/iotledger/internal/state"
)

// want is what a search must find: the ids of devs that f selects, by a
// plain reading of DeviceFilter's documentation, in id order.
func want(devs []*state.Device, f query.DeviceFilter) []string {
	var out []string
	search := strings.ToLower(f.Search)
	for _, d := range devs {
		if f.Status != "" && d.Status != f.Status {
			continue
		}
		ok := true
		for _, l := range f.Labels {
			if v, has := d.Labels[l.Key]; !has || v != l.Value {
				ok = false
			}
		}
		if ok && search != "" {
			ok = strings.Contains(strings.ToLower(d.ID), search) || strings.Contains(strings.ToLower(d.Owner), search)
			for _, v := range d.Labels {
				ok = ok || strings.Contains(strings.ToLower(v), search)
			}
		}
		if ok {
			out = append(out, d.ID)
		}
	}
	slices.Sort(out)
	return out
}

// searchAll pages through a search, limit devices a page.
func searchAll(t *testing.T, r *query.Reader, f query.DeviceFilter, limit int) []string {
	t.Helper()
	var out []string
	for after := ""; ; {
		page, err := r.SearchDevices(f, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page {
			out = append(out, d.ID)
		}
		if len(page) < limit {
			return out
		}
		after = page[len(page)-1].ID
	}
}

// TestSearchDevices checks the device index over 100,000 devices against
// a plain filter of the same records, for each kind of filter and their
// combinations, paged; then that a committed block's device changes show
// at once (Written), and that the counts follow.
func TestSearchDevices(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	s := querytest.New(t, querytest.Options{Devices: n})
	r := s.Reader
	someID := s.Devices[4242%n].ID
	for _, tc := range []struct {
		name  string
		f     query.DeviceFilter
		limit int
	}{
		{"everything", query.DeviceFilter{}, 1000},
		{"quarantined", query.DeviceFilter{Status: state.StatusQuarantined}, 1000},
		{"revoked", query.DeviceFilter{Status: state.StatusRevoked}, 777},
		{"one label", query.DeviceFilter{Labels: []query.Label{{"site", "site-42"}}}, 100},
		{"two labels", query.DeviceFilter{Labels: []query.Label{{"site", "site-42"}, {"model", "Model-3"}}}, 7},
		{"two labels that never meet", query.DeviceFilter{Labels: []query.Label{{"site", "site-42"}, {"model", "Model-0"}, {"site", "site-43"}}}, 10},
		{"a label no device has", query.DeviceFilter{Labels: []query.Label{{"floor", "1"}}}, 10},
		{"a label value in another case", query.DeviceFilter{Labels: []query.Label{{"model", "model-3"}}}, 10},
		{"an id prefix", query.DeviceFilter{Search: someID[:12]}, 10},
		{"a whole id", query.DeviceFilter{Search: someID}, 10},
		{"part of an id in capitals", query.DeviceFilter{Search: strings.ToUpper(someID[20:30])}, 10},
		{"an owner", query.DeviceFilter{Search: querytest.Owner(3)}, 1000},
		{"a label value, any case", query.DeviceFilter{Search: "MODEL-5"}, 1000},
		{"label value text", query.DeviceFilter{Search: "te-9"}, 1000},
		{"search, status and label", query.DeviceFilter{Search: "model-2", Status: state.StatusActive, Labels: []query.Label{{"site", "site-7"}}}, 3},
		{"nothing matches", query.DeviceFilter{Search: "no such text"}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := searchAll(t, r, tc.f, tc.limit)
			if diff := cmp.Diff(got, want(s.Devices, tc.f)); diff != "" {
				t.Errorf("%d devices found, want %d (-got +want):\n%s", len(got), len(want(s.Devices, tc.f)), diff)
			}
		})
	}

	counts := func() query.DeviceCounts {
		t.Helper()
		c, err := r.DeviceCounts()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var wantCounts query.DeviceCounts
	for i := range n {
		switch querytest.Status(i) {
		case state.StatusActive:
			wantCounts.Active++
		case state.StatusQuarantined:
			wantCounts.Quarantined++
		case state.StatusRevoked:
			wantCounts.Revoked++
		}
	}
	if got := counts(); got != wantCounts || got.Total() != n {
		t.Errorf("counts %+v (total %d), want %+v (total %d)", got, got.Total(), wantCounts, n)
	}

	// A block quarantines a device, relabels another and registers a new
	// one: the index has them before the next search.
	changed := *s.Devices[0]
	changed.Status = state.StatusQuarantined
	relabelled := *s.Devices[1]
	relabelled.Labels = map[string]string{"site": "moved"}
	added := &state.Device{ID: "dev1" + strings.Repeat("q", 38), Owner: querytest.Owner(0), Status: state.StatusActive, Labels: map[string]string{"site": "site-42"}}
	s.Commit(t, &changed, &relabelled, added)
	all := append(slices.Clone(s.Devices), added)
	all[0], all[1] = &changed, &relabelled
	for _, f := range []query.DeviceFilter{
		{Status: state.StatusQuarantined},
		{Labels: []query.Label{{"site", "site-42"}}},
		{Labels: []query.Label{{"site", "moved"}}},
		{Search: "moved"},
		{Search: all[1].ID},
	} {
		if diff := cmp.Diff(searchAll(t, r, f, 500), want(all, f)); diff != "" {
			t.Errorf("after the block, %+v (-got +want):\n%s", f, diff)
		}
	}
	wantCounts.Active++ // the new device
	switch s.Devices[0].Status {
	case state.StatusActive:
		wantCounts.Active--
	default:
		t.Fatalf("device 0 was %s; the test expects it active", s.Devices[0].Status)
	}
	wantCounts.Quarantined++
	if got := counts(); got != wantCounts {
		t.Errorf("counts after the block %+v, want %+v", got, wantCounts)
	}

	// After Reset (a restored snapshot) the index is built again from the store.
	r.Committed().Reset()
	if got := counts(); got != wantCounts {
		t.Errorf("counts after Reset %+v, want %+v", got, wantCounts)
	}
	if diff := cmp.Diff(searchAll(t, r, query.DeviceFilter{Search: "moved"}, 10), []string{all[1].ID}); diff != "" {
		t.Errorf("after Reset (-got +want):\n%s", diff)
	}
}

// A search that starts after an id that is not registered starts at the
// next registered id.
func TestSearchDevicesAfterUnknownID(t *testing.T) {
	s := querytest.New(t, querytest.Options{Devices: 50})
	ids := want(s.Devices, query.DeviceFilter{})
	mid := ids[20]
	after := mid[:len(mid)-1] + "!" // sorts just before mid? '!' < any bech32 char
	got, err := s.Reader.SearchDevices(query.DeviceFilter{}, after, 3)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, d := range got {
		gotIDs = append(gotIDs, d.ID)
	}
	if diff := cmp.Diff(gotIDs, ids[20:23]); diff != "" {
		t.Errorf("after %q (-got +want):\n%s", after, diff)
	}
}

// Activity is a device's count, gaps and newest reading, from its
// progress and one index entry.
func TestActivity(t *testing.T) {
	s := querytest.New(t, querytest.Options{Devices: 5, Senders: 2, Readings: 9, PerBlock: 4})
	// Sender 0 sends readings 0, 2, 4, 6, 8 as seq 1, 2, 4, 5, 6 (3 is skipped).
	a, err := s.Reader.Activity(s.Devices[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	wantLast := &query.LastReading{Seq: 6, Index: 8, Height: 3, TimeMs: querytest.GenesisMs + 2000 - 10}
	if diff := cmp.Diff(a, &query.Activity{Count: 5, Gaps: 1, Last: wantLast}); diff != "" {
		t.Errorf("activity of sender 0 (-got +want):\n%s", diff)
	}
	a, err = s.Reader.Activity(s.Devices[4].ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, &query.Activity{}); diff != "" {
		t.Errorf("activity of a silent device (-got +want):\n%s", diff)
	}
}

// Blocks pages newest first; LatestReadings pages the log newest first;
// BlockReadings pages one block's readings in log order.
func TestBlocksAndReadings(t *testing.T) {
	s := querytest.New(t, querytest.Options{Devices: 4, Senders: 3, Readings: 10, PerBlock: 4})
	r := s.Reader
	var heights []int64
	for from := int64(0); ; {
		bs, next, err := r.Blocks(from, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			heights = append(heights, b.Height)
		}
		if next == 0 {
			break
		}
		from = next
	}
	if diff := cmp.Diff(heights, []int64{3, 2, 1}); diff != "" {
		t.Errorf("blocks newest first (-got +want):\n%s", diff)
	}
	if bs, next, err := r.Blocks(2, 5); err != nil || len(bs) != 2 || bs[0].Height != 2 || next != 0 {
		t.Errorf("Blocks(2, 5) = %d blocks from %+v, next %d, %v; want blocks 2 and 1, last", len(bs), bs, next, err)
	}
	if bs, _, err := r.Blocks(99, 1); err != nil || len(bs) != 1 || bs[0].Height != 3 {
		t.Errorf("Blocks(99, 1) = %+v, %v; want block 3, the latest", bs, err)
	}

	type item struct {
		Index  uint64
		Device string
		Seq    uint64
		Height int64
	}
	items := func(ss []*query.Stored) []item {
		var out []item
		for _, st := range ss {
			out = append(out, item{st.Index, st.Device, st.Seq, st.Height})
		}
		return out
	}
	wantItem := func(i uint64) item {
		return item{i, s.Readings[i].Device, s.Readings[i].Seq, int64(i/4 + 1)}
	}
	var got, wantLatest []item
	for i := int64(9); i >= 0; i-- {
		wantLatest = append(wantLatest, wantItem(uint64(i)))
	}
	for from := ^uint64(0); ; {
		ss, next, err := r.LatestReadings(from, 3)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, items(ss)...)
		if next == nil {
			break
		}
		from = *next
	}
	if diff := cmp.Diff(got, wantLatest); diff != "" {
		t.Errorf("latest readings (-got +want):\n%s", diff)
	}

	got = nil
	for from := uint64(0); ; {
		ss, next, err := r.BlockReadings(s.Blocks[1], from, 3)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, items(ss)...)
		if next == nil {
			break
		}
		from = *next
	}
	if diff := cmp.Diff(got, []item{wantItem(4), wantItem(5), wantItem(6), wantItem(7)}); diff != "" {
		t.Errorf("readings of block 2 (-got +want):\n%s", diff)
	}
	if ss, next, err := r.BlockReadings(s.Blocks[2], 0, 10); err != nil || len(ss) != 2 || next != nil {
		t.Errorf("readings of block 3: %d, next %v, %v; want 2, last", len(ss), next, err)
	}
}

// DeviceChanges reads a device's changes from the block feeds between its
// registration and its last change, newest first, a block at a time.
func TestDeviceChanges(t *testing.T) {
	if got := state.EncodeFeed(&state.Feed{}); string(got) != "\xa0" {
		t.Fatalf("an empty feed encodes as %x; DeviceChanges skips a0", got)
	}
	d := state.Device{ID: "dev1d", Owner: "acc1o", Status: state.StatusActive, Registered: 2}
	other := state.Device{ID: "dev1e", Owner: "acc1o", Status: state.StatusActive, Registered: 1}
	at := func(action string, status string, h int64) state.DeviceChange {
		c := state.DeviceChange{Action: action, Device: d}
		c.Device.Status, c.Device.Updated = status, h
		return c
	}
	feeds := map[int64]*state.Feed{
		1:  {Devices: []state.DeviceChange{{Action: "registered", Device: other}}},
		2:  {Devices: []state.DeviceChange{at("registered", state.StatusActive, 2)}},
		5:  {Devices: []state.DeviceChange{{Action: "quarantined", Device: other}, at("quarantined", state.StatusQuarantined, 5)}},
		7:  {Devices: []state.DeviceChange{at("reactivated", state.StatusActive, 7), at("rotated", state.StatusActive, 7)}},
		9:  {Devices: []state.DeviceChange{at("revoked", state.StatusRevoked, 9)}},
		11: {Devices: []state.DeviceChange{{Action: "revoked", Device: other}}},
	}
	db := store(t, func(kv state.KV) {
		for h := int64(1); h <= 12; h++ {
			f := feeds[h]
			if f == nil {
				f = &state.Feed{}
			}
			kv.Set(state.FeedKey(h), state.EncodeFeed(f))
		}
		last := d
		last.Status, last.Updated = state.StatusRevoked, 9
		state.PutDevice(kv, &last)
		state.PutDevice(kv, &other)
	})
	r, err := query.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	type change struct {
		Action string
		Height int64
	}
	pages := func(limit int) [][]change {
		var out [][]change
		for below := int64(0); ; {
			cs, next, err := r.DeviceChanges("dev1d", below, limit)
			if err != nil {
				t.Fatal(err)
			}
			var page []change
			for _, c := range cs {
				if c.Device.ID != "dev1d" || c.Device.Updated != c.Height {
					t.Errorf("change %+v at %d is not dev1d's record as it left it", c.Device, c.Height)
				}
				page = append(page, change{c.Action, c.Height})
			}
			out = append(out, page)
			if next == 0 {
				return out
			}
			if len(out) > 20 {
				t.Fatal("DeviceChanges does not come to an end")
			}
			below = next
		}
	}
	all := []change{{"revoked", 9}, {"rotated", 7}, {"reactivated", 7}, {"quarantined", 5}, {"registered", 2}}
	if diff := cmp.Diff(pages(100), [][]change{all}); diff != "" {
		t.Errorf("one page (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(pages(1), [][]change{all[:1], all[1:3], all[3:4], all[4:]}); diff != "" {
		t.Errorf("pages of 1, whole blocks (-got +want):\n%s", diff)
	}
	// Bounded reads: three feeds a call (9, 8, 7; 6, 5, 4; 3, 2).
	defer query.SetMaxFeedScan(3)()
	if diff := cmp.Diff(pages(100), [][]change{all[:3], all[3:4], all[4:]}); diff != "" {
		t.Errorf("three feeds a call (-got +want):\n%s", diff)
	}
	if cs, next, err := r.DeviceChanges("dev1nobody", 0, 10); err != nil || cs != nil || next != 0 {
		t.Errorf("an unknown device: %+v, %d, %v; want nothing", cs, next, err)
	}
}

// Searches run while blocks commit device changes (run it with -race): each
// search sees every device, in id order, with a status the index had.
func TestSearchDevicesWhileCommitting(t *testing.T) {
	s := querytest.New(t, querytest.Options{Devices: 2_000})
	r := s.Reader
	if _, err := r.DeviceCounts(); err != nil { // builds the index
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			d := *s.Devices[i]
			d.Status = state.StatusQuarantined
			s.Commit(t, &d)
		}
	}()
	for searching := true; searching; {
		select {
		case <-done:
			searching = false
		default:
		}
		all := searchAll(t, r, query.DeviceFilter{}, 500)
		if len(all) != 2_000 || !slices.IsSorted(all) {
			t.Fatalf("a search while committing found %d devices (sorted %v), want 2000 in id order", len(all), slices.IsSorted(all))
		}
	}
	c, err := r.DeviceCounts()
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for i, d := range s.Devices {
		if i < 200 || d.Status == state.StatusQuarantined {
			want++
		}
	}
	if c.Quarantined != want {
		t.Errorf("%d quarantined after the blocks, want %d", c.Quarantined, want)
	}
}
