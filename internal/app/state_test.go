package app_test

import (
	"bytes"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/tx"
)

// scriptBlocks builds a fixed run of blocks that touches every kind of state
// change: registrations, readings (accepted, duplicate, late, rejected),
// rotation, revocation and an empty block. The txs are fixed bytes, so any
// chain with testChainID can be fed them.
func scriptBlocks(c *testChain) [][][]byte {
	id := deviceID(sensor)
	t0 := genesisTime.UnixMilli()
	return [][][]byte{
		{c.registerTx(alice, sensor, 0), c.registerTx(bob, meter, 0)},
		{tx.NewBatch([][]byte{c.reading(sensor, "", 1, t0), c.reading(sensor, "", 2, t0), c.reading(meter, "", 1, t0), []byte("garbage")})},
		{},
		{tx.NewBatch([][]byte{c.reading(sensor, "", 5, t0), c.reading(sensor, "", 2, t0)}), c.rotateTx(alice, id, spare, 1)},
		{tx.NewBatch([][]byte{c.reading(spare, id, 3, t0), c.reading(sensor, id, 4, t0)}), c.revokeTx(bob, deviceID(meter), 1)},
	}
}

func TestAppHashIsDeterministic(t *testing.T) {
	a, b := newChain(t), newChain(t)
	if !bytes.Equal(a.appHashes[0], b.appHashes[0]) {
		t.Fatalf("InitChain app hashes differ: %x, %x", a.appHashes[0], b.appHashes[0])
	}
	seen := map[string]int64{string(a.appHashes[0]): 0}
	for i, txs := range scriptBlocks(a) {
		ra, rb := a.block(txs...), b.block(txs...)
		h := int64(i + 1)
		if !bytes.Equal(ra.AppHash, rb.AppHash) {
			t.Errorf("block %d: app hashes differ: %x, %x", h, ra.AppHash, rb.AppHash)
		}
		if diff := cmp.Diff(ra.TxResults, rb.TxResults); diff != "" {
			t.Errorf("block %d: tx results differ (-a +b):\n%s", h, diff)
		}
		// Only the empty block (3) leaves the state, and so the hash, as it was.
		prev, ok := seen[string(ra.AppHash)]
		if empty := len(txs) == 0; ok != empty {
			t.Errorf("block %d (%d txs): app hash equals that of block %d: %v", h, len(txs), prev, ok)
		}
		seen[string(ra.AppHash)] = h
	}
	ia, _ := a.app.Info(t.Context(), &abci.InfoRequest{})
	ib, _ := b.app.Info(t.Context(), &abci.InfoRequest{})
	if diff := cmp.Diff(ia, ib); diff != "" {
		t.Errorf("Info differs (-a +b):\n%s", diff)
	}
}

func TestReopenContinues(t *testing.T) {
	a, b := newChain(t), newChain(t)
	blocks := scriptBlocks(a)
	for _, txs := range blocks[:3] {
		a.block(txs...)
		b.block(txs...)
	}
	a.reopen()
	info, err := a.app.Info(t.Context(), &abci.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != 3 || !bytes.Equal(info.LastBlockAppHash, a.appHashes[3]) {
		t.Fatalf("Info after reopen: height %d hash %x; want 3, %x", info.LastBlockHeight, info.LastBlockAppHash, a.appHashes[3])
	}
	for _, txs := range blocks[3:] {
		ra, rb := a.block(txs...), b.block(txs...)
		if !bytes.Equal(ra.AppHash, rb.AppHash) {
			t.Errorf("block %d: reopened app hash %x, never-closed app %x", a.height, ra.AppHash, rb.AppHash)
		}
		if diff := cmp.Diff(ra.TxResults, rb.TxResults); diff != "" {
			t.Errorf("block %d: tx results differ (-reopened +never closed):\n%s", a.height, diff)
		}
	}
}

func TestFinalizeWithoutCommitLeavesNoTrace(t *testing.T) {
	c := newChain(t)
	blocks := scriptBlocks(c)
	c.block(blocks[0]...)
	c.block(blocks[1]...)
	size := c.app.Log().Size()

	// Block 3 registers a device and appends readings, then the node stops
	// before Commit.
	third := [][]byte{c.registerTx(alice, spare, 1), tx.NewBatch([][]byte{c.reading(sensor, "", 9, c.nowMs())})}
	uncommitted := c.finalize(third...)
	c.reopen()

	info, err := c.app.Info(t.Context(), &abci.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != 2 || !bytes.Equal(info.LastBlockAppHash, c.appHashes[2]) {
		t.Errorf("Info: height %d hash %x; want 2, %x", info.LastBlockHeight, info.LastBlockAppHash, c.appHashes[2])
	}
	if d, err := c.app.Reader().Device(deviceID(spare)); err != nil || d != nil {
		t.Errorf("device of the uncommitted block: %+v, %v; want none", d, err)
	}
	if r, err := c.app.Reader().Reading(deviceID(sensor), 9); err != nil || r != nil {
		t.Errorf("reading of the uncommitted block: %+v, %v; want none", r, err)
	}
	if got := c.app.Log().Size(); got != size {
		t.Errorf("log size %d, want %d", got, size)
	}
	if got := c.nonce(alice); got != 1 {
		t.Errorf("alice's nonce %d, want 1", got)
	}
	// CometBFT replays the block: the same result again.
	replayed := c.block(third...)
	if !bytes.Equal(replayed.AppHash, uncommitted.AppHash) {
		t.Errorf("replayed block 3 app hash %x, first run %x", replayed.AppHash, uncommitted.AppHash)
	}
}

func TestCommitWithoutFinalizeIsAnError(t *testing.T) {
	c := newChain(t)
	if _, err := c.app.Commit(t.Context(), &abci.CommitRequest{}); err == nil {
		t.Error("Commit without FinalizeBlock: no error")
	}
}
