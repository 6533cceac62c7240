package keystore_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/keystore"
)

// seed returns a fixed seed of 32 times b.
func seed(b byte) []byte { return bytes.Repeat([]byte{b}, ed25519.SeedSize) }

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func keyFile(home, name string) string { return filepath.Join(home, "keys", name+".json") }

func TestNewCreatesPrivateFile(t *testing.T) {
	home := t.TempDir()
	k, err := keystore.New(home, "alice")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got, want := keystore.Dir(home), filepath.Join(home, "keys"); got != want {
		t.Errorf("Dir = %s, want %s", got, want)
	}
	p := keyFile(home, "alice")
	if got, want := mode(t, p), os.FileMode(0o600); got != want {
		t.Errorf("key file mode %v, want %v", got, want)
	}
	if got, want := mode(t, keystore.Dir(home)), os.FileMode(0o700); got != want {
		t.Errorf("keys folder mode %v, want %v", got, want)
	}

	// The file records what a person needs to recognise the key.
	var f struct {
		Name, Type, Address string
		DeviceID            string `json:"device_id"`
		PublicKey           []byte `json:"public_key"`
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("key file is not JSON: %v", err)
	}
	if diff := cmp.Diff(
		[]any{f.Name, f.Type, f.Address, f.DeviceID, []byte(f.PublicKey)},
		[]any{"alice", "ed25519", k.Address(), k.DeviceID(), []byte(k.Public())},
	); diff != "" {
		t.Errorf("key file fields (-got +want):\n%s", diff)
	}

	loaded, err := keystore.Load(home, "alice")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !loaded.Private.Equal(k.Private) || loaded.Name != "alice" {
		t.Errorf("Load gave key %q %s, want the key New made (%s)", loaded.Name, loaded.Address(), k.Address())
	}
}

func TestNewIsRandom(t *testing.T) {
	home := t.TempDir()
	a, err := keystore.New(home, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := keystore.New(home, "b")
	if err != nil {
		t.Fatal(err)
	}
	if a.Private.Equal(b.Private) {
		t.Errorf("two New keys are equal (%s)", a.Address())
	}
}

func TestNewRefusesExistingName(t *testing.T) {
	home := t.TempDir()
	first, err := keystore.New(home, "alice")
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(keyFile(home, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	for _, create := range []struct {
		name string
		run  func() (*keystore.Key, error)
	}{
		{"New", func() (*keystore.Key, error) { return keystore.New(home, "alice") }},
		{"Import", func() (*keystore.Key, error) { return keystore.Import(home, "alice", seed(7)) }},
	} {
		t.Run(create.name, func(t *testing.T) {
			k, err := create.run()
			if !errors.Is(err, keystore.ErrExists) {
				t.Fatalf("%s of an existing name = %v, %v; want %v", create.name, k, err, keystore.ErrExists)
			}
			if !strings.Contains(err.Error(), "alice") {
				t.Errorf("error %q does not name the key", err)
			}
		})
	}
	after, err := os.ReadFile(keyFile(home, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, before) {
		t.Errorf("key file changed by a refused New/Import")
	}
	k, err := keystore.Load(home, "alice")
	if err != nil || !k.Private.Equal(first.Private) {
		t.Errorf("Load after refusals = %v, %v; want the first key", k, err)
	}
}

func TestLoadRefusesReadableFile(t *testing.T) {
	for _, perm := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o700} {
		t.Run(perm.String(), func(t *testing.T) {
			home := t.TempDir()
			if _, err := keystore.New(home, "alice"); err != nil {
				t.Fatal(err)
			}
			p := keyFile(home, "alice")
			if err := os.Chmod(p, perm); err != nil {
				t.Fatal(err)
			}
			k, err := keystore.Load(home, "alice")
			if perm&0o077 == 0 {
				if err != nil {
					t.Errorf("Load of a mode %v file: %v, want it loaded", perm, err)
				}
				return
			}
			if !errors.Is(err, keystore.ErrPermissions) {
				t.Fatalf("Load of a mode %v file = %v, %v; want %v", perm, k, err, keystore.ErrPermissions)
			}
			for _, hint := range []string{"chmod 600 " + p, perm.String()} {
				if !strings.Contains(err.Error(), hint) {
					t.Errorf("error %q does not say %q", err, hint)
				}
			}
		})
	}
}

func TestLoadMissingKey(t *testing.T) {
	home := t.TempDir()
	for _, setup := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"no keys folder", func(*testing.T) {}},
		{"other keys only", func(t *testing.T) {
			if _, err := keystore.New(home, "alice"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(setup.name, func(t *testing.T) {
			setup.run(t)
			k, err := keystore.Load(home, "bob")
			if !errors.Is(err, keystore.ErrNotFound) {
				t.Fatalf("Load of a missing key = %v, %v; want %v", k, err, keystore.ErrNotFound)
			}
			if !strings.Contains(err.Error(), "`iotledger keys new bob`") {
				t.Errorf("error %q does not say how to create the key", err)
			}
		})
	}
}

func TestLoadRefusesBrokenFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"not JSON", "hello"},
		{"no seed", `{"name":"alice"}`},
		{"short seed", `{"name":"alice","seed":"AAEC"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			if err := os.MkdirAll(keystore.Dir(home), 0o700); err != nil {
				t.Fatal(err)
			}
			p := keyFile(home, "alice")
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := keystore.Load(home, "alice")
			if err == nil || !strings.Contains(err.Error(), p+" is not a key file") {
				t.Errorf("Load = %v, %v; want an error saying %s is not a key file", k, err, p)
			}
		})
	}
}

func TestInvalidNames(t *testing.T) {
	names := []string{
		"",
		"../x",
		"..",
		"a/b",
		`a\b`,
		"/abs",
		".hidden",
		"-flag",
		"_x",
		"a b",
		"a\n",
		"é",
		strings.Repeat("a", 65),
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			home := t.TempDir()
			ops := []struct {
				op  string
				run func() error
			}{
				{"New", func() error { _, err := keystore.New(home, name); return err }},
				{"Import", func() error { _, err := keystore.Import(home, name, seed(1)); return err }},
				{"Load", func() error { _, err := keystore.Load(home, name); return err }},
			}
			for _, o := range ops {
				if err := o.run(); !errors.Is(err, keystore.ErrName) {
					t.Errorf("%s(%q): %v, want %v", o.op, name, err, keystore.ErrName)
				}
			}
			// Nothing is written anywhere for a refused name.
			ents, err := os.ReadDir(home)
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != 0 {
				t.Errorf("home holds %d entries after refusals, want none", len(ents))
			}
		})
	}
}

func TestValidNames(t *testing.T) {
	for _, name := range []string{"a", "Z", "7", "alice", "plant-7.sensor_03", "a..b", strings.Repeat("a", 64)} {
		t.Run(name, func(t *testing.T) {
			home := t.TempDir()
			if _, err := keystore.Import(home, name, seed(1)); err != nil {
				t.Fatalf("Import(%q): %v", name, err)
			}
			if _, err := keystore.Load(home, name); err != nil {
				t.Errorf("Load(%q): %v", name, err)
			}
		})
	}
}

func TestList(t *testing.T) {
	home := t.TempDir()
	got, err := keystore.List(home)
	if err != nil || len(got) != 0 {
		t.Errorf("List of a home without keys = %q, %v; want none and no error", got, err)
	}
	for _, n := range []string{"charlie", "alice", "Bob", "bob-2"} {
		if _, err := keystore.New(home, n); err != nil {
			t.Fatal(err)
		}
	}
	// Files that are not keys are ignored.
	if err := os.WriteFile(filepath.Join(keystore.Dir(home), "notes.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(keystore.Dir(home), "old.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err = keystore.List(home)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []string{"Bob", "alice", "bob-2", "charlie"}); diff != "" {
		t.Errorf("List (-got +want):\n%s", diff)
	}
}

func TestImportIsDeterministic(t *testing.T) {
	s := seed(42)
	want := ed25519.NewKeyFromSeed(s)
	wantPub := want.Public().(ed25519.PublicKey)
	home := t.TempDir()
	for _, name := range []string{"first", "second"} {
		k, err := keystore.Import(home, name, s)
		if err != nil {
			t.Fatalf("Import %s: %v", name, err)
		}
		loaded, err := keystore.Load(home, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []*keystore.Key{k, loaded} {
			if diff := cmp.Diff(
				[]string{got.Name, got.Address(), got.DeviceID()},
				[]string{name, address.Account(wantPub), address.Device(wantPub)},
			); diff != "" {
				t.Errorf("key %s (-got +want):\n%s", name, diff)
			}
			if !got.Public().Equal(wantPub) || !got.Private.Equal(want) {
				t.Errorf("key %s is not the key of its seed", name)
			}
		}
	}
	if err := address.ParseAccount(address.Account(wantPub)); err != nil {
		t.Errorf("address of the key: %v", err)
	}
}

func TestImportRefusesBadSeed(t *testing.T) {
	for _, n := range []int{0, 31, 33, 64} {
		home := t.TempDir()
		k, err := keystore.Import(home, "alice", make([]byte, n))
		if err == nil {
			t.Errorf("Import of a %d-byte seed = %s, want an error", n, k.Address())
		}
		if _, err := os.Stat(keyFile(home, "alice")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Import of a %d-byte seed left a key file (stat: %v)", n, err)
		}
	}
}

func TestKeyNeverPrintsItsSecret(t *testing.T) {
	k, err := keystore.Import(t.TempDir(), "alice", seed(7))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "key", k)
	secrets := []string{hex.EncodeToString(k.Private.Seed()), base64.StdEncoding.EncodeToString(k.Private.Seed()), hex.EncodeToString(k.Private)}
	for _, out := range []string{fmt.Sprint(k), fmt.Sprint(*k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), logged.String()} {
		if !strings.Contains(out, k.Address()) {
			t.Errorf("%q does not name the key's address", out)
		}
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%q holds the private key", out)
			}
		}
	}
}

func TestNewHasHybridEncryptionKey(t *testing.T) {
	home := t.TempDir()
	for _, tt := range []struct {
		name   string
		hybrid bool
		make   func() (*keystore.Key, error)
	}{
		{"hybrid", true, func() (*keystore.Key, error) { return keystore.New(home, "hybrid") }},
		{"x25519", false, func() (*keystore.Key, error) { return keystore.NewKey(home, "x25519", false) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.make()
			if err != nil {
				t.Fatal(err)
			}
			if k.Encryption == nil {
				t.Fatal("a new key has no encryption key")
			}
			if got := k.Encryption.Hybrid(); got != tt.hybrid {
				t.Errorf("Hybrid() = %v, want %v", got, tt.hybrid)
			}
			loaded, err := keystore.Load(home, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if loaded.Encryption == nil {
				t.Fatal("Load lost the encryption key")
			}
			if diff := cmp.Diff(loaded.Encryption.Public(), k.Encryption.Public()); diff != "" {
				t.Errorf("loaded encryption key (-got +want):\n%s", diff)
			}
			if got, want := mode(t, keyFile(home, tt.name)), os.FileMode(0o600); got != want {
				t.Errorf("key file mode %v, want %v", got, want)
			}
			// The file says it the way the explorer reads it.
			var f struct {
				Encryption struct {
					X25519    []byte `json:"x25519"`
					XWingSeed []byte `json:"x_wing_seed"`
				} `json:"encryption"`
			}
			b, err := os.ReadFile(keyFile(home, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			x, xw := k.Encryption.Bytes()
			if !bytes.Equal(f.Encryption.X25519, x) || !bytes.Equal(f.Encryption.XWingSeed, xw) {
				t.Errorf("key file's encryption member = %x, %x; want %x, %x", f.Encryption.X25519, f.Encryption.XWingSeed, x, xw)
			}
		})
	}
}

func TestAddEncryptionToOldKeyFile(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(keystore.Dir(home), 0o700); err != nil {
		t.Fatal(err)
	}
	// A key file as keystore wrote it before private readings.
	pub := ed25519.NewKeyFromSeed(seed(9)).Public().(ed25519.PublicKey)
	old := fmt.Sprintf(`{"name":"old","type":"ed25519","seed":%q,"public_key":%q,"address":%q,"device_id":%q}`+"\n",
		base64.StdEncoding.EncodeToString(seed(9)), base64.StdEncoding.EncodeToString(pub), address.Account(pub), address.Device(pub))
	p := keyFile(home, "old")
	if err := os.WriteFile(p, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := keystore.Load(home, "old")
	if err != nil {
		t.Fatalf("Load of a key file without an encryption key: %v", err)
	}
	if k.Encryption != nil {
		t.Fatalf("old key file loaded with an encryption key")
	}
	added, ok, err := keystore.AddEncryption(home, "old", true)
	if err != nil || !ok {
		t.Fatalf("AddEncryption = %v, %v; want one added", ok, err)
	}
	if added.Encryption == nil || !added.Encryption.Hybrid() || !added.Private.Equal(k.Private) {
		t.Fatalf("AddEncryption gave %v with encryption %v; want the same Ed25519 key with a hybrid key", added, added.Encryption)
	}
	if got, want := mode(t, p), os.FileMode(0o600); got != want {
		t.Errorf("key file mode after AddEncryption %v, want %v", got, want)
	}
	again, ok, err := keystore.AddEncryption(home, "old", false)
	if err != nil || ok {
		t.Fatalf("second AddEncryption = %v, %v; want nothing added", ok, err)
	}
	if diff := cmp.Diff(again.Encryption.Public(), added.Encryption.Public()); diff != "" {
		t.Errorf("second AddEncryption changed the key (-got +want):\n%s", diff)
	}
	loaded, err := keystore.Load(home, "old")
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Private.Equal(k.Private) || loaded.Address() != k.Address() {
		t.Errorf("the Ed25519 key changed: %s, want %s", loaded.Address(), k.Address())
	}
	if diff := cmp.Diff(loaded.Encryption.Public(), added.Encryption.Public()); diff != "" {
		t.Errorf("loaded encryption key (-got +want):\n%s", diff)
	}
	ents, err := os.ReadDir(keystore.Dir(home))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("keys folder holds %d files after AddEncryption, want only old.json", len(ents))
	}
}

func TestLoadRefusesBrokenEncryptionKey(t *testing.T) {
	home := t.TempDir()
	if _, err := keystore.New(home, "alice"); err != nil {
		t.Fatal(err)
	}
	p := keyFile(home, "alice")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	f["encryption"] = map[string]any{"x25519": "AAEC"}
	b, _ = json.Marshal(f)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := keystore.Load(home, "alice")
	if err == nil || !strings.Contains(err.Error(), "encryption key") || !strings.Contains(err.Error(), p) {
		t.Errorf("Load = %v, %v; want an error naming %s and its encryption key", k, err, p)
	}
}
