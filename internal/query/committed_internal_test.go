package query

import (
	"testing"

	"github.com/iotledger/iotledger/internal/state"
)

// A value read from the store before a block was committed must not be
// cached after the block's writes were applied: it may be the old value.
// The block's own writes are what the cache holds after it.
func TestRecordCacheDropsReadsThatRacedACommit(t *testing.T) {
	c := newRecordCache(10)
	_, ok, gen := c.get([]byte("d/x"))
	if ok {
		t.Fatal("empty cache has d/x")
	}
	c.committedWrites(map[string][]byte{"d/x": []byte("new")}, nil) // Commit lands during the read
	c.put("d/x", []byte("old"), gen)
	if v, ok, _ := c.get([]byte("d/x")); !ok || string(v) != "new" {
		t.Fatalf("cache has %q, %v after the commit and a late put of the read before it; want new", v, ok)
	}
	c.committedWrites(map[string][]byte{"d/x": []byte("newer"), "t/l/1": []byte("leaf")}, nil)
	if v, ok, _ := c.get([]byte("d/x")); !ok || string(v) != "newer" {
		t.Fatalf("cache has %q, %v after a block wrote newer", v, ok)
	}
	if _, ok, _ := c.get([]byte("t/l/1")); ok {
		t.Error("cache took a record it does not cache (a log leaf)")
	}
	c.committedWrites(map[string][]byte{"d/x": nil}, nil) // deleted
	if v, ok, _ := c.get([]byte("d/x")); ok {
		t.Fatalf("cache has %q after a block deleted the record", v)
	}
}

// The progress records a block decoded become the shared decoded copies;
// a decoded device the block wrote is forgotten.
func TestRecordCacheTakesTheBlocksProgress(t *testing.T) {
	c := newRecordCache(10)
	c.progs["dev1a"], c.devs["dev1a"] = &state.Progress{Count: 1}, &state.Device{ID: "dev1a"}
	after := &state.Progress{Count: 2}
	c.committedWrites(map[string][]byte{
		state.PrefixProgress + "dev1a": {1},
		state.PrefixDevice + "dev1a":   {2},
	}, map[string]*state.Progress{"dev1a": after})
	if got := c.progs["dev1a"]; got != after {
		t.Errorf("decoded progress after the block = %+v, want the block's", got)
	}
	if got, ok := c.devs["dev1a"]; ok {
		t.Errorf("decoded device %+v kept after the block wrote it", got)
	}
}
