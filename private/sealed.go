package private

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"sort"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/reading"
)

// Errors the package returns; callers branch on them with errors.Is. The
// message around each says what was wrong and what to check.
var (
	// ErrOpen: sealed fields did not open: the stream key is not the one
	// that sealed them, or the ciphertext, nonce, device, seq or epoch
	// changed since (the AEAD cannot tell which).
	ErrOpen = errors.New("private: sealed fields do not open")
	// ErrUnwrap: a wrapped stream key did not open: the private key is not
	// the recipient's, or the wrapped key was made for another chain,
	// device, epoch or recipient, or it changed since.
	ErrUnwrap = errors.New("private: wrapped stream key does not open")
	// ErrKEM: a wrapped stream key was made with a KEM the private key
	// does not have (X-Wing, for a key without its hybrid part).
	ErrKEM = errors.New("private: wrapped stream key is for a KEM this private key does not have")
	// ErrMalformed: bytes that are not what the format says (a wrapped
	// key, a public key, a sealed part, opened fields).
	ErrMalformed = errors.New("private: malformed")
	// ErrFields: fields that cannot be sealed (a value or name a reading
	// would refuse, none at all, a field both public and private).
	ErrFields = errors.New("private: invalid private fields")
	// ErrContext: an epoch, device id, recipient or chain id that is not
	// one (an epoch of 0, a device id that is no dev1... id).
	ErrContext = errors.New("private: invalid context")
)

// StreamKey is a device's key for one epoch: 32 random bytes, never on the
// ledger in clear.
type StreamKey [32]byte

// NewStreamKey returns a new random stream key.
func NewStreamKey() (StreamKey, error) {
	var k StreamKey
	if _, err := rand.Read(k[:]); err != nil {
		return StreamKey{}, fmt.Errorf("private: stream key: %w", err)
	}
	return k, nil
}

// sealedLabel starts the additional data of every sealed part.
const sealedLabel = "iotledger-sealed-v1"

// sealedAAD returns the additional data that binds a sealed part to its
// reading: the deterministic CBOR array ["iotledger-sealed-v1", device,
// seq, epoch].
func sealedAAD(device string, seq, epoch uint64) []byte {
	b, err := dcbor.EncMode.Marshal([]any{sealedLabel, device, seq, epoch})
	if err != nil { // text and unsigned integers always encode
		panic("private: encode additional data: " + err.Error())
	}
	return b
}

// checkSealContext checks the device id and epoch of a sealed part.
func checkSealContext(device string, epoch uint64) error {
	if err := address.ParseDevice(device); err != nil {
		return fmt.Errorf("%w: device: %v", ErrContext, err)
	}
	if epoch == 0 {
		return fmt.Errorf("%w: epoch 0; epochs start at 1: seal with the stream key of the device's current epoch", ErrContext)
	}
	return nil
}

// SealFields seals fields, the private fields of the reading seq of
// device, under key, the device's stream key for epoch: the deterministic
// CBOR map of the fields, sealed with XChaCha20-Poly1305 under a random
// 192-bit nonce, with the additional data ["iotledger-sealed-v1", device,
// seq, epoch] (deterministic CBOR). The fields follow the
// rules of a reading's data (reading.CheckData), at least one.
func SealFields(device string, seq, epoch uint64, key StreamKey, fields map[string]any) (*reading.Sealed, error) {
	return sealFields(device, seq, epoch, key, fields, nil)
}

// sealFields is SealFields with the nonce given (for test vectors), or
// random when nonce is nil.
func sealFields(device string, seq, epoch uint64, key StreamKey, fields map[string]any, nonce []byte) (*reading.Sealed, error) {
	if err := checkSealContext(device, epoch); err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: no fields to seal; send a reading without a sealed part instead", ErrFields)
	}
	if err := reading.CheckData(fields); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFields, err)
	}
	pt, err := encodeFields(fields)
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %v", ErrFields, err)
	}
	if nonce == nil {
		nonce = make([]byte, chacha20poly1305.NonceSizeX)
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("private: nonce: %w", err)
		}
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil { // only for a key of another size
		return nil, fmt.Errorf("private: %w", err)
	}
	return &reading.Sealed{
		Epoch:      epoch,
		Nonce:      nonce,
		Ciphertext: aead.Seal(nil, nonce, pt, sealedAAD(device, seq, epoch)),
	}, nil
}

// OpenFields opens s, the sealed part of the reading seq of device, with
// key, the stream key of s.Epoch, and returns the fields it holds (integers
// as int64, or uint64 above the int64 range; floats as float64), as
// reading.Decode returns data. An error wraps ErrOpen when the fields do
// not open, ErrMalformed when s or what it holds is not in the format.
func OpenFields(device string, seq uint64, s *reading.Sealed, key StreamKey) (map[string]any, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: the reading has no sealed part; its fields are all in data", ErrMalformed)
	}
	if err := checkSealContext(device, s.Epoch); err != nil {
		return nil, err
	}
	switch {
	case len(s.Nonce) != chacha20poly1305.NonceSizeX:
		return nil, fmt.Errorf("%w: sealed nonce is %d bytes, not %d", ErrMalformed, len(s.Nonce), chacha20poly1305.NonceSizeX)
	case len(s.Ciphertext) < chacha20poly1305.Overhead:
		return nil, fmt.Errorf("%w: sealed ciphertext is %d bytes, shorter than the %d-byte Poly1305 tag", ErrMalformed, len(s.Ciphertext), chacha20poly1305.Overhead)
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, fmt.Errorf("private: %w", err)
	}
	pt, err := aead.Open(nil, s.Nonce, s.Ciphertext, sealedAAD(device, seq, s.Epoch))
	if err != nil {
		return nil, fmt.Errorf("%w: device %s seq %d epoch %d: check that the key is the stream key of epoch %d of device %s; "+
			"if it is, the ciphertext, nonce, device, seq or epoch changed after the device sealed them (a nonce or ciphertext moved from another reading does not open)",
			ErrOpen, device, seq, s.Epoch, s.Epoch, device)
	}
	fields, err := decodeFields(pt)
	if err != nil {
		return nil, fmt.Errorf("%w: device %s seq %d: the sealed part opened but %v; the device sealed something other than a map of fields", ErrMalformed, device, seq, err)
	}
	return fields, nil
}

// encodeFields returns the plaintext of fields: their deterministic CBOR
// map.
func encodeFields(fields map[string]any) ([]byte, error) {
	return dcbor.EncMode.Marshal(fields)
}

// decodeFields decodes opened fields: a CBOR map of at least one field, by
// the rules of a reading's data.
func decodeFields(pt []byte) (map[string]any, error) {
	var fields map[string]any
	if err := dcbor.DecModeAnyInt.Unmarshal(pt, &fields); err != nil {
		return nil, fmt.Errorf("it is not a CBOR map of text to values (%v)", err)
	}
	if len(fields) == 0 {
		return nil, errors.New("it holds no field")
	}
	for k, v := range fields {
		if u, ok := v.(uint64); ok && u <= math.MaxInt64 {
			fields[k] = int64(u)
		}
	}
	if err := reading.CheckData(fields); err != nil {
		return nil, fmt.Errorf("it breaks the rules of data (%v)", err)
	}
	return fields, nil
}

// Seal signs r with the device key dev after sealing the fields of
// private, under key, the device's stream key for epoch: the fields of
// r.Data stay public. r.Device is set from the key when empty, as
// reading.Sign does. A field may not be both in r.Data and in private.
func Seal(r reading.Reading, private map[string]any, epoch uint64, key StreamKey, dev ed25519.PrivateKey) ([]byte, error) {
	return seal(r, private, epoch, key, dev, nil)
}

// seal is Seal with the nonce given (for test vectors), or random when
// nonce is nil.
func seal(r reading.Reading, private map[string]any, epoch uint64, key StreamKey, dev ed25519.PrivateKey, nonce []byte) ([]byte, error) {
	if r.Sealed != nil {
		return nil, fmt.Errorf("%w: the reading is sealed already; give its private fields to Seal in clear", ErrFields)
	}
	if len(dev) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("private: the device key is %d bytes, not an Ed25519 private key (%d)", len(dev), ed25519.PrivateKeySize)
	}
	if r.Device == "" {
		r.Device = address.Device(dev.Public().(ed25519.PublicKey))
	}
	if both := overlap(r.Data, private); both != "" {
		return nil, fmt.Errorf("%w: field %q is both public (data) and private; a field is one or the other", ErrFields, both)
	}
	sealed, err := sealFields(r.Device, r.Seq, epoch, key, private, nonce)
	if err != nil {
		return nil, err
	}
	r.Sealed = sealed
	return reading.Sign(r, dev)
}

// Open opens the sealed part of r with key, the stream key of its epoch,
// and returns its fields, as OpenFields does. It refuses a reading whose
// sealed part holds a field that is in its data too.
func Open(r reading.Reading, key StreamKey) (map[string]any, error) {
	fields, err := OpenFields(r.Device, r.Seq, r.Sealed, key)
	if err != nil {
		return nil, err
	}
	if both := overlap(r.Data, fields); both != "" {
		return nil, fmt.Errorf("%w: device %s seq %d: field %q is both in data and sealed; the device must send it once", ErrMalformed, r.Device, r.Seq, both)
	}
	return fields, nil
}

// overlap returns the first name, in sorted order, that is a key of both
// maps, or "".
func overlap(a, b map[string]any) string {
	var both []string
	for k := range b {
		if _, ok := a[k]; ok {
			both = append(both, k)
		}
	}
	if len(both) == 0 {
		return ""
	}
	sort.Strings(both)
	return both[0]
}
