package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"

	"github.com/iotledger/iotledger/apiwire"
)

// What an explorer lists: device searches, counts, blocks newest first,
// the newest readings of every device and a block's readings (package
// apiwire's types).
type (
	DeviceStats    = apiwire.DeviceStats    // registered devices by status
	Stats          = apiwire.Stats          // counts of committed state (GET /v1/stats)
	LastReading    = apiwire.LastReading    // a device's reading of the highest seq
	BlockSummary   = apiwire.BlockEvent     // what the app recorded of a block
	BlockPage      = apiwire.BlockPage      // a page of blocks, newest first
	LogReading     = apiwire.LogReading     // a committed reading with its device
	LogReadingPage = apiwire.LogReadingPage // a page of readings with their devices
	DeviceChanges  = apiwire.DeviceChanges  // a page of a device's changes, newest first
	DeviceEvent    = apiwire.DeviceEvent    // a committed change of a device
)

// DeviceFilter selects the devices of SearchDevices: those that match
// every field set. Status is active, quarantined or revoked; Labels are
// key=value pairs that must all hold; Query is text the device's id, its
// owner's address or one of its label values must contain, ignoring case.
type DeviceFilter struct {
	Status string
	Labels map[string]string
	Query  string
}

// SearchDevices returns a page of up to limit devices (0: the node's
// default) that match f, in id order, at token ("" for the first page).
func (c *Client) SearchDevices(ctx context.Context, f DeviceFilter, limit int, token string) (*DevicePage, error) {
	q := pageQuery(limit, token)
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	for k, v := range f.Labels {
		q.Add("label", k+"="+v)
	}
	if f.Query != "" {
		q.Set("q", f.Query)
	}
	var p DevicePage
	return &p, c.getJSON(ctx, "/v1/devices", q, &p)
}

// AllMatchingDevices iterates over every device that matches f, in id
// order, in pages of limit.
func (c *Client) AllMatchingDevices(ctx context.Context, f DeviceFilter, limit int) iter.Seq2[Device, error] {
	return all(func(token string) ([]Device, string, error) {
		p, err := c.SearchDevices(ctx, f, limit, token)
		return p.Devices, p.NextPageToken, err
	})
}

// Stats returns counts of committed state: the height, the log's size,
// the devices by status and the contracts ever deployed.
func (c *Client) Stats(ctx context.Context) (*Stats, error) {
	var s Stats
	return &s, c.getJSON(ctx, "/v1/stats", nil, &s)
}

// BlocksPage returns a page of up to limit blocks, newest first, from
// block from down (0: from the latest), at token ("" for the first page;
// a token continues the list where from started it).
func (c *Client) BlocksPage(ctx context.Context, from int64, limit int, token string) (*BlockPage, error) {
	q := pageQuery(limit, token)
	if from > 0 {
		q.Set("from_height", strconv.FormatInt(from, 10))
	}
	var p BlockPage
	return &p, c.getJSON(ctx, "/v1/blocks", q, &p)
}

// AllBlocks iterates over the committed blocks newest first, from block
// from down (0: from the latest), in pages of limit.
func (c *Client) AllBlocks(ctx context.Context, from int64, limit int) iter.Seq2[BlockSummary, error] {
	return all(func(token string) ([]BlockSummary, string, error) {
		p, err := c.BlocksPage(ctx, from, limit, token)
		return p.Blocks, p.NextPageToken, err
	})
}

// LatestReadingsPage returns a page of up to limit committed readings of
// every device, newest first by log index, at token ("" for the newest).
func (c *Client) LatestReadingsPage(ctx context.Context, limit int, token string) (*LogReadingPage, error) {
	var p LogReadingPage
	return &p, c.getJSON(ctx, "/v1/readings", pageQuery(limit, token), &p)
}

// BlockReadingsPage returns a page of up to limit of the readings block
// height committed, in log order, at token ("" for the first page); the
// error is ErrNotFound if the block is not committed.
func (c *Client) BlockReadingsPage(ctx context.Context, height int64, limit int, token string) (*LogReadingPage, error) {
	var p LogReadingPage
	return &p, c.getJSON(ctx, "/v1/blocks/"+url.PathEscape(strconv.FormatInt(height, 10))+"/readings", pageQuery(limit, token), &p)
}

// AllBlockReadings iterates over the readings block height committed, in
// log order, in pages of limit.
func (c *Client) AllBlockReadings(ctx context.Context, height int64, limit int) iter.Seq2[LogReading, error] {
	return all(func(token string) ([]LogReading, string, error) {
		p, err := c.BlockReadingsPage(ctx, height, limit, token)
		return p.Readings, p.NextPageToken, err
	})
}

// DeviceChangesPage returns a page of a device's committed changes
// (registered, revoked, rotated, quarantined, reactivated), newest first,
// at token ("" for the first page). A page may hold fewer than limit
// changes, even none, with a next token: the node reads a bounded number
// of blocks a request. The error is ErrNotFound if no such device is
// registered.
func (c *Client) DeviceChangesPage(ctx context.Context, id string, limit int, token string) (*DeviceChanges, error) {
	var p DeviceChanges
	return &p, c.getJSON(ctx, "/v1/devices/"+url.PathEscape(id)+"/changes", pageQuery(limit, token), &p)
}

// AllDeviceChanges iterates over a device's committed changes, newest
// first, in pages of limit.
func (c *Client) AllDeviceChanges(ctx context.Context, id string, limit int) iter.Seq2[DeviceEvent, error] {
	return all(func(token string) ([]DeviceEvent, string, error) {
		p, err := c.DeviceChangesPage(ctx, id, limit, token)
		return p.Changes, p.NextPageToken, err
	})
}
