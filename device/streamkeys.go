package device

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/private"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

// Reasons of a rejected reading that the stream key machinery cures: the
// device moved to another epoch (stale_epoch), its epoch's key is not
// announced yet (no_stream_key), or a field it now keeps private was sent
// in clear (private_in_clear). A Sender with private fields refreshes its
// stream key, seals the reading again (same sequence number) and resends
// it.
var privateReasons = []string{
	verdict.CodeStaleEpoch.String(),
	verdict.CodeNoStreamKey.String(),
	verdict.CodePrivateInClear.String(),
}

// Errors of StreamKeys.
var (
	// ErrNotPrivate: the device has no private fields on the ledger, so
	// no epoch and no stream key; its owner names them first.
	ErrNotPrivate = errors.New("device: the device has no private fields on the ledger")
	// ErrNoStreamKey: no stream key on disk yet; Refresh makes one.
	ErrNoStreamKey = errors.New("device: no stream key yet")
	// ErrEpochTaken: the device's current epoch was announced with a key
	// this device does not hold (another holder of the device's key, with
	// another key file, announced it). Only a new epoch cures it.
	ErrEpochTaken = errors.New("device: the current epoch was announced with another stream key")
	// ErrKeyLost: a reading in the outbox is sealed under an epoch whose
	// key is no longer on disk, so it cannot be sealed again.
	ErrKeyLost = errors.New("device: the stream key a reading was sealed with is gone")
)

// StreamKeyOptions configure StreamKeys. API, Key and File are required.
type StreamKeyOptions struct {
	// API is the node the device learns its epoch from and announces its
	// stream keys through (also over MQTT: the key box is on the API).
	API *client.Client
	// Key is the device's key: it signs the stream_key transactions and
	// the sealed readings.
	Key ed25519.PrivateKey
	// ID is the device's id on the ledger; "" means the id of Key.
	ID string
	// File is where the stream key is kept: a JSON file of mode 0600
	// (the Sender's is streamkey in its state folder; the CLI's is
	// HOME/devices/ID.streamkey, beside ID.seq). Processes that sign for
	// one device share it, and take turns through File+".lock".
	File string
	// Private are field names to seal besides those the ledger lists as
	// the device's private fields.
	Private []string
	Log     *slog.Logger // default: no logs
}

// StreamKeys keeps a device's stream key (docs/PRIVATE.md): the key of
// its current epoch, on disk, and the key of an earlier epoch only until
// the readings sealed under it are sealed again. When the ledger moves
// the device to a new epoch, Refresh makes the new key, wraps it to the
// epoch's recipients (the owner and the consumers granted access, with
// their published encryption keys: X-Wing when published, else X25519),
// uploads the wrapped keys to the node's key box and announces their
// commitments in a stream_key transaction signed by the device's key.
//
// Its methods are safe for concurrent use; processes that share File
// take turns on its lock.
type StreamKeys struct {
	api   *client.Client
	key   ed25519.PrivateKey
	id    string
	path  string
	extra []string
	log   *slog.Logger

	mu sync.Mutex // guards st
	st keyFile
}

// keyFile is the stream key file: the ledger's private field list as
// last seen, and the keys of the epochs this device still needs, oldest
// first.
type keyFile struct {
	Device string     `json:"device"`
	Fields []string   `json:"fields,omitempty"`
	Keys   []epochKey `json:"keys"`
}

// epochKey is the stream key of one epoch. Until its announcement is
// committed and its wrapped keys uploaded, Wraps holds them, so that a
// device that stops in between finishes the work when it starts again.
type epochKey struct {
	Epoch     uint64              `json:"epoch"`
	Key       []byte              `json:"key"` // the stream key, 32 bytes (standard base64)
	Announced bool                `json:"announced"`
	Wraps     []client.WrappedKey `json:"wraps,omitempty"`
}

// streamKeyName is the stream key file in a Sender's state folder.
const streamKeyName = "streamkey"

// refreshLockWait bounds the wait for another process's Refresh of the
// same key file: an announcement waits for a block.
const refreshLockWait = 2 * time.Minute

// NewStreamKeys returns the stream keys of a device, read from o.File (a
// missing file is no key yet).
func NewStreamKeys(o StreamKeyOptions) (*StreamKeys, error) {
	switch {
	case o.API == nil:
		return nil, errors.New("device: StreamKeyOptions.API is nil; give the client of the node the device announces its stream keys through")
	case len(o.Key) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("device: StreamKeyOptions.Key has %d bytes, want an Ed25519 private key of %d", len(o.Key), ed25519.PrivateKeySize)
	case o.File == "":
		return nil, errors.New("device: StreamKeyOptions.File is empty; give the file the device keeps its stream key in")
	}
	id := o.ID
	if id == "" {
		id = address.Device(o.Key.Public().(ed25519.PublicKey))
	}
	if err := address.ParseDevice(id); err != nil {
		return nil, err
	}
	for _, f := range o.Private {
		if f == "" || len(f) > reading.MaxFieldLen {
			return nil, fmt.Errorf("device: private field name %q must be 1 to %d bytes, as a reading's data field names", f, reading.MaxFieldLen)
		}
	}
	k := &StreamKeys{api: o.API, key: o.Key, id: id, path: o.File, extra: slices.Clone(o.Private), log: o.Log}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	if err := k.load(); err != nil {
		return nil, err
	}
	return k, nil
}

// load reads the key file into st.
func (k *StreamKeys) load() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	st, err := readKeyFile(k.path)
	if err != nil {
		return err
	}
	if st.Device != "" && st.Device != k.id {
		return fmt.Errorf("device: stream key file %s is device %s's, not %s; give each device a file of its own", k.path, st.Device, k.id)
	}
	st.Device = k.id
	k.st = st
	return nil
}

func readKeyFile(path string) (keyFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return keyFile{}, nil
	}
	if err != nil {
		return keyFile{}, fmt.Errorf("device: read stream key: %w", err)
	}
	var st keyFile
	err = json.Unmarshal(b, &st)
	for _, ek := range st.Keys {
		if err == nil && (len(ek.Key) != len(private.StreamKey{}) || ek.Epoch == 0) {
			err = fmt.Errorf("epoch %d's key is %d bytes, want %d", ek.Epoch, len(ek.Key), len(private.StreamKey{}))
		}
	}
	if err != nil {
		return keyFile{}, fmt.Errorf("device: stream key file %s is damaged (%v); remove it: the device makes a new key (its owner rotates the stream key if the epoch's key was announced)", path, err)
	}
	return st, nil
}

// save writes st to the key file, durably (mode 0600). The caller holds
// k.mu.
func (k *StreamKeys) save() error {
	b, err := json.MarshalIndent(k.st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileSync(k.path, append(b, '\n')); err != nil {
		return fmt.Errorf("device: save stream key: %w", err)
	}
	return nil
}

// ID is the device id.
func (k *StreamKeys) ID() string { return k.id }

// Epoch returns the newest epoch whose key is on disk (0: none), and
// whether its announcement is committed.
func (k *StreamKeys) Epoch() (uint64, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if n := len(k.st.Keys); n > 0 {
		return k.st.Keys[n-1].Epoch, k.st.Keys[n-1].Announced
	}
	return 0, false
}

// Fields returns the names the device seals: the ledger's private fields
// as last seen and those of StreamKeyOptions.Private, sorted.
func (k *StreamKeys) Fields() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fields()
}

func (k *StreamKeys) fields() []string {
	out := slices.Concat(k.st.Fields, k.extra)
	slices.Sort(out)
	return slices.Compact(out)
}

// Seal signs r with the device's key, its private fields (Fields) sealed
// under the newest stream key on disk; a reading with none of them is
// signed as it is. With no key on disk the error wraps ErrNoStreamKey:
// call Refresh. r.Device is set to the device's id.
func (k *StreamKeys) Seal(r reading.Reading) ([]byte, error) {
	k.mu.Lock()
	names := k.fields()
	var cur *epochKey
	if n := len(k.st.Keys); n > 0 {
		c := k.st.Keys[n-1]
		cur = &c
	}
	k.mu.Unlock()
	r.Device = k.id
	pub, priv := split(r.Data, names)
	if len(priv) == 0 {
		return reading.Sign(r, k.key)
	}
	if cur == nil {
		return nil, fmt.Errorf("%w for device %s (fields %s are private); refresh it from the ledger first", ErrNoStreamKey, k.id, strings.Join(sortedKeys(priv), ", "))
	}
	r.Data = pub
	return private.Seal(r, priv, cur.Epoch, private.StreamKey(cur.Key), k.key)
}

// split parts data into the fields not named in names and those named.
func split(data map[string]any, names []string) (pub, priv map[string]any) {
	for f, v := range data {
		if _, ok := slices.BinarySearch(names, f); ok {
			if priv == nil {
				priv = map[string]any{}
			}
			priv[f] = v
			continue
		}
		if pub == nil {
			pub = map[string]any{}
		}
		pub[f] = v
	}
	return pub, priv
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for f := range m {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// NeedsReseal reports whether raw, a reading this device signed, must be
// sealed again before the ledger takes it: it is sealed under an epoch
// before the newest key on disk, or holds in clear a field the device now
// seals. A reading that does not decode needs nothing (the ledger says
// what is wrong with it).
func (k *StreamKeys) NeedsReseal(raw []byte) bool {
	s, err := reading.Decode(raw)
	if err != nil {
		return false
	}
	k.mu.Lock()
	names := k.fields()
	var cur uint64
	if n := len(k.st.Keys); n > 0 {
		cur = k.st.Keys[n-1].Epoch
	}
	k.mu.Unlock()
	if s.Sealed != nil && s.Sealed.Epoch < cur {
		return true
	}
	for f := range s.Data {
		if _, ok := slices.BinarySearch(names, f); ok {
			return true
		}
	}
	return false
}

// Reseal seals raw, a reading this device signed, again under the newest
// stream key on disk, with the same sequence number and time: its sealed
// part is opened with the key of its epoch, and its fields are split again
// by Fields. The error wraps ErrKeyLost when the key of its epoch is no
// longer on disk.
func (k *StreamKeys) Reseal(raw []byte) ([]byte, error) {
	s, err := reading.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("device: reseal: %w", err)
	}
	data := make(map[string]any, len(s.Data))
	for f, v := range s.Data {
		data[f] = v
	}
	if s.Sealed != nil {
		k.mu.Lock()
		var old *epochKey
		for i := range k.st.Keys {
			if k.st.Keys[i].Epoch == s.Sealed.Epoch {
				c := k.st.Keys[i]
				old = &c
			}
		}
		k.mu.Unlock()
		if old == nil {
			return nil, fmt.Errorf("%w: reading %d of device %s is sealed under epoch %d, whose key is not in %s", ErrKeyLost, s.Seq, k.id, s.Sealed.Epoch, k.path)
		}
		fields, err := private.Open(s.Reading, private.StreamKey(old.Key))
		if err != nil {
			return nil, fmt.Errorf("device: reseal reading %d: %w", s.Seq, err)
		}
		for f, v := range fields {
			data[f] = v
		}
	}
	return k.Seal(reading.Reading{Device: s.Device, Seq: s.Seq, Time: s.Time, Data: data})
}

// Forget deletes from disk the keys of epochs before the newest announced
// one: once every reading sealed under them is sealed again (or
// delivered), the device keeps only its current epoch's key.
func (k *StreamKeys) Forget() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	last := -1
	for i, e := range k.st.Keys {
		if e.Announced {
			last = i
		}
	}
	if last <= 0 {
		return nil
	}
	k.st.Keys = slices.Clone(k.st.Keys[last:])
	return k.save()
}

// Refresh brings the device's stream key up to the ledger: it learns the
// device's current epoch and private fields, and when that epoch's key is
// not announced yet it makes one (or finishes one a previous run began),
// wraps it to the epoch's recipients, uploads the wrapped keys, announces
// their commitments (a stream_key transaction signed by the device's key,
// waiting for its block), uploads them again now that they are committed,
// and saves it. It returns the current epoch. Keys of earlier epochs stay
// on disk until Forget. Processes that share the key file take turns.
func (k *StreamKeys) Refresh(ctx context.Context) (uint64, error) {
	unlock, err := lockFile(k.path+lockExt, refreshLockWait, "stream key")
	if err != nil {
		return 0, err
	}
	defer unlock()
	if err := k.load(); err != nil { // another process may have refreshed it
		return 0, err
	}
	const attempts = 5
	var last error
	for range attempts {
		epoch, again, err := k.refresh(ctx)
		if !again {
			return epoch, err
		}
		last = err
		k.log.Info("device: stream key: the ledger moved on meanwhile; trying again", "device", k.id, "err", err)
	}
	return 0, fmt.Errorf("device: stream key of device %s: the ledger kept moving (%d tries): %w", k.id, attempts, last)
}

// refresh is one try of Refresh; again reports a refusal that a new look
// at the ledger cures (the epoch moved, or a recipient was added).
func (k *StreamKeys) refresh(ctx context.Context) (epoch uint64, again bool, err error) {
	d, err := k.api.Device(ctx, k.id)
	if err != nil {
		return 0, false, fmt.Errorf("device: stream key: look up device %s: %w", k.id, err)
	}
	k.mu.Lock()
	k.st.Fields = slices.Clone(d.PrivateFields)
	slices.Sort(k.st.Fields)
	err = k.save()
	k.mu.Unlock()
	if err != nil {
		return 0, false, err
	}
	switch {
	case d.Status == "revoked":
		return 0, false, fmt.Errorf("device: device %s is revoked; it announces no more stream keys", k.id)
	case d.StreamEpoch == 0:
		return 0, false, fmt.Errorf("%w: device %s has none, so the ledger takes no sealed readings from it; its owner names them first: iotledger device private %s FIELD,...", ErrNotPrivate, k.id, k.id)
	}
	e := d.StreamEpoch
	k.mu.Lock()
	cur := k.epochKey(e)
	k.mu.Unlock()
	if d.StreamKeyAnnounced {
		if cur != nil && cur.Announced {
			return e, false, nil
		}
		return e, false, k.finish(ctx, e, cur)
	}
	if cur == nil {
		sk, err := private.NewStreamKey()
		if err != nil {
			return 0, false, err
		}
		cur = &epochKey{Epoch: e, Key: sk[:]}
	}
	ep, err := k.api.DeviceEpoch(ctx, k.id, e)
	if err != nil {
		return 0, false, fmt.Errorf("device: stream key: the recipients of device %s's epoch %d: %w", k.id, e, err)
	}
	chainID, err := k.api.ChainID(ctx)
	if err != nil {
		return 0, false, err
	}
	f := &tx.StreamKey{Device: k.id, Epoch: e}
	cur.Wraps = cur.Wraps[:0]
	for _, r := range ep.Recipients {
		pub, err := k.api.EncryptionKey(ctx, r.Account)
		if err != nil {
			return 0, false, fmt.Errorf("device: stream key: recipient %s of device %s's epoch %d: %w", r.Account, k.id, e, err)
		}
		wrapped, c, err := private.Wrap(chainID, k.id, e, r.Account, pub, private.StreamKey(cur.Key))
		if err != nil {
			return 0, false, fmt.Errorf("device: stream key: wrap to %s: %w", r.Account, err)
		}
		cur.Wraps = append(cur.Wraps, client.WrappedKey{Epoch: e, Recipient: r.Account, Wrapped: wrapped})
		f.Wraps = append(f.Wraps, tx.KeyWrap{Recipient: r.Account, KEM: uint64(pub.KEM()), Commitment: c[:]})
	}
	// The key and its wraps are on disk before anything leaves: a device
	// that stops after the announcement finishes the work on its next
	// Refresh, with the same key.
	k.mu.Lock()
	k.put(*cur)
	err = k.save()
	k.mu.Unlock()
	if err != nil {
		return 0, false, err
	}
	// Uploaded first, the wrapped keys are held by the node until the
	// announcement commits; uploaded again after it, they are stored.
	if _, err := k.api.PutStreamKeys(ctx, k.id, cur.Wraps); err != nil {
		k.log.Info("device: stream key: upload before the announcement", "device", k.id, "epoch", e, "err", err)
	}
	if _, err := k.api.AnnounceStreamKey(ctx, k.key, f); err != nil {
		switch te, ok := errors.AsType[*client.TxError](err); {
		case ok && (te.Code == verdict.CodeStaleEpoch || te.Code == verdict.CodeUnknownEpoch || te.Code == verdict.CodeBadWraps || te.Code == verdict.CodeEpochAnnounced):
			return e, true, err
		default:
			return 0, false, fmt.Errorf("device: announce the stream key of device %s's epoch %d: %w", k.id, e, err)
		}
	}
	return e, false, k.finish(ctx, e, cur)
}

// finish completes epoch e's key once its announcement is committed:
// cur's wraps must be the ones announced (else another key was announced,
// ErrEpochTaken); they are uploaded, and the key saved as announced.
func (k *StreamKeys) finish(ctx context.Context, e uint64, cur *epochKey) error {
	if cur == nil || len(cur.Wraps) == 0 {
		return k.taken(e)
	}
	ep, err := k.api.DeviceEpoch(ctx, k.id, e)
	if err != nil {
		return fmt.Errorf("device: stream key: epoch %d of device %s: %w", e, k.id, err)
	}
	if !sameCommitments(ep.Recipients, cur.Wraps) {
		return k.taken(e)
	}
	if _, err := k.api.PutStreamKeys(ctx, k.id, cur.Wraps); err != nil {
		return fmt.Errorf("device: upload the wrapped stream keys of device %s's epoch %d (announced; the next refresh uploads them again): %w", k.id, e, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	cur.Announced, cur.Wraps = true, nil
	k.put(*cur)
	return k.save()
}

func (k *StreamKeys) taken(e uint64) error {
	return fmt.Errorf("%w: device %s's epoch %d was announced with a key not in %s (does another process hold this device's key, with a key file of its own?); its owner starts a new epoch: iotledger device rotate-stream-key %s",
		ErrEpochTaken, k.id, e, k.path, k.id)
}

// sameCommitments reports whether the ledger's recipients of an epoch
// hold exactly the commitments of wraps.
func sameCommitments(rs []client.Recipient, wraps []client.WrappedKey) bool {
	if len(rs) != len(wraps) {
		return false
	}
	for _, w := range wraps {
		c := private.Commitment(w.Wrapped)
		i := slices.IndexFunc(rs, func(r client.Recipient) bool { return r.Account == w.Recipient })
		if i < 0 || !bytes.Equal(rs[i].Commitment, c[:]) {
			return false
		}
	}
	return true
}

// epochKey returns a copy of the key of epoch e on disk, or nil. The
// caller holds k.mu.
func (k *StreamKeys) epochKey(e uint64) *epochKey {
	for _, ek := range k.st.Keys {
		if ek.Epoch == e {
			c := ek
			c.Wraps = slices.Clone(ek.Wraps)
			return &c
		}
	}
	return nil
}

// put adds or replaces the key of ek.Epoch, keeping epochs in order. The
// caller holds k.mu.
func (k *StreamKeys) put(ek epochKey) {
	i, found := slices.BinarySearchFunc(k.st.Keys, ek.Epoch, func(e epochKey, n uint64) int {
		switch {
		case e.Epoch < n:
			return -1
		case e.Epoch > n:
			return 1
		}
		return 0
	})
	if found {
		k.st.Keys[i] = ek
		return
	}
	k.st.Keys = slices.Insert(k.st.Keys, i, ek)
}
