package cli_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/cli"
	"github.com/iotledger/iotledger/internal/keystore"
)

// fixedSeed makes the keys of golden outputs: a seed of 32 times b.
func fixedSeed(b byte) []byte { return bytes.Repeat([]byte{b}, ed25519.SeedSize) }

func importKey(t *testing.T, home, name string, seed []byte) *keystore.Key {
	t.Helper()
	k, err := keystore.Import(home, name, seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyLines is what keys new and keys show print for k.
func keyLines(k *keystore.Key) string {
	s := fmt.Sprintf("name:       %s\npublic key: %s\naddress:    %s\ndevice id:  %s\n",
		k.Name, hex.EncodeToString(k.Public()), k.Address(), k.DeviceID())
	if k.Encryption == nil {
		return s + fmt.Sprintf("encryption: none yet (made when first needed, or by iotledger keys publish %s)\n", k.Name)
	}
	kem := "X25519"
	if k.Encryption.Hybrid() {
		kem = "X25519 + X-Wing (ML-KEM-768, hybrid post-quantum)"
	}
	return s + fmt.Sprintf("encryption: %s, x25519 %s (publish it with iotledger keys publish %s)\n", kem, hex.EncodeToString(k.Encryption.Public().X25519), k.Name)
}

// secrets are the encodings in which a key's private part could leak.
func secrets(k *keystore.Key) []string {
	var s []string
	parts := [][]byte{k.Private.Seed(), k.Private}
	if k.Encryption != nil {
		x, xw := k.Encryption.Bytes()
		parts = append(parts, x)
		if xw != nil {
			parts = append(parts, xw)
		}
	}
	for _, b := range parts {
		s = append(s,
			hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
			base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
		)
	}
	return s
}

func wantNoSecret(t *testing.T, what, out string, k *keystore.Key) {
	t.Helper()
	for _, s := range secrets(k) {
		if strings.Contains(out, s) {
			t.Errorf("%s prints the private key (%s...)", what, s[:8])
		}
	}
}

func TestKeysNew(t *testing.T) {
	home := t.TempDir()
	out := mustRun(t, "keys", "new", "alice", "--home", home)

	k, err := keystore.Load(home, "alice")
	if err != nil {
		t.Fatalf("keys new wrote no loadable key: %v", err)
	}
	if diff := cmp.Diff(out, keyLines(k)); diff != "" {
		t.Errorf("keys new output (-got +want):\n%s", diff)
	}
	wantNoSecret(t, "keys new", out, k)
	st, err := os.Stat(filepath.Join(home, "keys", "alice.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("key file mode %v, want %v", got, want)
	}
}

func TestKeysNewRefuses(t *testing.T) {
	home := t.TempDir()
	mustRun(t, "keys", "new", "alice", "--home", home)
	tests := []struct {
		name    string
		args    []string
		wantErr error
		hints   []string
	}{
		{"existing name", []string{"alice"}, keystore.ErrExists, []string{"alice"}},
		{"path in the name", []string{"../x"}, keystore.ErrName, []string{`"../x"`}},
		{"empty name", []string{""}, keystore.ErrName, nil},
		{"long name", []string{strings.Repeat("k", 65)}, keystore.ErrName, []string{"up to 64"}},
		{"no name", nil, nil, []string{"accepts 1 arg(s), received 0"}},
		{"two names", []string{"a", "b"}, nil, []string{"accepts 1 arg(s), received 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"keys", "new", "--home", home}, tt.args...)
			_, err := mustFail(t, 1, tt.hints, args...)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
	names, err := keystore.List(home)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(names, []string{"alice"}); diff != "" {
		t.Errorf("keys after the refusals (-got +want):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(home, "x.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("keys new ../x wrote outside the keys folder (stat: %v)", err)
	}
}

func TestKeysShow(t *testing.T) {
	home := t.TempDir()
	k := importKey(t, home, "sensor", fixedSeed(7))
	out := mustRun(t, "keys", "show", "sensor", "--home", home)
	if diff := cmp.Diff(out, keyLines(k)); diff != "" {
		t.Errorf("keys show output (-got +want):\n%s", diff)
	}
	wantNoSecret(t, "keys show", out, k)
	golden(t, "keys-show.golden", out)
}

func TestKeysShowRefuses(t *testing.T) {
	home := t.TempDir()
	importKey(t, home, "open", fixedSeed(1))
	p := filepath.Join(home, "keys", "open.json")
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		key     string
		wantErr error
		hints   []string
	}{
		{"missing key", "bob", keystore.ErrNotFound, []string{"`iotledger keys new bob`"}},
		{"readable by others", "open", keystore.ErrPermissions, []string{"chmod 600 " + p}},
		{"invalid name", "../open", keystore.ErrName, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := mustFail(t, 1, tt.hints, "keys", "show", tt.key, "--home", home)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if out != "" {
				t.Errorf("printed %q on failure, want nothing", out)
			}
		})
	}
}

func TestKeysList(t *testing.T) {
	home := t.TempDir()
	out := mustRun(t, "keys", "list", "--home", home)
	want := fmt.Sprintf("no keys in %s; create one with `iotledger keys new NAME`\n", filepath.Join(home, "keys"))
	if diff := cmp.Diff(out, want); diff != "" {
		t.Errorf("keys list of an empty home (-got +want):\n%s", diff)
	}

	var keys []*keystore.Key
	for i, name := range []string{"sensor", "alice", "gateway-01"} {
		keys = append(keys, importKey(t, home, name, fixedSeed(byte(i+1))))
	}
	out = mustRun(t, "keys", "list", "--home", home)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var names []string
	for _, l := range lines {
		names = append(names, strings.Fields(l)[0])
	}
	if diff := cmp.Diff(names, []string{"alice", "gateway-01", "sensor"}); diff != "" {
		t.Errorf("keys list order (-got +want):\n%s", diff)
	}
	for _, k := range keys {
		if !strings.Contains(out, fmt.Sprintf("%-16s %s %s\n", k.Name, k.Address(), k.DeviceID())) {
			t.Errorf("keys list has no line for %s with its address and device id:\n%s", k.Name, out)
		}
		wantNoSecret(t, "keys list", out, k)
	}
	golden(t, "keys-list.golden", out)

	// A key that others can read stops the listing and says how to fix it.
	p := filepath.Join(home, "keys", "alice.json")
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	mustFail(t, 1, []string{"chmod 600 " + p}, "keys", "list", "--home", home)
}

func TestHomeFromEnvironment(t *testing.T) {
	env, flagHome := t.TempDir(), t.TempDir()
	t.Setenv("IOTLEDGER_HOME", env)

	mustRun(t, "keys", "new", "x")
	if _, err := os.Stat(filepath.Join(env, "keys", "x.json")); err != nil {
		t.Errorf("keys new with IOTLEDGER_HOME set: %v", err)
	}
	if out := mustRun(t, "keys", "list"); !strings.HasPrefix(out, "x ") {
		t.Errorf("keys list with IOTLEDGER_HOME set = %q, want the key x", out)
	}

	// --home wins over the environment.
	mustRun(t, "keys", "new", "y", "--home", flagHome)
	if _, err := os.Stat(filepath.Join(flagHome, "keys", "y.json")); err != nil {
		t.Errorf("keys new --home: %v", err)
	}
	if _, err := os.Stat(filepath.Join(env, "keys", "y.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("keys new --home also wrote to IOTLEDGER_HOME (stat: %v)", err)
	}
}

func TestRelativeHome(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("IOTLEDGER_HOME", "")
	mustRun(t, "keys", "new", "x", "--home", "rel")
	if _, err := os.Stat(filepath.Join(dir, "rel", "keys", "x.json")); err != nil {
		t.Errorf("keys new --home rel: %v", err)
	}
	// Messages name the home as an absolute path.
	out := mustRun(t, "keys", "list", "--home", "empty")
	if want := filepath.Join(dir, "empty", "keys"); !strings.Contains(out, want) {
		t.Errorf("keys list --home empty = %q, want it to name %s", out, want)
	}
}

// TestKeysExportImport: a key exported as PKCS#8 PEM, to stdout or to a
// 0600 file, imports under another name as the same key; so does its seed
// in hex, from a file or stdin.
func TestKeysExportImport(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	k := importKey(t, home, "alice", fixedSeed(7))

	pemOut := mustRun(t, "keys", "export", "alice", "--home", home)
	if !strings.HasPrefix(pemOut, "-----BEGIN PRIVATE KEY-----\n") {
		t.Fatalf("keys export printed %q", pemOut)
	}
	file := filepath.Join(dir, "alice.pem")
	out := mustRun(t, "keys", "export", "alice", "--out", file, "--home", home)
	if !strings.Contains(out, file) || !strings.Contains(out, "0600") {
		t.Errorf("keys export --out says %q", out)
	}
	wantNoSecret(t, "keys export --out", out, k)
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", file, st.Mode().Perm())
	}
	if b, _ := os.ReadFile(file); string(b) != pemOut {
		t.Errorf("the file holds %q, stdout had %q", b, pemOut)
	}

	hexFile := filepath.Join(dir, "alice.hex")
	if err := os.WriteFile(hexFile, []byte(hex.EncodeToString(fixedSeed(7))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, file string }{{"from-pem", file}, {"from-hex", hexFile}} {
		got := mustRun(t, "keys", "import", tc.name, tc.file, "--home", home)
		k2, err := keystore.Load(home, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if k2.Address() != k.Address() {
			t.Errorf("import %s: address %s, want %s", tc.file, k2.Address(), k.Address())
		}
		if got != keyLines(k2) {
			t.Errorf("import printed %q, want %q", got, keyLines(k2))
		}
		wantNoSecret(t, "keys import", got, k)
	}

	var stdout, stderr bytes.Buffer
	if err := cli.RunIn(t.Context(), []string{"keys", "import", "from-stdin", "-", "--home", home}, strings.NewReader(pemOut), &stdout, &stderr); err != nil {
		t.Fatalf("keys import from stdin: %v", err)
	}
	if k3, err := keystore.Load(home, "from-stdin"); err != nil || k3.Address() != k.Address() {
		t.Errorf("keys import -: %v, %v", k3, err)
	}
}

// TestKeysExportImportRefuse: export never overwrites a file; import
// refuses what is not an Ed25519 private key, naming what it is, and
// keeps no key then.
func TestKeysExportImportRefuse(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	importKey(t, home, "alice", fixedSeed(7))
	existing := filepath.Join(dir, "there.pem")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustFail(t, 1, []string{existing, "exists", "never overwrites"}, "keys", "export", "alice", "--out", existing, "--home", home)
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("export changed %s to %q", existing, b)
	}
	mustFail(t, 1, []string{"no such key", "nobody"}, "keys", "export", "nobody", "--home", home)

	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"short hex", write("short.hex", strings.Repeat("ab", 31)), []string{"short.hex", "62 hex characters", "want 64"}},
		{"not hex", write("nothex.txt", strings.Repeat("zz", 32)), []string{"'z' at position 1 is not a hex digit"}},
		{"EC key", write("ec.pem", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n"), []string{"an EC key", "openssl genpkey -algorithm ed25519"}},
		{"missing file", filepath.Join(dir, "absent.pem"), []string{"absent.pem", "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustFail(t, 1, tc.want, "keys", "import", "bob", tc.file, "--home", home)
			if _, err := keystore.Load(home, "bob"); !errors.Is(err, keystore.ErrNotFound) {
				t.Errorf("after a refused import, bob: %v", err)
			}
		})
	}
	mustFail(t, 1, []string{"key exists", "alice"}, "keys", "import", "alice", write("ok.hex", strings.Repeat("01", 32)), "--home", home)
}
