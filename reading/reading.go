package reading

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/fxamacker/cbor/v2"
	cose "github.com/veraison/go-cose"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/zip215"
)

// MaxSize is the largest reading, in bytes, that the ledger accepts.
const MaxSize = 4096

// Limits on the data map.
const (
	MaxFields   = 64
	MaxFieldLen = 64
)

// Errors that Decode and Verify return; callers branch on them with errors.Is.
var (
	ErrTooLarge  = errors.New("reading: larger than 4096 bytes")
	ErrMalformed = errors.New("reading: malformed COSE_Sign1 or CBOR")
	ErrAlgorithm = errors.New("reading: algorithm is not EdDSA (-8)")
	ErrKeyID     = errors.New("reading: kid does not match the payload's device id")
	ErrData      = errors.New("reading: invalid data field")
	ErrSignature = errors.New("reading: signature does not verify with the device key")
)

// Reading is what a device reports.
type Reading struct {
	Device string         // device id, dev1...
	Seq    uint64         // per-device sequence number
	Time   int64          // unix milliseconds, device clock
	Data   map[string]any // values: float64, int64, uint64, string or bool
}

// Timestamp returns the reading's time as a time.Time in UTC.
func (r Reading) Timestamp() time.Time { return time.UnixMilli(r.Time).UTC() }

type payload struct {
	Device string         `cbor:"1,keyasint"`
	Seq    uint64         `cbor:"2,keyasint"`
	Time   int64          `cbor:"3,keyasint"`
	Data   map[string]any `cbor:"4,keyasint"`
}

// EncMode is the core deterministic CBOR encoding (RFC 8949 section 4.2.1),
// used for everything iotledger hashes or signs.
var EncMode cbor.EncMode

// DecMode is a strict CBOR decoder: no duplicate map keys, no indefinite
// lengths, no tags, bounded nesting and sizes.
var DecMode cbor.DecMode

// payloadDecMode is DecMode except that integers decoded into an interface
// keep their CBOR major type: uint64 for unsigned, int64 for negative. Decode
// narrows unsigned values that fit to int64, so that every integer Sign
// accepts (uint64 up to 2^64-1 included) decodes again.
var payloadDecMode cbor.DecMode

func init() {
	var err error
	EncMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	opts := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   8,
		MaxArrayElements:  1 << 16,
		MaxMapPairs:       1 << 12,
		IntDec:            cbor.IntDecConvertSignedOrFail,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}
	DecMode, err = opts.DecMode()
	if err != nil {
		panic(err)
	}
	opts.IntDec = cbor.IntDecConvertNone
	payloadDecMode, err = opts.DecMode()
	if err != nil {
		panic(err)
	}
}

// Signed is a decoded reading with the bytes it came from.
type Signed struct {
	Reading
	Raw       []byte // the COSE_Sign1 message as sent
	Signature []byte
	protected []byte // the serialized protected header map (the bstr's content)
	payload   []byte
}

// Sign encodes r and signs it with the device key. r.Device is set from the
// key when empty; otherwise it must be the key's device id or, for a device
// whose key was rotated, the device's original id.
func Sign(r Reading, key ed25519.PrivateKey) ([]byte, error) {
	if r.Device == "" {
		r.Device = address.Device(key.Public().(ed25519.PublicKey))
	}
	if err := address.ParseDevice(r.Device); err != nil {
		return nil, fmt.Errorf("%w: device: %v", ErrMalformed, err)
	}
	if err := checkData(r.Data); err != nil {
		return nil, err
	}
	p, err := EncMode.Marshal(payload{Device: r.Device, Seq: r.Seq, Time: r.Time, Data: r.Data})
	if err != nil {
		return nil, fmt.Errorf("reading: encode payload: %w", err)
	}
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, key)
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	headers := cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA,
		cose.HeaderLabelKeyID:     []byte(r.Device),
	}}
	raw, err := cose.Sign1(nil, signer, headers, p, nil)
	if err != nil {
		return nil, fmt.Errorf("reading: sign: %w", err)
	}
	if len(raw) > MaxSize {
		return nil, fmt.Errorf("%w: encoded reading is %d bytes; send fewer or shorter fields", ErrTooLarge, len(raw))
	}
	return raw, nil
}

// Decode parses a reading without checking its signature. The error wraps one
// of the package's sentinels and says what was wrong.
func Decode(raw []byte) (*Signed, error) {
	if len(raw) > MaxSize {
		return nil, fmt.Errorf("%w: got %d bytes; split the data over several readings", ErrTooLarge, len(raw))
	}
	if s, ok := decodeFast(raw); ok {
		return s, nil
	}
	return decodeSlow(raw)
}

// decodeSlow decodes any reading, through go-cose. It is the reference for
// decodeFast, and it is where every refusal gets its message.
func decodeSlow(raw []byte) (*Signed, error) {
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(raw); err != nil {
		return nil, fmt.Errorf("%w: %v; send a tagged COSE_Sign1 (RFC 9052)", ErrMalformed, err)
	}
	if msg.Payload == nil {
		return nil, fmt.Errorf("%w: detached payload; embed the payload", ErrMalformed)
	}
	alg, err := msg.Headers.Protected.Algorithm()
	if err != nil || alg != cose.AlgorithmEdDSA {
		return nil, fmt.Errorf("%w: protected header algorithm %v", ErrAlgorithm, alg)
	}
	kid, ok := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte)
	if !ok {
		return nil, fmt.Errorf("%w: protected header has no kid (label 4) byte string; put the device id there", ErrKeyID)
	}
	if _, ok := msg.Headers.Protected[cose.HeaderLabelCritical]; ok {
		return nil, fmt.Errorf("%w: protected header lists critical parameters (label 2), which iotledger does not understand", ErrMalformed)
	}
	protected, err := signedParts(raw, &msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return decodePayload(raw, protected, kid, msg.Payload, msg.Signature)
}

// decodePayload decodes and checks a reading's payload, whose device id must
// be kid, and returns the reading.
func decodePayload(raw, protected, kid, pl, sig []byte) (*Signed, error) {
	var p payload
	if err := payloadDecMode.Unmarshal(pl, &p); err != nil {
		return nil, fmt.Errorf("%w: payload: %v; want a map {1: device, 2: seq, 3: time, 4: data}", ErrMalformed, err)
	}
	if err := address.ParseDevice(p.Device); err != nil {
		return nil, fmt.Errorf("%w: payload device: %v", ErrMalformed, err)
	}
	if !bytes.Equal(kid, []byte(p.Device)) {
		return nil, fmt.Errorf("%w: kid %q, payload %q", ErrKeyID, kid, p.Device)
	}
	for k, v := range p.Data {
		if u, ok := v.(uint64); ok && u <= math.MaxInt64 {
			p.Data[k] = int64(u)
		}
	}
	if err := checkData(p.Data); err != nil {
		return nil, err
	}
	return &Signed{
		Reading:   Reading{Device: p.Device, Seq: p.Seq, Time: p.Time, Data: p.Data},
		Raw:       raw,
		Signature: sig,
		protected: protected,
		payload:   pl,
	}, nil
}

// headLen is the length of the shortest CBOR head for an argument n.
func headLen(n int) int {
	switch {
	case n < 24:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case uint64(n) <= 0xffffffff:
		return 5
	}
	return 9
}

// bstrLen is the length of a byte string of n bytes in the deterministic encoding.
func bstrLen(n int) int { return headLen(n) + n }

// AppendBytes appends b as a CBOR byte string in the core deterministic
// encoding (its length in the shortest form).
func AppendBytes(dst, b []byte) []byte {
	return append(AppendHead(dst, 2, uint64(len(b))), b...)
}

// AppendInt appends v as a CBOR integer in the core deterministic encoding.
func AppendInt(dst []byte, v int64) []byte {
	if v < 0 {
		return AppendHead(dst, 1, uint64(-1-v))
	}
	return AppendHead(dst, 0, uint64(v))
}

// AppendHead appends the head of a CBOR data item of the given major type
// (0 to 7) and argument, in the shortest form.
func AppendHead(dst []byte, major byte, n uint64) []byte {
	major <<= 5
	switch {
	case n < 24:
		return append(dst, major|byte(n))
	case n <= 0xff:
		return append(dst, major|24, byte(n))
	case n <= 0xffff:
		return append(dst, major|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(dst, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, major|27), n)
}

// signedParts returns the content of msg's protected header byte string after
// checking that raw, which msg was decoded from, holds no byte the signature
// does not cover: the unprotected header is empty and the message is in the
// core deterministic encoding, so the only freedom left is inside the
// protected header and the payload, which are signed. Without this check a
// gateway could change the stored bytes (and so the leaf hash and the
// receipt) of a reading it forwards, or hide data in it, without breaking
// the device's signature.
func signedParts(raw []byte, msg *cose.Sign1Message) ([]byte, error) {
	if !bytes.Equal(msg.Headers.RawUnprotected, []byte{0xa0}) {
		return nil, errors.New("unprotected header is not empty; put header parameters in the protected header, which the signature covers")
	}
	var protected []byte
	if err := DecMode.Unmarshal(msg.Headers.RawProtected, &protected); err != nil {
		return nil, fmt.Errorf("protected header: %v", err)
	}
	canonical, err := EncMode.Marshal(cbor.Tag{
		Number:  cose.CBORTagSign1Message,
		Content: []any{protected, map[int]int{}, msg.Payload, msg.Signature},
	})
	if err != nil {
		return nil, fmt.Errorf("re-encode: %v", err)
	}
	if !bytes.Equal(raw, canonical) {
		return nil, errors.New("COSE_Sign1 is not in the core deterministic encoding (RFC 8949 section 4.2.1); encode byte string lengths in their shortest form")
	}
	return protected, nil
}

// Message returns the bytes the device signed: the COSE Sig_structure
// ["Signature1", protected, external_aad, payload] (RFC 9052 section 4.4),
// where protected is the serialized protected header map exactly as sent and
// external_aad is the empty byte string.
func (s *Signed) Message() []byte {
	const context = "Signature1"
	m := make([]byte, 0, 2+len(context)+bstrLen(len(s.protected))+1+bstrLen(len(s.payload)))
	m = append(m, 0x84, 0x60|byte(len(context))) // array of 4; text string of 10
	m = append(m, context...)
	m = AppendBytes(m, s.protected)
	m = append(m, 0x40) // external_aad: empty byte string
	return AppendBytes(m, s.payload)
}

// Verify checks the signature with the device's public key under ZIP 215.
func (s *Signed) Verify(pub []byte) error {
	if !zip215.Verify(pub, s.Message(), s.Signature) {
		return fmt.Errorf("%w: device %s seq %d", ErrSignature, s.Device, s.Seq)
	}
	return nil
}

func checkData(data map[string]any) error {
	if len(data) > MaxFields {
		return fmt.Errorf("%w: %d fields, at most %d", ErrData, len(data), MaxFields)
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys) // report the first bad field in a stable order
	for _, k := range keys {
		if k == "" || len(k) > MaxFieldLen {
			return fmt.Errorf("%w: field name %q must be 1 to %d bytes", ErrData, k, MaxFieldLen)
		}
		switch v := data[k].(type) {
		case uint64, int64, string, bool, int, uint, int32, uint32:
		case float32:
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: field %q is %v; send a finite number", ErrData, k, v)
			}
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: field %q is %v; send a finite number", ErrData, k, v)
			}
		default:
			return fmt.Errorf("%w: field %q has type %T; values are numbers, text or bool", ErrData, k, v)
		}
	}
	return nil
}
