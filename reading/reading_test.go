package reading_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"
	cose "github.com/veraison/go-cose"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/reading"
)

// newKey returns the device key made from a seed of 32 times b.
func newKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func pubOf(key ed25519.PrivateKey) ed25519.PublicKey { return key.Public().(ed25519.PublicKey) }

func devOf(key ed25519.PrivateKey) string { return address.Device(pubOf(key)) }

func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := dcbor.EncMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cat concatenates CBOR items: []byte parts as they are, other values
// encoded. It writes what an encoder would refuse to, such as duplicate keys.
func cat(t testing.TB, parts ...any) []byte {
	t.Helper()
	var out []byte
	for _, p := range parts {
		if b, ok := p.([]byte); ok {
			out = append(out, b...)
		} else {
			out = append(out, enc(t, p)...)
		}
	}
	return out
}

// header returns the serialized protected header {alg: EdDSA, kid: kid}.
func header(t testing.TB, kid string) []byte {
	t.Helper()
	return enc(t, map[int]any{1: -8, 4: []byte(kid)})
}

// body returns a payload for dev with the given data (a value or raw CBOR).
func body(t testing.TB, dev string, data any) []byte {
	t.Helper()
	if raw, ok := data.([]byte); ok {
		data = cbor.RawMessage(raw)
	}
	return enc(t, map[int]any{1: dev, 2: 7, 3: 1700000000000, 4: data})
}

// frame writes the tagged array [protected, unprotected, payload, signature],
// protected, payload and signature as byte strings, unprotected as given.
func frame(t testing.TB, protected, unprotected, payload, sig []byte) []byte {
	t.Helper()
	return enc(t, cbor.Tag{Number: 18, Content: []any{protected, cbor.RawMessage(unprotected), payload, sig}})
}

// signCOSE makes a COSE_Sign1 by hand, as a device without package reading
// would, with a valid signature, so that a test of a rejection is not merely
// a test of the signature.
func signCOSE(t testing.TB, key ed25519.PrivateKey, protected, payload []byte) []byte {
	t.Helper()
	sig := ed25519.Sign(key, enc(t, []any{"Signature1", protected, []byte{}, payload}))
	return frame(t, protected, []byte{0xa0}, payload, sig)
}

// signGoCOSE makes a reading with go-cose's own API, as a third-party device
// would; payload is encoded with go-cose's defaults, not deterministically.
func signGoCOSE(t testing.TB, key ed25519.PrivateKey, protected cose.ProtectedHeader, payload any) []byte {
	t.Helper()
	msg := cose.NewSign1Message()
	msg.Headers.Protected = protected
	p, err := cbor.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	msg.Payload = p
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := msg.Sign(rand.Reader, nil, signer); err != nil {
		t.Fatal(err)
	}
	raw, err := msg.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustSign(t testing.TB, r reading.Reading, key ed25519.PrivateKey) []byte {
	t.Helper()
	raw, err := reading.Sign(r, key)
	if err != nil {
		t.Fatalf("Sign(%+v) = %v", r, err)
	}
	return raw
}

func TestSignDecodeRoundTrip(t *testing.T) {
	key, other := newKey(1), newKey(2)
	dev := devOf(key)
	manyFields := map[string]any{strings.Repeat("x", reading.MaxFieldLen): true}
	for i := range reading.MaxFields - 1 {
		manyFields[fmt.Sprint(i)] = int64(i)
	}
	for _, tc := range []struct {
		name string
		in   reading.Reading
		key  ed25519.PrivateKey
		want reading.Reading
	}{{
		name: "minimal",
		in:   reading.Reading{},
		key:  key,
		want: reading.Reading{Device: dev},
	}, {
		name: "typical",
		in:   reading.Reading{Seq: 42, Time: 1700000000123, Data: map[string]any{"temp": 21.5, "hum": 40, "door": "open", "ok": true, "delta": -3}},
		key:  key,
		want: reading.Reading{Device: dev, Seq: 42, Time: 1700000000123, Data: map[string]any{"temp": 21.5, "hum": int64(40), "door": "open", "ok": true, "delta": int64(-3)}},
	}, {
		name: "device given",
		in:   reading.Reading{Device: dev, Seq: 1, Data: map[string]any{}},
		key:  key,
		want: reading.Reading{Device: dev, Seq: 1, Data: map[string]any{}},
	}, {
		name: "rotated key keeps the original device id",
		in:   reading.Reading{Device: dev, Seq: 9},
		key:  other,
		want: reading.Reading{Device: dev, Seq: 9},
	}, {
		name: "extremes",
		in:   reading.Reading{Seq: math.MaxUint64, Time: math.MinInt64, Data: map[string]any{"max": uint64(math.MaxUint64), "min": int64(math.MinInt64), "maxint": int64(math.MaxInt64), "tiny": math.SmallestNonzeroFloat64, "huge": math.MaxFloat64, "zero": 0.0, "two": 2.0}},
		key:  key,
		want: reading.Reading{Device: dev, Seq: math.MaxUint64, Time: math.MinInt64, Data: map[string]any{"max": uint64(math.MaxUint64), "min": int64(math.MinInt64), "maxint": int64(math.MaxInt64), "tiny": math.SmallestNonzeroFloat64, "huge": math.MaxFloat64, "zero": 0.0, "two": 2.0}},
	}, {
		name: "Go integer and float types",
		in:   reading.Reading{Time: -1, Data: map[string]any{"int": 1, "uint": uint(2), "int32": int32(-3), "uint32": uint32(4), "float32": float32(0.5), "text": "ünïcode ✓"}},
		key:  key,
		want: reading.Reading{Device: dev, Time: -1, Data: map[string]any{"int": int64(1), "uint": int64(2), "int32": int64(-3), "uint32": int64(4), "float32": 0.5, "text": "ünïcode ✓"}},
	}, {
		name: "as many fields as allowed, longest names",
		in:   reading.Reading{Data: manyFields},
		key:  key,
		want: reading.Reading{Device: dev, Data: manyFields},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			raw := mustSign(t, tc.in, tc.key)
			if len(raw) > reading.MaxSize {
				t.Errorf("Sign made %d bytes, more than MaxSize", len(raw))
			}
			s, err := reading.Decode(raw)
			if err != nil {
				t.Fatalf("Decode = %v", err)
			}
			if d := cmp.Diff(s.Reading, tc.want); d != "" {
				t.Errorf("Decode(Sign(r)) (-got +want):\n%s", d)
			}
			if !bytes.Equal(s.Raw, raw) {
				t.Errorf("Raw is not the bytes decoded")
			}
			if err := s.Verify(pubOf(tc.key)); err != nil {
				t.Errorf("Verify = %v", err)
			}
			if again := mustSign(t, tc.in, tc.key); !bytes.Equal(again, raw) {
				t.Errorf("Sign is not deterministic:\n%x\n%x", raw, again)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	r := reading.Reading{Time: 1700000000123}
	if got, want := r.Timestamp().Format("2006-01-02T15:04:05.000Z07:00"), "2023-11-14T22:13:20.123Z"; got != want {
		t.Errorf("Timestamp = %s, want %s", got, want)
	}
}

func TestSignRejects(t *testing.T) {
	key := newKey(1)
	tooMany := map[string]any{}
	for i := range reading.MaxFields + 1 {
		tooMany[fmt.Sprint(i)] = i
	}
	big := map[string]any{}
	for i := range 40 {
		big[fmt.Sprint(i)] = strings.Repeat("v", 100)
	}
	for _, tc := range []struct {
		name string
		r    reading.Reading
		want error
	}{
		{"NaN", reading.Reading{Data: map[string]any{"t": math.NaN()}}, reading.ErrData},
		{"+Inf", reading.Reading{Data: map[string]any{"t": math.Inf(1)}}, reading.ErrData},
		{"float32 -Inf", reading.Reading{Data: map[string]any{"t": float32(math.Inf(-1))}}, reading.ErrData},
		{"nested map", reading.Reading{Data: map[string]any{"t": map[string]any{"a": 1}}}, reading.ErrData},
		{"byte string", reading.Reading{Data: map[string]any{"t": []byte{1}}}, reading.ErrData},
		{"array", reading.Reading{Data: map[string]any{"t": []int{1}}}, reading.ErrData},
		{"nil value", reading.Reading{Data: map[string]any{"t": nil}}, reading.ErrData},
		{"too many fields", reading.Reading{Data: tooMany}, reading.ErrData},
		{"empty field name", reading.Reading{Data: map[string]any{"": 1}}, reading.ErrData},
		{"long field name", reading.Reading{Data: map[string]any{strings.Repeat("n", reading.MaxFieldLen+1): 1}}, reading.ErrData},
		{"too large", reading.Reading{Data: big}, reading.ErrTooLarge},
		{"device id malformed", reading.Reading{Device: "dev1nope"}, reading.ErrMalformed},
		{"account address as device", reading.Reading{Device: address.Account(pubOf(key))}, reading.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := reading.Sign(tc.r, key)
			if !errors.Is(err, tc.want) {
				t.Errorf("Sign = %x, %v; want %v", raw, err, tc.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	key, other := newKey(1), newKey(2)
	dev := devOf(key)
	good := mustSign(t, reading.Reading{Seq: 7, Time: 1700000000000, Data: map[string]any{"temp": 21.5}}, key)
	if _, err := reading.Decode(good); err != nil {
		t.Fatalf("Decode(good) = %v", err)
	}
	hdr := header(t, dev)
	pl := body(t, dev, map[string]any{"temp": 21.5})
	signed := func(payload []byte) []byte { return signCOSE(t, key, hdr, payload) }
	withData := func(data any) []byte { return signed(body(t, dev, data)) }
	withHeader := func(protected []byte) []byte { return signCOSE(t, key, protected, pl) }

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	es256, err := cose.NewSigner(cose.AlgorithmES256, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	es256Msg, err := cose.Sign1(rand.Reader, es256, cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm: cose.AlgorithmES256,
		cose.HeaderLabelKeyID:     []byte(dev),
	}}, pl, nil)
	if err != nil {
		t.Fatal(err)
	}

	tooMany := map[string]any{}
	for i := range reading.MaxFields + 1 {
		tooMany[fmt.Sprint(i)] = i
	}
	sig := good[len(good)-64:]
	// The payload with the length of its byte string in 2 bytes instead of 1.
	longLen := append([]byte{0xd2, 0x84}, cat(t, enc(t, hdr), map[int]int{}, []byte{0x59, 0, byte(len(pl))}, pl, enc(t, sig))...)

	for _, tc := range []struct {
		name string
		raw  []byte
		want error
	}{
		// Size.
		{"over MaxSize", make([]byte, reading.MaxSize+1), reading.ErrTooLarge},
		{"signed but over MaxSize", withData(map[string]any{"s": strings.Repeat("x", reading.MaxSize)}), reading.ErrTooLarge},

		// Not a COSE_Sign1.
		{"empty", nil, reading.ErrMalformed},
		{"garbage", []byte("hello, ledger"), reading.ErrMalformed},
		{"truncated by one byte", good[:len(good)-1], reading.ErrMalformed},
		{"truncated to half", good[:len(good)/2], reading.ErrMalformed},
		{"trailing byte", append(bytes.Clone(good), 0), reading.ErrMalformed},
		{"untagged", good[1:], reading.ErrMalformed},
		{"tag 17 (COSE_Mac0)", append([]byte{0xd1}, good[1:]...), reading.ErrMalformed},
		{"CBOR map", enc(t, map[int]int{1: 2}), reading.ErrMalformed},
		{"array of 3", enc(t, cbor.Tag{Number: 18, Content: []any{hdr, map[int]int{}, pl}}), reading.ErrMalformed},
		{"detached payload", enc(t, cbor.Tag{Number: 18, Content: []any{hdr, map[int]int{}, nil, sig}}), reading.ErrMalformed},
		{"empty signature", frame(t, hdr, []byte{0xa0}, pl, []byte{}), reading.ErrMalformed},
		{"protected header not a byte string", enc(t, cbor.Tag{Number: 18, Content: []any{map[int]int{1: -8}, map[int]int{}, pl, sig}}), reading.ErrMalformed},

		// Bytes the signature does not cover.
		{"unprotected header not empty", frame(t, hdr, enc(t, map[int]any{4: []byte(dev)}), pl, sig), reading.ErrMalformed},
		{"unprotected header with a counter", frame(t, hdr, enc(t, map[string]int{"n": 1}), pl, sig), reading.ErrMalformed},
		{"byte string length not shortest", longLen, reading.ErrMalformed},

		// Algorithm.
		{"ES256 (made with go-cose)", es256Msg, reading.ErrAlgorithm},
		{"no algorithm", withHeader(enc(t, map[int]any{4: []byte(dev)})), reading.ErrAlgorithm},
		{"algorithm only in unprotected header", frame(t, enc(t, map[int]any{4: []byte(dev)}), enc(t, map[int]int{1: -8}), pl, sig), reading.ErrAlgorithm},
		{"algorithm as text", withHeader(enc(t, map[int]any{1: "EdDSA", 4: []byte(dev)})), reading.ErrAlgorithm},
		{"algorithm ES256 label, Ed25519 signature", withHeader(enc(t, map[int]any{1: -7, 4: []byte(dev)})), reading.ErrAlgorithm},
		{"empty protected header", withHeader([]byte{}), reading.ErrAlgorithm},

		// Key id.
		{"no kid", withHeader(enc(t, map[int]any{1: -8})), reading.ErrKeyID},
		{"kid of another device", withHeader(header(t, devOf(other))), reading.ErrKeyID},
		{"kid is the account address", withHeader(header(t, address.Account(pubOf(key)))), reading.ErrKeyID},
		{"empty kid", withHeader(header(t, "")), reading.ErrKeyID},
		{"kid is the public key", withHeader(enc(t, map[int]any{1: -8, 4: []byte(pubOf(key))})), reading.ErrKeyID},

		// Protected header.
		{"critical parameters", withHeader(enc(t, map[int]any{1: -8, 2: []int{4}, 4: []byte(dev)})), reading.ErrMalformed},
		{"duplicate protected label", withHeader(cat(t, []byte{0xa3}, 1, -8, 4, enc(t, []byte(dev)), 1, -8)), reading.ErrMalformed},

		// Payload.
		{"payload empty", signed([]byte{}), reading.ErrMalformed},
		{"payload an array", signed(enc(t, []any{dev, 7, 1700000000000, map[string]any{}})), reading.ErrMalformed},
		{"payload with text keys", signed(enc(t, map[string]any{"1": dev, "2": 7})), reading.ErrMalformed},
		{"unknown payload key", signed(enc(t, map[int]any{1: dev, 2: 7, 3: 1, 4: map[string]any{}, 6: "extra"})), reading.ErrMalformed},
		{"duplicate payload key", signed(cat(t, []byte{0xa5}, 1, dev, 2, 7, 3, 1, 4, map[string]int{}, 2, 8)), reading.ErrMalformed},
		{"duplicate device key", signed(cat(t, []byte{0xa5}, 1, dev, 2, 7, 3, 1, 4, map[string]int{}, 1, devOf(other))), reading.ErrMalformed},
		{"duplicate data key", withData(cat(t, []byte{0xa2}, "t", 1, "t", 2)), reading.ErrMalformed},
		{"indefinite-length payload", signed(cat(t, []byte{0xbf}, 1, dev, 2, 7, []byte{0xff})), reading.ErrMalformed},
		{"tag in payload", signed(cat(t, []byte{0xa3}, 1, dev, 2, 7, 3, []byte{0xc1}, 1)), reading.ErrMalformed},
		{"trailing bytes in payload", signed(append(bytes.Clone(pl), 0)), reading.ErrMalformed},
		{"no device", signed(enc(t, map[int]any{2: 7})), reading.ErrMalformed},
		{"no seq", signed(enc(t, map[int]any{1: dev, 3: 1, 4: map[string]any{}})), reading.ErrMalformed},
		{"no time", signed(enc(t, map[int]any{1: dev, 2: 7, 4: map[string]any{}})), reading.ErrMalformed},
		{"no data", signed(enc(t, map[int]any{1: dev, 2: 7, 3: 1})), reading.ErrMalformed},
		{"seq null", signed(enc(t, map[int]any{1: dev, 2: nil, 3: 1, 4: map[string]any{}})), reading.ErrMalformed},
		{"time undefined", signed(cat(t, []byte{0xa4}, 1, dev, 2, 7, 3, []byte{0xf7}, 4, map[string]any{})), reading.ErrMalformed},
		{"device not an id", signed(body(t, "dev1nope", nil)), reading.ErrMalformed},
		{"device in upper case", signCOSE(t, key, header(t, strings.ToUpper(dev)), body(t, strings.ToUpper(dev), nil)), reading.ErrMalformed},
		{"account address as device", signCOSE(t, key, header(t, address.Account(pubOf(key))), body(t, address.Account(pubOf(key)), nil)), reading.ErrMalformed},
		{"negative seq", signed(enc(t, map[int]any{1: dev, 2: -1})), reading.ErrMalformed},
		{"seq as text", signed(enc(t, map[int]any{1: dev, 2: "7"})), reading.ErrMalformed},
		{"time as float", signed(enc(t, map[int]any{1: dev, 3: 1.5})), reading.ErrMalformed},
		{"data not a map", withData([]any{1, 2}), reading.ErrMalformed},
		{"data with an integer key", withData(map[int]int{1: 2}), reading.ErrMalformed},
		{"field name not UTF-8", withData(cat(t, []byte{0xa1, 0x62, 0xff, 0xfe}, 1)), reading.ErrMalformed},

		// Data values.
		{"NaN (half precision)", withData(cat(t, []byte{0xa1}, "t", []byte{0xf9, 0x7e, 0x00})), reading.ErrData},
		{"NaN (double precision)", withData(cat(t, []byte{0xa1}, "t", []byte{0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1})), reading.ErrData},
		{"+Inf", withData(cat(t, []byte{0xa1}, "t", []byte{0xf9, 0x7c, 0x00})), reading.ErrData},
		{"-Inf", withData(cat(t, []byte{0xa1}, "t", []byte{0xfa, 0xff, 0x80, 0, 0})), reading.ErrData},
		{"nested map", withData(map[string]any{"t": map[string]int{"a": 1}}), reading.ErrData},
		{"array value", withData(map[string]any{"t": []int{1}}), reading.ErrData},
		{"byte string value", withData(map[string]any{"t": []byte{1, 2}}), reading.ErrData},
		{"null value", withData(map[string]any{"t": nil}), reading.ErrData},
		{"undefined value", withData(cat(t, []byte{0xa1}, "t", []byte{0xf7})), reading.ErrData},
		{"simple value", withData(cat(t, []byte{0xa1}, "t", []byte{0xf0})), reading.ErrData},
		{"integer below int64", withData(cat(t, []byte{0xa1}, "t", unhex(t, "3b ffffffffffffffff"))), reading.ErrData},
		{"too many fields", withData(tooMany), reading.ErrData},
		{"empty field name", withData(map[string]any{"": 1}), reading.ErrData},
		{"long field name", withData(map[string]any{strings.Repeat("n", reading.MaxFieldLen+1): 1}), reading.ErrData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := reading.Decode(tc.raw)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %+v, %v; want %v", s, err, tc.want)
			}
			if s != nil {
				t.Errorf("Decode returned a reading with its error")
			}
			t.Log(err)
		})
	}
}

func TestVerify(t *testing.T) {
	key := newKey(1)
	pub := pubOf(key)
	raw := mustSign(t, reading.Reading{Seq: 7, Time: 1700000000000, Data: map[string]any{"door": "open"}}, key)
	s, err := reading.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(pub); err != nil {
		t.Fatalf("Verify(device key) = %v", err)
	}

	t.Run("wrong key", func(t *testing.T) {
		for _, k := range [][]byte{pubOf(newKey(2)), pub[:31], nil, append(bytes.Clone(pub), 0)} {
			if err := s.Verify(k); !errors.Is(err, reading.ErrSignature) {
				t.Errorf("Verify(%x) = %v, want ErrSignature", k, err)
			}
		}
	})
	t.Run("flipped signature byte", func(t *testing.T) {
		for i := range 64 {
			bad := bytes.Clone(raw)
			bad[len(bad)-64+i] ^= 0x01
			s, err := reading.Decode(bad)
			if err != nil {
				t.Fatalf("byte %d: Decode = %v", i, err)
			}
			if err := s.Verify(pub); !errors.Is(err, reading.ErrSignature) {
				t.Errorf("signature byte %d flipped: Verify = %v, want ErrSignature", i, err)
			}
		}
	})
	t.Run("flipped payload byte", func(t *testing.T) {
		i := bytes.Index(raw, []byte("open"))
		bad := bytes.Clone(raw)
		bad[i] = 'O'
		s, err := reading.Decode(bad)
		if err != nil {
			t.Fatalf("Decode = %v", err)
		}
		if s.Data["door"] != "Open" {
			t.Fatalf("data = %v, want the flipped value", s.Data)
		}
		if err := s.Verify(pub); !errors.Is(err, reading.ErrSignature) {
			t.Errorf("Verify = %v, want ErrSignature", err)
		}
	})
	// Every byte of a reading is covered by the signature: no single-bit
	// change yields a reading that decodes and verifies.
	t.Run("every bit flipped", func(t *testing.T) {
		for i := range len(raw) * 8 {
			bad := bytes.Clone(raw)
			bad[i/8] ^= 1 << (i % 8)
			s, err := reading.Decode(bad)
			if err != nil {
				continue
			}
			if err := s.Verify(pub); err == nil {
				t.Errorf("byte %d bit %d flipped: decodes and verifies", i/8, i%8)
			}
		}
	})
}

// contentRecorder is a COSE verifier that records the Sig_structure go-cose
// asks it to check, then checks it under ZIP 215 rules like package reading.
type contentRecorder struct {
	pub     ed25519.PublicKey
	content []byte
}

func (*contentRecorder) Algorithm() cose.Algorithm { return cose.AlgorithmEdDSA }

func (v *contentRecorder) Verify(content, sig []byte) error {
	v.content = bytes.Clone(content)
	if !ed25519.Verify(v.pub, content, sig) {
		return errors.New("bad signature")
	}
	return nil
}

// TestMessageMatchesGoCOSE is the differential check: (*Signed).Message is
// the Sig_structure go-cose builds, and Signed.Verify agrees with go-cose's
// Sign1Message.Verify (with the standard library's Ed25519) on good readings
// and on every single-bit mutation of them that still decodes.
func TestMessageMatchesGoCOSE(t *testing.T) {
	key := newKey(1)
	pub := pubOf(key)
	dev := devOf(key)
	p := map[int]any{1: dev, 2: 3, 3: 1700000000000, 4: map[string]any{"t": 1.25, "n": -7, "s": "x"}}
	msgs := map[string][]byte{
		"reading.Sign":         mustSign(t, reading.Reading{Seq: 3, Data: map[string]any{"t": 1.25, "on": false}}, key),
		"go-cose":              signGoCOSE(t, key, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA, cose.HeaderLabelKeyID: []byte(dev)}, p),
		"go-cose, more labels": signGoCOSE(t, key, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA, cose.HeaderLabelKeyID: []byte(dev), cose.HeaderLabelContentType: "application/cbor"}, p),
		// kid before alg, and a payload in no canonical order with a
		// non-shortest integer: signed bytes as sent, not as re-encoded.
		"by hand, unsorted": signCOSE(t, key, cat(t, []byte{0xa2}, 4, enc(t, []byte(dev)), 1, -8),
			cat(t, []byte{0xa4}, 4, map[string]int{}, 3, []byte{0x1a, 0, 0, 0, 9}, 1, dev, 2, 1)),
	}
	for name, raw := range msgs {
		t.Run(name, func(t *testing.T) {
			agree := func(t *testing.T, raw []byte) (ok bool) {
				t.Helper()
				s, err := reading.Decode(raw)
				if err != nil {
					return false
				}
				var m cose.Sign1Message
				if err := m.UnmarshalCBOR(raw); err != nil {
					t.Fatalf("reading.Decode accepts what go-cose refuses: %v", err)
				}
				stdVerifier, err := cose.NewVerifier(cose.AlgorithmEdDSA, pub)
				if err != nil {
					t.Fatal(err)
				}
				coseErr := m.Verify(nil, stdVerifier)
				rec := &contentRecorder{pub: pub}
				_ = m.Verify(nil, rec)
				if !bytes.Equal(s.Message(), rec.content) {
					t.Errorf("Message() = %x\ngo-cose Sig_structure = %x", s.Message(), rec.content)
				}
				ours := s.Verify(pub)
				if (ours == nil) != (coseErr == nil) {
					t.Errorf("Signed.Verify = %v, go-cose Verify = %v", ours, coseErr)
				}
				return ours == nil
			}
			if !agree(t, raw) {
				t.Fatalf("good reading does not decode and verify")
			}
			decoded := 0
			for i := range len(raw) * 8 {
				bad := bytes.Clone(raw)
				bad[i/8] ^= 1 << (i % 8)
				if _, err := reading.Decode(bad); err == nil {
					decoded++
				}
				if agree(t, bad) {
					t.Errorf("byte %d bit %d flipped: verifies", i/8, i%8)
				}
			}
			t.Logf("%d of %d mutations decode; all refused by both", decoded, len(raw)*8)
		})
	}
}

// TestInteropGoCOSE: a device that knows nothing of package reading, only
// go-cose and the documented format, makes readings the ledger accepts.
func TestInteropGoCOSE(t *testing.T) {
	priv := newKey(5)
	dev := devOf(priv)

	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(cose.AlgorithmEdDSA)
	msg.Headers.Protected[cose.HeaderLabelKeyID] = []byte(dev)
	payload, err := cbor.Marshal(map[int]any{
		1: dev,
		2: uint64(12),
		3: int64(1700000000000),
		4: map[string]any{"temp": 21.5, "count": 3, "state": "ok", "alarm": false},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg.Payload = payload
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := msg.Sign(rand.Reader, nil, signer); err != nil {
		t.Fatal(err)
	}
	raw, err := msg.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}

	s, err := reading.Decode(raw)
	if err != nil {
		t.Fatalf("Decode(go-cose reading) = %v", err)
	}
	want := reading.Reading{Device: dev, Seq: 12, Time: 1700000000000, Data: map[string]any{"temp": 21.5, "count": int64(3), "state": "ok", "alarm": false}}
	if d := cmp.Diff(s.Reading, want); d != "" {
		t.Errorf("decoded (-got +want):\n%s", d)
	}
	if err := s.Verify(pubOf(priv)); err != nil {
		t.Errorf("Verify = %v", err)
	}

	// And the other way: go-cose verifies what reading.Sign makes.
	raw = mustSign(t, want, priv)
	var m cose.Sign1Message
	if err := m.UnmarshalCBOR(raw); err != nil {
		t.Fatal(err)
	}
	v, err := cose.NewVerifier(cose.AlgorithmEdDSA, pubOf(priv))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(nil, v); err != nil {
		t.Errorf("go-cose Verify(reading.Sign) = %v", err)
	}
}

// TestUnsignedBytesRefused: changes a gateway could make to a reading without
// breaking its signature (go-cose still verifies them) are refused, so the
// bytes the ledger stores and hashes are the bytes the device signed.
func TestUnsignedBytesRefused(t *testing.T) {
	key := newKey(1)
	good := mustSign(t, reading.Reading{Seq: 7, Data: map[string]any{"temp": 21.5}}, key)
	var m cose.Sign1Message
	if err := m.UnmarshalCBOR(good); err != nil {
		t.Fatal(err)
	}
	withUnprotected := func(h cose.UnprotectedHeader) []byte {
		m := m
		m.Headers.RawUnprotected = nil
		m.Headers.Unprotected = h
		raw, err := m.MarshalCBOR()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	protected := m.Headers.RawProtected
	payload := enc(t, m.Payload)
	for name, raw := range map[string][]byte{
		"kid added to unprotected header":   withUnprotected(cose.UnprotectedHeader{cose.HeaderLabelKeyID: []byte("x")}),
		"data hidden in unprotected header": withUnprotected(cose.UnprotectedHeader{"note": strings.Repeat("z", 100)}),
		"payload length in 2 bytes":         cat(t, []byte{0xd2, 0x84}, protected, []byte{0xa0, 0x59, 0}, payload[1:], enc(t, m.Signature)),
		"payload length in 4 bytes":         cat(t, []byte{0xd2, 0x84}, protected, []byte{0xa0, 0x5a, 0, 0, 0}, payload[1:], enc(t, m.Signature)),
		"signature length in 2 bytes":       cat(t, []byte{0xd2, 0x84}, protected, []byte{0xa0}, payload, []byte{0x59, 0, 64}, m.Signature),
	} {
		t.Run(name, func(t *testing.T) {
			var mm cose.Sign1Message
			if err := mm.UnmarshalCBOR(raw); err != nil {
				t.Fatalf("go-cose cannot decode the variant: %v", err)
			}
			v, _ := cose.NewVerifier(cose.AlgorithmEdDSA, pubOf(key))
			if err := mm.Verify(nil, v); err != nil {
				t.Fatalf("the variant is not a malleation: go-cose Verify = %v", err)
			}
			if bytes.Equal(raw, good) {
				t.Fatal("the variant is the original")
			}
			if _, err := reading.Decode(raw); !errors.Is(err, reading.ErrMalformed) {
				t.Errorf("Decode = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestDecodeSaysWhatIsWrong: each refusal names what is wrong and where,
// and gives no advice that does not fit (a tagged message is not told to
// be tagged, a kid in the wrong header is not said to be missing, an
// algorithm is named by its name and number).
func TestDecodeSaysWhatIsWrong(t *testing.T) {
	key := newKey(1)
	dev := devOf(key)
	good := mustSign(t, reading.Reading{Seq: 7, Time: 1700000000000, Data: map[string]any{"temp": 21.5}}, key)
	sig := good[len(good)-64:]
	hdr := header(t, dev)
	pl := body(t, dev, map[string]any{"temp": 21.5})
	signed := func(payload []byte) []byte { return signCOSE(t, key, hdr, payload) }
	withHeader := func(protected []byte) []byte { return signCOSE(t, key, protected, pl) }
	for _, tc := range []struct {
		name  string
		raw   []byte
		want  error
		says  []string // the message holds each of these
		never []string // and none of these
	}{
		// Framing.
		{"array head in 2 bytes", append([]byte{0xd2, 0x98, 0x04}, good[2:]...), reading.ErrMalformed,
			[]string{"the COSE_Sign1 array's head is written in 2 bytes (98 04), not in its shortest form 0x84", "core deterministic encoding"}, []string{"send a tagged", "untagged"}},
		{"array head in 3 bytes", append([]byte{0xd2, 0x99, 0x00, 0x04}, good[2:]...), reading.ErrMalformed,
			[]string{"written in 3 bytes (99 00 04)"}, []string{"send a tagged"}},
		{"tag head in 2 bytes", append([]byte{0xd8, 0x12}, good[1:]...), reading.ErrMalformed,
			[]string{"tag 18 is written in 2 bytes (d8 12), not in its shortest form 0xd2"}, nil},
		{"indefinite-length array", append([]byte{0xd2, 0x9f}, append(bytes.Clone(good[2:]), 0xff)...), reading.ErrMalformed,
			[]string{"indefinite length"}, nil},
		{"array of 3", enc(t, cbor.Tag{Number: 18, Content: []any{hdr, map[int]int{}, pl}}), reading.ErrMalformed,
			[]string{"the COSE_Sign1 array has 3 items, not 4"}, nil},
		{"tag 18 around a map", enc(t, cbor.Tag{Number: 18, Content: map[int]int{1: 2}}), reading.ErrMalformed,
			[]string{"tag 18 holds a CBOR map"}, nil},
		{"untagged", good[1:], reading.ErrMalformed,
			[]string{"untagged", "0xd2 0x84"}, nil},
		{"tag 17", append([]byte{0xd1}, good[1:]...), reading.ErrMalformed,
			[]string{"tag 17 is not COSE_Sign1's tag 18"}, nil},
		{"text", []byte("hello, ledger"), reading.ErrMalformed,
			[]string{"the message is a CBOR text string, not tag 18"}, nil},
		{"empty", nil, reading.ErrMalformed, []string{"empty message"}, nil},

		// Key id.
		{"kid in the unprotected header", frame(t, enc(t, map[int]any{1: -8}), enc(t, map[int]any{4: []byte(dev)}), pl, sig), reading.ErrKeyID,
			[]string{"the kid (label 4) is in the unprotected header; put the device id as kid in the protected header"}, []string{"has no kid"}},
		{"no kid anywhere", withHeader(enc(t, map[int]any{1: -8})), reading.ErrKeyID,
			[]string{"the protected header has no kid (label 4)"}, nil},

		// Algorithm.
		{"ES256", withHeader(enc(t, map[int]any{1: -7, 4: []byte(dev)})), reading.ErrAlgorithm,
			[]string{"algorithm is ES256 (-7); readings are signed with EdDSA (-8)"}, []string{"Reserved"}},
		{"PS256", withHeader(enc(t, map[int]any{1: -37, 4: []byte(dev)})), reading.ErrAlgorithm,
			[]string{"PS256 (-37)"}, []string{"Reserved"}},
		{"Ed25519, fully specified", withHeader(enc(t, map[int]any{1: -19, 4: []byte(dev)})), reading.ErrAlgorithm,
			[]string{"Ed25519 (-19); readings are signed with EdDSA (-8)"}, nil},
		{"an unknown number", withHeader(enc(t, map[int]any{1: -1000, 4: []byte(dev)})), reading.ErrAlgorithm,
			[]string{"algorithm is -1000, which names no signature algorithm iotledger knows"}, []string{"Reserved"}},
		{"zero", withHeader(enc(t, map[int]any{1: 0, 4: []byte(dev)})), reading.ErrAlgorithm,
			[]string{"algorithm is 0, which names"}, []string{"Reserved"}},
		{"as text", withHeader(enc(t, map[int]any{1: "ES256", 4: []byte(dev)})), reading.ErrAlgorithm,
			[]string{`algorithm (label 1) is the text "ES256"; readings are signed with EdDSA, written as the integer -8`}, []string{"Reserved"}},
		{"missing", withHeader(enc(t, map[int]any{4: []byte(dev)})), reading.ErrAlgorithm,
			[]string{"the protected header has no algorithm (label 1); readings are signed with EdDSA (-8)"}, []string{"Reserved"}},
		{"in the unprotected header", frame(t, enc(t, map[int]any{4: []byte(dev)}), enc(t, map[int]int{1: -8}), pl, sig), reading.ErrAlgorithm,
			[]string{"the algorithm (label 1) is in the unprotected header"}, []string{"Reserved"}},

		// Payload keys, all required.
		{"no seq", signed(enc(t, map[int]any{1: dev, 3: 1, 4: map[string]any{}})), reading.ErrMalformed,
			[]string{"payload has no key 2 (seq)"}, nil},
		{"no data", signed(enc(t, map[int]any{1: dev, 2: 7, 3: 1})), reading.ErrMalformed,
			[]string{"payload has no key 4 (data)"}, nil},
		{"no time", signed(enc(t, map[int]any{1: dev, 2: 7, 4: map[string]any{}})), reading.ErrMalformed,
			[]string{"payload has no key 3 (time)"}, nil},
		{"no device", signed(enc(t, map[int]any{2: 7, 3: 1, 4: map[string]any{}})), reading.ErrMalformed,
			[]string{"payload has no key 1 (device id)"}, nil},
		{"seq null", signed(enc(t, map[int]any{1: dev, 2: nil, 3: 1, 4: map[string]any{}})), reading.ErrMalformed,
			[]string{"payload key 2 (seq) is null"}, nil},
		{"seq as text", signed(enc(t, map[int]any{1: dev, 2: "7", 3: 1, 4: map[string]any{}})), reading.ErrMalformed,
			[]string{"payload key 2 (seq): "}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := reading.Decode(tc.raw)
			if !errors.Is(err, tc.want) || s != nil {
				t.Fatalf("Decode = %+v, %v; want %v", s, err, tc.want)
			}
			for _, want := range tc.says {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not say %q", err, want)
				}
			}
			for _, never := range tc.never {
				if strings.Contains(err.Error(), never) {
					t.Errorf("error %q\nsays %q", err, never)
				}
			}
		})
	}
}

// TestDecodeNullData: a payload whose data is null (what Sign writes for a
// reading without data) is a reading without data; only an absent key 4
// is refused.
func TestDecodeNullData(t *testing.T) {
	key := newKey(1)
	dev := devOf(key)
	raw := signCOSE(t, key, header(t, dev), enc(t, map[int]any{1: dev, 2: 7, 3: 1, 4: nil}))
	s, err := reading.Decode(raw)
	if err != nil {
		t.Fatalf("Decode = %v", err)
	}
	if d := cmp.Diff(s.Reading, reading.Reading{Device: dev, Seq: 7, Time: 1}); d != "" {
		t.Errorf("decoded (-got +want):\n%s", d)
	}
}
