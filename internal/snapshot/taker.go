package snapshot

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// Taker writes snapshots of a Pebble store into a Store in the background,
// one at a time, so that the block whose state a snapshot copies never
// waits for it: a snapshot asked for while one is being written is skipped
// (and logged). After each, all but the newest keepRecent are pruned. Its
// goroutine is joined by Close.
type Taker struct {
	store  *Store
	keep   int
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the writing goroutine
	busy   atomic.Bool    // a snapshot is being written
}

// NewTaker returns a Taker that writes into store and keeps the newest
// keepRecent snapshots (at least 1); log receives what it does (nil: none).
func NewTaker(store *Store, keepRecent int, log *slog.Logger) *Taker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Taker{store: store, keep: max(keepRecent, 1), log: log, ctx: ctx, cancel: cancel}
}

// Take starts writing a snapshot of db as it is now: the state right after
// block height of chain chainID, whose app hash is appHash. It takes a
// Pebble snapshot (cheap: no copy) and returns at once.
func (t *Taker) Take(db *pebble.DB, height int64, appHash []byte, chainID string) {
	if !t.busy.CompareAndSwap(false, true) {
		t.log.Warn("snapshot skipped: the previous one is still being written; raise [snapshots] interval", "height", height)
		return
	}
	ps := db.NewSnapshot()
	appHash = bytes.Clone(appHash)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer t.busy.Store(false)
		defer ps.Close()
		it, err := ps.NewIter(nil)
		if err != nil {
			t.log.Error("snapshot failed", "height", height, "err", err)
			return
		}
		info, err := t.store.Create(t.ctx, height, appHash, chainID, it)
		if cerr := it.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.log.Error("snapshot failed", "height", height, "err", err)
			}
			return
		}
		t.log.Info("snapshot taken", "height", height, "chunks", info.Chunks, "keys", info.Keys, "bytes", info.Bytes, "took", info.Took.String())
		if err := t.store.Prune(t.keep); err != nil {
			t.log.Error("snapshot prune failed", "err", err)
		}
	}()
}

// Wait waits until no snapshot is being written.
func (t *Taker) Wait() { t.wg.Wait() }

// Close cancels a snapshot being written and waits for it: the store must
// not close under its Pebble snapshot.
func (t *Taker) Close() {
	t.cancel()
	t.wg.Wait()
}
