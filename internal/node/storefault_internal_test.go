package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pebblev1 "github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/state"
)

// lines is a slog handler that keeps every line at the default level
// (info) and above, for tests that count what a fault logs.
type lines struct {
	mu  sync.Mutex
	msg []string
}

func (l *lines) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msg = append(l.msg, r.Level.String()+" "+r.Message)
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }
func (l *lines) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.msg)
}

// storeWithLog makes an app store in home whose newest writes are only in
// its log (Pebble writes them out to a table when it next opens).
func storeWithLog(t *testing.T, home string) {
	t.Helper()
	db, err := openAppDB(t.Context(), home, slog.New(slog.DiscardHandler), false, newStoreFaults(home), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		if err := db.Set(binary.BigEndian.AppendUint64([]byte("t/l/"), uint64(i)), bytes.Repeat([]byte{byte(i)}, 200), pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitClosed waits until the store in home can be opened again, that is
// until an abandoned open has closed it.
func waitClosed(t *testing.T, home string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := pebble.Open(AppDBDir(home), &pebble.Options{Logger: pebbleLogger{l: slog.New(slog.DiscardHandler)}})
		if err == nil {
			db.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the abandoned open never closed the store: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, bounded by the deadline
	}
}

// enospc fails writes of new tables with ENOSPC while on.
func enospc(on *atomic.Bool) errorfs.Injector {
	return errorfs.InjectorFunc(func(op errorfs.Op) error {
		if on.Load() && strings.HasSuffix(op.Path, ".sst") && (op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileWriteAt || op.Kind == errorfs.OpCreate) {
			return &os.PathError{Op: "write", Path: op.Path, Err: syscall.ENOSPC}
		}
		return nil
	})
}

// TestOpenOnFullDiskStops is issue 13's first fault at the store: Pebble
// opens a store by writing its log out to a table, and on a full disk it
// retried that write at once, without end (a core at 100%, thousands of
// identical lines a second, and signals never looked at). Now the open
// ends within seconds with a DiskFullError naming the data folder, and the
// failed write is logged no more than once.
func TestOpenOnFullDiskStops(t *testing.T) {
	home := t.TempDir()
	storeWithLog(t, home)

	var on atomic.Bool
	on.Store(true)
	faults := newStoreFaults(home)
	var got lines
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // the loop this test reproduces never ended
	defer cancel()
	began := time.Now()
	_, err := openAppDB(ctx, home, slog.New(&got), false, faults, errorfs.Wrap(vfs.Default, enospc(&on)))
	took := time.Since(began)
	defer func() {
		on.Store(false)
		faults.release()
		waitClosed(t, home)
	}()

	var full *DiskFullError
	if !errors.As(err, &full) {
		t.Fatalf("open on a full disk: %v, want a DiskFullError", err)
	}
	if took > 5*time.Second {
		t.Errorf("open on a full disk took %v, want it to stop within seconds", took)
	}
	if full.Dir != DataDir(home) || !strings.Contains(err.Error(), DataDir(home)) || !strings.Contains(err.Error(), "free space on that disk") {
		t.Errorf("error %q: want it to name %s, the free space and what to do", err, DataDir(home))
	}
	if ExitCode(err) != 4 {
		t.Errorf("ExitCode = %d, want 4", ExitCode(err))
	}
	// Nothing more is tried while the process lives: no line a second.
	n := got.count()
	time.Sleep(200 * time.Millisecond) // a window in which the old loop logged hundreds of lines
	if m := got.count(); m > 1 || m != n {
		t.Errorf("the store logged %d lines, then %d more: %q", n, m-n, got.msg)
	}
}

// TestOpenInterrupted: a cancelled context (SIGINT, SIGTERM) ends a slow
// open at once, and the open, when it completes, closes its store.
func TestOpenInterrupted(t *testing.T) {
	home := t.TempDir()
	storeWithLog(t, home)

	hold := make(chan struct{})    // the log's reads wait here: a slow replay
	reached := make(chan struct{}) // closed when the open waits there
	var once sync.Once
	var released atomic.Bool
	slow := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if strings.HasSuffix(op.Path, ".log") && (op.Kind == errorfs.OpFileRead || op.Kind == errorfs.OpFileReadAt) && !released.Load() {
			once.Do(func() { close(reached) })
			<-hold
		}
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := openAppDB(ctx, home, slog.New(slog.DiscardHandler), false, newStoreFaults(home), errorfs.Wrap(vfs.Default, slow))
		done <- err
	}()
	select {
	case <-reached:
	case err := <-done:
		t.Fatalf("the open ended before it read its log: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		var si *StartInterruptedError
		if !errors.As(err, &si) || !errors.Is(err, context.Canceled) {
			t.Errorf("interrupted open: %v, want a StartInterruptedError", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled open did not return within 5 s")
	}
	released.Store(true)
	close(hold)
	waitClosed(t, home)
}

// TestCheckTableFindsEveryByte flips each byte of a table in turn, of the
// app store (Pebble v2, its options) and of a CometBFT store (Pebble v1):
// the check finds every one, naming a block, the footer or the table as a
// whole; the untouched table passes.
func TestCheckTableFindsEveryByte(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, dir string) []tableRef
		open  func(string) (*tableLayout, func(), error)
	}{
		{"app store", writeV2Table, openV2},
		{"CometBFT store", writeV1Table, openV1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tables := tc.write(t, t.TempDir())
			if len(tables) != 1 {
				t.Fatalf("%d tables, want 1", len(tables))
			}
			tab := tables[0]
			keys := storeKeys{printable, func([]byte, []byte) string { return "" }}
			if got := checkTable(tab, tc.open, keys); len(got) != 0 {
				t.Fatalf("an untouched table: %v", got)
			}
			orig, err := os.ReadFile(tab.file)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for i := range orig {
				b := bytes.Clone(orig)
				b[i] ^= 0x10
				if err := os.WriteFile(tab.file, b, 0o600); err != nil {
					t.Fatal(err)
				}
				got := checkTable(tab, tc.open, keys)
				if len(got) == 0 {
					t.Fatalf("byte %d of %d flipped: not found", i, len(orig))
				}
				what := got[0].What
				if i := strings.IndexAny(what, "(:"); i > 0 {
					what = strings.TrimSpace(what[:i])
				}
				kinds[what]++
			}
			t.Logf("%d bytes flipped one at a time, each found; findings by kind: %v", len(orig), kinds)
		})
	}
}

// writeV2Table writes one table with the app store's options (bloom
// filters, compression) and returns it.
func writeV2Table(t *testing.T, home string) []tableRef {
	db, err := pebble.Open(AppDBDir(home), appDBOptions(slog.New(slog.DiscardHandler), false))
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db.Set)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	tables, err := appTables(db, AppDBDir(home))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return tables
}

// writeV1Table writes one table as cometbft-db's Pebble does.
func writeV1Table(t *testing.T, home string) []tableRef {
	dir := filepath.Join(DataDir(home), "blockstore.db")
	o := &pebblev1.Options{Logger: quietV1{}}
	o.EnsureDefaults()
	db, err := pebblev1.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, func(k, v []byte, _ *pebble.WriteOptions) error { return db.Set(k, v, pebblev1.NoSync) })
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	tables, err := cometTables(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

// fill writes a few keys of CometBFT's and the app's kinds: enough for a
// few data blocks, few enough to flip every byte in a test.
func fill(t *testing.T, set func(k, v []byte, o *pebble.WriteOptions) error) {
	for i := range 40 {
		for _, k := range []string{fmt.Sprintf("H:%d", i), fmt.Sprintf("P:%d:0", i)} {
			if err := set([]byte(k), bytes.Repeat([]byte{byte(i), 'v'}, 60), pebble.NoSync); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestAppKeyNames(t *testing.T) {
	be := func(p string, n uint64) []byte { return binary.BigEndian.AppendUint64([]byte(p), n) }
	for _, tc := range []struct {
		lo, hi     []byte
		keys, what string
	}{
		{be("t/l/", 40), be("t/l/", 55), "t/l/40 to t/l/55", "readings (log leaves) at log indexes 40-55"},
		{be("b/", 3), be("b/", 9), "b/3 to b/9", "block records of blocks 3-9"},
		{be("f/", 12), be("f/", 20), "f/12 to f/20", "block event feeds of blocks 12-20"},
		{[]byte("s/dev1x/\x00\x00\x00\x00\x00\x00\x00\x06"), be("t/l/", 9), "s/dev1x/6 to t/l/9", "the (device, seq) index; readings (log leaves) at log indexes 0-9"},
		{be("c/", 7), []byte("d/dev1y"), "c/7 to d/dev1y", "block change records from block 7 on; devices"},
		{[]byte("a/acc1"), []byte("x/meta"), "a/acc1 to x/meta", "accounts; block records; block change records; devices; contract events; block event feeds; validator set changes; payments; encryption keys; contracts; the validator set; device progress; validator proposals; private field names; stream epochs; access grants; the (device, seq) index; readings (log leaves); log nodes; the log size; twin histories; twins; the app's meta record"},
		{[]byte("w/dev1x"), []byte("w/dev1y"), "w/dev1x to w/dev1y", "twins"},
		{[]byte("k/ctr-1"), []byte("k/ctr-9"), "k/ctr-1 to k/ctr-9", "contracts"},
	} {
		if got := keyRange("%s to %s", appKey, tc.lo, tc.hi); got != tc.keys {
			t.Errorf("keys %q..%q printed %q, want %q", tc.lo, tc.hi, got, tc.keys)
		}
		if got := appKeyNamer(nil)(tc.lo, tc.hi); got != tc.what {
			t.Errorf("keys %s named %q, want %q", tc.keys, got, tc.what)
		}
	}
}

// Every prefix of the store has a name, in key order, so that a damaged
// table's keys are named for what they hold.
func TestAppKeyKindsAreTheStoresPrefixes(t *testing.T) {
	var want []string
	for _, l := range [][]string{state.CoveredPrefixes, state.HashedPrefixes, state.DerivedPrefixes} {
		want = append(want, l...)
	}
	slices.Sort(want)
	var got []string
	for _, k := range appKeyKinds {
		got = append(got, k.prefix)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("appKeyKinds' prefixes differ from package state's, in key order (-got +want):\n%s", diff)
	}
}

// TestReadmeHasResyncSection: the refusals point to a README section by
// name; it must be there.
func TestReadmeHasResyncSection(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("\n### "+ResyncSection+"\n")) {
		t.Errorf("README.md has no section %q, which store refusals point to", ResyncSection)
	}
}

// TestFlushOnFullDiskBacksOff: once the node runs, a flush that fails for
// a full disk is the running node's business (its halt detection), but
// Pebble's retry no longer spins: one try, and one line, a second.
func TestFlushOnFullDiskBacksOff(t *testing.T) {
	home := t.TempDir()
	faults := newStoreFaults(home)
	faults.running()
	var on atomic.Bool
	var got lines
	db, err := openAppDB(t.Context(), home, slog.New(&got), false, faults, errorfs.Wrap(vfs.Default, enospc(&on)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := db.Set(binary.BigEndian.AppendUint64([]byte("t/l/"), uint64(i)), []byte("reading"), pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
	on.Store(true)
	flushed := make(chan error, 1)
	go func() { flushed <- db.Flush() }()
	const window = 2500 * time.Millisecond
	time.Sleep(window) // the window the rate is measured over, not a synchronisation
	n := got.count()
	on.Store(false)
	if err := <-flushed; err != nil {
		t.Errorf("flush once the disk had room: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n < 1 || n > 4 {
		t.Errorf("%d lines in %v of a full disk, want one a second: %q", n, window, got.msg)
	}
	if faults.Err() != nil {
		t.Errorf("a full disk while running is a fault that stops the node: %v", faults.Err())
	}
}
