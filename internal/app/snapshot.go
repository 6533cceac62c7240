package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/iotledger/iotledger/internal/audit"
	"github.com/iotledger/iotledger/internal/snapshot"
	"github.com/iotledger/iotledger/internal/state"
)

// State sync (CometBFT's ListSnapshots, LoadSnapshotChunk, OfferSnapshot and
// ApplySnapshotChunk) with snapshots of the whole store (package snapshot).
//
// Taking: after Commit of every Interval-th block the app has a
// snapshot.Taker write its store out as chunks in the background, so a
// block never waits for it. While one is being written, the next due is
// skipped. The KeepRecent newest are kept.
//
// Restoring: OfferSnapshot accepts a snapshot whose metadata hashes to the
// advertised hash and names the app hash CometBFT's light client verified;
// it empties the store (a restore cut short earlier leaves keys behind).
// ApplySnapshotChunk checks each chunk's SHA-256 against the metadata (a
// mismatch is refetched from another peer and its sender rejected) and
// writes its records. After the last chunk the app does not take the
// store's word for anything: it audits the restored store from genesis
// (every leaf rehashed, every interior node checked, the state digest
// replayed block by block from the change records, every covered record
// compared) and accepts it only if the recomputed app hash of the snapshot's
// height is the verified one. Then it reloads its meta, log and caches, and
// Info reports the snapshot's height and app hash.

// SnapshotOptions turn snapshots on.
type SnapshotOptions struct {
	Store *snapshot.Store
	// Interval takes a snapshot after every Interval-th block; 0 takes
	// none (the node still restores from others' snapshots).
	Interval int64
	// KeepRecent is how many snapshots are kept (at least 1).
	KeepRecent int
	// ChainID and AppState are the genesis chain id and app_state: a
	// restored store is audited from them.
	ChainID  string
	AppState []byte
	// Log receives what snapshots do; nil means none.
	Log *slog.Logger
}

// snapshots is the app's snapshot state. The restore fields are touched
// only by CometBFT's snapshot connection, one call at a time.
type snapshots struct {
	opts  SnapshotOptions
	taker *snapshot.Taker // nil without a Store

	restore *restoring
}

// restoring is a snapshot being applied.
type restoring struct {
	md   *snapshot.Metadata
	next uint32 // the chunk expected next
	last []byte // the last key written
}

// SetSnapshots turns snapshots on. Call it before CometBFT starts.
func (a *App) SetSnapshots(o SnapshotOptions) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.KeepRecent < 1 {
		o.KeepRecent = 1
	}
	a.snap = &snapshots{opts: o}
	if o.Store != nil {
		a.snap.taker = snapshot.NewTaker(o.Store, o.KeepRecent, o.Log)
	}
}

// snapshotCommitted starts writing a snapshot of the store as Commit left
// it, when block m.Height is due one. Called by Commit, after its batch.
func (a *App) snapshotCommitted(m *state.Meta) {
	s := a.snap
	if s == nil || s.taker == nil || s.opts.Interval <= 0 || m.Height%s.opts.Interval != 0 {
		return
	}
	s.taker.Take(a.db, m.Height, m.AppHash, m.ChainID)
}

// stopSnapshots cancels a snapshot being written and waits for it: the
// store must not close under its Pebble snapshot.
func (a *App) stopSnapshots() {
	if a.snap != nil && a.snap.taker != nil {
		a.snap.taker.Close()
	}
}

// WaitSnapshots waits until no snapshot is being written (for tests and
// benchmarks that read the snapshot folder).
func (a *App) WaitSnapshots() {
	if a.snap != nil && a.snap.taker != nil {
		a.snap.taker.Wait()
	}
}

// ListSnapshots lists the stored snapshots, newest first.
func (a *App) ListSnapshots(context.Context, *abci.ListSnapshotsRequest) (*abci.ListSnapshotsResponse, error) {
	out := &abci.ListSnapshotsResponse{}
	if a.snap == nil || a.snap.opts.Store == nil {
		return out, nil
	}
	list, err := a.snap.opts.Store.List()
	if err != nil {
		a.snap.opts.Log.Error("list snapshots", "err", err)
		return out, nil
	}
	for _, in := range list {
		out.Snapshots = append(out.Snapshots, &abci.Snapshot{Height: uint64(in.Height), Format: in.Format, Chunks: in.Chunks, Hash: in.Hash, Metadata: in.Metadata})
	}
	return out, nil
}

// LoadSnapshotChunk serves a chunk of a stored snapshot; nothing (which
// CometBFT answers as missing) if it is gone, such as pruned meanwhile.
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.LoadSnapshotChunkRequest) (*abci.LoadSnapshotChunkResponse, error) {
	if a.snap == nil || a.snap.opts.Store == nil {
		return &abci.LoadSnapshotChunkResponse{}, nil
	}
	b, err := a.snap.opts.Store.Chunk(int64(req.Height), req.Format, req.Chunk)
	if err != nil {
		a.snap.opts.Log.Info("snapshot chunk not served", "height", req.Height, "chunk", req.Chunk, "err", err)
		return &abci.LoadSnapshotChunkResponse{}, nil
	}
	return &abci.LoadSnapshotChunkResponse{Chunk: b}, nil
}

// OfferSnapshot accepts a snapshot to restore from. appHash is the app
// hash after the snapshot's height that CometBFT's light client verified.
func (a *App) OfferSnapshot(_ context.Context, req *abci.OfferSnapshotRequest) (*abci.OfferSnapshotResponse, error) {
	reject := func(r abci.OfferSnapshotResult, why string, args ...any) (*abci.OfferSnapshotResponse, error) {
		if a.snap != nil {
			a.snap.opts.Log.Warn("snapshot refused: "+fmt.Sprintf(why, args...), "height", req.GetSnapshot().GetHeight())
		}
		return &abci.OfferSnapshotResponse{Result: r}, nil
	}
	s := a.snap
	if s == nil {
		return reject(abci.OFFER_SNAPSHOT_RESULT_ABORT, "this app was opened without snapshot options")
	}
	sn := req.Snapshot
	if sn == nil {
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT, "no snapshot in the offer")
	}
	if sn.Format != snapshot.Format {
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT_FORMAT, "format %d, this node reads format %d", sn.Format, snapshot.Format)
	}
	if h := a.Meta().Height; h > 0 {
		return reject(abci.OFFER_SNAPSHOT_RESULT_ABORT, "the app store already holds block %d; state sync needs an empty store (remove HOME/data to start over)", h)
	}
	if !bytes.Equal(snapshot.Hash(sn.Metadata), sn.Hash) {
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT, "metadata does not hash to the advertised snapshot hash")
	}
	md, err := snapshot.DecodeMetadata(sn.Metadata)
	if err != nil {
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT, "%v", err)
	}
	switch {
	case md.Height != int64(sn.Height) || len(md.Chunks) != int(sn.Chunks):
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT, "metadata says height %d in %d chunks, the offer %d in %d", md.Height, len(md.Chunks), sn.Height, sn.Chunks)
	case md.ChainID != s.opts.ChainID:
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT, "snapshot of chain %q, this is %q", md.ChainID, s.opts.ChainID)
	case !bytes.Equal(md.AppHash, req.AppHash):
		return reject(abci.OFFER_SNAPSHOT_RESULT_REJECT, "snapshot says app hash %X, the light client verified %X", md.AppHash, req.AppHash)
	}
	if err := a.wipe(); err != nil {
		return nil, err
	}
	s.restore = &restoring{md: md}
	s.opts.Log.Info("restoring snapshot", "height", md.Height, "chunks", len(md.Chunks), "keys", md.Keys, "bytes", md.Bytes)
	return &abci.OfferSnapshotResponse{Result: abci.OFFER_SNAPSHOT_RESULT_ACCEPT}, nil
}

// ApplySnapshotChunk checks a chunk against the accepted snapshot's
// metadata and writes its records; after the last, it audits the restored
// store (see above).
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.ApplySnapshotChunkRequest) (*abci.ApplySnapshotChunkResponse, error) {
	s := a.snap
	if s == nil || s.restore == nil {
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_ABORT}, nil
	}
	r := s.restore
	if req.Index != r.next {
		// CometBFT applies chunks in order; anything else is a restart
		// of the same snapshot.
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY_SNAPSHOT}, a.restartRestore()
	}
	if sum := sha256.Sum256(req.Chunk); !bytes.Equal(sum[:], r.md.Chunks[req.Index]) {
		s.opts.Log.Warn("snapshot chunk does not match its hash; fetching it again from another peer", "height", r.md.Height, "chunk", req.Index, "sender", req.Sender)
		resp := &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY, RefetchChunks: []uint32{req.Index}}
		if req.Sender != "" {
			resp.RejectSenders = []string{req.Sender}
		}
		return resp, nil
	}
	if err := a.applyChunk(r, req.Chunk); err != nil {
		// The chunk matches the metadata, so the snapshot itself is bad.
		s.opts.Log.Warn("snapshot refused", "height", r.md.Height, "chunk", req.Index, "err", err)
		s.restore = nil
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT}, a.wipe()
	}
	r.next++
	if int(r.next) < len(r.md.Chunks) {
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT}, nil
	}
	s.restore = nil
	if err := a.db.Flush(); err != nil {
		return nil, fmt.Errorf("app: restore: %w", err)
	}
	if err := a.finishRestore(r.md); err != nil {
		var bad *audit.BadSnapshotError
		if !errors.As(err, &bad) {
			return nil, err
		}
		s.opts.Log.Error("restored snapshot failed its audit; refusing it", "height", r.md.Height, "err", err)
		if err := a.reset(); err != nil {
			return nil, err
		}
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT}, nil
	}
	s.opts.Log.Info("snapshot restored and audited", "height", r.md.Height, "app_hash", hex.EncodeToString(r.md.AppHash), "log_size", a.log.Size())
	return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT}, nil
}

// restartRestore empties the store to apply the same snapshot again.
func (a *App) restartRestore() error {
	a.snap.restore.next, a.snap.restore.last = 0, nil
	return a.wipe()
}

// applyChunk writes a chunk's records, which must continue the key order.
func (a *App) applyChunk(r *restoring, chunk []byte) error {
	b := a.db.NewBatchWithSize(len(chunk) + 1024)
	defer b.Close()
	err := snapshot.Decode(chunk, func(k, v []byte) error {
		if r.last != nil && bytes.Compare(k, r.last) <= 0 {
			return fmt.Errorf("%w: key %q does not follow %q", snapshot.ErrMalformed, k, r.last)
		}
		r.last = append(r.last[:0], k...)
		return b.Set(k, v, nil)
	})
	if err != nil {
		return err
	}
	return b.Commit(pebble.NoSync)
}

// finishRestore loads the restored store and checks it (package audit); a
// *audit.BadSnapshotError means the snapshot is refused.
func (a *App) finishRestore(md *snapshot.Metadata) error {
	o := a.snap.opts
	g, err := ParseGenesis(o.AppState)
	if err != nil {
		return fmt.Errorf("app: restore: genesis: %w", err)
	}
	want := audit.Restore{Height: md.Height, AppHash: md.AppHash, ChainID: o.ChainID, Params: g.Params, Token: g.Token,
		GenesisDigest: state.GenesisDigest(o.ChainID, o.AppState)}
	m, err := audit.RestoredMeta(a.kv, want)
	if err != nil {
		return err
	}
	if err := a.log.Reload(); err != nil {
		return &audit.BadSnapshotError{Why: fmt.Sprintf("reading log: %v", err)}
	}
	a.mu.Lock()
	a.meta = m
	a.mu.Unlock()
	active, err := a.loadActive()
	if err != nil {
		return &audit.BadSnapshotError{Why: fmt.Sprintf("contracts: %v", err)}
	}
	a.mu.Lock()
	a.active = active
	a.genesisBalances = nil
	a.mu.Unlock()
	a.kv.Reset()
	a.dropQuiet()
	return audit.Restored(context.Background(), a.reader, want)
}

// reset empties the store and the app's state after a refused restore.
func (a *App) reset() error {
	if err := a.wipe(); err != nil {
		return err
	}
	if err := a.log.Reload(); err != nil {
		return err
	}
	a.mu.Lock()
	a.meta, a.active = state.Meta{}, nil
	a.mu.Unlock()
	a.kv.Reset()
	a.dropQuiet()
	return nil
}

// wipe deletes every key of the store.
func (a *App) wipe() error {
	it, err := a.db.NewIter(nil)
	if err != nil {
		return err
	}
	var upper []byte
	if it.Last() {
		upper = append(bytes.Clone(it.Key()), 0)
	}
	if err := it.Close(); err != nil {
		return err
	}
	if upper == nil {
		return nil
	}
	if err := a.db.DeleteRange([]byte{0}, upper, pebble.Sync); err != nil {
		return fmt.Errorf("app: empty the store for a restore: %w", err)
	}
	return nil
}

// SnapshotSummary is one stored snapshot, as the "/snapshots" query lists it.
type SnapshotSummary struct {
	Height int64  `json:"height"`
	Format uint32 `json:"format"`
	Chunks uint32 `json:"chunks"`
	Hash   string `json:"hash"`
	Bytes  uint64 `json:"bytes"`
}

// snapshotsQuery answers the ABCI query "/snapshots": the stored
// snapshots, newest first, as JSON. A node that joins by state sync picks
// its trusted height from it.
func (a *App) snapshotsQuery() (*abci.QueryResponse, error) {
	out := []SnapshotSummary{}
	if a.snap != nil && a.snap.opts.Store != nil {
		list, err := a.snap.opts.Store.List()
		if err != nil {
			return nil, err
		}
		for _, in := range list {
			out = append(out, SnapshotSummary{Height: in.Height, Format: in.Format, Chunks: in.Chunks, Hash: hex.EncodeToString(in.Hash), Bytes: in.Bytes})
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &abci.QueryResponse{Value: b, Height: a.Meta().Height}, nil
}
