// Package keyboxtest holds fixtures for tests of the key box and its
// users: an in-memory ledger of epochs (what keybox.Ledger reads) and
// real wrapped keys made with package private.
package keyboxtest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"sort"
	"sync"
	"testing"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/keybox"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/private"
)

// ChainID is the chain the fixtures' keys are wrapped for.
const ChainID = "keybox-test"

// Ledger is committed state as the key box reads it, held in memory and
// changed by the test. It is safe for concurrent use.
type Ledger struct {
	mu     sync.Mutex
	epochs map[epochKey]*state.Epoch
}

type epochKey struct {
	device string
	n      uint64
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{epochs: map[epochKey]*state.Epoch{}} }

// Epoch implements keybox.Ledger: a copy of the record.
func (l *Ledger) Epoch(device string, n uint64) (*state.Epoch, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.epochs[epochKey{device, n}]
	if e == nil {
		return nil, nil
	}
	c := *e
	c.Recipients = append([]state.Recipient(nil), e.Recipients...)
	return &c, nil
}

// EpochsAfter implements keybox.Epochs: the records in (device, epoch)
// order after (device, n).
func (l *Ledger) EpochsAfter(device string, n uint64, limit int) ([]keybox.DeviceEpoch, error) {
	l.mu.Lock()
	keys := make([]epochKey, 0, len(l.epochs))
	for k := range l.epochs {
		if k.device > device || (k.device == device && k.n > n) {
			keys = append(keys, k)
		}
	}
	l.mu.Unlock()
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].device != keys[j].device {
			return keys[i].device < keys[j].device
		}
		return keys[i].n < keys[j].n
	})
	var out []keybox.DeviceEpoch
	for _, k := range keys {
		if len(out) == limit {
			break
		}
		e, _ := l.Epoch(k.device, k.n)
		out = append(out, keybox.DeviceEpoch{Device: k.device, Epoch: e})
	}
	return out, nil
}

// Start records epoch n of device with recipients and no commitments.
func (l *Ledger) Start(device string, n uint64, recipients ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := &state.Epoch{Number: n, Started: 1}
	for _, r := range recipients {
		e.AddRecipient(r)
	}
	l.epochs[epochKey{device, n}] = e
}

// Commit records the commitment of a wrapped key (adding its recipient
// if need be), committed at height.
func (l *Ledger) Commit(s keybox.Slot, wrapped []byte, height int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.epochs[epochKey{s.Device, s.Epoch}]
	if e == nil {
		e = &state.Epoch{Number: s.Epoch, Started: height}
		l.epochs[epochKey{s.Device, s.Epoch}] = e
	}
	sum := sha256.Sum256(wrapped)
	r := e.AddRecipient(s.Recipient)
	r.KEM, r.Commitment, r.Height = state.KEMX25519, sum[:], height
	if e.Announced == 0 {
		e.Announced = height
	}
}

// Erase marks epoch n of device erased at height.
func (l *Ledger) Erase(device string, n uint64, height int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.epochs[epochKey{device, n}]; e != nil {
		e.Erased = height
	}
}

// Device returns the id of the i-th test device.
func Device(i int) string { return address.Device(seedKey(0x10, i).Public().(ed25519.PublicKey)) }

// Account returns the address of the i-th test account.
func Account(i int) string { return address.Account(seedKey(0x20, i).Public().(ed25519.PublicKey)) }

func seedKey(tag byte, i int) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = tag
	binary.BigEndian.PutUint32(seed[1:], uint32(i))
	return ed25519.NewKeyFromSeed(seed)
}

// Wrap wraps a fresh stream key for a slot to a fresh X25519 (or, with
// hybrid, X-Wing) encryption key, and returns the wrapped key.
func Wrap(t testing.TB, s keybox.Slot, hybrid bool) []byte {
	t.Helper()
	priv, err := private.GenerateKey(hybrid)
	if err != nil {
		t.Fatal(err)
	}
	k, err := private.NewStreamKey()
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := private.Wrap(ChainID, s.Device, s.Epoch, s.Recipient, priv.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
