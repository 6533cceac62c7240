package keybox

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/private"
)

// MaxWrappedBytes bounds a wrapped key: an X-Wing one is 1,176 bytes
// (enc 1,120, ct 48, and the CBOR map around them), an X25519 one 88.
const MaxWrappedBytes = 2048

// Ledger is what the box reads of committed state: the epoch records,
// which hold each recipient's commitment and the block that erased the
// epoch. package query's Reader implements it.
type Ledger interface {
	// Epoch returns epoch n of device as committed, or nil, nil if the
	// ledger has none.
	Epoch(device string, n uint64) (*state.Epoch, error)
}

// Slot names one wrapped key: a device's epoch, wrapped to one recipient
// (an account).
type Slot struct {
	Device    string
	Epoch     uint64
	Recipient string
}

func (s Slot) String() string {
	return fmt.Sprintf("device %s epoch %d recipient %s", s.Device, s.Epoch, s.Recipient)
}

// Check checks the slot's parts: a device id, an epoch from 1, an account.
func (s Slot) Check() error {
	if err := address.ParseDevice(s.Device); err != nil {
		return fmt.Errorf("device: %v", strings.TrimPrefix(err.Error(), "address: "))
	}
	if s.Epoch == 0 {
		return errors.New("epoch 0: epochs are numbered from 1")
	}
	if err := address.ParseAccount(s.Recipient); err != nil {
		return fmt.Errorf("recipient: %v", strings.TrimPrefix(err.Error(), "address: "))
	}
	return nil
}

// Outcome is what Put did with a wrapped key.
type Outcome int

const (
	// Stored: the key's file is written and synced (now, or before).
	Stored Outcome = iota + 1
	// Held: no commitment for the slot is on the ledger yet; the key waits
	// in memory until one commits (then it is stored if it matches), for
	// at most Options.HoldFor.
	Held
)

func (o Outcome) String() string {
	switch o {
	case Stored:
		return "stored"
	case Held:
		return "held"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Reasons of a RefusedError or a MissingError.
const (
	ReasonMalformed    = "malformed"     // not a wrapped key (private.ParseWrapped), too large, or a bad slot
	ReasonUnknownEpoch = "unknown-epoch" // the ledger has no such epoch of the device
	ReasonErased       = "epoch-erased"  // the epoch is erased (Height)
	ReasonMismatch     = "commitment-mismatch"
	ReasonNoCommitment = "no-commitment" // the ledger holds no commitment for the slot (yet)
	ReasonHoldFull     = "hold-full"     // too many keys wait for their commitments
	ReasonNotHere      = "not-here"      // committed, but this node has no file for it (yet)
)

// RefusedError is a wrapped key Put or PutCommitted did not take, and why.
type RefusedError struct {
	Slot   Slot
	Reason string // ReasonMalformed, ...
	Height int64  // the block that erased the epoch (ReasonErased)
	Detail string // what was wrong and what to do, for a person
}

func (e *RefusedError) Error() string { return "keybox: " + e.Slot.String() + ": " + e.Detail }

// MissingError is a wrapped key Get cannot give, and why.
type MissingError struct {
	Slot   Slot
	Reason string // ReasonUnknownEpoch, ReasonErased, ReasonNoCommitment, ReasonNotHere
	Height int64  // the block that erased the epoch (ReasonErased)
	Detail string
}

func (e *MissingError) Error() string { return "keybox: " + e.Slot.String() + ": " + e.Detail }

// Key is a stored wrapped key with what the ledger says of it.
type Key struct {
	Slot
	Wrapped    []byte
	Commitment []byte
	KEM        uint16
	Height     int64 // the block that committed the commitment
}

// Options configure a Box. The zero value is usable.
type Options struct {
	// MaxHeld and MaxHeldBytes bound the keys held for commitments not yet
	// on the ledger: count and bytes. Zero means DefaultMaxHeld and
	// DefaultMaxHeldBytes.
	MaxHeld      int
	MaxHeldBytes int
	// HoldFor is how long a held key waits for its commitment before it is
	// dropped (with a log line). Zero means DefaultHoldFor.
	HoldFor time.Duration
	// Now is the clock of held keys; nil means time.Now.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultMaxHeld      = 4096
	DefaultMaxHeldBytes = 8 << 20
	DefaultHoldFor      = 10 * time.Minute
)

// Box is a node's key box: one file per wrapped key under its folder. Its
// methods are safe for concurrent use.
type Box struct {
	dir    string
	ledger Ledger
	log    *slog.Logger
	opts   Options

	// onStored is told of each key Put, or a held key's commitment,
	// stored; onLacking of committed slots the box has no file for. Both
	// are set before the box is used (SetHooks) and must not block.
	onStored  func(Slot, []byte)
	onLacking func([]Slot)

	mu        sync.Mutex // guards the files (a slot's check and write, erasure) and held
	held      map[Slot][]*heldKey
	heldCount int
	heldBytes int

	stats Stats // guarded by mu

	work    chan struct{} // signals queued work to the worker (capacity 1)
	qmu     sync.Mutex    // guards queue
	queue   []Commit
	stop    chan struct{}
	stopped chan struct{}
	started bool
}

// heldKey is a wrapped key that waits for its commitment.
type heldKey struct {
	wrapped    []byte
	commitment [32]byte
	since      time.Time
}

// Stats count what the box did since it opened.
type Stats struct {
	Stored, Held, Refused, Erased, Dropped, Corrupt uint64
}

// Open opens the key box in dir (made if missing) and sweeps it (sweep.go):
// partial writes are removed, the files of epochs the ledger says are
// erased are erased (the node may have been down when they were), and
// files whose SHA-256 is not their commitment are reported and removed
// (peers give them again). A folder it cannot read is an error.
func Open(dir string, ledger Ledger, log *slog.Logger, opts Options) (*Box, error) {
	if opts.MaxHeld <= 0 {
		opts.MaxHeld = DefaultMaxHeld
	}
	if opts.MaxHeldBytes <= 0 {
		opts.MaxHeldBytes = DefaultMaxHeldBytes
	}
	if opts.HoldFor <= 0 {
		opts.HoldFor = DefaultHoldFor
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keybox: %w", err)
	}
	b := &Box{dir: dir, ledger: ledger, log: log, opts: opts, held: map[Slot][]*heldKey{},
		onStored: func(Slot, []byte) {}, onLacking: func([]Slot) {},
		work: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := b.sweep(); err != nil {
		return nil, err
	}
	return b, nil
}

// Dir is the box's folder.
func (b *Box) Dir() string { return b.dir }

// SetHooks sets what the box tells of keys it stored (stored: from Put
// or a held key taken; not PutCommitted's) and of committed slots it lacks
// (lacking). Call it before the box is used; neither may block.
func (b *Box) SetHooks(stored func(Slot, []byte), lacking func([]Slot)) {
	if stored != nil {
		b.onStored = stored
	}
	if lacking != nil {
		b.onLacking = lacking
	}
}

// Stats returns the box's counts.
func (b *Box) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// path is the file of a slot: DIR/<device>/<epoch>/<recipient>. The
// slot's parts are checked (Slot.Check) before a path is made of them.
func (b *Box) path(s Slot) string {
	return filepath.Join(b.dir, s.Device, strconv.FormatUint(s.Epoch, 10), s.Recipient)
}

// Put offers a wrapped key, from a client: it is stored when its SHA-256
// is the commitment the ledger holds for its slot, held when the ledger
// holds none yet (the transaction that commits it is on its way), and
// refused (a *RefusedError) when the epoch is unknown or erased, the
// commitment differs, or it is not a wrapped key. A stored key's file is
// written and synced before Put returns.
func (b *Box) Put(s Slot, wrapped []byte) (Outcome, error) {
	o, fresh, err := b.put(s, wrapped, true)
	if fresh {
		b.onStored(s, wrapped)
	}
	return o, err
}

// PutCommitted offers a wrapped key from a peer: it is stored only when
// its commitment is on the ledger (never held). It reports whether the
// file is new.
func (b *Box) PutCommitted(s Slot, wrapped []byte) (fresh bool, err error) {
	_, fresh, err = b.put(s, wrapped, false)
	return fresh, err
}

func (b *Box) put(s Slot, wrapped []byte, hold bool) (o Outcome, fresh bool, err error) {
	refuse := func(reason string, height int64, format string, args ...any) (Outcome, bool, error) {
		b.mu.Lock()
		b.stats.Refused++
		b.mu.Unlock()
		return 0, false, &RefusedError{Slot: s, Reason: reason, Height: height, Detail: fmt.Sprintf(format, args...)}
	}
	if err := s.Check(); err != nil {
		return refuse(ReasonMalformed, 0, "%v", err)
	}
	if len(wrapped) > MaxWrappedBytes {
		return refuse(ReasonMalformed, 0, "the wrapped key is %d bytes, more than any wrapped stream key (%d at most)", len(wrapped), MaxWrappedBytes)
	}
	if _, err := private.ParseWrapped(wrapped); err != nil {
		return refuse(ReasonMalformed, 0, "%s; send the bytes private.Wrap made", strings.TrimPrefix(err.Error(), "private: "))
	}
	sum := sha256.Sum256(wrapped)

	b.mu.Lock()
	defer b.mu.Unlock()
	e, err := b.ledger.Epoch(s.Device, s.Epoch)
	if err != nil {
		return 0, false, fmt.Errorf("keybox: epoch %d of %s: %w", s.Epoch, s.Device, err)
	}
	refused := func(reason string, height int64, format string, args ...any) (Outcome, bool, error) {
		b.stats.Refused++
		return 0, false, &RefusedError{Slot: s, Reason: reason, Height: height, Detail: fmt.Sprintf(format, args...)}
	}
	switch {
	case e == nil:
		return refused(ReasonUnknownEpoch, 0, "the ledger has no epoch %d of device %s (an epoch begins when the device moves to it: its private fields named, a rotation, a revocation, an erasure); upload keys of epochs the device is or was at", s.Epoch, s.Device)
	case e.Erased != 0:
		return refused(ReasonErased, e.Erased, "epoch %d of device %s was erased in block %d: no node takes a key for it again", s.Epoch, s.Device, e.Erased)
	}
	r := e.Recipient(s.Recipient)
	if r != nil && len(r.Commitment) > 0 {
		if !bytes.Equal(r.Commitment, sum[:]) {
			return refused(ReasonMismatch, 0, "its SHA-256 is %x, but the commitment on the ledger (block %d) is %x: this is not the wrapped key that was announced; upload the bytes whose SHA-256 the transaction carried", sum, r.Height, r.Commitment)
		}
		fresh, err := b.write(s, wrapped)
		if err != nil {
			return 0, false, err
		}
		return Stored, fresh, nil
	}
	if !hold {
		return refused(ReasonNoCommitment, 0, "the ledger holds no commitment for it (yet)")
	}
	if err := b.hold(s, wrapped, sum); err != nil {
		return 0, false, err
	}
	return Held, false, nil
}

// hold keeps a wrapped key until its commitment commits. Called with mu.
func (b *Box) hold(s Slot, wrapped []byte, sum [32]byte) error {
	for _, h := range b.held[s] {
		if h.commitment == sum {
			return nil // the same key, held already
		}
	}
	if b.heldCount+1 > b.opts.MaxHeld || b.heldBytes+len(wrapped) > b.opts.MaxHeldBytes {
		b.stats.Refused++
		return &RefusedError{Slot: s, Reason: ReasonHoldFull,
			Detail: fmt.Sprintf("no commitment for it is on the ledger yet, and the node holds as many keys waiting for theirs as it can (%d keys, %d bytes); send the transaction that commits it first, then upload it again", b.heldCount, b.heldBytes)}
	}
	b.held[s] = append(b.held[s], &heldKey{wrapped: bytes.Clone(wrapped), commitment: sum, since: b.opts.Now()})
	b.heldCount++
	b.heldBytes += len(wrapped)
	b.stats.Held++
	return nil
}

// write writes a slot's file, unless it holds the same bytes already:
// a temporary file in the epoch's folder, synced, renamed over the slot's
// name, and the folder synced, so that the file is whole or absent after
// a crash. It reports whether it wrote. Called with mu.
func (b *Box) write(s Slot, wrapped []byte) (bool, error) {
	p := b.path(s)
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, wrapped) {
		return false, nil
	}
	dir := filepath.Dir(p)
	if err := b.mkdirs(s); err != nil {
		return false, err
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return false, fmt.Errorf("keybox: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(wrapped)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("keybox: writing %s: %w", p, err)
	}
	b.stats.Stored++
	return true, nil
}

// tmpPrefix starts the names of files being written; the sweep at Open
// removes any left by a crash.
const tmpPrefix = ".tmp-"

// mkdirs makes the device's and the epoch's folders, syncing the folder
// each new one is in.
func (b *Box) mkdirs(s Slot) error {
	parent := b.dir
	for _, name := range []string{s.Device, strconv.FormatUint(s.Epoch, 10)} {
		d := filepath.Join(parent, name)
		err := os.Mkdir(d, 0o700)
		switch {
		case err == nil:
			if err := syncDir(parent); err != nil {
				return fmt.Errorf("keybox: %w", err)
			}
		case !errors.Is(err, fs.ErrExist):
			return fmt.Errorf("keybox: %w", err)
		}
		parent = d
	}
	return nil
}

// syncDir makes a folder's entries durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Get returns the wrapped key of a slot, or a *MissingError that says why
// there is none: the epoch is unknown or erased, the ledger holds no
// commitment for the recipient, or this node has no file for it yet (it
// then asks its peers). A file whose SHA-256 is not the commitment is
// reported, removed and asked for again.
func (b *Box) Get(s Slot) (*Key, error) {
	if err := s.Check(); err != nil {
		return nil, &MissingError{Slot: s, Reason: ReasonMalformed, Detail: err.Error()}
	}
	k, err := b.get(s)
	if m, ok := errors.AsType[*MissingError](err); ok && m.Reason == ReasonNotHere {
		b.onLacking([]Slot{s})
	}
	return k, err
}

func (b *Box) get(s Slot) (*Key, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, err := b.ledger.Epoch(s.Device, s.Epoch)
	if err != nil {
		return nil, fmt.Errorf("keybox: epoch %d of %s: %w", s.Epoch, s.Device, err)
	}
	missing := func(reason string, height int64, format string, args ...any) (*Key, error) {
		return nil, &MissingError{Slot: s, Reason: reason, Height: height, Detail: fmt.Sprintf(format, args...)}
	}
	switch {
	case e == nil:
		return missing(ReasonUnknownEpoch, 0, "the ledger has no epoch %d of device %s", s.Epoch, s.Device)
	case e.Erased != 0:
		return missing(ReasonErased, e.Erased, "epoch %d of device %s was erased in block %d: its wrapped keys are deleted on every node, and no one can open its sealed fields", s.Epoch, s.Device, e.Erased)
	}
	r := e.Recipient(s.Recipient)
	switch {
	case r == nil:
		return missing(ReasonNoCommitment, 0, "%s is not a recipient of epoch %d of device %s, so no wrapped key for it is known; its recipients are %s", s.Recipient, s.Epoch, s.Device, recipientNames(e))
	case len(r.Commitment) == 0:
		return missing(ReasonNoCommitment, 0, "%s is a recipient of epoch %d of device %s, but no wrapped key for it is committed yet (the device announces the epoch's key, or the owner's grant wraps it); ask again after that transaction's block", s.Recipient, s.Epoch, s.Device)
	}
	wrapped, err := b.read(s, r.Commitment)
	if err != nil {
		return nil, err
	}
	if wrapped == nil {
		return missing(ReasonNotHere, 0, "the wrapped key of %s for epoch %d of device %s is committed (block %d) but this node has not received it yet; it asks its peers for it: try again in a few seconds, or ask the node it was uploaded to", s.Recipient, s.Epoch, s.Device, r.Height)
	}
	return &Key{Slot: s, Wrapped: wrapped, Commitment: r.Commitment, KEM: r.KEM, Height: r.Height}, nil
}

// read returns a slot's file if its SHA-256 is commitment, or nil if there
// is no file. A file that does not match is reported, counted and erased.
// Called with mu.
func (b *Box) read(s Slot, commitment []byte) ([]byte, error) {
	p := b.path(s)
	wrapped, err := readBounded(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil && !errors.Is(err, errTooLarge):
		return nil, fmt.Errorf("keybox: reading %s: %w", p, err)
	}
	sum := sha256.Sum256(wrapped)
	if err == nil && bytes.Equal(sum[:], commitment) {
		return wrapped, nil
	}
	b.corrupt(p, fmt.Sprintf("its SHA-256 is %x, the commitment on the ledger %x", sum, commitment))
	return nil, nil
}

var errTooLarge = errors.New("larger than a wrapped key")

// readBounded reads a file of at most MaxWrappedBytes.
func readBounded(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxWrappedBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxWrappedBytes {
		return nil, errTooLarge
	}
	return b, nil
}

// corrupt reports a damaged file and erases it: the node asks its peers
// for the key again. Called with mu.
func (b *Box) corrupt(p, why string) {
	b.stats.Corrupt++
	b.log.Error("keybox: a wrapped key's file is damaged; it is removed and asked for again from the peers",
		"file", p, "why", why)
	if err := wipe(p); err != nil {
		b.log.Error("keybox: removing a damaged file failed; remove it by hand", "file", p, "err", err)
	}
}

// Has reports whether the box has a file for the slot (not checked).
func (b *Box) Has(s Slot) bool {
	if s.Check() != nil {
		return false
	}
	_, err := os.Stat(b.path(s))
	return err == nil
}

// load returns the file of a slot whose commitment is on the ledger, for
// a peer that asked for it; nil if there is none (or the epoch is erased).
func (b *Box) load(s Slot) ([]byte, error) {
	if s.Check() != nil {
		return nil, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e, err := b.ledger.Epoch(s.Device, s.Epoch)
	if err != nil || e == nil || e.Erased != 0 {
		return nil, err
	}
	r := e.Recipient(s.Recipient)
	if r == nil || len(r.Commitment) == 0 {
		return nil, nil
	}
	return b.read(s, r.Commitment)
}

// Lacking returns the slots of epochs from to to of device whose
// commitments are on the ledger and not erased, and for which the box has
// no file.
func (b *Box) Lacking(device string, from, to uint64) ([]Slot, error) {
	var out []Slot
	for n := from; n <= to && n >= from; n++ {
		e, err := b.ledger.Epoch(device, n)
		if err != nil {
			return out, err
		}
		out = append(out, b.lackingOf(device, e)...)
	}
	return out, nil
}

// lackingOf returns the committed slots of one epoch record the box has
// no file for.
func (b *Box) lackingOf(device string, e *state.Epoch) []Slot {
	if e == nil || e.Erased != 0 {
		return nil
	}
	var out []Slot
	for _, r := range e.Recipients {
		s := Slot{Device: device, Epoch: e.Number, Recipient: r.Account}
		if len(r.Commitment) > 0 && !b.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// Erase removes the files of the device's epochs in ranges, and the
// folders they leave empty, and drops the keys held for them. Each file
// is overwritten with zeros and synced before it is removed (see doc.go
// for what that does and does not promise).
func (b *Box) Erase(device string, ranges []state.Range) (int, error) {
	if address.ParseDevice(device) != nil {
		return 0, fmt.Errorf("keybox: erase: %q is not a device id", device)
	}
	in := func(n uint64) bool {
		for _, r := range ranges {
			if n >= r.From && n <= r.To {
				return true
			}
		}
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s, hs := range b.held {
		if s.Device == device && in(s.Epoch) {
			b.dropHeld(s, hs)
		}
	}
	devDir := filepath.Join(b.dir, device)
	entries, err := os.ReadDir(devDir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("keybox: erase: %w", err)
	}
	removed := 0
	for _, ent := range entries {
		n, err := strconv.ParseUint(ent.Name(), 10, 64)
		if err != nil || !in(n) {
			continue
		}
		k, err := b.eraseDir(filepath.Join(devDir, ent.Name()))
		removed += k
		if err != nil {
			return removed, err
		}
	}
	if err := syncDir(devDir); err != nil {
		return removed, fmt.Errorf("keybox: erase: %w", err)
	}
	if err := b.removeIfEmpty(devDir); err != nil {
		return removed, err
	}
	b.stats.Erased += uint64(removed)
	return removed, nil
}

// eraseDir wipes every file of an epoch's folder and removes it.
func (b *Box) eraseDir(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("keybox: erase: %w", err)
	}
	n := 0
	for _, ent := range entries {
		if err := wipe(filepath.Join(dir, ent.Name())); err != nil {
			return n, fmt.Errorf("keybox: erase: %w", err)
		}
		if !strings.HasPrefix(ent.Name(), tmpPrefix) {
			n++
		}
	}
	if err := os.Remove(dir); err != nil {
		return n, fmt.Errorf("keybox: erase: %w", err)
	}
	return n, nil
}

// removeIfEmpty removes a device's folder once it holds no epoch, and
// syncs the box's folder.
func (b *Box) removeIfEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) > 0 {
		return nil
	}
	if err := os.Remove(dir); err != nil {
		return fmt.Errorf("keybox: erase: %w", err)
	}
	if err := syncDir(b.dir); err != nil {
		return fmt.Errorf("keybox: erase: %w", err)
	}
	return nil
}

// wipe overwrites a file with zeros, syncs it, and removes it.
func wipe(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil && st.Mode().IsRegular() && st.Size() > 0 {
		_, err = f.WriteAt(make([]byte, st.Size()), 0)
		if err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wiping %s: %w", p, err)
	}
	return os.Remove(p)
}

// dropHeld forgets the keys held for a slot. Called with mu.
func (b *Box) dropHeld(s Slot, hs []*heldKey) {
	for _, h := range hs {
		b.heldCount--
		b.heldBytes -= len(h.wrapped)
	}
	delete(b.held, s)
}

// recipientNames lists an epoch's recipients for a message.
func recipientNames(e *state.Epoch) string {
	if len(e.Recipients) == 0 {
		return "none"
	}
	names := make([]string, len(e.Recipients))
	for i, r := range e.Recipients {
		names[i] = r.Account
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
