package node

import (
	"fmt"
	"log/slog"

	pebblev1 "github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
)

// pebbleLogger sends Pebble's messages to slog: its routine WAL-replay
// notes at debug level, errors as errors. It serves both Pebble versions
// (ours, and the one inside cometbft-db).
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
}

// Fatalf panics with the message (Pebble's contract: Fatalf does not
// return), logged at debug only: the panic carries it. A failed commit
// (a full disk) panics on CometBFT's consensus routine, which recovers it
// and stops; the node then logs the one line that says what to do
// (halt.go), and a second ERROR line with the same cause would only add
// noise.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}

// openAppDB opens the app's store. Point reads (device records, progress,
// a (device, seq) entry for a resent reading) are answered by bloom filters
// when absent and by a 256 MiB block cache that keeps device records and the
// log's recent nodes in memory.
func openAppDB(dir string, l *slog.Logger, readOnly bool) (*pebble.DB, error) {
	cache := pebble.NewCache(256 << 20)
	defer cache.Unref()
	o := &pebble.Options{
		Logger: pebbleLogger{l.With("module", "pebble")},
		Cache:  cache,
		// Pebble keeps up to MemTableStopWritesThreshold+1 old WAL files
		// for reuse, each as large as a memtable: 16 MiB memtables bound
		// that to 64 MiB (64 MiB memtables left ~200 MiB of WAL on disk).
		MemTableSize: 16 << 20,
		ReadOnly:     readOnly,
	}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	// Readings are most of the store and are kept forever: zstd on the
	// bottom levels, where they end up, the fastest codec above.
	o.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionGood })
	return pebble.Open(dir, o)
}

// cometDBProvider opens CometBFT's stores with Pebble logging through slog.
func cometDBProvider(l *slog.Logger) cmtcfg.DBProvider {
	return func(ctx *cmtcfg.DBContext) (dbm.DB, error) {
		if ctx.Config.DBBackend != string(dbm.PebbleDBBackend) {
			return cmtcfg.DefaultDBProvider(ctx)
		}
		opts := &pebblev1.Options{Logger: pebbleLogger{l.With("module", "pebble", "db", ctx.ID)}}
		opts.EnsureDefaults()
		return dbm.NewPebbleDBWithOpts(ctx.ID, ctx.Config.DBDir(), opts)
	}
}
