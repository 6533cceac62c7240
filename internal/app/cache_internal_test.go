package app

import (
	"errors"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/iotledger/iotledger/internal/registry"
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
	c.progs["dev1a"], c.devs["dev1a"] = &registry.Progress{Count: 1}, &registry.Device{ID: "dev1a"}
	after := &registry.Progress{Count: 2}
	c.committedWrites(map[string][]byte{
		registry.PrefixProgress + "dev1a": {1},
		registry.PrefixDevice + "dev1a":   {2},
	}, map[string]*registry.Progress{"dev1a": after})
	if got := c.progs["dev1a"]; got != after {
		t.Errorf("decoded progress after the block = %+v, want the block's", got)
	}
	if got, ok := c.devs["dev1a"]; ok {
		t.Errorf("decoded device %+v kept after the block wrote it", got)
	}
}

// The reading cache's hit changes no result: a reading verified under one
// key is not taken as verified under another.
func TestVerifiedIsPerKey(t *testing.T) {
	a := &App{readings: newReadingCache(4)}
	h := [32]byte{1}
	a.readings.put(h, &checkedReading{key: []byte("key-1")})
	if !a.verified(h, []byte("key-1")) {
		t.Error("not verified under the key it verified with")
	}
	if a.verified(h, []byte("key-2")) {
		t.Error("verified under another key")
	}
}

// After Close no ABCI call touches the store: CheckTx answers node_stopping,
// block execution returns ErrClosed.
func TestClosedAppRefusesCalls(t *testing.T) {
	a := &App{}
	a.Close()
	r, err := a.CheckTx(t.Context(), &abci.CheckTxRequest{Tx: []byte{1}})
	if err != nil || Code(r.Code) != CodeNodeStopping {
		t.Errorf("CheckTx after Close: %v, code %d; want node_stopping", err, r.Code)
	}
	if _, err := a.FinalizeBlock(t.Context(), &abci.FinalizeBlockRequest{Height: 1}); !errors.Is(err, ErrClosed) {
		t.Errorf("FinalizeBlock after Close: %v, want ErrClosed", err)
	}
	if _, err := a.Commit(t.Context(), &abci.CommitRequest{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: %v, want ErrClosed", err)
	}
}

// The transaction cache finds a batch by its bytes only, forgets it when
// asked, and keeps at most maxBatches, dropping the oldest.
func TestTxCache(t *testing.T) {
	c := newTxCache()
	batch := func(i int) []byte { return []byte(fmt.Sprintf("batch %04d", i)) }
	for i := range maxBatches + 2 {
		c.put(&batchEntry{raw: batch(i), dec: []Decoded{{raw: batch(i)}}})
	}
	if got := c.len(); got != maxBatches {
		t.Fatalf("%d entries after %d puts, want the bound %d", got, maxBatches+2, maxBatches)
	}
	if c.get(batch(0), false) != nil || c.get(batch(1), false) != nil {
		t.Error("the two oldest entries are still there")
	}
	if c.get([]byte("batch 9999"), false) != nil {
		t.Error("found bytes never put")
	}
	e := c.get(batch(7), false)
	if e == nil || string(e.dec[0].raw) != string(batch(7)) {
		t.Fatalf("get(batch 7) = %v, want its entry", e)
	}
	if c.get(batch(7), true) == nil || c.get(batch(7), false) != nil {
		t.Error("get with forget did not remove the entry")
	}
	if got := c.len(); got != maxBatches-1 {
		t.Errorf("%d entries after forgetting one, want %d", got, maxBatches-1)
	}
}

// decodeTx takes a batch Batch built from the cache (the copy it returns
// is the caller's), and forget removes it.
func TestDecodeTxUsesBatchCache(t *testing.T) {
	a := &App{txs: newTxCache()}
	ds := []Decoded{{raw: []byte{0xaa}, h: [32]byte{1}, key: []byte("k")}, {raw: []byte{0xbb}, h: [32]byte{2}}}
	raw := a.Batch(ds)
	p := DefaultGenesis().Params
	tx1, dec, f := a.decodeTx(raw, p, false)
	if f != nil || dec == nil || len(tx1.Readings) != 2 || string(dec[0].key) != "k" || dec[1].h != [32]byte{2} {
		t.Fatalf("decodeTx of a cached batch = %+v, %+v, %v; want both readings from the cache", tx1, dec, f)
	}
	dec[0].key = nil // the caller's copy
	if _, dec, _ = a.decodeTx(raw, p, true); dec == nil || string(dec[0].key) != "k" {
		t.Fatalf("second decodeTx = %+v; want the cached readings, unchanged", dec)
	}
	if _, dec, f = a.decodeTx(raw, p, false); dec != nil || f != nil {
		t.Fatalf("after forget decodeTx = %+v, %v; want a plain decode", dec, f)
	}
}
