package app

import (
	"errors"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// A value read from the store before a block was committed must not be
// cached after the block's writes were applied: it may be the old value.
func TestRecordCacheDropsReadsThatRacedACommit(t *testing.T) {
	c := newRecordCache(10)
	_, ok, gen := c.get([]byte("d/x"))
	if ok {
		t.Fatal("empty cache has d/x")
	}
	c.committedWrites(map[string][]byte{"d/x": []byte("new")}) // Commit lands during the read
	c.put("d/x", []byte("old"), gen)
	if v, ok, _ := c.get([]byte("d/x")); ok {
		t.Fatalf("cache kept %q read before the commit", v)
	}
	_, _, gen = c.get([]byte("d/x"))
	c.put("d/x", []byte("new"), gen)
	if v, ok, _ := c.get([]byte("d/x")); !ok || string(v) != "new" {
		t.Fatalf("cache has %q, %v; want new", v, ok)
	}
	c.committedWrites(map[string][]byte{"d/x": []byte("newer")})
	if v, ok, _ := c.get([]byte("d/x")); ok {
		t.Fatalf("cache kept %q after a block wrote the record", v)
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
