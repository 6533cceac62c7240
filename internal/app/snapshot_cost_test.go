package app_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/snapshot"
	"github.com/iotledger/iotledger/tx"
)

// TestSnapshotCost measures what a snapshot costs on a store of N readings
// (IOTLEDGER_SNAPSHOT_COST=N; not run otherwise, it takes a while): the
// time to write it, and on a fresh app the time to apply its chunks and to
// audit the restored store. It is a measurement for BENCHMARKS.md, not a
// check, though it fails if the restore does not reach the same app hash.
func TestSnapshotCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("IOTLEDGER_SNAPSHOT_COST"))
	if n <= 0 {
		t.Skip("a measurement: set IOTLEDGER_SNAPSHOT_COST=N readings to run it")
	}
	c := newChain(t)
	// 150 devices (key seeds 100 to 249), each well within its rate limit
	// at 2,000 readings a block.
	const devices, perBlock = 150, 2000
	var regs [][]byte
	for i := range devices {
		regs = append(regs, c.registerTx(alice, key(byte(100+i)), uint64(i)))
	}
	c.mustOK(regs...)
	seqs := make([]uint64, devices)
	began := time.Now()
	for sent := 0; sent < n; sent += perBlock {
		var raws [][]byte
		for j := range perBlock {
			d := j % devices
			seqs[d]++
			raws = append(raws, c.reading(key(byte(100+d)), "", seqs[d], c.nowMs()))
		}
		c.block(tx.NewBatch(raws))
	}
	t.Logf("built a chain of %d blocks and %d readings in %v", c.height, c.app.Log().Size(), time.Since(began).Round(time.Millisecond))

	store, err := snapshot.Open(filepath.Join(t.TempDir(), "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	c.app.SetSnapshots(app.SnapshotOptions{Store: store, Interval: c.height + 1, KeepRecent: 1, ChainID: c.chainID, AppState: c.genesis})
	began = time.Now()
	c.mustOK()
	c.app.WaitSnapshots()
	took := time.Since(began)
	s := onlySnapshot(t, c.app)
	md, _ := snapshot.DecodeMetadata(s.Metadata)
	t.Logf("snapshot of block %d: %d chunks, %d keys, %.1f MiB, written in %v (%.2f µs a reading)", s.Height, s.Chunks, md.Keys, float64(md.Bytes)/(1<<20), took.Round(time.Millisecond), float64(took.Microseconds())/float64(n))

	a, _ := freshApp(t, c)
	if r := offer(t, a, s, c.appHashes[c.height]); r != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
		t.Fatalf("offer: %v", r)
	}
	began = time.Now()
	for i := range s.Chunks {
		chunk, err := store.Chunk(int64(s.Height), s.Format, i)
		if err != nil {
			t.Fatal(err)
		}
		if r := apply(t, a, i, chunk, "p"); r.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
			t.Fatalf("chunk %d: %v", i, r.Result)
		}
	}
	took = time.Since(began)
	info, _ := a.Info(t.Context(), &abci.InfoRequest{})
	if info.LastBlockHeight != c.height {
		t.Fatalf("restored to height %d, want %d", info.LastBlockHeight, c.height)
	}
	t.Logf("restore: %d chunks applied and the store audited from genesis in %v (%.2f µs a reading)", s.Chunks, took.Round(time.Millisecond), float64(took.Microseconds())/float64(n))
}
