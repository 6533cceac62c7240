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
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/iotledger/iotledger/internal/snapshot"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

// State sync (CometBFT's ListSnapshots, LoadSnapshotChunk, OfferSnapshot and
// ApplySnapshotChunk) with snapshots of the whole store (package snapshot).
//
// Taking: after Commit of every Interval-th block the app takes a Pebble
// snapshot of its store (cheap: no copy) and a background goroutine writes
// it out as chunks, so a block never waits for it. While one is being
// written, the next due is skipped. The KeepRecent newest are kept.
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
	opts   SnapshotOptions
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the writing goroutine
	busy   atomic.Bool    // a snapshot is being written

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
	ctx, cancel := context.WithCancel(context.Background())
	a.snap = &snapshots{opts: o, ctx: ctx, cancel: cancel}
}

// snapshotCommitted starts writing a snapshot of the store as Commit left
// it, when block m.Height is due one. Called by Commit, after its batch.
func (a *App) snapshotCommitted(m *state.Meta) {
	s := a.snap
	if s == nil || s.opts.Store == nil || s.opts.Interval <= 0 || m.Height%s.opts.Interval != 0 {
		return
	}
	if !s.busy.CompareAndSwap(false, true) {
		s.opts.Log.Warn("snapshot skipped: the previous one is still being written; raise [snapshots] interval", "height", m.Height)
		return
	}
	ps := a.db.NewSnapshot()
	height, appHash, chainID := m.Height, bytes.Clone(m.AppHash), m.ChainID
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.busy.Store(false)
		defer ps.Close()
		it, err := ps.NewIter(nil)
		if err != nil {
			s.opts.Log.Error("snapshot failed", "height", height, "err", err)
			return
		}
		info, err := s.opts.Store.Create(s.ctx, height, appHash, chainID, it)
		if cerr := it.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				s.opts.Log.Error("snapshot failed", "height", height, "err", err)
			}
			return
		}
		s.opts.Log.Info("snapshot taken", "height", height, "chunks", info.Chunks, "keys", info.Keys, "bytes", info.Bytes, "took", info.Took.String())
		if err := s.opts.Store.Prune(s.opts.KeepRecent); err != nil {
			s.opts.Log.Error("snapshot prune failed", "err", err)
		}
	}()
}

// stopSnapshots cancels a snapshot being written and waits for it: the
// store must not close under its Pebble snapshot.
func (a *App) stopSnapshots() {
	if a.snap != nil {
		a.snap.cancel()
		a.snap.wg.Wait()
	}
}

// WaitSnapshots waits until no snapshot is being written (for tests and
// benchmarks that read the snapshot folder).
func (a *App) WaitSnapshots() {
	if a.snap != nil {
		a.snap.wg.Wait()
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
		var bad *badSnapshot
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

// badSnapshot is a restored store that failed its audit.
type badSnapshot struct{ why string }

func (e *badSnapshot) Error() string { return "app: restored snapshot: " + e.why }

func bad(format string, args ...any) error { return &badSnapshot{why: fmt.Sprintf(format, args...)} }

// finishRestore loads the restored store and audits it from genesis; a
// *badSnapshot error means the snapshot is refused.
func (a *App) finishRestore(md *snapshot.Metadata) error {
	o := a.snap.opts
	raw, err := a.kv.Stored([]byte(state.KeyMeta))
	if err != nil {
		return fmt.Errorf("app: restore: %w", err)
	}
	if raw == nil {
		return bad("no meta record")
	}
	var m state.Meta
	if err := reading.DecMode.Unmarshal(raw, &m); err != nil {
		return bad("meta record: %v", err)
	}
	g, err := ParseGenesis(o.AppState)
	if err != nil {
		return fmt.Errorf("app: restore: genesis: %w", err)
	}
	switch {
	case m.Height != md.Height:
		return bad("meta record says height %d, the snapshot %d", m.Height, md.Height)
	case m.ChainID != o.ChainID:
		return bad("meta record says chain %q, genesis %q", m.ChainID, o.ChainID)
	case !bytes.Equal(m.AppHash, md.AppHash):
		return bad("meta record says app hash %X, the verified one is %X", m.AppHash, md.AppHash)
	case m.Params != g.Params:
		return bad("meta record's params differ from genesis")
	case m.TokenName() != g.Token:
		return bad("meta record's token %q differs from genesis %q", m.TokenName(), g.Token)
	}
	if err := a.log.Reload(); err != nil {
		return bad("reading log: %v", err)
	}
	a.mu.Lock()
	a.meta = m
	a.mu.Unlock()
	active, err := a.loadActive()
	if err != nil {
		return bad("contracts: %v", err)
	}
	a.mu.Lock()
	a.active = active
	a.genesisBalances = nil
	a.mu.Unlock()
	a.kv.Reset()
	a.dropQuiet()

	rep, err := a.Audit(context.Background(), state.GenesisDigest(o.ChainID, o.AppState), func(int64) ([]byte, bool, error) { return nil, false, nil })
	if err != nil {
		return bad("audit: %v", err)
	}
	if len(rep.Findings) > 0 {
		return bad("audit: %d findings, the first: %s", len(rep.Findings), rep.Findings[0])
	}
	last, err := a.reader.Block(m.Height)
	if err != nil || last == nil {
		return bad("no record of block %d (%v)", m.Height, err)
	}
	if got := receipt.AppHash(a.log.Size(), a.log.Root(), m.Digest); !bytes.Equal(got, md.AppHash) || !bytes.Equal(last.AppHash, md.AppHash) {
		return bad("recomputed app hash %X, block record %X, verified %X", got, last.AppHash, md.AppHash)
	}
	return a.verifyDerived(m.Height)
}

// discardKV is a state.KV that holds nothing: verifyDerived replays
// state.Record for the progress it computes, not for the writes.
type discardKV struct{}

func (discardKV) Get([]byte) ([]byte, error) { return nil, nil }
func (discardKV) Set(_, _ []byte)            {}

// verifyDerived checks the records that the app hash does not cover but
// block execution reads, against the log it does cover: it replays every
// leaf, in order, into the (device, seq) index entry and the device's
// progress that block execution would have written, and compares them with
// the restored ones (every index entry is one leaf's, and there are as
// many as leaves; every progress record is the replayed one, its rate
// limit bucket aside, which depends on block times only). A forged entry
// would make this node answer duplicates, or gaps, that the others do not.
func (a *App) verifyDerived(height int64) error {
	type bound struct {
		height int64
		size   uint64
	}
	var bounds []bound
	for h := int64(1); h <= height; h++ {
		b, err := a.reader.Block(h)
		if err != nil || b == nil {
			return bad("no record of block %d (%v)", h, err)
		}
		if len(bounds) == 0 || b.LogSize > bounds[len(bounds)-1].size {
			bounds = append(bounds, bound{h, b.LogSize})
		}
	}
	size := a.log.Size()
	progress := map[string]*state.Progress{}
	kv := a.committed()
	bi := 0
	for i := uint64(0); i < size; i++ {
		for bi < len(bounds) && bounds[bi].size <= i {
			bi++
		}
		if bi == len(bounds) {
			return bad("log leaf %d lies past the last block's log size", i)
		}
		leaf, err := a.log.Leaf(i)
		if err != nil {
			return bad("log leaf %d: %v", i, err)
		}
		_, raw, err := state.SplitLeaf(leaf)
		if err != nil {
			return bad("log leaf %d: %v", i, err)
		}
		s, err := reading.Decode(raw)
		if err != nil {
			return bad("log leaf %d: %v", i, err)
		}
		want := state.SeqEntry{Index: i, Height: bounds[bi].height, Time: s.Time}
		got, err := state.GetSeq(kv, s.Device, s.Seq)
		if err != nil {
			return bad("index entry of %s seq %d: %v", s.Device, s.Seq, err)
		}
		if got == nil || *got != want {
			return bad("index entry of %s seq %d is %+v; the log says %+v", s.Device, s.Seq, got, want)
		}
		p := progress[s.Device]
		if p == nil {
			p = &state.Progress{}
			progress[s.Device] = p
		}
		state.Record(discardKV{}, s.Device, s.Seq, want, p)
	}
	entries, err := a.countPrefix(state.PrefixSeq)
	if err != nil {
		return err
	}
	if entries != size {
		return bad("%d (device, seq) index entries for %d log leaves", entries, size)
	}
	seen := 0
	err = a.kv.Each(state.PrefixProgress, func(k, v []byte) error {
		id := string(k[len(state.PrefixProgress):])
		got, err := state.GetProgress(kv, id)
		if err != nil {
			return bad("progress of %s: %v", id, err)
		}
		want := progress[id]
		if want == nil {
			if got.Count == 0 { // its rate limit bucket only: every reading refused
				return nil
			}
			return bad("progress of %s counts %d readings; the log has none", id, got.Count)
		}
		if got.Count != want.Count || got.MinSeq != want.MinSeq || got.MaxSeq != want.MaxSeq || got.LastHeight != want.LastHeight ||
			got.GapsTruncated != want.GapsTruncated || !slices.Equal(got.Gaps, want.Gaps) {
			return bad("progress of %s is count %d, seq %d-%d, gaps %v; the log says count %d, seq %d-%d, gaps %v",
				id, got.Count, got.MinSeq, got.MaxSeq, got.Gaps, want.Count, want.MinSeq, want.MaxSeq, want.Gaps)
		}
		seen++
		return nil
	})
	if err != nil {
		return err
	}
	if seen != len(progress) {
		return bad("%d devices have readings in the log, %d progress records", len(progress), seen)
	}
	return nil
}

func (a *App) countPrefix(prefix string) (uint64, error) {
	var n uint64
	err := a.kv.Each(prefix, func(_, _ []byte) error { n++; return nil })
	return n, err
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
