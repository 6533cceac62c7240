package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotledger/iotledger/internal/query"
)

// storeFaults holds the first fault of the node's stores that the node
// cannot run on: a full disk met while opening a store, a table that fails
// its checksums, or an error Pebble calls fatal. Pebble reports them from
// any goroutine (its event listener, its logger, a read); the node stops
// on the first one and says what it was, in one line, instead of the
// panic, the stack trace or the retry loop Pebble would otherwise end in.
type storeFaults struct {
	home string

	mu      sync.Mutex // guards err and opened
	err     error
	opened  []io.Closer   // CometBFT's stores opened during start-up
	failed  bool          // start-up failed: a store opened from now on is closed at once
	refine  sync.Once     // refines err once (see Err)
	done    chan struct{} // closed when err is set
	onFault func()        // called once, with the first fault

	// park is where a Pebble goroutine waits that would otherwise retry a
	// write that cannot succeed (a flush on a full disk) in a tight loop,
	// or return from a Fatalf that must not return. Nothing closes it in
	// a node: such a goroutine ends with the process, which stops on the
	// fault. Tests close it (release) to let the store close.
	park chan struct{}

	// opening is true until the node runs (running clears it).
	opening atomic.Bool
	// parked is set once a goroutine waits in park: it may hold a store's
	// locks, so closing that store would wait for ever.
	parked atomic.Bool
	// parkedCh is closed when parked is first set.
	parkedCh   chan struct{}
	parkedOnce sync.Once
	// reader, once the store is open, names the blocks a damaged table's
	// keys belong to.
	reader atomic.Pointer[query.Reader]
}

func newStoreFaults(home string) *storeFaults {
	f := &storeFaults{home: home, done: make(chan struct{}), park: make(chan struct{}), parkedCh: make(chan struct{})}
	f.opening.Store(true)
	return f
}

// running marks the end of start-up: from now on a full disk met by a
// flush is the running node's business (its halt detection), not a fault
// that ends start-up; and CometBFT owns the stores it opened.
func (f *storeFaults) running() {
	f.opening.Store(false)
	f.mu.Lock()
	f.opened = nil
	f.mu.Unlock()
}

// track keeps a store CometBFT opened during start-up, to close it if
// start-up fails (CometBFT does not close them then). A store that a
// start-up step still opens after start-up failed is closed at once.
func (f *storeFaults) track(c io.Closer) {
	f.mu.Lock()
	if f.failed {
		f.mu.Unlock()
		c.Close()
		return
	}
	f.opened = append(f.opened, c)
	f.mu.Unlock()
}

// closeOpened closes the stores CometBFT opened during a start-up that
// failed.
func (f *storeFaults) closeOpened() {
	f.mu.Lock()
	opened := f.opened
	f.opened = nil
	f.failed = true
	f.mu.Unlock()
	for _, c := range opened {
		c.Close()
	}
}

// report records err if it is the first fault and tells whether it was.
func (f *storeFaults) report(err error) bool {
	f.mu.Lock()
	if f.err != nil {
		f.mu.Unlock()
		return false
	}
	f.err = err
	close(f.done)
	hook := f.onFault
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return true
}

// Done is closed once a fault is reported.
func (f *storeFaults) Done() <-chan struct{} { return f.done }

// Err is the first fault, or nil. A damaged table is reported as Pebble
// met it (a block fails, the table's bounds); the first call to Err reads
// that table whole, as audit does, to name the damaged blocks and the keys
// they hold. (Not in the report itself: Pebble reports from its read
// paths, where reading more is no place to be.)
func (f *storeFaults) Err() error {
	f.mu.Lock()
	err := f.err
	f.mu.Unlock()
	var c *StoreCorruptError
	if err == nil || !errors.As(err, &c) {
		return err
	}
	f.refine.Do(func() {
		var out []TableFault
		for _, t := range c.Tables {
			if !strings.HasSuffix(t.File, ".sst") {
				out = append(out, t)
				continue
			}
			ref := tableRef{file: t.File, lo: t.lo, hi: t.hi}
			var found []TableFault
			if filepath.Dir(t.File) == AppDBDir(f.home) {
				found = checkTable(ref, openV2, storeKeys{appKey, appKeyNamer(f.reader.Load())})
			} else {
				found = checkTable(ref, openV1, storeKeys{printable, cometKeyNamer})
			}
			if len(found) == 0 {
				found = []TableFault{t} // the table reads whole now: keep what Pebble said
			}
			out = append(out, found...)
		}
		f.mu.Lock()
		f.err = &StoreCorruptError{Home: c.Home, Tables: out}
		f.mu.Unlock()
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// wait parks the calling goroutine (see park).
func (f *storeFaults) wait() {
	f.parked.Store(true)
	f.parkedOnce.Do(func() { close(f.parkedCh) })
	<-f.park
}

// settle waits, after a fault, for the start-up step that met it to
// return (done), so the stores it opened are closed before Start returns:
// a caller that then opens them again (audit, a test) does not find them
// locked. It does not wait for a step whose goroutine is parked (it never
// returns), nor longer than grace.
func (f *storeFaults) settle(done <-chan error, grace time.Duration) {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-f.parkedCh:
	case <-t.C:
	}
}

// release lets parked goroutines go on (tests only).
func (f *storeFaults) release() { close(f.park) }

// startStep runs one step of start-up that reads or writes the stores (the
// store check, CometBFT's opening of its stores and its replay) in a
// goroutine of its own, so that a Pebble goroutine parked on a fault (see
// park) is never the caller's: it returns f's error, or at once the first
// store fault, or, when ctx ends, f's error if f returns within a grace
// period (f honours ctx: a clean stop) and else a StartInterruptedError.
func startStep(ctx context.Context, faults *storeFaults, step string, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- guard(faults, f) }()
	select {
	case err := <-done:
		return err
	case <-faults.Done():
		faults.settle(done, 5*time.Second)
		return faults.Err()
	case <-ctx.Done():
	}
	grace := time.NewTimer(5 * time.Second)
	defer grace.Stop()
	select {
	case err := <-done:
		return err
	case <-faults.Done():
		return faults.Err()
	case <-grace.C:
		return &StartInterruptedError{Step: step}
	}
}

// StartInterruptedError is what Start returns when its context ends
// (SIGINT or SIGTERM) before the node runs: nothing was started, and the
// stores opened so far were closed again.
type StartInterruptedError struct {
	Step string // what Start was doing
}

func (e *StartInterruptedError) Error() string {
	return fmt.Sprintf("node: start-up interrupted while %s; the node did not start", e.Step)
}

func (e *StartInterruptedError) Unwrap() error { return context.Canceled }

// TableFault is one table (.sst file) of a store that fails its checks:
// which part of it, which keys that part holds, and which blocks of the
// chain those keys belong to, as far as that can be known.
type TableFault struct {
	File   string // the table's path
	What   string // the damaged part and how it fails
	Keys   string // the keys it holds (or may hold), "" if unknown
	Blocks string // what those keys are in the chain's terms (records, blocks), "" if unknown

	lo, hi []byte // the table's bounds, when known
}

func (t TableFault) String() string {
	var b strings.Builder
	what := "damaged table"
	if !strings.HasSuffix(t.File, ".sst") {
		what = "damaged store" // its manifest or log, or it cannot be listed
	}
	fmt.Fprintf(&b, "%s %s: %s", what, t.File, t.What)
	if t.Keys != "" {
		fmt.Fprintf(&b, "; it holds %s", t.Keys)
	}
	if t.Blocks != "" {
		fmt.Fprintf(&b, ": %s", t.Blocks)
	}
	return b.String()
}

// StoreCorruptError is why a node refuses to start, or stopped: a table of
// one of its stores fails its checksums, so what it reads there cannot be
// trusted. The way back is to resync the node from the other validators.
type StoreCorruptError struct {
	Home   string
	Tables []TableFault
}

func (e *StoreCorruptError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node: a store of %s is damaged: %s", filepath.Join(e.Home, "data"), e.Tables[0])
	if n := len(e.Tables) - 1; n > 0 {
		fmt.Fprintf(&b, " (and %d more)", n)
	}
	fmt.Fprintf(&b, "; the node does not run on a damaged store. Run `iotledger audit --home %s` to list every damaged table, "+
		"then resync the node from the other validators (README: %q)", e.Home, ResyncSection)
	return b.String()
}

// ResyncSection is the README section that tells how to rebuild a node's
// stores from the other validators.
const ResyncSection = "Resyncing a node from the other validators"

// ExitCode is the process exit code for a store fault err, or 0 if err is
// none: 4 for a full disk, 3 for a store that does not hold what the
// validators committed (changed or damaged).
func ExitCode(err error) int {
	var full *DiskFullError
	var corrupt *StoreCorruptError
	var mismatch *StoreMismatchError
	switch {
	case errors.As(err, &full):
		return 4
	case errors.As(err, &corrupt), errors.As(err, &mismatch):
		return 3
	}
	return 0
}

// closeStores closes the stores a failed start-up opened, unless a Pebble
// goroutine is parked in one (a full disk): closing would wait for it, and
// the process ends on the fault anyway.
func (n *Node) closeStores() {
	if n.faults.parked.Load() {
		return
	}
	n.faults.closeOpened()
	n.db.Close()
}

// storeErr is err, or the store fault behind it, or, when ctx ended, the
// interruption of step.
func (n *Node) storeErr(ctx context.Context, step string, err error) error {
	if f := n.faults.Err(); f != nil {
		return f
	}
	var si *StartInterruptedError
	if errors.As(err, &si) {
		return si
	}
	if ctx.Err() != nil {
		return &StartInterruptedError{Step: step}
	}
	return err
}

// StoreFailed is closed when a fault of the node's stores (a damaged
// table met by a read) stops the node; StoreErr says which.
func (n *Node) StoreFailed() <-chan struct{} { return n.faults.Done() }

// StoreErr is the store fault that stopped the node, or nil.
func (n *Node) StoreErr() error { return n.faults.Err() }
