// Package address derives and checks the identifiers of iotledger: device ids
// (dev1...) and account addresses (acc1...).
//
// Both are bech32 strings (BIP 173) over the first 20 bytes of the SHA-256 of
// an Ed25519 public key. The human-readable prefix tells a device from an
// account and the bech32 checksum catches typing errors, so a mistyped id is
// refused before it reaches the ledger.
//
// A device keeps the id of the key it was registered with: when its key is
// rotated, the id stays and the ledger records which key is current.
package address

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/btcutil/bech32"
)

// Prefixes of the two kinds of identifier.
const (
	DevicePrefix  = "dev"
	AccountPrefix = "acc"
)

// Len is the number of bytes of key hash an identifier carries.
const Len = 20

// MaxLen bounds the length of an identifier's text form.
const MaxLen = 64

var (
	// ErrInvalid means the text is not a well-formed identifier.
	ErrInvalid = errors.New("address: invalid identifier")
	// ErrWrongKind means an account address was given where a device id was expected, or the reverse.
	ErrWrongKind = errors.New("address: wrong kind of identifier")
)

// Device returns the device id of an Ed25519 public key.
func Device(pub []byte) string { return encode(DevicePrefix, pub) }

// Account returns the account address of an Ed25519 public key.
func Account(pub []byte) string { return encode(AccountPrefix, pub) }

func encode(prefix string, pub []byte) string {
	sum := sha256.Sum256(pub)
	conv, err := bech32.ConvertBits(sum[:Len], 8, 5, true)
	if err != nil {
		panic("address: convert bits: " + err.Error()) // cannot happen for 20 bytes
	}
	s, err := bech32.Encode(prefix, conv)
	if err != nil {
		panic("address: encode: " + err.Error())
	}
	return s
}

// ParseDevice checks that s is a well-formed device id.
func ParseDevice(s string) error { return parse(DevicePrefix, s) }

// ParseAccount checks that s is a well-formed account address.
func ParseAccount(s string) error { return parse(AccountPrefix, s) }

// valid remembers strings that parsed, so that the ids every reading
// carries are checked once rather than per reading (bech32 decoding and the
// canonical re-encoding cost about a microsecond). Bounded: it starts over
// when full.
var valid = struct {
	sync.Mutex
	m map[string]struct{}
}{m: map[string]struct{}{}}

const maxValid = 1 << 16

func parse(prefix, s string) error {
	// A valid string's human-readable part is all before its only '1'
	// (the bech32 data alphabet has none), so the prefix test is exact.
	if len(s) > len(prefix) && s[len(prefix)] == '1' && s[:len(prefix)] == prefix {
		valid.Lock()
		_, ok := valid.m[s]
		valid.Unlock()
		if ok {
			return nil
		}
	}
	if err := parseUncached(prefix, s); err != nil {
		return err
	}
	valid.Lock()
	if len(valid.m) >= maxValid {
		clear(valid.m)
	}
	valid.m[s] = struct{}{}
	valid.Unlock()
	return nil
}

func parseUncached(prefix, s string) error {
	if len(s) == 0 || len(s) > MaxLen {
		return fmt.Errorf("%w: %q has length %d, want 1 to %d", ErrInvalid, s, len(s), MaxLen)
	}
	hrp, data, err := bech32.Decode(s)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrInvalid, s, err)
	}
	if hrp != prefix {
		return fmt.Errorf("%w: %q starts with %q, want %q", ErrWrongKind, s, hrp+"1", prefix+"1")
	}
	raw, err := bech32.ConvertBits(data, 5, 8, false)
	if err != nil || len(raw) != Len {
		return fmt.Errorf("%w: %q does not hold %d bytes", ErrInvalid, s, Len)
	}
	if s != encodeRaw(prefix, raw) {
		return fmt.Errorf("%w: %q is not in canonical lower-case form", ErrInvalid, s)
	}
	return nil
}

func encodeRaw(prefix string, raw []byte) string {
	conv, _ := bech32.ConvertBits(raw, 8, 5, true)
	s, _ := bech32.Encode(prefix, conv)
	return s
}
