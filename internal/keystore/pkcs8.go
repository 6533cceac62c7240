package keystore

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrKeyFormat means a key file made elsewhere is not an Ed25519 private
// key in a form Import reads.
var ErrKeyFormat = errors.New("keystore: not an Ed25519 private key")

// pemType is the PEM block of a PKCS#8 private key (RFC 5958, RFC 7468).
const pemType = "PRIVATE KEY"

// PEM returns the key as PKCS#8 (RFC 8410 for Ed25519) in a PEM block,
// as openssl genpkey -algorithm ed25519 writes one: the private key
// itself, for another tool or a device's provisioning.
func (k *Key) PEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}), nil
}

// ParseSeed reads an Ed25519 private key made elsewhere and returns its
// 32-byte seed, for Import. It takes a PKCS#8 private key in PEM ("BEGIN
// PRIVATE KEY", what openssl genpkey -algorithm ed25519 and Key.PEM
// write) or in DER, or the seed as 64 hex characters (surrounding white
// space ignored). It refuses anything else naming what it found: RSA and
// EC keys, encrypted or public keys, other lengths, other characters.
func ParseSeed(b []byte) ([]byte, error) {
	if bytes.Contains(b, []byte("-----BEGIN")) {
		return parsePEM(b)
	}
	text := bytes.TrimSpace(b)
	if len(text) > 0 && isText(text) {
		return parseHex(string(text))
	}
	if k, err := x509.ParsePKCS8PrivateKey(b); err == nil {
		return seedOf(k)
	}
	return nil, fmt.Errorf("%w: the file is neither PEM (-----BEGIN PRIVATE KEY-----), PKCS#8 DER, nor 64 hex characters", ErrKeyFormat)
}

func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c > 0x7e {
			return false
		}
	}
	return true
}

func parsePEM(b []byte) ([]byte, error) {
	var types []string
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		types = append(types, blk.Type)
		if _, encrypted := blk.Headers["DEK-Info"]; encrypted {
			return nil, fmt.Errorf("%w: the %s is encrypted with a passphrase; decrypt it first (openssl pkey -in FILE -out PLAIN.pem), import PLAIN.pem, then delete it", ErrKeyFormat, blk.Type)
		}
		switch blk.Type {
		case pemType:
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: the PKCS#8 key does not parse (%v); iotledger keys are Ed25519 (openssl genpkey -algorithm ed25519)", ErrKeyFormat, err)
			}
			return seedOf(k)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%w: the key is encrypted with a passphrase; decrypt it first (openssl pkey -in FILE -out PLAIN.pem), import PLAIN.pem, then delete it", ErrKeyFormat)
		case "RSA PRIVATE KEY":
			return nil, fmt.Errorf("%w: it is an RSA key (PKCS#1); iotledger keys are Ed25519: make one with openssl genpkey -algorithm ed25519", ErrKeyFormat)
		case "EC PRIVATE KEY":
			return nil, fmt.Errorf("%w: it is an EC key (SEC 1); iotledger keys are Ed25519: make one with openssl genpkey -algorithm ed25519", ErrKeyFormat)
		case "OPENSSH PRIVATE KEY":
			return nil, fmt.Errorf("%w: it is an OpenSSH key file; give the key as PKCS#8 PEM or its 32-byte seed as 64 hex characters", ErrKeyFormat)
		case "PUBLIC KEY", "CERTIFICATE":
			return nil, fmt.Errorf("%w: it holds a %s, not a private key; import needs the private key (-----BEGIN PRIVATE KEY-----)", ErrKeyFormat, strings.ToLower(blk.Type))
		}
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("%w: the PEM does not decode; want a -----BEGIN PRIVATE KEY----- block (PKCS#8)", ErrKeyFormat)
	}
	return nil, fmt.Errorf("%w: it holds PEM blocks %s and no PRIVATE KEY (PKCS#8)", ErrKeyFormat, strings.Join(types, ", "))
}

// seedOf is the seed of an Ed25519 key from PKCS#8; another kind of key
// is named.
func seedOf(k any) ([]byte, error) {
	var what string
	switch k := k.(type) {
	case ed25519.PrivateKey:
		return k.Seed(), nil
	case *rsa.PrivateKey:
		what = fmt.Sprintf("an RSA key (%d bits)", k.N.BitLen())
	case *ecdsa.PrivateKey:
		what = "an ECDSA key on " + k.Curve.Params().Name
	case *ecdh.PrivateKey:
		what = "an X25519 key (for key agreement, not signatures)"
	default:
		what = fmt.Sprintf("a %T", k)
	}
	return nil, fmt.Errorf("%w: it is %s; iotledger keys are Ed25519: make one with openssl genpkey -algorithm ed25519", ErrKeyFormat, what)
}

func parseHex(s string) ([]byte, error) {
	for i, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return nil, fmt.Errorf("%w: %q at position %d is not a hex digit; want the 32-byte seed as 64 hex characters (0-9, a-f), or a PKCS#8 PEM file", ErrKeyFormat, c, i+1)
		}
	}
	switch n := len(s); {
	case n == 2*ed25519.PrivateKeySize:
		return nil, fmt.Errorf("%w: 128 hex characters are 64 bytes, a seed and its public key as some tools keep them; give the first 64 (the seed)", ErrKeyFormat)
	case n != 2*ed25519.SeedSize:
		return nil, fmt.Errorf("%w: %d hex characters (%d bytes); want 64 (the 32-byte Ed25519 seed)", ErrKeyFormat, n, n/2)
	}
	return hex.DecodeString(s)
}
