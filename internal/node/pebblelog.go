package node

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	pebblev1 "github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
)

// pebbleLogger sends Pebble's messages to slog: its routine WAL-replay
// notes at debug level, errors as errors. It serves both Pebble versions
// (ours, and the one inside cometbft-db).
type pebbleLogger struct {
	l *slog.Logger
	// s, if set, takes a Fatalf met while the stores open (see Fatalf).
	s *storeSession
}

func (p pebbleLogger) Infof(format string, args ...any) { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
}

// Fatalf does not return (Pebble's contract). While the stores open, it
// reports the fault (a full disk when an argument is ENOSPC) and parks its
// goroutine: the stores are opened, checked and handed to CometBFT in
// goroutines of their own (openStore, startStep), so Start returns the
// fault as one line. Once the node runs, it panics, as Pebble expects
// (CometBFT recovers it as a consensus failure, which the node's halt
// detection reports).
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if s := p.s; s != nil && s.opening.Load() {
		var err error = fmt.Errorf("node: store %s: %s", s.dir, msg)
		for _, a := range args {
			if e, ok := a.(error); ok && isNoSpace(e) {
				err = diskFull(s.faults.home, e)
			}
		}
		s.faults.report(err)
		s.faults.wait()
		runtime.Goexit()
	}
	p.l.Debug(msg) // the panic carries it, and halt.go logs the one line that says what to do
	panic(msg)
}

// storeSession is one store opened for a node (or an audit): where it is,
// where its faults go, and whether it is still being opened.
type storeSession struct {
	dir    string
	faults *storeFaults
	// opening is true until the node runs (Start clears it through
	// storeFaults.running): until then a full disk is a fault that ends
	// start-up; afterwards it is the running node's business.
	opening *atomic.Bool
}

// noSpaceBackoff is how long a flush or compaction that failed for a full
// disk waits, once the node runs, before Pebble tries it again (Pebble
// tries again at once, without end: a core at 100% and thousands of lines
// a second). Pebble calls the listener with its mutex held, which stalls
// writes (stalled already: the memtable cannot be written out) and
// Close, not reads.
const noSpaceBackoff = time.Second

// listenerV2 reports the app store's faults: a flush or compaction that
// fails for a full disk while the stores open (Pebble would retry it at
// once, without end: a core at 100% and thousands of identical lines a
// second), and any table that fails its checksum (Pebble's default is a
// Fatalf, a panic with a stack trace).
func (s *storeSession) listenerV2(l *slog.Logger) *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			if isNoSpace(err) && s.opening.Load() {
				s.faults.report(diskFull(s.faults.home, err))
				s.faults.wait() // the retry would start at once
				return
			}
			if pebble.IsCorruptionError(err) {
				return // DataCorruption reported it
			}
			l.Error("background error: " + firstLine(err))
			if isNoSpace(err) {
				time.Sleep(noSpaceBackoff) // see noSpaceBackoff
			}
		},
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			s.faults.report(&StoreCorruptError{Home: s.faults.home, Tables: []TableFault{corruptionFault(info, s.faults.reader.Load())}})
		},
	}
}

// listenerV1 is listenerV2 for CometBFT's stores (Pebble v1 has no
// corruption event: faultDB reports what its reads meet).
func (s *storeSession) listenerV1(l *slog.Logger) *pebblev1.EventListener {
	return &pebblev1.EventListener{
		BackgroundError: func(err error) {
			switch {
			case isNoSpace(err) && s.opening.Load():
				s.faults.report(diskFull(s.faults.home, err))
				s.faults.wait()
				return
			case pebblev1.IsCorruptionError(err):
				s.faults.report(&StoreCorruptError{Home: s.faults.home, Tables: []TableFault{v1Fault(s.dir, err)}})
				return
			}
			l.Error("background error: " + firstLine(err))
			if isNoSpace(err) {
				time.Sleep(noSpaceBackoff)
			}
		},
	}
}

// appDBOptions are the app store's options. Point reads (device records,
// progress, a (device, seq) entry for a resent reading) are answered by
// bloom filters when absent and by a 256 MiB block cache that keeps device
// records and the log's recent nodes in memory.
func appDBOptions(l *slog.Logger, readOnly bool) *pebble.Options {
	o := &pebble.Options{
		Logger: pebbleLogger{l: l},
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
	return o
}

// openAppDB opens the app's store of home, in a goroutine of its own so
// that a cancelled ctx (SIGINT, SIGTERM) or a fault (a full disk Pebble
// would retry writing to without end) ends the wait at once. fs, if set,
// replaces the OS's file system (tests).
func openAppDB(ctx context.Context, home string, l *slog.Logger, readOnly bool, faults *storeFaults, fs vfs.FS) (*pebble.DB, error) {
	dir := AppDBDir(home)
	l = l.With("module", "pebble")
	s := &storeSession{dir: dir, faults: faults, opening: &faults.opening}
	cache := pebble.NewCache(256 << 20)
	defer cache.Unref()
	o := appDBOptions(l, readOnly)
	o.Logger = pebbleLogger{l: l, s: s}
	o.Cache = cache
	o.EventListener = s.listenerV2(l)
	o.FS = fs
	return openStore(ctx, home, dir, faults, func() (*pebble.DB, error) { return pebble.Open(dir, o) }, func(db *pebble.DB) { db.Close() })
}

// openStore runs open in its own goroutine and waits for it, for a store
// fault, or for ctx. On a fault or a cancelled ctx it returns at once; the
// abandoned open closes its store if it ever completes (a process that
// stops does not wait for that: Pebble recovers from an interrupted open
// as from a crash).
func openStore[T any](ctx context.Context, home, dir string, faults *storeFaults, open func() (T, error), closeDB func(T)) (T, error) {
	var zero T
	if ctx.Err() != nil {
		return zero, &StartInterruptedError{Step: "opening " + dir}
	}
	type result struct {
		db  T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		db, err := open()
		ch <- result{db, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			if f := faults.Err(); f != nil {
				return zero, f
			}
			return zero, openError(home, dir, r.err)
		}
		return r.db, nil
	case <-faults.Done():
	case <-ctx.Done():
	}
	go func() {
		if r := <-ch; r.err == nil {
			closeDB(r.db)
		}
	}()
	if f := faults.Err(); f != nil {
		return zero, f
	}
	return zero, &StartInterruptedError{Step: "opening " + dir}
}

// openError says why a store did not open: a full disk, a damaged file, or
// else Pebble's own words.
func openError(home, dir string, err error) error {
	switch {
	case isNoSpace(err):
		return diskFull(home, err)
	case pebble.IsCorruptionError(err), pebblev1.IsCorruptionError(err):
		return &StoreCorruptError{Home: home, Tables: []TableFault{{File: dir, What: "the store does not open: " + firstLine(err)}}}
	}
	return fmt.Errorf("node: open store %s: %w", dir, err)
}

// cometDBProvider opens CometBFT's stores with Pebble logging through
// slog, reporting their faults as the app store's are (see openAppDB), and
// read-only for an audit.
func cometDBProvider(ctx context.Context, home string, l *slog.Logger, faults *storeFaults, readOnly bool) cmtcfg.DBProvider {
	return func(dc *cmtcfg.DBContext) (dbm.DB, error) {
		if dc.Config.DBBackend != string(dbm.PebbleDBBackend) {
			return cmtcfg.DefaultDBProvider(dc)
		}
		dir := filepath.Join(dc.Config.DBDir(), dc.ID+".db")
		ll := l.With("module", "pebble", "db", dc.ID)
		s := &storeSession{dir: dir, faults: faults, opening: &faults.opening}
		opts := &pebblev1.Options{Logger: pebbleLogger{l: ll, s: s}, EventListener: s.listenerV1(ll), ReadOnly: readOnly}
		opts.EnsureDefaults()
		db, err := openStore(ctx, home, dir, faults, func() (*dbm.PebbleDB, error) {
			return dbm.NewPebbleDBWithOpts(dc.ID, dc.Config.DBDir(), opts)
		}, func(db *dbm.PebbleDB) { db.Close() })
		if err != nil {
			return nil, err
		}
		fdb := &faultDB{DB: db, dir: dir, faults: faults}
		if faults.opening.Load() {
			faults.track(fdb)
		}
		return fdb, nil
	}
}

// faultDB reports the corrupt tables a read of a CometBFT store meets
// before CometBFT sees the error (it panics on any store error): the node
// then stops on the fault, and CometBFT's own report of it is demoted to
// debug (see Start).
type faultDB struct {
	dbm.DB
	dir    string
	faults *storeFaults
	closed atomic.Bool // Pebble v1 panics on a second Close
}

func (d *faultDB) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	return d.DB.Close()
}

func (d *faultDB) check(err error) error {
	if err != nil && pebblev1.IsCorruptionError(err) {
		d.faults.report(&StoreCorruptError{Home: d.faults.home, Tables: []TableFault{v1Fault(d.dir, err)}})
	}
	return err
}

func (d *faultDB) Get(key []byte) ([]byte, error) {
	v, err := d.DB.Get(key)
	return v, d.check(err)
}

func (d *faultDB) Has(key []byte) (bool, error) {
	ok, err := d.DB.Has(key)
	return ok, d.check(err)
}

func (d *faultDB) Iterator(start, end []byte) (dbm.Iterator, error) {
	it, err := d.DB.Iterator(start, end)
	if err != nil {
		return nil, d.check(err)
	}
	return faultIter{it, d}, nil
}

func (d *faultDB) ReverseIterator(start, end []byte) (dbm.Iterator, error) {
	it, err := d.DB.ReverseIterator(start, end)
	if err != nil {
		return nil, d.check(err)
	}
	return faultIter{it, d}, nil
}

type faultIter struct {
	dbm.Iterator
	d *faultDB
}

func (it faultIter) Error() error { return it.d.check(it.Iterator.Error()) }

// firstLine is err's message up to its first line break (Pebble's errors
// carry details and stack traces after it when printed with %+v; their
// Error is one line, but be sure).
func firstLine(err error) string {
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
