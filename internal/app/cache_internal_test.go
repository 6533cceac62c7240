package app

import (
	"errors"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

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
