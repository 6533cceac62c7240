package keystore_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/internal/keystore"
)

// rfc8410Key is the example Ed25519 private key of RFC 8410, section 10.3,
// and its seed.
const (
	rfc8410Key = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----
`
	rfc8410Seed = "d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842"
)

func pemOf(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(t *testing.T, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestPEMRoundTrip: a key written by PEM reads back, by ParseSeed and by
// the standard library, as the same key.
func TestPEMRoundTrip(t *testing.T) {
	home := t.TempDir()
	k, err := keystore.New(home, "alice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.PEM()
	if err != nil {
		t.Fatal(err)
	}
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) > 0 {
		t.Fatalf("PEM wrote %q", b)
	}
	std, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Private.Equal(std) {
		t.Error("the standard library reads another key from PEM")
	}
	seed, err := keystore.ParseSeed(b)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := keystore.Import(home, "alice-again", seed)
	if err != nil {
		t.Fatal(err)
	}
	if k2.Address() != k.Address() || !k2.Private.Equal(k.Private) {
		t.Errorf("imported %s, exported %s", k2.Address(), k.Address())
	}
}

// TestParseSeed: what import takes, and what it refuses with a reason.
func TestParseSeed(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	xKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(edKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	seedHex := hex.EncodeToString(edKey.Seed())
	for _, tc := range []struct {
		name string
		in   []byte
		want string // the seed in hex, or a part of the refusal
		ok   bool
	}{
		{"RFC 8410 example", []byte(rfc8410Key), rfc8410Seed, true},
		{"PKCS#8 PEM", pemOf(t, "PRIVATE KEY", pkcs8(t, edKey)), seedHex, true},
		{"PKCS#8 PEM after other text", append([]byte("a comment\n"), pemOf(t, "PRIVATE KEY", pkcs8(t, edKey))...), seedHex, true},
		{"PKCS#8 DER", pkcs8(t, edKey), seedHex, true},
		{"hex", []byte(seedHex), seedHex, true},
		{"hex, capitals and a newline", []byte(strings.ToUpper(seedHex) + "\n"), seedHex, true},
		{"RSA in PKCS#8", pemOf(t, "PRIVATE KEY", pkcs8(t, rsaKey)), "an RSA key (2048 bits)", false},
		{"RSA in PKCS#1", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), "an RSA key (PKCS#1)", false},
		{"EC in PKCS#8", pemOf(t, "PRIVATE KEY", pkcs8(t, ecKey)), "an ECDSA key on P-256", false},
		{"EC in SEC 1", pemOf(t, "EC PRIVATE KEY", ecDER), "an EC key (SEC 1)", false},
		{"X25519", pemOf(t, "PRIVATE KEY", pkcs8(t, xKey)), "X25519", false},
		{"encrypted", pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), "encrypted", false},
		{"public key", pemOf(t, "PUBLIC KEY", pubDER), "public key, not a private key", false},
		{"broken PKCS#8", pemOf(t, "PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3}), "does not parse", false},
		{"63 hex characters", []byte(seedHex[:63]), "63 hex characters", false},
		{"62 hex characters", []byte(seedHex[:62]), "62 hex characters (31 bytes); want 64", false},
		{"seed and public key", []byte(hex.EncodeToString(edKey)), "give the first 64 (the seed)", false},
		{"not hex", []byte(seedHex[:10] + "g" + seedHex[11:]), `'g' at position 11 is not a hex digit`, false},
		{"hex with a 0x", []byte("0x" + seedHex), `'x' at position 2`, false},
		{"empty", nil, "neither PEM", false},
		{"binary", []byte{0, 1, 2, 0xff}, "neither PEM", false},
		{"raw 32-byte seed", edKey.Seed(), "neither PEM", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seed, err := keystore.ParseSeed(tc.in)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.ok && hex.EncodeToString(seed) != tc.want:
				t.Errorf("seed %x, want %s", seed, tc.want)
			case !tc.ok && err == nil:
				t.Fatalf("accepted as seed %x", seed)
			case !tc.ok && (!errors.Is(err, keystore.ErrKeyFormat) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %q, want ErrKeyFormat saying %q", err, tc.want)
			}
		})
	}
}

// TestOpenSSLKeys: a key openssl made imports as the key openssl says it
// is, and openssl reads an exported key as the same key.
func TestOpenSSLKeys(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	dir := t.TempDir()
	run := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command(openssl, args...).Output()
		if err != nil {
			t.Fatalf("openssl %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	// The public key's DER (SubjectPublicKeyInfo) ends with its 32 bytes.
	pubOf := func(file string) []byte {
		der := run("pkey", "-in", file, "-pubout", "-outform", "DER")
		return der[len(der)-ed25519.PublicKeySize:]
	}

	made := filepath.Join(dir, "openssl.pem")
	run("genpkey", "-algorithm", "ed25519", "-out", made)
	b, err := os.ReadFile(made)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := keystore.ParseSeed(b)
	if err != nil {
		t.Fatalf("ParseSeed of openssl's key: %v", err)
	}
	k, err := keystore.Import(dir, "from-openssl", seed)
	if err != nil {
		t.Fatal(err)
	}
	if want := pubOf(made); !bytes.Equal(k.Public(), want) {
		t.Errorf("imported public key %x, openssl says %x", k.Public(), want)
	}

	exported := filepath.Join(dir, "exported.pem")
	b, err = k.PEM()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exported, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := pubOf(exported); !bytes.Equal(got, k.Public()) {
		t.Errorf("openssl reads the exported key's public key as %x, want %x", got, k.Public())
	}

	rsaFile := filepath.Join(dir, "rsa.pem")
	run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsaFile)
	if b, err = os.ReadFile(rsaFile); err != nil {
		t.Fatal(err)
	}
	if _, err := keystore.ParseSeed(b); err == nil || !strings.Contains(err.Error(), "RSA") {
		t.Errorf("openssl's RSA key: %v, want a refusal naming RSA", err)
	}
}
