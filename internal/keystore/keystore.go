// Package keystore keeps named Ed25519 keys in a node home, one JSON file a
// key under HOME/keys, created with mode 0600. A key serves as an account
// (its address, acc1...) or as a device (its id, dev1...), or both.
//
// Keys are plain files so an operator can back them up and move them. No
// API and no command prints the private part, but one asked for exactly
// that: `iotledger keys export` writes it as PKCS#8 PEM (Key.PEM), for
// another tool or a device's provisioning. `iotledger keys import` takes a
// key made elsewhere (ParseSeed: PKCS#8 PEM, as openssl genpkey -algorithm
// ed25519 writes, or the 32-byte seed in hex).
package keystore

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/iotledger/iotledger/address"
)

var (
	// ErrExists means a key of that name exists already.
	ErrExists = errors.New("keystore: key exists")
	// ErrNotFound means there is no key of that name.
	ErrNotFound = errors.New("keystore: no such key")
	// ErrName means the name is not usable as a key name.
	ErrName = errors.New("keystore: invalid key name")
	// ErrPermissions means a key file is readable by others.
	ErrPermissions = errors.New("keystore: key file is readable by group or others")
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Key is a named key.
type Key struct {
	Name    string
	Private ed25519.PrivateKey
}

// Public returns the public key.
func (k *Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// Address returns the key's account address.
func (k *Key) Address() string { return address.Account(k.Public()) }

// DeviceID returns the id of a device registered with this key.
func (k *Key) DeviceID() string { return address.Device(k.Public()) }

type file struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Seed      []byte `json:"seed"`
	PublicKey []byte `json:"public_key"`
	Address   string `json:"address"`
	DeviceID  string `json:"device_id"`
}

// Dir is the folder of a home's keys.
func Dir(home string) string { return filepath.Join(home, "keys") }

func path(home, name string) (string, error) {
	if !nameRE.MatchString(name) {
		return "", fmt.Errorf("%w: %q: use letters, digits, '.', '_' or '-', up to 64", ErrName, name)
	}
	return filepath.Join(Dir(home), name+".json"), nil
}

// New creates a key with a fresh random seed.
func New(home, name string) (*Key, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	return Import(home, name, seed)
}

// Import stores a key made from a seed.
func Import(home, name string, seed []byte) (*Key, error) {
	p, err := path(home, name)
	if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("keystore: seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	if err := os.MkdirAll(Dir(home), 0o700); err != nil {
		return nil, err
	}
	k := &Key{Name: name, Private: ed25519.NewKeyFromSeed(seed)}
	b, err := json.MarshalIndent(file{Name: name, Type: "ed25519", Seed: seed, PublicKey: k.Public(), Address: k.Address(), DeviceID: k.DeviceID()}, "", "  ")
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w: %s (%s)", ErrExists, name, p)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// Load reads a key. It refuses a key file that group or others can read.
func Load(home, name string) (*Key, error) {
	p, err := path(home, name)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q in %s; create it with `iotledger keys new %s`", ErrNotFound, name, Dir(home), name)
	}
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v; run chmod 600 %s", ErrPermissions, p, st.Mode().Perm(), p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil || len(f.Seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("keystore: %s is not a key file", p)
	}
	return &Key{Name: f.Name, Private: ed25519.NewKeyFromSeed(f.Seed)}, nil
}

// List returns the names of the keys in a home, sorted.
func List(home string) ([]string, error) {
	ents, err := os.ReadDir(Dir(home))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// String names the key and its account, never the private part, so a key
// printed or logged by mistake leaks nothing.
func (k Key) String() string { return "key " + k.Name + " (" + k.Address() + ")" }

// GoString is String, for %#v.
func (k Key) GoString() string { return k.String() }

// LogValue is String, for log/slog.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }
