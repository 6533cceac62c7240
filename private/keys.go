package private

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// The KEMs a stream key is wrapped with (HPKE KEM ids, RFC 9180 and
// draft-ietf-hpke-pq).
const (
	KEMX25519 uint16 = 0x0020 // DHKEM(X25519, HKDF-SHA256)
	KEMXWing  uint16 = 0x647a // MLKEM768-X25519 (X-Wing)
)

// Sizes of keys and of what the KEMs write.
const (
	X25519KeySize = 32   // an X25519 public or private key
	XWingSeedSize = 32   // an X-Wing private key: the seed its key pair is derived from
	XWingKeySize  = 1216 // an X-Wing public key: ML-KEM-768's (1184) and X25519's (32)
	x25519EncSize = 32   // what DHKEM(X25519) sends: the ephemeral public key
	xwingEncSize  = 1120 // what X-Wing sends: ML-KEM-768's ciphertext (1088) and an X25519 key
)

// kemName names a KEM id for messages.
func kemName(id uint16) string {
	switch id {
	case KEMX25519:
		return "X25519 (0x0020)"
	case KEMXWing:
		return "X-Wing (0x647a)"
	}
	return fmt.Sprintf("0x%04x", id)
}

// kemOf returns the HPKE KEM of an id this package uses.
func kemOf(id uint16) hpke.KEM {
	if id == KEMXWing {
		return hpke.MLKEM768X25519()
	}
	return hpke.DHKEM(ecdh.X25519())
}

// PublicKey is an account's published encryption key: X25519 always, and
// optionally a hybrid post-quantum key (X-Wing) beside it. Its encoding is
// the deterministic CBOR map {1: x25519 (32 bytes), 2: x-wing (1216 bytes,
// optional)}.
type PublicKey struct {
	X25519 []byte // 32 bytes
	XWing  []byte // 1216 bytes, or nil for none
}

// Hybrid reports whether k has an X-Wing part, so that stream keys are
// wrapped to it with X-Wing.
func (k PublicKey) Hybrid() bool { return len(k.XWing) > 0 }

// KEM returns the KEM a stream key is wrapped to k with: X-Wing when k
// has a hybrid part, else X25519.
func (k PublicKey) KEM() uint16 {
	if k.Hybrid() {
		return KEMXWing
	}
	return KEMX25519
}

// Check checks that both parts are valid public keys of their KEMs.
func (k PublicKey) Check() error {
	if len(k.X25519) != X25519KeySize {
		return fmt.Errorf("%w: encryption key: the X25519 key is %d bytes, not %d", ErrMalformed, len(k.X25519), X25519KeySize)
	}
	if _, err := kemOf(KEMX25519).NewPublicKey(k.X25519); err != nil {
		return fmt.Errorf("%w: encryption key: the X25519 key: %v", ErrMalformed, err)
	}
	if len(k.XWing) == 0 {
		return nil
	}
	if len(k.XWing) != XWingKeySize {
		return fmt.Errorf("%w: encryption key: the X-Wing key is %d bytes, not %d", ErrMalformed, len(k.XWing), XWingKeySize)
	}
	if _, err := kemOf(KEMXWing).NewPublicKey(k.XWing); err != nil {
		return fmt.Errorf("%w: encryption key: the X-Wing key is not a valid ML-KEM-768 + X25519 key: %v", ErrMalformed, err)
	}
	return nil
}

// publicKeyWire is PublicKey's encoding.
type publicKeyWire struct {
	X25519 []byte `cbor:"1,keyasint"`
	XWing  []byte `cbor:"2,keyasint,omitempty"`
}

// Marshal returns k's encoding, after checking it.
func (k PublicKey) Marshal() ([]byte, error) {
	if err := k.Check(); err != nil {
		return nil, err
	}
	return dcbor.EncMode.Marshal(publicKeyWire(k))
}

// ParsePublicKey decodes and checks an encryption key, which must be in
// the deterministic encoding Marshal writes.
func ParsePublicKey(b []byte) (PublicKey, error) {
	const want = "want the deterministic CBOR map {1: x25519 (32 bytes), 2: x-wing (1216 bytes, optional)}"
	parts, err := intMap(b, 2, want)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: encryption key: %v", ErrMalformed, err)
	}
	if parts[1] == nil {
		return PublicKey{}, fmt.Errorf("%w: encryption key: no key 1 (x25519); %s", ErrMalformed, want)
	}
	var k PublicKey
	for i, into := range []*[]byte{1: &k.X25519, 2: &k.XWing} {
		if i == 0 || parts[i] == nil {
			continue
		}
		if err := dcbor.DecMode.Unmarshal(parts[i], into); err != nil || parts[i][0]>>5 != 2 {
			return PublicKey{}, fmt.Errorf("%w: encryption key: key %d is not a byte string; %s", ErrMalformed, i, want)
		}
	}
	if parts[2] != nil && len(k.XWing) == 0 {
		return PublicKey{}, fmt.Errorf("%w: encryption key: key 2 (x-wing) is empty; leave it out for a key without X-Wing", ErrMalformed)
	}
	if err := k.Check(); err != nil {
		return PublicKey{}, err
	}
	if canonical, _ := dcbor.EncMode.Marshal(publicKeyWire(k)); !bytes.Equal(canonical, b) {
		return PublicKey{}, fmt.Errorf("%w: encryption key: not in the deterministic encoding (RFC 8949 section 4.2.1); %s", ErrMalformed, want)
	}
	return k, nil
}

// intMap decodes b, a CBOR map whose keys are unsigned integers from 1 to
// n, and returns its values by key (nil for a key that is absent).
func intMap(b []byte, n int, want string) ([]cbor.RawMessage, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("empty; %s", want)
	}
	if major := b[0] >> 5; major != 5 {
		return nil, fmt.Errorf("not a CBOR map; %s", want)
	}
	var m map[uint64]cbor.RawMessage
	if err := dcbor.DecMode.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%v; %s", err, want)
	}
	parts := make([]cbor.RawMessage, n+1)
	found := 0
	for i := 1; i <= n; i++ {
		if v, ok := m[uint64(i)]; ok {
			parts[i] = v
			found++
		}
	}
	if found != len(m) {
		return nil, fmt.Errorf("a key other than 1 to %d; %s", n, want)
	}
	return parts, nil
}

// PrivateKey is an account's encryption private key: X25519, and
// optionally the seed of an X-Wing key pair. It lives in the account's key
// file, never on the ledger.
type PrivateKey struct {
	x25519, xwingSeed []byte // as given; xwingSeed nil without the hybrid part
	dh, hybrid        hpke.PrivateKey
	public            PublicKey
}

// GenerateKey returns a new random private key, with an X-Wing part when
// hybrid is true.
func GenerateKey(hybrid bool) (*PrivateKey, error) {
	x := make([]byte, X25519KeySize)
	var seed []byte
	if hybrid {
		seed = make([]byte, XWingSeedSize)
	}
	for _, b := range [][]byte{x, seed} {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("private: generate key: %w", err)
		}
	}
	return NewPrivateKey(x, seed)
}

// NewPrivateKey returns the private key of an X25519 private key (32
// bytes) and, for a hybrid key, an X-Wing seed (32 bytes; nil or empty for
// none), as a key file holds them.
func NewPrivateKey(x25519, xwingSeed []byte) (*PrivateKey, error) {
	if len(x25519) != X25519KeySize {
		return nil, fmt.Errorf("%w: private key: the X25519 key is %d bytes, not %d", ErrMalformed, len(x25519), X25519KeySize)
	}
	dh, err := kemOf(KEMX25519).NewPrivateKey(x25519)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: X25519: %v", ErrMalformed, err)
	}
	k := &PrivateKey{x25519: bytes.Clone(x25519), dh: dh}
	k.public.X25519 = dh.PublicKey().Bytes()
	if len(xwingSeed) == 0 {
		return k, nil
	}
	if len(xwingSeed) != XWingSeedSize {
		return nil, fmt.Errorf("%w: private key: the X-Wing seed is %d bytes, not %d", ErrMalformed, len(xwingSeed), XWingSeedSize)
	}
	if k.hybrid, err = kemOf(KEMXWing).NewPrivateKey(xwingSeed); err != nil {
		return nil, fmt.Errorf("%w: private key: X-Wing: %v", ErrMalformed, err)
	}
	k.xwingSeed = bytes.Clone(xwingSeed)
	k.public.XWing = k.hybrid.PublicKey().Bytes()
	return k, nil
}

// Public returns the public key to publish.
func (k *PrivateKey) Public() PublicKey {
	return PublicKey{X25519: bytes.Clone(k.public.X25519), XWing: bytes.Clone(k.public.XWing)}
}

// Hybrid reports whether k has an X-Wing part.
func (k *PrivateKey) Hybrid() bool { return k.hybrid != nil }

// Bytes returns what a key file keeps: the X25519 private key and the
// X-Wing seed (nil without the hybrid part), as NewPrivateKey takes them.
func (k *PrivateKey) Bytes() (x25519, xwingSeed []byte) {
	return bytes.Clone(k.x25519), bytes.Clone(k.xwingSeed)
}

// decapsulator returns k's HPKE private key for the KEM id.
func (k *PrivateKey) decapsulator(id uint16) (hpke.PrivateKey, error) {
	switch {
	case k == nil || k.dh == nil:
		return nil, errors.New("private: no private key given; load the recipient's key file")
	case id == KEMX25519:
		return k.dh, nil
	case id == KEMXWing && k.hybrid == nil:
		return nil, fmt.Errorf("%w: it was wrapped with X-Wing (0x647a), and this key has only its X25519 part; use the key file whose X-Wing key the account published", ErrKEM)
	}
	return k.hybrid, nil
}
