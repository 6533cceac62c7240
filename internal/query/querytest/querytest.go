// Package querytest builds committed state for tests of the read side and
// of what reads through it (the API): a Pebble store in a temporary
// directory holding a generated fleet of devices, readings of a few of
// them in a real reading log (package tlog), the blocks that committed
// them with their feeds (block 1's lists the registrations of fleets up
// to 10,000 devices) and the devices' progress, written as Commit writes
// them, and a query.Reader on it. Only tests import it.
package querytest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/tlog"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

// Options describe a fleet.
type Options struct {
	// Devices is the number of registered devices. Device i has labels
	// site=site-<i%100> and model=Model-<i%7>, owner Owner(i%Owners), and
	// status Status(i).
	Devices int
	// Senders is how many of the devices (the first, in generation order)
	// have real keys and send readings; Readings readings go round robin
	// over them, seq 1, 2, ... per device, except that the third reading of
	// each sender is skipped (a gap), and PerBlock of them go in a block.
	Senders, Readings, PerBlock int
}

// maxFeedDevices is the largest fleet whose registrations block 1's
// feed lists (a chain spreads larger ones over many blocks).
const maxFeedDevices = 10_000

// Owners is the number of distinct owners of a fleet.
const Owners = 10

// GenesisMs is the block time of block 1; block h is h-1 seconds later.
var GenesisMs = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// Owner returns the address of owner j.
func Owner(j int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "querytest owner %d", j))
	return address.Account(h[:])
}

// Status returns the status of device i: every 25th (from 7) is revoked,
// every 10th (from 3) quarantined, the rest active.
func Status(i int) string {
	switch {
	case i%25 == 7:
		return state.StatusRevoked
	case i%10 == 3:
		return state.StatusQuarantined
	}
	return state.StatusActive
}

// SenderKey returns the key of sender i.
func SenderKey(i int) ed25519.PrivateKey {
	seed := sha256.Sum256(fmt.Appendf(nil, "querytest sender %d", i))
	return ed25519.NewKeyFromSeed(seed[:])
}

// Store is a generated store and its reader.
type Store struct {
	DB      *pebble.DB
	Reader  *query.Reader
	Devices []*state.Device // in generation order; Devices[:Senders] send readings
	Blocks  []*state.Block  // in height order, from 1
	// Readings are the committed readings' device and seq, by log index.
	Readings []struct {
		Device string
		Seq    uint64
	}
	c *query.Committed
}

// batchKV writes into a batch, as Commit does, and remembers the writes.
type batchKV struct {
	tb     testing.TB
	b      *pebble.Batch
	writes map[string][]byte
}

func (k batchKV) Get(key []byte) ([]byte, error) { return k.writes[string(key)], nil }
func (k batchKV) Set(key, v []byte) {
	if err := k.b.Set(key, v, nil); err != nil {
		k.tb.Fatal(err)
	}
	k.writes[string(key)] = v
}

// New builds the store o describes.
func New(tb testing.TB, o Options) *Store {
	tb.Helper()
	if o.Readings > 0 && (o.Senders < 1 || o.Senders > o.Devices) {
		tb.Fatalf("querytest: %d readings need 1 to %d senders, not %d", o.Readings, o.Devices, o.Senders)
	}
	o.PerBlock = max(o.PerBlock, 1)
	db, err := pebble.Open(tb.TempDir(), &pebble.Options{Logger: quiet{tb}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	l, err := tlog.Open(db)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Store{DB: db}
	s.c = query.NewCommitted(db)

	b := db.NewBatch()
	kv := batchKV{tb, b, map[string][]byte{}}
	for i := range o.Devices {
		var pub []byte
		if i < o.Senders {
			pub = SenderKey(i).Public().(ed25519.PublicKey)
		} else {
			h := sha256.Sum256(fmt.Appendf(nil, "querytest device %d", i))
			pub = h[:]
		}
		d := &state.Device{
			ID: address.Device(pub), Key: pub, Owner: Owner(i % Owners),
			Labels:     map[string]string{"site": fmt.Sprintf("site-%d", i%100), "model": fmt.Sprintf("Model-%d", i%7)},
			Status:     Status(i),
			Registered: 1, Updated: 1,
		}
		state.PutDevice(kv, d)
		s.Devices = append(s.Devices, d)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		tb.Fatal(err)
	}

	// Readings, PerBlock a block, from block 1.
	progress := map[string]*state.Progress{}
	next := map[string]uint64{}
	var size uint64
	for n, h := 0, int64(1); n < o.Readings || h == 1; h++ {
		st, b := l.Begin(), db.NewBatch()
		kv := batchKV{tb, b, map[string][]byte{}}
		blockMs := GenesisMs + (h-1)*1000
		var count uint64
		for ; n < o.Readings && count < uint64(o.PerBlock); n++ {
			sender := n % o.Senders
			d := s.Devices[sender]
			seq := next[d.ID] + 1
			if seq == 3 {
				seq++ // a gap at 3
			}
			next[d.ID] = seq
			raw, err := reading.Sign(reading.Reading{Seq: seq, Time: blockMs - 10, Data: map[string]any{"n": int64(n)}}, SenderKey(sender))
			if err != nil {
				tb.Fatal(err)
			}
			idx := st.Append(receipt.Leaf(d.Key, raw))
			p := progress[d.ID]
			if p == nil {
				p = &state.Progress{}
				progress[d.ID] = p
			}
			state.Record(kv, d.ID, seq, state.SeqEntry{Index: idx, Height: h, Time: blockMs - 10}, p)
			state.PutProgress(kv, d.ID, p)
			s.Readings = append(s.Readings, struct {
				Device string
				Seq    uint64
			}{d.ID, seq})
			count++
		}
		size += count
		blk := &state.Block{Height: h, Time: blockMs, LogSize: size, Readings: count, Txs: min(int(count), 1)}
		v, err := dcbor.EncMode.Marshal(blk)
		if err != nil {
			tb.Fatal(err)
		}
		kv.Set(state.BlockKey(h), v)
		feed := &state.Feed{}
		if h == 1 && len(s.Devices) <= maxFeedDevices {
			for _, d := range s.Devices {
				feed.Devices = append(feed.Devices, state.DeviceChange{Action: "registered", Device: *d})
			}
		}
		if err := b.Set(state.FeedKey(h), state.EncodeFeed(feed), nil); err != nil {
			tb.Fatal(err)
		}
		if err := st.Write(b); err != nil {
			tb.Fatal(err)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			tb.Fatal(err)
		}
		s.c.Written(kv.writes, nil)
		if err := l.Apply(st); err != nil {
			tb.Fatal(err)
		}
		s.Blocks = append(s.Blocks, blk)
	}
	top := s.Blocks[len(s.Blocks)-1].Height
	s.Reader = query.New(s.c, l, func() state.Meta { return state.Meta{ChainID: "querytest", Height: top} })
	return s
}

// CommitBlock writes devices and the feed of block h (after the
// generated blocks) as Commit would, without a block record, and tells
// the reader's committed state.
func (s *Store) CommitBlock(tb testing.TB, h int64, feed *state.Feed, devices ...*state.Device) {
	tb.Helper()
	b := s.DB.NewBatch()
	kv := batchKV{tb, b, map[string][]byte{}}
	for _, d := range devices {
		state.PutDevice(kv, d)
	}
	if err := b.Set(state.FeedKey(h), state.EncodeFeed(feed), nil); err != nil {
		tb.Fatal(err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		tb.Fatal(err)
	}
	s.c.Written(kv.writes, nil)
}

// Commit writes devices as a block's Commit would (without a block
// record) and tells the reader's committed state, as Commit does.
func (s *Store) Commit(tb testing.TB, devices ...*state.Device) {
	tb.Helper()
	b := s.DB.NewBatch()
	kv := batchKV{tb, b, map[string][]byte{}}
	for _, d := range devices {
		state.PutDevice(kv, d)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		tb.Fatal(err)
	}
	s.c.Written(kv.writes, nil)
}

// quiet is Pebble's logger in tests: Fatalf fails the test, the rest is dropped.
type quiet struct{ tb testing.TB }

func (quiet) Infof(string, ...any)                {}
func (quiet) Errorf(string, ...any)               {}
func (q quiet) Fatalf(format string, args ...any) { q.tb.Fatalf("pebble: "+format, args...) }
