// Package keystore keeps named Ed25519 keys in a node home, one JSON file a
// key under HOME/keys, created with mode 0600. A key serves as an account
// (its address, acc1...) or as a device (its id, dev1...), or both.
//
// A key file may also hold the account's encryption key material for
// private readings (docs/PRIVATE.md, package private): the X25519 private
// key and, for a hybrid key, the X-Wing seed, 32 bytes each. New makes
// both (a hybrid key); a key file without them (made before private
// readings, or by Import) keeps working, and gets them when first needed
// (AddEncryption, which the CLI runs and says so). The file, in JSON:
//
//	{"name": "alice", "type": "ed25519", "seed": BASE64 (32 bytes),
//	 "public_key": BASE64, "address": "acc1...", "device_id": "dev1...",
//	 "encryption": {"x25519": BASE64 (32 bytes), "x_wing_seed": BASE64 (32 bytes, absent for an X25519-only key)}}
//
// The explorer reads the same file in the browser to open sealed fields
// (its "encryption" member only); it never leaves the browser.
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
	"github.com/iotledger/iotledger/private"
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
	// Encryption is the account's encryption private key (private
	// readings); nil when the key file holds none yet (AddEncryption).
	Encryption *private.PrivateKey
}

// Public returns the public key.
func (k *Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// Address returns the key's account address.
func (k *Key) Address() string { return address.Account(k.Public()) }

// DeviceID returns the id of a device registered with this key.
func (k *Key) DeviceID() string { return address.Device(k.Public()) }

type file struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Seed       []byte          `json:"seed"`
	PublicKey  []byte          `json:"public_key"`
	Address    string          `json:"address"`
	DeviceID   string          `json:"device_id"`
	Encryption *encryptionFile `json:"encryption,omitempty"`
}

// encryptionFile is a key file's encryption key material.
type encryptionFile struct {
	X25519    []byte `json:"x25519"`
	XWingSeed []byte `json:"x_wing_seed,omitempty"`
}

// Dir is the folder of a home's keys.
func Dir(home string) string { return filepath.Join(home, "keys") }

func path(home, name string) (string, error) {
	if !nameRE.MatchString(name) {
		return "", fmt.Errorf("%w: %q: use letters, digits, '.', '_' or '-', up to 64", ErrName, name)
	}
	return filepath.Join(Dir(home), name+".json"), nil
}

// New creates a key with a fresh random seed and a hybrid encryption key
// (X25519 and X-Wing).
func New(home, name string) (*Key, error) { return NewKey(home, name, true) }

// NewKey creates a key with a fresh random seed and an encryption key,
// hybrid (X25519 and X-Wing) or X25519 only.
func NewKey(home, name string, hybrid bool) (*Key, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	enc, err := private.GenerateKey(hybrid)
	if err != nil {
		return nil, err
	}
	return store(home, name, seed, enc)
}

// Import stores a key made from a seed, without an encryption key
// (AddEncryption adds one).
func Import(home, name string, seed []byte) (*Key, error) { return store(home, name, seed, nil) }

// store writes a new key file.
func store(home, name string, seed []byte, enc *private.PrivateKey) (*Key, error) {
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
	k := &Key{Name: name, Private: ed25519.NewKeyFromSeed(seed), Encryption: enc}
	b, err := k.marshal()
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
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// marshal returns k's key file.
func (k *Key) marshal() ([]byte, error) {
	f := file{Name: k.Name, Type: "ed25519", Seed: k.Private.Seed(), PublicKey: k.Public(), Address: k.Address(), DeviceID: k.DeviceID()}
	if k.Encryption != nil {
		x, xw := k.Encryption.Bytes()
		f.Encryption = &encryptionFile{X25519: x, XWingSeed: xw}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
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
	k := &Key{Name: f.Name, Private: ed25519.NewKeyFromSeed(f.Seed)}
	if f.Encryption != nil {
		enc, err := private.NewPrivateKey(f.Encryption.X25519, f.Encryption.XWingSeed)
		if err != nil {
			return nil, fmt.Errorf("keystore: %s: its encryption key is not one: %v; restore the file from a backup", p, err)
		}
		k.Encryption = enc
	}
	return k, nil
}

// AddEncryption gives the key name an encryption key (hybrid: X25519 and
// X-Wing, else X25519 only) if its file holds none, and rewrites the file
// (a temporary file of mode 0600, synced, renamed over it). It returns the
// key and whether it added one; a key that has one is returned as it is.
func AddEncryption(home, name string, hybrid bool) (*Key, bool, error) {
	k, err := Load(home, name)
	if err != nil || k.Encryption != nil {
		return k, false, err
	}
	enc, err := private.GenerateKey(hybrid)
	if err != nil {
		return nil, false, err
	}
	k.Encryption = enc
	b, err := k.marshal()
	if err != nil {
		return nil, false, err
	}
	p, _ := path(home, name)
	if err := replace(p, b); err != nil {
		return nil, false, fmt.Errorf("keystore: add an encryption key to %s: %w", p, err)
	}
	return k, true, nil
}

// replace writes b to p through a temporary file of mode 0600 beside it,
// synced and renamed, and syncs the folder: p is the old file or the new,
// never part of one.
func replace(p string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
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
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(p))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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
