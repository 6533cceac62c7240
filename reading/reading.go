package reading

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	cose "github.com/veraison/go-cose"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/zip215"
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
	ErrKeyID     = errors.New("reading: no kid in the protected header, or not the payload's device id")
	ErrData      = errors.New("reading: invalid data field")
	ErrSignature = errors.New("reading: signature does not verify with the device key")
)

// Reading is what a device reports.
type Reading struct {
	Device string         // device id, dev1...
	Seq    uint64         // per-device sequence number
	Time   int64          // unix milliseconds, device clock
	Data   map[string]any // values: float64, int64, uint64, string or bool
	Sealed *Sealed        // the private fields, sealed; nil when there are none
}

// Sealed is a reading's private fields as the device sealed them (payload
// key 5): XChaCha20-Poly1305 ciphertext under the device's stream key for
// Epoch, with a random nonce. Package private seals and opens it; this
// package only carries it, and the signature covers it. In a reading that
// Decode returns, Nonce and Ciphertext may share memory with Raw.
type Sealed struct {
	Epoch      uint64 // the device's epoch whose stream key sealed it, at least 1
	Nonce      []byte // NonceSize bytes
	Ciphertext []byte // at least TagSize bytes: the sealed fields and the tag
}

// Sizes of a Sealed's parts.
const (
	NonceSize = 24 // XChaCha20-Poly1305's nonce
	TagSize   = 16 // Poly1305's tag, the shortest ciphertext
)

// Timestamp returns the reading's time as a time.Time in UTC.
func (r Reading) Timestamp() time.Time { return time.UnixMilli(r.Time).UTC() }

type payload struct {
	Device string         `cbor:"1,keyasint"`
	Seq    uint64         `cbor:"2,keyasint"`
	Time   int64          `cbor:"3,keyasint"`
	Data   map[string]any `cbor:"4,keyasint"`
	Sealed *sealedPayload `cbor:"5,keyasint,omitempty"`
}

// sealedPayload is payload key 5, {1: epoch, 2: nonce, 3: ciphertext}.
type sealedPayload struct {
	Epoch      uint64 `cbor:"1,keyasint"`
	Nonce      []byte `cbor:"2,keyasint"`
	Ciphertext []byte `cbor:"3,keyasint"`
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
	pl := payload{Device: r.Device, Seq: r.Seq, Time: r.Time, Data: r.Data}
	if r.Sealed != nil {
		if err := checkSealed(r.Sealed); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		pl.Sealed = &sealedPayload{Epoch: r.Sealed.Epoch, Nonce: r.Sealed.Nonce, Ciphertext: r.Sealed.Ciphertext}
	}
	p, err := dcbor.EncMode.Marshal(pl)
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
	if err := checkFrame(raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(raw); err != nil {
		return nil, fmt.Errorf("%w: %v; send a COSE_Sign1_Tagged message (RFC 9052): tag 18 around [protected, unprotected, payload, signature]", ErrMalformed, err)
	}
	if msg.Payload == nil {
		return nil, fmt.Errorf("%w: detached payload; embed the payload", ErrMalformed)
	}
	if err := checkAlgorithm(msg.Headers); err != nil {
		return nil, err
	}
	kid, err := keyID(msg.Headers)
	if err != nil {
		return nil, err
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

// checkFrame checks the first heads of raw, tag 18 and an array of 4 in
// their shortest forms (0xd2 0x84), and says what is there instead, so that
// a message that is tagged but otherwise framed wrongly is not told to be
// tagged.
func checkFrame(raw []byte) error {
	if len(raw) >= 2 && raw[0] == 0xd2 && raw[1] == 0x84 {
		return nil
	}
	const want = "a COSE_Sign1_Tagged message (RFC 9052) starts with tag 18 and an array of 4 items, 0xd2 0x84"
	major, tag, n, ok := anyHead(raw)
	switch {
	case len(raw) == 0:
		return fmt.Errorf("empty message; %s", want)
	case !ok:
		return fmt.Errorf("not CBOR (first byte 0x%02x); %s", raw[0], want)
	case major == 4:
		return fmt.Errorf("untagged: the message starts with an array, not tag 18 (0xd2); send the tagged form, %s", want)
	case major != 6:
		return fmt.Errorf("the message is a CBOR %s, not tag 18; %s", majorName[major], want)
	case tag != cose.CBORTagSign1Message:
		return fmt.Errorf("tag %d is not COSE_Sign1's tag 18; %s", tag, want)
	case n != 1:
		return fmt.Errorf("tag 18 is written in %d bytes (% x), not in its shortest form 0xd2; encode the message in the core deterministic encoding (RFC 8949 section 4.2.1)", n, raw[:n])
	}
	head := raw[n:]
	major, count, m, ok := anyHead(head)
	switch {
	case len(head) == 0:
		return fmt.Errorf("tag 18 holds nothing; %s", want)
	case len(head) > 0 && head[0] == 0x9f:
		return fmt.Errorf("the COSE_Sign1 array has an indefinite length; write its head as 0x84, as the core deterministic encoding (RFC 8949 section 4.2.1) requires")
	case !ok:
		return fmt.Errorf("tag 18 holds no valid CBOR (byte 0x%02x); %s", head[0], want)
	case major != 4:
		return fmt.Errorf("tag 18 holds a CBOR %s, not the array [protected, unprotected, payload, signature]; %s", majorName[major], want)
	case count != 4:
		return fmt.Errorf("the COSE_Sign1 array has %d items, not 4 [protected, unprotected, payload, signature]", count)
	}
	return fmt.Errorf("the COSE_Sign1 array's head is written in %d bytes (% x), not in its shortest form 0x84; encode the message in the core deterministic encoding (RFC 8949 section 4.2.1)", m, head[:m])
}

// majorName names the CBOR major types.
var majorName = [8]string{"unsigned integer", "negative integer", "byte string", "text string", "array", "map", "tag", "simple value or float"}

// anyHead reads the CBOR head at the start of b in any of its encodings,
// shortest or not: its major type, its argument and its length in bytes.
// ok is false if b holds no complete head with a definite argument.
func anyHead(b []byte) (major byte, arg uint64, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, 0, false
	}
	major, info := b[0]>>5, b[0]&0x1f
	if info < 24 {
		return major, uint64(info), 1, true
	}
	if info > 27 {
		return major, 0, 0, false
	}
	size := 1 << (info - 24)
	if len(b) < 1+size {
		return major, 0, 0, false
	}
	for _, x := range b[1 : 1+size] {
		arg = arg<<8 | uint64(x)
	}
	return major, arg, 1 + size, true
}

// algorithmNames names the COSE algorithms a device might send by mistake
// (IANA "COSE Algorithms"), beyond those go-cose names.
var algorithmNames = map[cose.Algorithm]string{
	-19:    "Ed25519", // fully specified (RFC 9864); readings use -8
	-47:    "ES256K",
	-53:    "Ed448",
	-65535: "RS1",
	5:      "HMAC 256/256",
}

// algorithmName names alg with its number, "ES256 (-7)".
func algorithmName(alg cose.Algorithm) string {
	if name, ok := algorithmNames[alg]; ok {
		return fmt.Sprintf("%s (%d)", name, alg)
	}
	if name := alg.String(); !strings.HasPrefix(name, "Algorithm(") && alg != cose.AlgorithmReserved {
		return fmt.Sprintf("%s (%d)", name, alg)
	}
	return fmt.Sprintf("%d, which names no signature algorithm iotledger knows", alg)
}

// checkAlgorithm checks that the protected header says EdDSA (-8), and says
// where the algorithm is and what it is when it is not.
func checkAlgorithm(h cose.Headers) error {
	v, ok := h.Protected[cose.HeaderLabelAlgorithm]
	if !ok {
		if _, ok := h.Unprotected[cose.HeaderLabelAlgorithm]; ok {
			return fmt.Errorf("%w: the algorithm (label 1) is in the unprotected header; put EdDSA (-8) in the protected header, which the signature covers", ErrAlgorithm)
		}
		return fmt.Errorf("%w: the protected header has no algorithm (label 1); readings are signed with EdDSA (-8)", ErrAlgorithm)
	}
	alg, err := h.Protected.Algorithm()
	if err != nil {
		if text, ok := v.(string); ok {
			return fmt.Errorf("%w: the protected header's algorithm (label 1) is the text %q; readings are signed with EdDSA, written as the integer -8", ErrAlgorithm, text)
		}
		return fmt.Errorf("%w: the protected header's algorithm (label 1) is not an integer; readings are signed with EdDSA, written as the integer -8", ErrAlgorithm)
	}
	if alg != cose.AlgorithmEdDSA {
		return fmt.Errorf("%w: the protected header's algorithm is %s; readings are signed with EdDSA (-8) and the device's Ed25519 key", ErrAlgorithm, algorithmName(alg))
	}
	return nil
}

// keyID returns the protected header's kid, and says where the kid is and
// where it must be when it is not there.
func keyID(h cose.Headers) ([]byte, error) {
	v, ok := h.Protected[cose.HeaderLabelKeyID]
	if kid, isBytes := v.([]byte); isBytes {
		return kid, nil
	}
	switch _, inUnprotected := h.Unprotected[cose.HeaderLabelKeyID]; {
	case ok:
		return nil, fmt.Errorf("%w: the protected header's kid (label 4) is not a byte string; put the device id there as a byte string", ErrKeyID)
	case inUnprotected:
		return nil, fmt.Errorf("%w: the kid (label 4) is in the unprotected header; put the device id as kid in the protected header, which the signature covers, and leave the unprotected header empty", ErrKeyID)
	}
	return nil, fmt.Errorf("%w: the protected header has no kid (label 4); put the device id there as a byte string", ErrKeyID)
}

// The payload's keys; 1 to 4 must be present (data may be null: no data),
// 5 (sealed) is optional.
var payloadKeys = [...]string{1: "1 (device id)", 2: "2 (seq)", 3: "3 (time)", 4: "4 (data)", 5: "5 (sealed)"}

// rawPayload is a payload before its values are decoded: a key that is
// absent stays nil, one that is present holds at least one byte.
type rawPayload struct {
	Device cbor.RawMessage `cbor:"1,keyasint"`
	Seq    cbor.RawMessage `cbor:"2,keyasint"`
	Time   cbor.RawMessage `cbor:"3,keyasint"`
	Data   cbor.RawMessage `cbor:"4,keyasint"`
	Sealed cbor.RawMessage `cbor:"5,keyasint"`
}

// decodePayload decodes and checks a reading's payload, whose device id must
// be kid, and returns the reading.
func decodePayload(raw, protected, kid, pl, sig []byte) (*Signed, error) {
	const want = "want a map {1: device, 2: seq, 3: time, 4: data, 5: sealed (optional)}"
	var rp rawPayload
	if err := dcbor.DecModeAnyInt.Unmarshal(pl, &rp); err != nil {
		return nil, fmt.Errorf("%w: payload: %v; %s", ErrMalformed, err, want)
	}
	var p payload
	for i, f := range []struct {
		raw  cbor.RawMessage
		into any
	}{1: {rp.Device, &p.Device}, 2: {rp.Seq, &p.Seq}, 3: {rp.Time, &p.Time}, 4: {rp.Data, &p.Data}} {
		if i == 0 {
			continue
		}
		switch {
		case f.raw == nil:
			return nil, fmt.Errorf("%w: payload has no key %s; %s, every key present", ErrMalformed, payloadKeys[i], want)
		case i != 4 && f.raw[0] == 0xf6 || f.raw[0] == 0xf7:
			return nil, fmt.Errorf("%w: payload key %s is null or undefined; %s", ErrMalformed, payloadKeys[i], want)
		}
		if err := dcbor.DecModeAnyInt.Unmarshal(f.raw, f.into); err != nil {
			return nil, fmt.Errorf("%w: payload key %s: %v; %s", ErrMalformed, payloadKeys[i], err, want)
		}
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
	var sealed *Sealed
	if rp.Sealed != nil {
		var err error
		if sealed, err = decodeSealed(rp.Sealed); err != nil {
			return nil, fmt.Errorf("%w: payload key 5 (sealed): %v", ErrMalformed, err)
		}
	}
	return &Signed{
		Reading:   Reading{Device: p.Device, Seq: p.Seq, Time: p.Time, Data: p.Data, Sealed: sealed},
		Raw:       raw,
		Signature: sig,
		protected: protected,
		payload:   pl,
	}, nil
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
	if err := dcbor.DecMode.Unmarshal(msg.Headers.RawProtected, &protected); err != nil {
		return nil, fmt.Errorf("protected header: %v", err)
	}
	canonical, err := dcbor.EncMode.Marshal(cbor.Tag{
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
	m := make([]byte, 0, 2+len(context)+dcbor.BytesLen(len(s.protected))+1+dcbor.BytesLen(len(s.payload)))
	m = append(m, 0x84, 0x60|byte(len(context))) // array of 4; text string of 10
	m = append(m, context...)
	m = dcbor.AppendBytes(m, s.protected)
	m = append(m, 0x40) // external_aad: empty byte string
	return dcbor.AppendBytes(m, s.payload)
}

// Verify checks the signature with the device's public key under ZIP 215.
func (s *Signed) Verify(pub []byte) error {
	if !zip215.Verify(pub, s.Message(), s.Signature) {
		return fmt.Errorf("%w: device %s seq %d", ErrSignature, s.Device, s.Seq)
	}
	return nil
}

// The keys of a sealed map.
var sealedKeys = [...]string{1: "1 (epoch)", 2: "2 (nonce)", 3: "3 (ciphertext)"}

// decodeSealed decodes and checks payload key 5, whose value is raw (at
// least one byte): a map with exactly the keys 1 (epoch, an unsigned
// integer, at least 1), 2 (nonce, a byte string of NonceSize bytes) and 3
// (ciphertext, a byte string of at least TagSize bytes).
func decodeSealed(raw cbor.RawMessage) (*Sealed, error) {
	const want = "want a map {1: epoch (uint, at least 1), 2: nonce (bstr, 24 bytes), 3: ciphertext (bstr)}, or no key 5 for a reading without sealed fields"
	switch major := raw[0] >> 5; {
	case raw[0] == 0xf6 || raw[0] == 0xf7:
		return nil, fmt.Errorf("null or undefined; %s", want)
	case major != 5:
		return nil, fmt.Errorf("a CBOR %s, not a map; %s", majorName[major], want)
	}
	// Walk the map in its encoded order, so that the key named in a refusal
	// does not depend on a Go map's order.
	_, n, headLen, ok := anyHead(raw)
	if !ok || raw[0]&0x1f == 31 {
		return nil, fmt.Errorf("a map of indefinite length; %s", want)
	}
	rest := []byte(raw[headLen:])
	var parts [4]cbor.RawMessage
	for range n {
		var k any
		var v cbor.RawMessage
		var err error
		if rest, err = dcbor.DecModeAnyInt.UnmarshalFirst(rest, &k); err == nil {
			rest, err = dcbor.DecModeAnyInt.UnmarshalFirst(rest, &v)
		}
		if err != nil {
			return nil, fmt.Errorf("%v; %s", err, want)
		}
		i, known := k.(uint64)
		switch {
		case known && i >= 1 && i <= 3 && parts[i] != nil:
			return nil, fmt.Errorf("key %s appears twice; %s", sealedKeys[i], want)
		case known && i >= 1 && i <= 3:
			parts[i] = v
		default:
			if text, ok := k.(string); ok {
				return nil, fmt.Errorf("unknown key %q; %s, no other key", text, want)
			}
			return nil, fmt.Errorf("unknown key %v; %s, no other key", k, want)
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the map; %s", len(rest), want)
	}
	for i := 1; i <= 3; i++ {
		if parts[i] == nil {
			return nil, fmt.Errorf("no key %s; %s", sealedKeys[i], want)
		}
		major := parts[i][0] >> 5
		switch {
		case i == 1 && major != 0:
			return nil, fmt.Errorf("key 1 (epoch) is a CBOR %s, not an unsigned integer; %s", majorName[major], want)
		case i > 1 && major != 2:
			return nil, fmt.Errorf("key %s is a CBOR %s, not a byte string; %s", sealedKeys[i], majorName[major], want)
		}
	}
	var s Sealed
	for i, into := range []any{1: &s.Epoch, 2: &s.Nonce, 3: &s.Ciphertext} {
		if i == 0 {
			continue
		}
		if err := dcbor.DecModeAnyInt.Unmarshal(parts[i], into); err != nil {
			return nil, fmt.Errorf("key %s: %v; %s", sealedKeys[i], err, want)
		}
	}
	if err := checkSealed(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// checkSealed checks what a reading's sealed part must be, as Sign writes
// it and Decode reads it.
func checkSealed(s *Sealed) error {
	switch {
	case s.Epoch == 0:
		return errors.New("sealed epoch is 0; epochs start at 1: seal with the stream key of the device's current epoch")
	case len(s.Nonce) != NonceSize:
		return fmt.Errorf("sealed nonce is %d bytes, not %d; XChaCha20-Poly1305 takes a random 24-byte nonce", len(s.Nonce), NonceSize)
	case len(s.Ciphertext) < TagSize:
		return fmt.Errorf("sealed ciphertext is %d bytes, shorter than the %d-byte Poly1305 tag; send the AEAD's whole output", len(s.Ciphertext), TagSize)
	}
	return nil
}

// CheckData checks a map of fields against the rules of a reading's data:
// at most MaxFields fields, names of 1 to MaxFieldLen bytes, values finite
// numbers, text or bools. Sign and Decode apply it to data; package private
// applies it to the fields it seals. The error wraps ErrData.
func CheckData(data map[string]any) error { return checkData(data) }

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
