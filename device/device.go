package device

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/reading"
)

// Signer signs a device's readings with increasing sequence numbers.
type Signer struct {
	key ed25519.PrivateKey
	id  string

	mu   sync.Mutex // guards next and the state file
	next uint64
	path string // "" keeps the sequence in memory only
}

// ErrSeqLocked means another signer, in this process or another, held a
// device's sequence state for longer than a signer waits (10 s).
var ErrSeqLocked = errors.New("device: sequence state is locked by another signer")

// NewSigner returns a signer for the device with the given key. id is the
// device's id on the ledger: empty means the id of key (a device whose key
// was rotated keeps its original id). The next sequence number is kept in
// stateFile; an empty stateFile keeps it in memory and starts at 1.
//
// Several signers may share a state file, in one process or several (the
// CLI's `reading send` while `dev` simulates the same device): each Sign
// takes the lock file stateFile+".lock" (flock, on Unix), reads the number
// in stateFile again, and saves the next before it lets go, so no number
// is ever handed out twice.
func NewSigner(key ed25519.PrivateKey, id, stateFile string) (*Signer, error) {
	if id == "" {
		id = address.Device(key.Public().(ed25519.PublicKey))
	}
	if err := address.ParseDevice(id); err != nil {
		return nil, err
	}
	s := &Signer{key: key, id: id, next: 1, path: stateFile}
	if err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// reload raises next to the number in the state file, which another signer
// on the same file may have raised.
func (s *Signer) reload() error {
	if s.path == "" {
		return nil
	}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("device: read sequence state: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return fmt.Errorf("device: sequence state %s is not a number: %w", s.path, err)
	}
	s.next = max(s.next, n)
	return nil
}

// lock takes the state file's lock and reloads the number under it; the
// caller holds s.mu and calls unlock when the number it used is saved.
func (s *Signer) lock() (unlock func() error, err error) {
	if s.path == "" {
		return func() error { return nil }, nil
	}
	unlock, err = lockSeq(s.path + lockExt)
	if err != nil {
		return nil, err
	}
	if err := s.reload(); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// lockExt names the lock file beside a sequence state file.
const lockExt = ".lock"

// ID is the device id readings are signed for.
func (s *Signer) ID() string { return s.id }

// Next is the sequence number the next reading gets.
func (s *Signer) Next() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// Sign makes a reading of data taken at t, with the next sequence number,
// and returns its bytes and number. The number is persisted before the
// reading is returned. Data the reading format refuses is an error and uses
// no number; with an error, Sign returns no reading and no number.
func (s *Signer) Sign(data map[string]any, t time.Time) ([]byte, uint64, error) {
	return s.sign(data, t, nil, nil)
}

// SignSealed is Sign with the device's private fields sealed (see
// StreamKeys.Seal): the fields of data that keys names are sealed under
// the newest stream key on disk, the rest stay public. Without a stream
// key on disk the error wraps ErrNoStreamKey and no number is used: call
// keys.Refresh first.
func (s *Signer) SignSealed(data map[string]any, t time.Time, keys *StreamKeys) ([]byte, uint64, error) {
	if keys.ID() != s.id {
		return nil, 0, fmt.Errorf("device: the stream keys are device %s's, the signer signs for %s", keys.ID(), s.id)
	}
	return s.sign(data, t, nil, keys.Seal)
}

// keeper stores a signed reading durably before its number is saved as
// used (the Sender's outbox); drop undoes keep when the number could not
// be saved.
type keeper interface {
	keep(seq uint64, raw []byte) error
	drop(seq uint64) error
}

// sign signs a reading with the next number, with seal when not nil
// (else reading.Sign). With k, the reading is kept before the number is
// saved: a crash in between leaves a reading in the outbox at or above the
// saved number, which NewSender takes into account, and never a used
// number without a reading.
func (s *Signer) sign(data map[string]any, t time.Time, k keeper, seal func(reading.Reading) ([]byte, error)) ([]byte, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.lock()
	if err != nil {
		return nil, 0, err
	}
	defer unlock()
	seq := s.next
	if seq == math.MaxUint64 {
		// seq+1 would wrap to numbers already used.
		return nil, 0, fmt.Errorf("device: sequence numbers of device %s are exhausted", s.id)
	}
	r := reading.Reading{Device: s.id, Seq: seq, Time: t.UnixMilli(), Data: data}
	var raw []byte
	if seal != nil {
		raw, err = seal(r)
	} else {
		raw, err = reading.Sign(r, s.key)
	}
	if err != nil {
		return nil, 0, err
	}
	if k != nil {
		if err := k.keep(seq, raw); err != nil {
			return nil, 0, err
		}
	}
	if err := s.save(seq + 1); err != nil {
		if k != nil {
			if derr := k.drop(seq); derr != nil {
				// The reading stays in the outbox at the saved number: it
				// was never offered, so the next reading replaces it; after
				// a crash, NewSender sends it.
				err = errors.Join(err, derr)
			}
		}
		return nil, 0, err
	}
	s.next = seq + 1
	return raw, seq, nil
}

// advance makes the next number at least n, persisting it.
func (s *Signer) advance(n uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if n <= s.next {
		return nil
	}
	if err := s.save(n); err != nil {
		return err
	}
	s.next = n
	return nil
}

// save writes next to the state file atomically and durably: a temporary
// file, fsync, rename, fsync of the folder (without the last, a crash can
// undo the rename).
func (s *Signer) save(next uint64) error {
	if s.path == "" {
		return nil
	}
	if err := writeFileSync(s.path, []byte(strconv.FormatUint(next, 10)+"\n")); err != nil {
		return fmt.Errorf("device: save sequence: %w", err)
	}
	return nil
}

// ParseData turns k=v arguments into reading data: numbers become numbers
// (integers stay integers), true and false become bools, anything else text.
func ParseData(args []string) (map[string]any, error) {
	data := make(map[string]any, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("device: %q is not key=value", a)
		}
		if _, dup := data[k]; dup {
			return nil, fmt.Errorf("device: field %q given twice", k)
		}
		switch {
		case v == "true" || v == "false":
			data[k] = v == "true"
		default:
			if i, err := strconv.ParseInt(v, 10, 64); err == nil {
				data[k] = i
			} else if u, err := strconv.ParseUint(v, 10, 64); err == nil {
				data[k] = u
			} else if f, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "xXnN") {
				data[k] = f
			} else {
				data[k] = v
			}
		}
	}
	return data, nil
}
