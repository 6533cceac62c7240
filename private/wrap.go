package private

import (
	"bytes"
	"crypto/hpke"
	"crypto/sha256"
	"fmt"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
)

// wrapLabel starts the info of every wrapped stream key.
const wrapLabel = "iotledger-stream-key-v1"

// wrapCiphertextSize is the size of a wrapped key's ct: the stream key and
// ChaCha20-Poly1305's tag.
const wrapCiphertextSize = 32 + 16

// The rest of the suite: the same for both KEMs.
var (
	wrapKDF  = hpke.HKDFSHA256()
	wrapAEAD = hpke.ChaCha20Poly1305()
)

// wrapInfo checks the context of a wrapped key and returns its HPKE info:
// the deterministic CBOR array ["iotledger-stream-key-v1", chain id,
// device id, epoch, recipient account].
func wrapInfo(chainID, device string, epoch uint64, recipient string) ([]byte, error) {
	if chainID == "" {
		return nil, fmt.Errorf("%w: empty chain id; give the chain's id (its genesis chain_id)", ErrContext)
	}
	if err := address.ParseDevice(device); err != nil {
		return nil, fmt.Errorf("%w: device: %v", ErrContext, err)
	}
	if epoch == 0 {
		return nil, fmt.Errorf("%w: epoch 0; epochs start at 1", ErrContext)
	}
	if err := address.ParseAccount(recipient); err != nil {
		return nil, fmt.Errorf("%w: recipient: %v", ErrContext, err)
	}
	return dcbor.EncMode.Marshal([]any{wrapLabel, chainID, device, epoch, recipient})
}

// Wrapped is a wrapped stream key taken apart: the KEM it was made with,
// what the KEM sent (enc) and the HPKE ciphertext of the stream key.
type Wrapped struct {
	KEM        uint16
	Enc        []byte
	Ciphertext []byte
}

// wrappedWire is a wrapped key's encoding, {1: kem id, 2: enc, 3: ct}.
type wrappedWire struct {
	KEM        uint64 `cbor:"1,keyasint"`
	Enc        []byte `cbor:"2,keyasint"`
	Ciphertext []byte `cbor:"3,keyasint"`
}

// Marshal returns w's encoding, the deterministic CBOR map {1: kem id, 2:
// enc, 3: ct}.
func (w Wrapped) Marshal() []byte {
	b, err := dcbor.EncMode.Marshal(wrappedWire{KEM: uint64(w.KEM), Enc: w.Enc, Ciphertext: w.Ciphertext})
	if err != nil { // an integer and byte strings always encode
		panic("private: encode wrapped key: " + err.Error())
	}
	return b
}

// ParseWrapped decodes and checks a wrapped stream key: the deterministic
// CBOR map {1: kem id, 2: enc, 3: ct}, the KEM X25519 or X-Wing, enc and
// ct of the sizes the KEM and a 32-byte key make. It does not open it.
func ParseWrapped(b []byte) (Wrapped, error) {
	const want = "want the deterministic CBOR map {1: kem id (0x0020 or 0x647a), 2: enc (bstr), 3: ct (bstr)}"
	parts, err := intMap(b, 3, want)
	if err != nil {
		return Wrapped{}, fmt.Errorf("%w: wrapped key: %v", ErrMalformed, err)
	}
	var wire wrappedWire
	for i, name := range []string{1: "1 (kem id)", 2: "2 (enc)", 3: "3 (ct)"} {
		switch {
		case i == 0:
			continue
		case parts[i] == nil:
			return Wrapped{}, fmt.Errorf("%w: wrapped key: no key %s; %s", ErrMalformed, name, want)
		case i == 1 && parts[i][0]>>5 != 0:
			return Wrapped{}, fmt.Errorf("%w: wrapped key: key %s is not an unsigned integer; %s", ErrMalformed, name, want)
		case i > 1 && parts[i][0]>>5 != 2:
			return Wrapped{}, fmt.Errorf("%w: wrapped key: key %s is not a byte string; %s", ErrMalformed, name, want)
		}
	}
	if err := dcbor.DecMode.Unmarshal(b, &wire); err != nil {
		return Wrapped{}, fmt.Errorf("%w: wrapped key: %v; %s", ErrMalformed, err, want)
	}
	if canonical, _ := dcbor.EncMode.Marshal(wire); !bytes.Equal(canonical, b) {
		return Wrapped{}, fmt.Errorf("%w: wrapped key: not in the deterministic encoding (RFC 8949 section 4.2.1); %s", ErrMalformed, want)
	}
	var encSize int
	switch wire.KEM {
	case uint64(KEMX25519):
		encSize = x25519EncSize
	case uint64(KEMXWing):
		encSize = xwingEncSize
	default:
		return Wrapped{}, fmt.Errorf("%w: wrapped key: KEM 0x%04x is neither X25519 (0x0020) nor X-Wing (0x647a)", ErrMalformed, wire.KEM)
	}
	w := Wrapped{KEM: uint16(wire.KEM), Enc: wire.Enc, Ciphertext: wire.Ciphertext}
	if len(w.Enc) != encSize {
		return Wrapped{}, fmt.Errorf("%w: wrapped key: enc is %d bytes; %s sends %d", ErrMalformed, len(w.Enc), kemName(w.KEM), encSize)
	}
	if len(w.Ciphertext) != wrapCiphertextSize {
		return Wrapped{}, fmt.Errorf("%w: wrapped key: ct is %d bytes; a wrapped stream key is %d (the key and the tag)", ErrMalformed, len(w.Ciphertext), wrapCiphertextSize)
	}
	return w, nil
}

// Commitment returns the commitment to a wrapped key, the SHA-256 of its
// bytes: what transactions carry instead of the wrapped key.
func Commitment(wrapped []byte) [32]byte { return sha256.Sum256(wrapped) }

// Wrap seals the stream key k of epoch of device on the chain chainID to
// recipient (an account address), whose published encryption key is to,
// with HPKE (RFC 9180, base mode): with X-Wing when to has a hybrid part,
// else with X25519; HKDF-SHA256, ChaCha20-Poly1305; info
// ["iotledger-stream-key-v1", chain id, device, epoch, recipient]. It
// returns the wrapped key and its commitment.
func Wrap(chainID, device string, epoch uint64, recipient string, to PublicKey, k StreamKey) (wrapped []byte, commitment [32]byte, err error) {
	info, err := wrapInfo(chainID, device, epoch, recipient)
	if err != nil {
		return nil, [32]byte{}, err
	}
	if err := to.Check(); err != nil {
		return nil, [32]byte{}, fmt.Errorf("%w (the recipient's, %s)", err, recipient)
	}
	id := to.KEM()
	pkBytes := to.X25519
	if id == KEMXWing {
		pkBytes = to.XWing
	}
	pk, err := kemOf(id).NewPublicKey(pkBytes)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("%w: the recipient's %s key: %v", ErrMalformed, kemName(id), err)
	}
	enc, sender, err := hpke.NewSender(pk, wrapKDF, wrapAEAD, info)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("private: wrap to %s: %w", recipient, err)
	}
	ct, err := sender.Seal(nil, k[:])
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("private: wrap to %s: %w", recipient, err)
	}
	wrapped = Wrapped{KEM: id, Enc: enc, Ciphertext: ct}.Marshal()
	return wrapped, Commitment(wrapped), nil
}

// Unwrap opens wrapped, the stream key of epoch of device on the chain
// chainID wrapped to recipient, with the recipient's private key priv. The
// error wraps ErrUnwrap when it does not open (the key is not the
// recipient's, or the wrapped key was made for another chain, device,
// epoch or recipient), ErrKEM when it needs the X-Wing part priv lacks,
// ErrMalformed when wrapped is not a wrapped key.
func Unwrap(chainID, device string, epoch uint64, recipient string, priv *PrivateKey, wrapped []byte) (StreamKey, error) {
	info, err := wrapInfo(chainID, device, epoch, recipient)
	if err != nil {
		return StreamKey{}, err
	}
	w, err := ParseWrapped(wrapped)
	if err != nil {
		return StreamKey{}, err
	}
	sk, err := priv.decapsulator(w.KEM)
	if err != nil {
		return StreamKey{}, err
	}
	fail := func() error {
		return fmt.Errorf("%w: %s key of device %s epoch %d for %s on chain %s: check that the private key is %s's (the one whose public key it published), "+
			"and that the wrapped key is the one for this chain, device, epoch and recipient (one made for another does not open)",
			ErrUnwrap, kemName(w.KEM), device, epoch, recipient, chainID, recipient)
	}
	r, err := hpke.NewRecipient(w.Enc, sk, wrapKDF, wrapAEAD, info)
	if err != nil { // an enc that is no public key (an X25519 point of low order)
		return StreamKey{}, fail()
	}
	pt, err := r.Open(nil, w.Ciphertext)
	if err != nil || len(pt) != len(StreamKey{}) {
		return StreamKey{}, fail()
	}
	return StreamKey(pt), nil
}
