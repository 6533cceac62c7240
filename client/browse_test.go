package client_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
)

// The explorer's lists, through the client, on the fake node: three
// active devices labelled site=hall-b, seven readings in blocks 41 (six)
// and 42 (one).
func TestBrowse(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	ctx := t.Context()
	ids := func(ds []client.Device) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	all := []string{l.DeviceList[0].ID, l.DeviceList[1].ID, l.DeviceList[2].ID}
	for _, tc := range []struct {
		f    client.DeviceFilter
		want []string
	}{
		{client.DeviceFilter{}, all},
		{client.DeviceFilter{Status: "active", Labels: map[string]string{"site": "hall-b"}}, all},
		{client.DeviceFilter{Status: "quarantined"}, nil},
		{client.DeviceFilter{Labels: map[string]string{"site": "hall-c"}}, nil},
		{client.DeviceFilter{Query: all[1][8:30]}, all[1:2]},
	} {
		got := ids(collect(t, c.AllMatchingDevices(ctx, tc.f, 1)))
		if diff := cmp.Diff(got, tc.want); diff != "" {
			t.Errorf("%+v (-got +want):\n%s", tc.f, diff)
		}
	}
	_, err := c.SearchDevices(ctx, client.DeviceFilter{Status: "lost"}, 0, "")
	wantError(t, err, 400, api.KindInvalidParameter, nil)

	d, err := c.Device(ctx, apitest.DeviceID(0))
	if err != nil || d.LastReading == nil || d.LastReading.Seq != 106 || d.Gaps == nil || *d.Gaps != 2 {
		t.Errorf("device 0: %+v, %v; want its last reading 106 and 2 gaps", d, err)
	}

	s, err := c.Stats(ctx)
	if err != nil || s.Devices.Total != 3 || s.Devices.Active != 3 || s.LogSize != 7 || s.Height != apitest.Height+1 {
		t.Errorf("stats %+v, %v; want 3 active devices, 7 readings, height %d", s, err, apitest.Height+1)
	}

	var heights []int64
	for b, err := range c.AllBlocks(ctx, 0, 1) {
		if err != nil {
			t.Fatal(err)
		}
		heights = append(heights, b.Height)
	}
	if diff := cmp.Diff(heights, []int64{apitest.Height + 1, apitest.Height}); diff != "" {
		t.Errorf("blocks (-got +want):\n%s", diff)
	}
	if p, err := c.BlocksPage(ctx, apitest.Height, 10, ""); err != nil || len(p.Blocks) != 1 || p.Blocks[0].Height != apitest.Height {
		t.Errorf("blocks from %d: %+v, %v", apitest.Height, p, err)
	}

	latest, err := c.LatestReadingsPage(ctx, 3, "")
	if err != nil || len(latest.Readings) != 3 || latest.Readings[0].Index != 6 || latest.NextPageToken == "" {
		t.Fatalf("latest readings %+v, %v; want indices 6, 5, 4 and a next page", latest, err)
	}
	older, err := c.LatestReadingsPage(ctx, 10, latest.NextPageToken)
	if err != nil || len(older.Readings) != 4 || older.Readings[0].Index != 3 || older.NextPageToken != "" {
		t.Errorf("older readings %+v, %v; want indices 3 to 0, last", older, err)
	}

	var indices []uint64
	for r, err := range c.AllBlockReadings(ctx, apitest.Height, 4) {
		if err != nil {
			t.Fatal(err)
		}
		indices = append(indices, r.Index)
	}
	if diff := cmp.Diff(indices, []uint64{0, 1, 2, 3, 4, 5}); diff != "" {
		t.Errorf("readings of block %d (-got +want):\n%s", apitest.Height, diff)
	}
	_, err = c.BlockReadingsPage(ctx, apitest.Height+5, 0, "")
	wantError(t, err, 404, api.KindNotFound, client.ErrNotFound)

	changes := collect(t, c.AllDeviceChanges(ctx, all[0], 1))
	if len(changes) != 1 || changes[0].Action != "registered" || changes[0].Height != 3 || changes[0].Device.ID != all[0] {
		t.Errorf("changes of device %s: %+v; want its registration in block 3", all[0], changes)
	}
	_, err = c.DeviceChangesPage(ctx, unknownDevice, 0, "")
	wantError(t, err, 404, api.KindNotFound, client.ErrNotFound)
}
