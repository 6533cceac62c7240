package keybox_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotledger/iotledger/internal/keybox"
	"github.com/iotledger/iotledger/internal/keybox/keyboxtest"
	"github.com/iotledger/iotledger/internal/state"
)

// logBuffer is a log a test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func open(t *testing.T, dir string, l keybox.Ledger, opts keybox.Options) (*keybox.Box, *logBuffer) {
	t.Helper()
	logs := new(logBuffer)
	b, err := keybox.Open(dir, l, slog.New(slog.NewTextHandler(logs, nil)), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b, logs
}

var (
	dev   = keyboxtest.Device(1)
	owner = keyboxtest.Account(1)
	other = keyboxtest.Account(2)
)

func slot(epoch uint64, recipient string) keybox.Slot {
	return keybox.Slot{Device: dev, Epoch: epoch, Recipient: recipient}
}

func filePath(dir string, s keybox.Slot) string {
	return filepath.Join(dir, s.Device, strconv.FormatUint(s.Epoch, 10), s.Recipient)
}

func TestBoxRoundTrip(t *testing.T) {
	for _, hybrid := range []bool{false, true} {
		name := "x25519"
		if hybrid {
			name = "x-wing"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keybox")
			l := keyboxtest.NewLedger()
			s := slot(1, owner)
			w := keyboxtest.Wrap(t, s, hybrid)
			l.Commit(s, w, 5)
			b, _ := open(t, dir, l, keybox.Options{})
			var told [][]byte
			b.SetHooks(func(got keybox.Slot, wrapped []byte) {
				if got != s {
					t.Errorf("stored hook for %v, want %v", got, s)
				}
				told = append(told, wrapped)
			}, nil)

			o, err := b.Put(s, w)
			if err != nil || o != keybox.Stored {
				t.Fatalf("Put: %v, %v; want stored", o, err)
			}
			if len(told) != 1 || !bytes.Equal(told[0], w) {
				t.Errorf("the stored hook was told %d keys, want the one", len(told))
			}
			if o, err := b.Put(s, w); err != nil || o != keybox.Stored {
				t.Fatalf("Put again: %v, %v; want stored", o, err)
			}
			if len(told) != 1 {
				t.Errorf("the stored hook was told of the same key again")
			}
			onDisk, err := os.ReadFile(filePath(dir, s))
			if err != nil || !bytes.Equal(onDisk, w) {
				t.Fatalf("file %s: %v; want the wrapped key's bytes", filePath(dir, s), err)
			}
			if st, _ := os.Stat(filepath.Join(dir, s.Device)); st.Mode().Perm() != 0o700 {
				t.Errorf("device folder mode %v, want 0700", st.Mode().Perm())
			}
			b.Close()

			// Opened again, it gives the key back with what the ledger says.
			b2, _ := open(t, dir, l, keybox.Options{})
			k, err := b2.Get(s)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(w)
			if !bytes.Equal(k.Wrapped, w) || !bytes.Equal(k.Commitment, sum[:]) || k.Height != 5 || k.Slot != s {
				t.Errorf("Get: %+v; want the wrapped key, its commitment and height 5", k)
			}
			if !b2.Has(s) {
				t.Error("Has: false; want true")
			}
		})
	}
}

func TestBoxRefuses(t *testing.T) {
	dir := t.TempDir()
	l := keyboxtest.NewLedger()
	committed := slot(1, owner)
	l.Commit(committed, keyboxtest.Wrap(t, committed, false), 3)
	erased := slot(2, owner)
	l.Commit(erased, keyboxtest.Wrap(t, erased, false), 4)
	l.Erase(dev, 2, 7)
	b, _ := open(t, dir, l, keybox.Options{})

	for _, tc := range []struct {
		name    string
		s       keybox.Slot
		wrapped []byte
		reason  string
		detail  string
		height  int64
	}{
		{"wrong commitment", committed, keyboxtest.Wrap(t, committed, false), keybox.ReasonMismatch, "is not the wrapped key that was announced", 0},
		{"erased epoch", erased, keyboxtest.Wrap(t, erased, false), keybox.ReasonErased, "was erased in block 7", 7},
		{"unknown epoch", slot(9, owner), keyboxtest.Wrap(t, slot(9, owner), false), keybox.ReasonUnknownEpoch, "the ledger has no epoch 9", 0},
		{"not a wrapped key", committed, []byte("junk"), keybox.ReasonMalformed, "wrapped key", 0},
		{"too large", committed, make([]byte, keybox.MaxWrappedBytes+1), keybox.ReasonMalformed, "more than any wrapped stream key", 0},
		{"epoch 0", slot(0, owner), keyboxtest.Wrap(t, slot(1, owner), false), keybox.ReasonMalformed, "epoch 0", 0},
		{"bad recipient", keybox.Slot{Device: dev, Epoch: 1, Recipient: "../x"}, keyboxtest.Wrap(t, committed, false), keybox.ReasonMalformed, "recipient", 0},
		{"bad device", keybox.Slot{Device: "..", Epoch: 1, Recipient: owner}, keyboxtest.Wrap(t, committed, false), keybox.ReasonMalformed, "device", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := b.Put(tc.s, tc.wrapped)
			ref, ok := errors.AsType[*keybox.RefusedError](err)
			if !ok {
				t.Fatalf("Put: %v, %v; want a refusal", o, err)
			}
			if ref.Reason != tc.reason || !strings.Contains(ref.Detail, tc.detail) || ref.Height != tc.height {
				t.Errorf("refused for %s (height %d): %q; want %s (height %d) saying %q", ref.Reason, ref.Height, ref.Detail, tc.reason, tc.height, tc.detail)
			}
			// A peer's key is refused the same way.
			if _, err := b.PutCommitted(tc.s, tc.wrapped); !errors.As(err, &ref) || ref.Reason != tc.reason {
				t.Errorf("PutCommitted: %v; want a refusal for %s", err, tc.reason)
			}
		})
	}
	if files := walkFiles(t, dir); len(files) != 0 {
		t.Errorf("files after refusals: %v; want none", files)
	}
	if c, _ := b.HeldCount(); c != 0 {
		t.Errorf("%d keys held after refusals; want none", c)
	}
}

func TestBoxHoldsUntilCommitted(t *testing.T) {
	dir := t.TempDir()
	l := keyboxtest.NewLedger()
	l.Start(dev, 1, owner)
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	b, logs := open(t, dir, l, keybox.Options{MaxHeld: 3, HoldFor: time.Minute, Now: clock})
	var stored []keybox.Slot
	var lacking []keybox.Slot
	b.SetHooks(func(s keybox.Slot, _ []byte) { stored = append(stored, s) }, func(s []keybox.Slot) { lacking = append(lacking, s...) })

	s := slot(1, owner)
	good := keyboxtest.Wrap(t, s, false)
	bad := keyboxtest.Wrap(t, s, false)
	for _, w := range [][]byte{bad, good} {
		if o, err := b.Put(s, w); err != nil || o != keybox.Held {
			t.Fatalf("Put before its commitment: %v, %v; want held", o, err)
		}
	}
	// A grantee's key for the same epoch, uploaded before the grant.
	g := slot(1, other)
	gw := keyboxtest.Wrap(t, g, false)
	if o, err := b.Put(g, gw); err != nil || o != keybox.Held {
		t.Fatalf("Put of a grantee's key: %v, %v; want held", o, err)
	}
	// The bound: a fourth is refused, and says what to do.
	_, err := b.Put(slot(1, keyboxtest.Account(3)), keyboxtest.Wrap(t, slot(1, keyboxtest.Account(3)), false))
	if ref, ok := errors.AsType[*keybox.RefusedError](err); !ok || ref.Reason != keybox.ReasonHoldFull || !strings.Contains(ref.Detail, "send the transaction that commits it first") {
		t.Fatalf("Put past the bound: %v; want hold-full", err)
	}
	if b.Has(s) {
		t.Fatal("a held key has a file before its commitment commits")
	}

	// The commitment of the good one commits: it is stored, the other dropped.
	l.Commit(s, good, 10)
	b.Apply(keybox.Commit{Height: 10, Committed: []keybox.Span{{Device: dev, From: 1, To: 1}}})
	onDisk, err := os.ReadFile(filePath(dir, s))
	if err != nil || !bytes.Equal(onDisk, good) {
		t.Fatalf("after the commitment: file %v; want the key that matches it", err)
	}
	if len(stored) != 1 || stored[0] != s {
		t.Errorf("stored hook told %v; want %v", stored, s)
	}
	if !strings.Contains(logs.String(), "dropped a held wrapped key: its SHA-256 is not the commitment") {
		t.Errorf("no log line for the dropped key:\n%s", logs)
	}
	if c, _ := b.HeldCount(); c != 1 {
		t.Errorf("%d keys held, want the grantee's one", c)
	}
	if len(lacking) != 0 {
		t.Errorf("lacking %v after the block; want none", lacking)
	}

	// The grantee's key waits past HoldFor: dropped with a log line.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	b.Expire()
	if c, _ := b.HeldCount(); c != 0 {
		t.Errorf("%d keys held after HoldFor; want none", c)
	}
	if !strings.Contains(logs.String(), "did not reach the ledger in time") {
		t.Errorf("no log line for the expired key:\n%s", logs)
	}
	// Its commitment commits later: the node has no file, and asks for it.
	l.Commit(g, gw, 12)
	b.Apply(keybox.Commit{Height: 12, Committed: []keybox.Span{{Device: dev, From: 1, To: 1}}})
	if b.Has(g) || len(lacking) != 1 || lacking[0] != g {
		t.Errorf("after the expired key's commitment: has %v, lacking %v; want no file and %v lacking", b.Has(g), lacking, g)
	}
}

func TestBoxErase(t *testing.T) {
	dir := t.TempDir()
	l := keyboxtest.NewLedger()
	b, _ := open(t, dir, l, keybox.Options{})
	wrapped := map[keybox.Slot][]byte{}
	for n := uint64(1); n <= 3; n++ {
		for _, r := range []string{owner, other} {
			s := slot(n, r)
			wrapped[s] = keyboxtest.Wrap(t, s, n == 2)
			l.Commit(s, wrapped[s], int64(n))
			if o, err := b.Put(s, wrapped[s]); err != nil || o != keybox.Stored {
				t.Fatalf("Put %v: %v, %v", s, o, err)
			}
		}
	}
	// A key held for epoch 2 goes too.
	held := slot(2, keyboxtest.Account(5))
	if o, err := b.Put(held, keyboxtest.Wrap(t, held, false)); o != keybox.Held {
		t.Fatalf("Put: %v, %v; want held", o, err)
	}
	l.Erase(dev, 1, 20)
	l.Erase(dev, 2, 20)
	b.Apply(keybox.Commit{Height: 20, Erased: []keybox.Erasure{{Device: dev, Epochs: []state.Range{{From: 1, To: 2}}}}})
	for s := range wrapped {
		if got, want := b.Has(s), s.Epoch == 3; got != want {
			t.Errorf("%v: has %v, want %v", s, got, want)
		}
	}
	for _, n := range []string{"1", "2"} {
		if _, err := os.Stat(filepath.Join(dir, dev, n)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("epoch %s's folder: %v; want it removed", n, err)
		}
	}
	if c, _ := b.HeldCount(); c != 0 {
		t.Errorf("%d keys held for an erased epoch; want none", c)
	}
	// Gone for good: a Put for an erased epoch is refused, a Get says when it was erased.
	if _, err := b.Put(slot(1, owner), wrapped[slot(1, owner)]); err == nil {
		t.Error("Put for an erased epoch: taken")
	}
	_, err := b.Get(slot(2, owner))
	if m, ok := errors.AsType[*keybox.MissingError](err); !ok || m.Reason != keybox.ReasonErased || !strings.Contains(m.Detail, "erased in block 20") {
		t.Errorf("Get of an erased epoch: %v; want missing, erased in block 20", err)
	}

	// The last epoch erased: the device's folder goes too.
	l.Erase(dev, 3, 21)
	b.Apply(keybox.Commit{Height: 21, Erased: []keybox.Erasure{{Device: dev, Epochs: []state.Range{{From: 3, To: 3}}}}})
	if _, err := os.Stat(filepath.Join(dir, dev)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("device folder after its last epoch's erasure: %v; want it removed", err)
	}
	if left := grep(t, dir, wrapped); len(left) != 0 {
		t.Errorf("bytes of erased wrapped keys remain: %v", left)
	}
	if st := b.Stats(); st.Erased != 6 {
		t.Errorf("stats: %+v; want 6 erased", st)
	}
}

func TestBoxGetMissing(t *testing.T) {
	dir := t.TempDir()
	l := keyboxtest.NewLedger()
	l.Start(dev, 1, owner, other)
	s := slot(1, owner)
	w := keyboxtest.Wrap(t, s, false)
	l.Commit(s, w, 4)
	l.Start(dev, 2, owner)
	l.Commit(slot(2, owner), keyboxtest.Wrap(t, slot(2, owner), false), 6)
	l.Erase(dev, 2, 8)
	b, _ := open(t, dir, l, keybox.Options{})
	var lacking []keybox.Slot
	b.SetHooks(nil, func(s []keybox.Slot) { lacking = append(lacking, s...) })

	for _, tc := range []struct {
		s              keybox.Slot
		reason, detail string
	}{
		{slot(2, owner), keybox.ReasonErased, "erased in block 8"},
		{slot(3, owner), keybox.ReasonUnknownEpoch, "no epoch 3"},
		{slot(1, keyboxtest.Account(7)), keybox.ReasonNoCommitment, "is not a recipient of epoch 1"},
		{slot(1, other), keybox.ReasonNoCommitment, "no wrapped key for it is committed yet"},
		{s, keybox.ReasonNotHere, "has not received it yet"},
	} {
		_, err := b.Get(tc.s)
		m, ok := errors.AsType[*keybox.MissingError](err)
		if !ok || m.Reason != tc.reason || !strings.Contains(m.Detail, tc.detail) {
			t.Errorf("Get %v: %v; want %s saying %q", tc.s, err, tc.reason, tc.detail)
		}
	}
	if len(lacking) != 1 || lacking[0] != s {
		t.Errorf("lacking hook told %v; want only %v, committed without a file", lacking, s)
	}
}

// TestBoxDamagedFiles: partial, damaged and stray files are reported, never
// a panic; a damaged file is removed (peers give it again), and Get of a
// file damaged while the node runs says the node lacks it.
func TestBoxDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	l := keyboxtest.NewLedger()
	b, _ := open(t, dir, l, keybox.Options{})
	var slots []keybox.Slot
	for i := range 4 {
		s := slot(1, keyboxtest.Account(10+i))
		w := keyboxtest.Wrap(t, s, false)
		l.Commit(s, w, 2)
		if _, err := b.Put(s, w); err != nil {
			t.Fatal(err)
		}
		slots = append(slots, s)
	}
	b.Close()
	flipped, truncated, grown := filePath(dir, slots[0]), filePath(dir, slots[1]), filePath(dir, slots[2])
	data, _ := os.ReadFile(flipped)
	data[len(data)-1] ^= 1
	os.WriteFile(flipped, data, 0o600)
	data, _ = os.ReadFile(truncated)
	os.WriteFile(truncated, data[:len(data)/2], 0o600)
	os.WriteFile(grown, make([]byte, keybox.MaxWrappedBytes+10), 0o600)
	partial := filepath.Join(dir, dev, "1", ".tmp-123")
	os.WriteFile(partial, []byte("half a key"), 0o600)
	stray := filepath.Join(dir, "notes.txt")
	os.WriteFile(stray, []byte("mine"), 0o600)

	b2, logs := open(t, dir, l, keybox.Options{})
	for _, p := range []string{flipped, truncated, grown, partial} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after Open: %v; want it removed", p, err)
		}
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("a file that is not the key box's was touched: %v", err)
	}
	for _, want := range []string{"a wrapped key's file is damaged", "removed a partial write", "no device's folder", "removed_damaged=3"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if !b2.Has(slots[3]) {
		t.Error("the sound file was removed")
	}

	// Damaged while the node runs: Get reports it missing here, and the node asks for it.
	var lacking []keybox.Slot
	b2.SetHooks(nil, func(s []keybox.Slot) { lacking = append(lacking, s...) })
	os.WriteFile(filePath(dir, slots[3]), []byte{0xa3}, 0o600)
	_, err := b2.Get(slots[3])
	if m, ok := errors.AsType[*keybox.MissingError](err); !ok || m.Reason != keybox.ReasonNotHere {
		t.Errorf("Get of a damaged file: %v; want missing, not here", err)
	}
	if len(lacking) != 1 || b2.Has(slots[3]) {
		t.Errorf("after Get of a damaged file: lacking %v, has %v; want it asked for and removed", lacking, b2.Has(slots[3]))
	}
	if st := b2.Stats(); st.Corrupt != 4 {
		t.Errorf("stats %+v; want 4 corrupt (3 at Open, 1 by Get)", st)
	}
}

// TestBoxOpenErasesErased: a node that was down when an erasure committed
// erases the epoch's files when it opens its key box.
func TestBoxOpenErasesErased(t *testing.T) {
	dir := t.TempDir()
	l := keyboxtest.NewLedger()
	b, _ := open(t, dir, l, keybox.Options{})
	wrapped := map[keybox.Slot][]byte{}
	for n := uint64(1); n <= 2; n++ {
		s := slot(n, owner)
		wrapped[s] = keyboxtest.Wrap(t, s, true)
		l.Commit(s, wrapped[s], int64(n))
		if _, err := b.Put(s, wrapped[s]); err != nil {
			t.Fatal(err)
		}
	}
	b.Close()
	l.Erase(dev, 1, 9) // committed while the node was down

	b2, logs := open(t, dir, l, keybox.Options{})
	if b2.Has(slot(1, owner)) || !b2.Has(slot(2, owner)) {
		t.Errorf("after Open: epoch 1 %v, epoch 2 %v; want only epoch 2's file", b2.Has(slot(1, owner)), b2.Has(slot(2, owner)))
	}
	if !strings.Contains(logs.String(), "erased while the node was down") {
		t.Errorf("no log line for the erasure at start:\n%s", logs)
	}
	delete(wrapped, slot(2, owner))
	if left := grep(t, dir, wrapped); len(left) != 0 {
		t.Errorf("bytes of the erased wrapped key remain: %v", left)
	}
}

// walkFiles lists the regular files under dir.
func walkFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// grep returns the files under dir that hold any of the wrapped keys, or
// their HPKE ciphertext (the part that opens the key), anywhere.
func grep(t *testing.T, dir string, wrapped map[keybox.Slot][]byte) []string {
	t.Helper()
	var out []string
	for _, p := range walkFiles(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for s, w := range wrapped {
			if bytes.Contains(b, w) || bytes.Contains(b, w[len(w)-48:]) {
				out = append(out, p+" holds "+s.String())
			}
		}
	}
	return out
}
