// Package device is the device side of iotledger: it signs readings with the
// device's Ed25519 key and keeps the device's sequence numbers across
// restarts, so a device never reuses one.
//
// A Signer persists the next sequence number in a small file before it hands
// out a reading (write to a temporary file, fsync, rename): after a crash the
// device continues above every number it may have used. Readings are sent
// with package client (HTTP); the ledger's duplicate rule makes resending the
// same reading safe, since the answer points to the original's receipt.
package device

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
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

// NewSigner returns a signer for the device with the given key. id is the
// device's id on the ledger: empty means the id of key (a device whose key
// was rotated keeps its original id). The next sequence number is kept in
// stateFile; an empty stateFile keeps it in memory and starts at 1.
func NewSigner(key ed25519.PrivateKey, id, stateFile string) (*Signer, error) {
	if id == "" {
		id = address.Device(key.Public().(ed25519.PublicKey))
	}
	if err := address.ParseDevice(id); err != nil {
		return nil, err
	}
	s := &Signer{key: key, id: id, next: 1, path: stateFile}
	if stateFile == "" {
		return s, nil
	}
	b, err := os.ReadFile(stateFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("device: read sequence state: %w", err)
	default:
		n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("device: sequence state %s is not a number: %w", stateFile, err)
		}
		s.next = n
	}
	return s, nil
}

// ID is the device id readings are signed for.
func (s *Signer) ID() string { return s.id }

// Next is the sequence number the next reading gets.
func (s *Signer) Next() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// Sign makes a reading of data taken at t, with the next sequence number,
// and returns its bytes and number. The number is persisted first.
func (s *Signer) Sign(data map[string]any, t time.Time) ([]byte, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.next
	if seq == math.MaxUint64 {
		// seq+1 would wrap to numbers already used.
		return nil, 0, fmt.Errorf("device: sequence numbers of device %s are exhausted", s.id)
	}
	if err := s.save(seq + 1); err != nil {
		return nil, 0, err
	}
	s.next = seq + 1
	raw, err := reading.Sign(reading.Reading{Device: s.id, Seq: seq, Time: t.UnixMilli(), Data: data}, s.key)
	return raw, seq, err
}

func (s *Signer) save(next uint64) error {
	if s.path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("device: save sequence: %w", err)
	}
	if _, err := f.WriteString(strconv.FormatUint(next, 10) + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
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
