package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/audit"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/snapshot"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

// snapshotChain is a chain with readings, devices (one rotated, one
// revoked), accounts and payments, a twin and a contract with events, and a
// snapshot store cutting small chunks, so a snapshot has several.
func snapshotChain(t *testing.T) (*testChain, *snapshot.Store) {
	t.Helper()
	c := payChain(t)
	c.mustOK()
	for _, txs := range scriptBlocks(c) {
		c.block(txs...)
	}
	id := c.deploy(alice, penaltyDoc(accountID(bob)), 250)
	c.mustOK(c.transferTx(alice, tx.Transfer{To: accountID(carol), Amount: 7, Memo: "snapshot"}))
	dev := c.register(alice, key(30))
	c.mustOK(c.twinTx(alice, tx.TypeSetDesired, tx.TwinPatch{Device: dev, Set: map[string]any{"firmware": "1.3.0"}}))
	var raws [][]byte
	for seq := uint64(1); seq <= 300; seq++ {
		raws = append(raws, c.tempReading(key(30), seq, float64(seq%20)))
	}
	c.send(raws...)
	c.mustOK(c.callTx(bob, id, "deliver", map[string]string{"note": "ok"}))

	store, err := snapshot.Open(filepath.Join(t.TempDir(), "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	store.ChunkSize = 16 << 10
	c.app.SetSnapshots(app.SnapshotOptions{Store: store, Interval: c.height + 1, KeepRecent: 2, ChainID: c.chainID, AppState: c.genesis})
	c.mustOK() // the block that takes the snapshot
	c.app.WaitSnapshots()
	return c, store
}

// freshApp opens an empty app set up to restore the chain of c, on a store
// with the node's block cache (256 MiB, internal/node/pebblelog.go).
func freshApp(t *testing.T, c *testChain) (*app.App, *pebble.DB) {
	t.Helper()
	cache := pebble.NewCache(256 << 20)
	defer cache.Unref()
	db, err := pebble.Open(t.TempDir(), &pebble.Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a, err := app.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetSnapshots(app.SnapshotOptions{ChainID: c.chainID, AppState: c.genesis})
	t.Cleanup(a.Close)
	return a, db
}

func onlySnapshot(t *testing.T, a *app.App) *abci.Snapshot {
	t.Helper()
	l, err := a.ListSnapshots(t.Context(), &abci.ListSnapshotsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Snapshots) != 1 {
		t.Fatalf("%d snapshots listed, want 1", len(l.Snapshots))
	}
	return l.Snapshots[0]
}

func chunks(t *testing.T, a *app.App, s *abci.Snapshot) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range s.Chunks {
		r, err := a.LoadSnapshotChunk(t.Context(), &abci.LoadSnapshotChunkRequest{Height: s.Height, Format: s.Format, Chunk: i})
		if err != nil || len(r.Chunk) == 0 {
			t.Fatalf("chunk %d: %d bytes, %v", i, len(r.Chunk), err)
		}
		out = append(out, r.Chunk)
	}
	return out
}

func offer(t *testing.T, a *app.App, s *abci.Snapshot, appHash []byte) abci.OfferSnapshotResult {
	t.Helper()
	r, err := a.OfferSnapshot(t.Context(), &abci.OfferSnapshotRequest{Snapshot: s, AppHash: appHash})
	if err != nil {
		t.Fatal(err)
	}
	return r.Result
}

func apply(t *testing.T, a *app.App, i uint32, chunk []byte, sender string) *abci.ApplySnapshotChunkResponse {
	t.Helper()
	r, err := a.ApplySnapshotChunk(t.Context(), &abci.ApplySnapshotChunkRequest{Index: i, Chunk: chunk, Sender: sender})
	if err != nil {
		t.Fatalf("ApplySnapshotChunk %d: %v", i, err)
	}
	return r
}

// allKeys reads every key and value of db.
func allKeys(t *testing.T, db *pebble.DB) map[string]string {
	t.Helper()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[string]string{}
	for ok := it.First(); ok; ok = it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	return out
}

func TestSnapshotRestore(t *testing.T) {
	c, _ := snapshotChain(t)
	s := onlySnapshot(t, c.app)
	if s.Height != uint64(c.height) || s.Format != snapshot.Format || s.Chunks < 3 {
		t.Fatalf("snapshot at height %d, format %d, %d chunks; want height %d, format %d, several chunks", s.Height, s.Format, s.Chunks, c.height, snapshot.Format)
	}
	cs := chunks(t, c.app, s)
	want := c.appHashes[c.height]

	a, db := freshApp(t, c)
	if r := offer(t, a, s, want); r != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
		t.Fatalf("offer: %v, want ACCEPT", r)
	}
	// A chunk changed in transit is refetched, and its sender refused.
	bad := bytes.Clone(cs[1])
	bad[len(bad)/2] ^= 1
	apply(t, a, 0, cs[0], "peer-a")
	r := apply(t, a, 1, bad, "peer-b")
	if r.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY || !cmp.Equal(r.RefetchChunks, []uint32{1}) || !cmp.Equal(r.RejectSenders, []string{"peer-b"}) {
		t.Fatalf("corrupted chunk: %v, refetch %v, reject %v; want RETRY, [1], [peer-b]", r.Result, r.RefetchChunks, r.RejectSenders)
	}
	for i := 1; i < len(cs); i++ {
		if r := apply(t, a, uint32(i), cs[i], "peer-a"); r.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
			t.Fatalf("chunk %d: %v", i, r.Result)
		}
	}

	info, err := a.Info(t.Context(), &abci.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != c.height || !bytes.Equal(info.LastBlockAppHash, want) {
		t.Fatalf("Info after restore: height %d, app hash %x; want %d, %x", info.LastBlockHeight, info.LastBlockAppHash, c.height, want)
	}
	if d := cmp.Diff(allKeys(t, db), allKeys(t, c.db)); d != "" {
		t.Fatalf("restored store differs from the original (-restored +original):\n%s", d)
	}
	if got, want := a.Log().Size(), c.app.Log().Size(); got != want {
		t.Errorf("log size %d, want %d", got, want)
	}
	rep, err := audit.Full(t.Context(), a.Reader(), state.GenesisDigest(c.chainID, c.genesis), c.headers())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) > 0 || rep.Blocks != c.height {
		t.Errorf("audit of the restored store: %d blocks, findings %v", rep.Blocks, rep.Findings)
	}
	if p, err := a.Reader().Proof(deviceID(key(30)), 300); err != nil || p == nil {
		t.Errorf("proof of a restored reading: %v, %v", p, err)
	}

	// The restored app continues the chain as the original does: same
	// results and app hash for the next block, which reads devices,
	// sequence numbers, accounts and the contract.
	next := [][]byte{
		tx.NewBatch([][]byte{c.tempReading(key(30), 300, 9), c.tempReading(key(30), 301, 9)}),
		c.transferTx(alice, tx.Transfer{To: accountID(bob), Amount: 1}),
	}
	req := &abci.FinalizeBlockRequest{Height: c.height + 1, Time: c.blockTime(), Txs: next}
	got, err := a.FinalizeBlock(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(t.Context(), &abci.CommitRequest{}); err != nil {
		t.Fatal(err)
	}
	orig := c.finalize(next...)
	if d := cmp.Diff(got.TxResults, orig.TxResults); d != "" {
		t.Errorf("next block's results differ (-restored +original):\n%s", d)
	}
	if !bytes.Equal(got.AppHash, orig.AppHash) {
		t.Errorf("next block's app hash %x, the original's %x", got.AppHash, orig.AppHash)
	}
	// Seq 300 again, with other data: the restored node knows the number
	// and the original's bytes, which it compares.
	if o := got.TxResults[0]; !strings.Contains(o.Log, "seq_reused=1") {
		t.Errorf("seq 300 again, other data, after restore: %q, want seq_reused", o.Log)
	}
}

func TestSnapshotOfferRefusals(t *testing.T) {
	c, _ := snapshotChain(t)
	s := onlySnapshot(t, c.app)
	want := c.appHashes[c.height]
	other := func(f func(*abci.Snapshot)) *abci.Snapshot {
		cp := *s
		f(&cp)
		return &cp
	}
	tests := []struct {
		name    string
		s       *abci.Snapshot
		appHash []byte
		want    abci.OfferSnapshotResult
	}{
		{"app hash not the verified one", s, bytes.Repeat([]byte{7}, 32), abci.OFFER_SNAPSHOT_RESULT_REJECT},
		{"metadata not the advertised hash", other(func(s *abci.Snapshot) { s.Hash = bytes.Repeat([]byte{1}, 32) }), want, abci.OFFER_SNAPSHOT_RESULT_REJECT},
		{"unknown format", other(func(s *abci.Snapshot) { s.Format = 9 }), want, abci.OFFER_SNAPSHOT_RESULT_REJECT_FORMAT},
		{"chunk count not the metadata's", other(func(s *abci.Snapshot) { s.Chunks++ }), want, abci.OFFER_SNAPSHOT_RESULT_REJECT},
		{"height not the metadata's", other(func(s *abci.Snapshot) { s.Height-- }), want, abci.OFFER_SNAPSHOT_RESULT_REJECT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := freshApp(t, c)
			if got := offer(t, a, tt.s, tt.appHash); got != tt.want {
				t.Errorf("offer: %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("app with a store", func(t *testing.T) {
		if got := offer(t, c.app, s, want); got != abci.OFFER_SNAPSHOT_RESULT_ABORT {
			t.Errorf("offer to an app with blocks: %v, want ABORT", got)
		}
	})
}

// TestSnapshotForgedContent: a peer that builds a self-consistent snapshot
// (chunk hashes and snapshot hash recomputed) around a changed record, and
// names the right app hash, is found after the last chunk: a changed
// balance by the audit (the app hash covers it), a changed (device, seq)
// index entry by the replay of the log (the app hash does not cover it).
func TestSnapshotForgedContent(t *testing.T) {
	c, _ := snapshotChain(t)
	s := onlySnapshot(t, c.app)
	tests := []struct {
		name   string
		key    []byte
		change func(t *testing.T, v []byte) []byte
	}{
		{"an account's balance", state.AccountKey(accountID(alice)), func(t *testing.T, v []byte) []byte {
			var acct state.Account
			if err := dcbor.DecMode.Unmarshal(v, &acct); err != nil {
				t.Fatal(err)
			}
			acct.Balance += 1000
			b, err := dcbor.EncMode.Marshal(&acct)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"a (device, seq) index entry", state.SeqKey(deviceID(key(30)), 7), func(t *testing.T, v []byte) []byte {
			var e state.SeqEntry
			if err := dcbor.DecMode.Unmarshal(v, &e); err != nil {
				t.Fatal(err)
			}
			e.Index++
			b, err := dcbor.EncMode.Marshal(&e)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := chunks(t, c.app, s)
			md, err := snapshot.DecodeMetadata(s.Metadata)
			if err != nil {
				t.Fatal(err)
			}
			forged := false
			for i, ch := range cs {
				var out []byte
				err := snapshot.Decode(ch, func(k, v []byte) error {
					if bytes.Equal(k, tt.key) {
						v, forged = tt.change(t, v), true
					}
					out = binary.AppendUvarint(out, uint64(len(k)))
					out = append(out, k...)
					out = binary.AppendUvarint(out, uint64(len(v)))
					out = append(out, v...)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				cs[i] = out
				h := sha256.Sum256(out)
				md.Chunks[i] = h[:]
			}
			if !forged {
				t.Fatalf("no record %q in the snapshot", tt.key)
			}
			meta := md.Encode()
			fs := &abci.Snapshot{Height: s.Height, Format: s.Format, Chunks: s.Chunks, Metadata: meta, Hash: snapshot.Hash(meta)}

			a, _ := freshApp(t, c)
			if r := offer(t, a, fs, c.appHashes[c.height]); r != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
				t.Fatalf("offer: %v", r)
			}
			var last *abci.ApplySnapshotChunkResponse
			for i, ch := range cs {
				last = apply(t, a, uint32(i), ch, "liar")
			}
			if last.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT {
				t.Fatalf("last chunk of a forged snapshot: %v, want REJECT_SNAPSHOT", last.Result)
			}
			info, _ := a.Info(t.Context(), &abci.InfoRequest{})
			if info.LastBlockHeight != 0 || a.Log().Size() != 0 {
				t.Errorf("after refusing: Info height %d, log size %d; want an empty app", info.LastBlockHeight, a.Log().Size())
			}
			// The genuine snapshot is then accepted by the same app.
			if r := offer(t, a, s, c.appHashes[c.height]); r != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
				t.Fatalf("offer of the genuine snapshot: %v", r)
			}
			for i, ch := range chunks(t, c.app, s) {
				last = apply(t, a, uint32(i), ch, "honest")
			}
			if info, _ := a.Info(t.Context(), &abci.InfoRequest{}); last.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT || info.LastBlockHeight != c.height {
				t.Errorf("genuine snapshot after a forged one: %v, height %d", last.Result, info.LastBlockHeight)
			}
		})
	}
}

func TestSnapshotsKeepRecent(t *testing.T) {
	c := newChain(t)
	store, err := snapshot.Open(filepath.Join(t.TempDir(), "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	c.app.SetSnapshots(app.SnapshotOptions{Store: store, Interval: 2, KeepRecent: 2, ChainID: c.chainID, AppState: c.genesis})
	for range 7 {
		c.mustOK()
		c.app.WaitSnapshots()
	}
	list, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	var heights []int64
	for _, in := range list {
		heights = append(heights, in.Height)
	}
	if d := cmp.Diff(heights, []int64{6, 4}); d != "" {
		t.Errorf("kept snapshots (-got +want):\n%s", d)
	}
}
