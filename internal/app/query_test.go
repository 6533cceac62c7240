package app_test

import (
	"crypto/ed25519"
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/query"
)

func TestDevicesPages(t *testing.T) {
	c := newChain(t)
	var txs [][]byte
	var want []string
	for i := range 5 {
		txs = append(txs, c.registerTx(alice, key(byte(30+i)), uint64(i)))
		want = append(want, deviceID(key(byte(30+i))))
	}
	c.mustOK(txs...)
	sort.Strings(want)

	var got []string
	after, pages := "", 0
	for {
		ds, err := c.app.Reader().Devices(after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) > 2 {
			t.Fatalf("page of %d devices, limit 2", len(ds))
		}
		if len(ds) == 0 {
			break
		}
		pages++
		for _, d := range ds {
			got = append(got, d.ID)
			if d.Owner != accountID(alice) || d.Labels["site"] != "lab" {
				t.Errorf("device %s: owner %s labels %v", d.ID, d.Owner, d.Labels)
			}
		}
		after = ds[len(ds)-1].ID
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("devices over all pages (-got +want):\n%s", diff)
	}
	if pages != 3 {
		t.Errorf("%d pages of 2 for 5 devices, want 3", pages)
	}
}

func TestReadingsQuery(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	other := c.register(alice, meter)
	base := c.nowMs() - 60_000
	at := func(seq uint64) int64 { return base + int64(seq)*1000 }
	// Seqs 1..10 sent out of order over two blocks; the time of seq s is at(s).
	var first, second [][]byte
	for seq := uint64(1); seq <= 10; seq++ {
		r := c.reading(sensor, "", seq, at(seq))
		if seq%2 == 0 {
			first = append(first, r)
		} else {
			second = append(second, r)
		}
	}
	c.send(append(first, c.reading(meter, "", 3, at(3)))...)
	c.send(second...)

	seqs := func(rs []*query.Stored) []uint64 {
		out := []uint64{}
		for _, r := range rs {
			out = append(out, r.Seq)
		}
		return out
	}
	next := func(n uint64) *uint64 { return &n }
	tests := []struct {
		name     string
		q        query.ReadingRange
		want     []uint64
		wantNext *uint64
	}{
		{"all", query.ReadingRange{From: 0, To: ^uint64(0), Limit: 100}, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, nil},
		{"seq range", query.ReadingRange{From: 3, To: 7, Limit: 100}, []uint64{3, 4, 5, 6, 7}, nil},
		{"seq range, first page", query.ReadingRange{From: 3, To: 7, Limit: 2}, []uint64{3, 4}, next(5)},
		{"seq range, second page", query.ReadingRange{From: 5, To: 7, Limit: 2}, []uint64{5, 6}, next(7)},
		{"seq range, last page", query.ReadingRange{From: 7, To: 7, Limit: 2}, []uint64{7}, nil},
		{"seq range, exactly full", query.ReadingRange{From: 9, To: 10, Limit: 2}, []uint64{9, 10}, nil},
		{"seq range past the end", query.ReadingRange{From: 11, To: 20, Limit: 2}, []uint64{}, nil},
		{"empty seq range", query.ReadingRange{From: 7, To: 3, Limit: 2}, []uint64{}, nil},
		{"time range", query.ReadingRange{ByTime: true, From: uint64(at(4)), To: uint64(at(8)), Limit: 100}, []uint64{4, 5, 6, 7, 8}, nil},
		{"time range, first page", query.ReadingRange{ByTime: true, From: uint64(at(4)), To: uint64(at(8)), Limit: 3}, []uint64{4, 5, 6}, next(7)},
		{"time range, second page", query.ReadingRange{ByTime: true, From: uint64(at(4)), To: uint64(at(8)), StartSeq: 7, Limit: 3}, []uint64{7, 8}, nil},
		{"time range between readings", query.ReadingRange{ByTime: true, From: uint64(at(4) + 1), To: uint64(at(5) - 1), Limit: 3}, []uint64{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, n, err := c.app.Reader().Readings(id, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(seqs(rs), tt.want); diff != "" {
				t.Errorf("seqs (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(n, tt.wantNext); diff != "" {
				t.Errorf("next cursor (-got +want):\n%s", diff)
			}
			for _, r := range rs {
				if r.Device != id || r.Time != at(r.Seq) {
					t.Errorf("reading %d: device %s time %d; want %s, %d", r.Seq, r.Device, r.Time, id, at(r.Seq))
				}
			}
		})
	}

	t.Run("pages by time cover the range", func(t *testing.T) {
		q := query.ReadingRange{ByTime: true, From: uint64(at(2)), To: uint64(at(9)), Limit: 3}
		var got []uint64
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("paging does not end")
			}
			rs, n, err := c.app.Reader().Readings(id, q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, seqs(rs)...)
			if n == nil {
				break
			}
			q.StartSeq = *n
		}
		if diff := cmp.Diff(got, []uint64{2, 3, 4, 5, 6, 7, 8, 9}); diff != "" {
			t.Errorf("seqs over all pages (-got +want):\n%s", diff)
		}
	})
	t.Run("other device", func(t *testing.T) {
		rs, _, err := c.app.Reader().Readings(other, query.ReadingRange{To: ^uint64(0), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(seqs(rs), []uint64{3}); diff != "" {
			t.Errorf("seqs of %s (-got +want):\n%s", other, diff)
		}
	})
	t.Run("one reading", func(t *testing.T) {
		r, err := c.app.Reader().Reading(id, 4)
		if err != nil || r == nil {
			t.Fatalf("Reading(%s, 4) = %v, %v", id, r, err)
		}
		if r.Seq != 4 || r.Height != c.height-1 || !ed25519.PublicKey(r.Key).Equal(sensor.Public()) {
			t.Errorf("Reading(%s, 4): seq %d height %d key %x", id, r.Seq, r.Height, r.Key)
		}
		if r, err := c.app.Reader().Reading(id, 11); r != nil || err != nil {
			t.Errorf("Reading of an unsent seq = %v, %v; want nil, nil", r, err)
		}
		if got := fmt.Sprint(r.Data["door"]); got != "closed" {
			t.Errorf("reading data door = %q, want closed", got)
		}
	})
}
