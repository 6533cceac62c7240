package reading_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/reading"
)

// sealedOf returns a Sealed with the given epoch, a nonce of 24 times n
// and a ciphertext of size bytes (as opaque here as a real one).
func sealedOf(epoch uint64, n byte, size int) *reading.Sealed {
	return &reading.Sealed{Epoch: epoch, Nonce: bytes.Repeat([]byte{n}, reading.NonceSize), Ciphertext: bytes.Repeat([]byte{0xc7}, size)}
}

// sealedMap is payload key 5 as a CBOR map.
func sealedMap(s *reading.Sealed) map[int]any {
	return map[int]any{1: s.Epoch, 2: s.Nonce, 3: s.Ciphertext}
}

// TestSealedRoundTrip: a reading with a sealed part signs and decodes to
// the same reading, its payload is the documented map with key 5 after
// key 4, and the signature covers the sealed part.
func TestSealedRoundTrip(t *testing.T) {
	key := newKey(1)
	dev := devOf(key)
	for _, tc := range []struct {
		name string
		in   reading.Reading
		want reading.Reading
	}{{
		name: "public and sealed fields",
		in:   reading.Reading{Seq: 3, Time: 1700000000000, Data: map[string]any{"site": "lab"}, Sealed: sealedOf(1, 9, 40)},
		want: reading.Reading{Device: dev, Seq: 3, Time: 1700000000000, Data: map[string]any{"site": "lab"}, Sealed: sealedOf(1, 9, 40)},
	}, {
		name: "only sealed fields",
		in:   reading.Reading{Seq: 4, Sealed: sealedOf(2, 1, reading.TagSize)},
		want: reading.Reading{Device: dev, Seq: 4, Sealed: sealedOf(2, 1, reading.TagSize)},
	}, {
		name: "largest epoch, long ciphertext",
		in:   reading.Reading{Seq: 5, Sealed: sealedOf(math.MaxUint64, 0xff, 3000)},
		want: reading.Reading{Device: dev, Seq: 5, Sealed: sealedOf(math.MaxUint64, 0xff, 3000)},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			raw := mustSign(t, tc.in, key)
			s, err := reading.Decode(raw)
			if err != nil {
				t.Fatalf("Decode = %v", err)
			}
			if d := cmp.Diff(s.Reading, tc.want); d != "" {
				t.Errorf("Decode(Sign(r)) (-got +want):\n%s", d)
			}
			if err := s.Verify(pubOf(key)); err != nil {
				t.Errorf("Verify = %v", err)
			}
			if again := mustSign(t, tc.in, key); !bytes.Equal(again, raw) {
				t.Errorf("Sign is not deterministic")
			}
			// The payload is exactly the deterministic map of the format.
			var data any
			if tc.in.Data != nil {
				data = tc.in.Data
			}
			want := enc(t, map[int]any{1: dev, 2: tc.in.Seq, 3: tc.in.Time, 4: data, 5: sealedMap(tc.in.Sealed)})
			if !bytes.Contains(raw, want) {
				t.Errorf("the signed reading does not hold the payload %x", want)
			}
			// A reading made by hand to the format decodes the same.
			byHand := signCOSE(t, key, header(t, dev), want)
			if !bytes.Equal(byHand, raw) {
				t.Errorf("by hand:\n%x\nSign:\n%x", byHand, raw)
			}
			// A changed ciphertext, nonce or epoch still decodes (the
			// ledger cannot tell) but no longer verifies.
			for _, part := range [][]byte{s.Sealed.Ciphertext, s.Sealed.Nonce} {
				i := bytes.Index(raw, part)
				bad := bytes.Clone(raw)
				bad[i] ^= 1
				bs, err := reading.Decode(bad)
				if err != nil {
					t.Fatalf("Decode(tampered) = %v", err)
				}
				if err := bs.Verify(pubOf(key)); !errors.Is(err, reading.ErrSignature) {
					t.Errorf("a tampered sealed part verifies: %v", err)
				}
			}
		})
	}
}

// TestSealedInOtherEncodings: a sealed reading written by another CBOR
// encoder (keys out of order, lengths not shortest) decodes to the same
// reading, through the reference path.
func TestSealedInOtherEncodings(t *testing.T) {
	key := newKey(1)
	dev := devOf(key)
	sl := sealedOf(7, 3, 20)
	nonce, ct := enc(t, sl.Nonce), enc(t, sl.Ciphertext)
	want := reading.Reading{Device: dev, Seq: 7, Time: 1, Sealed: sl}
	for name, pl := range map[string][]byte{
		"sealed keys out of order": cat(t, []byte{0xa5}, 1, dev, 2, 7, 3, 1, 4, nil, 5,
			[]byte{0xa3}, 3, ct, 1, 7, 2, nonce),
		"key 5 first": cat(t, []byte{0xa5}, 5, sealedMap(sl), 1, dev, 2, 7, 3, 1, 4, nil),
		"epoch in 8 bytes": cat(t, []byte{0xa5}, 1, dev, 2, 7, 3, 1, 4, nil, 5,
			[]byte{0xa3}, 1, []byte{0x1b, 0, 0, 0, 0, 0, 0, 0, 7}, 2, nonce, 3, ct),
		"nonce length in 2 bytes": cat(t, []byte{0xa5}, 1, dev, 2, 7, 3, 1, 4, nil, 5,
			[]byte{0xa3}, 1, 7, 2, []byte{0x58, 24}, sl.Nonce, 3, ct),
	} {
		t.Run(name, func(t *testing.T) {
			s, err := reading.Decode(signCOSE(t, key, header(t, dev), pl))
			if err != nil {
				t.Fatalf("Decode = %v", err)
			}
			if d := cmp.Diff(s.Reading, want); d != "" {
				t.Errorf("decoded (-got +want):\n%s", d)
			}
		})
	}
}

// TestSignRefusesSealed: Sign refuses a sealed part that Decode would.
func TestSignRefusesSealed(t *testing.T) {
	key := newKey(1)
	for _, tc := range []struct {
		name   string
		sealed *reading.Sealed
		says   string
	}{
		{"epoch 0", sealedOf(0, 1, 20), "sealed epoch is 0; epochs start at 1"},
		{"nonce of 12 bytes", &reading.Sealed{Epoch: 1, Nonce: make([]byte, 12), Ciphertext: make([]byte, 20)}, "sealed nonce is 12 bytes, not 24"},
		{"no nonce", &reading.Sealed{Epoch: 1, Ciphertext: make([]byte, 20)}, "sealed nonce is 0 bytes, not 24"},
		{"ciphertext shorter than the tag", sealedOf(1, 1, reading.TagSize-1), "sealed ciphertext is 15 bytes, shorter than the 16-byte Poly1305 tag"},
		{"no ciphertext", &reading.Sealed{Epoch: 1, Nonce: make([]byte, 24)}, "sealed ciphertext is 0 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := reading.Sign(reading.Reading{Seq: 1, Sealed: tc.sealed}, key)
			if !errors.Is(err, reading.ErrMalformed) || raw != nil {
				t.Fatalf("Sign = %x, %v; want ErrMalformed", raw, err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q\ndoes not say %q", err, tc.says)
			}
		})
	}
	big := reading.Reading{Sealed: sealedOf(1, 1, reading.MaxSize)}
	if _, err := reading.Sign(big, key); !errors.Is(err, reading.ErrTooLarge) {
		t.Errorf("Sign(a ciphertext of MaxSize bytes) = %v, want ErrTooLarge", err)
	}
}

// TestDecodeRefusesSealed: each way payload key 5 can be wrong is refused
// with ErrMalformed and a message that names what is wrong; every reading
// here carries a valid signature, so the refusal is the format's.
func TestDecodeRefusesSealed(t *testing.T) {
	key := newKey(1)
	dev := devOf(key)
	nonce, ct := bytes.Repeat([]byte{1}, 24), bytes.Repeat([]byte{2}, 20)
	// with signs a payload whose key 5 is v (a value, or raw CBOR).
	with := func(v any) []byte {
		if raw, ok := v.([]byte); ok { // written as it is, which an encoder may refuse to
			return signCOSE(t, key, header(t, dev), cat(t, []byte{0xa5}, 1, dev, 2, 7, 3, 1, 4, nil, 5, raw))
		}
		return signCOSE(t, key, header(t, dev), enc(t, map[int]any{1: dev, 2: 7, 3: 1, 4: nil, 5: v}))
	}
	for _, tc := range []struct {
		name string
		raw  []byte
		says string
	}{
		{"null", with(nil), "payload key 5 (sealed): null or undefined"},
		{"undefined", with([]byte{0xf7}), "payload key 5 (sealed): null or undefined"},
		{"an array", with([]any{1, nonce, ct}), "payload key 5 (sealed): a CBOR array, not a map"},
		{"a byte string", with(enc(t, ct)), "payload key 5 (sealed): a CBOR byte string, not a map"},
		{"empty map", with(map[int]any{}), "no key 1 (epoch)"},
		{"no epoch", with(map[int]any{2: nonce, 3: ct}), "no key 1 (epoch)"},
		{"no nonce", with(map[int]any{1: 1, 3: ct}), "no key 2 (nonce)"},
		{"no ciphertext", with(map[int]any{1: 1, 2: nonce}), "no key 3 (ciphertext)"},
		{"a fourth key", with(map[int]any{1: 1, 2: nonce, 3: ct, 4: 0}), "unknown key 4"},
		{"key 0", with(map[int]any{0: 1, 1: 1, 2: nonce, 3: ct}), "unknown key 0"},
		{"a negative key", with(map[int]any{-1: 1, 1: 1, 2: nonce, 3: ct}), "unknown key -1"},
		{"a text key", with(map[any]any{"epoch": 1, 1: 1, 2: nonce, 3: ct}), `unknown key "epoch"`},
		{"duplicate key", with(cat(t, []byte{0xa4}, 1, 1, 2, enc(t, nonce), 3, enc(t, ct), 1, 2)), "key 1 (epoch) appears twice"},
		{"epoch 0", with(map[int]any{1: 0, 2: nonce, 3: ct}), "sealed epoch is 0; epochs start at 1"},
		{"epoch negative", with(map[int]any{1: -1, 2: nonce, 3: ct}), "key 1 (epoch) is a CBOR negative integer, not an unsigned integer"},
		{"epoch as text", with(map[int]any{1: "1", 2: nonce, 3: ct}), "key 1 (epoch) is a CBOR text string, not an unsigned integer"},
		{"epoch as float", with(map[int]any{1: 1.0, 2: nonce, 3: ct}), "key 1 (epoch) is a CBOR simple value or float"},
		{"nonce of 12 bytes", with(map[int]any{1: 1, 2: nonce[:12], 3: ct}), "sealed nonce is 12 bytes, not 24"},
		{"nonce of 25 bytes", with(map[int]any{1: 1, 2: append(bytes.Clone(nonce), 0), 3: ct}), "sealed nonce is 25 bytes, not 24"},
		{"nonce as text", with(map[int]any{1: 1, 2: string(nonce), 3: ct}), "key 2 (nonce) is a CBOR text string, not a byte string"},
		{"nonce of indefinite length", with(cat(t, []byte{0xa3}, 1, 1, 2, []byte{0x5f, 0x58, 24}, nonce, []byte{0xff}, 3, enc(t, ct))), "indefinite-length"},
		{"ciphertext shorter than the tag", with(map[int]any{1: 1, 2: nonce, 3: ct[:15]}), "sealed ciphertext is 15 bytes, shorter than the 16-byte Poly1305 tag"},
		{"empty ciphertext", with(map[int]any{1: 1, 2: nonce, 3: []byte{}}), "sealed ciphertext is 0 bytes"},
		{"ciphertext as an array", with(map[int]any{1: 1, 2: nonce, 3: []int{1}}), "key 3 (ciphertext) is a CBOR array, not a byte string"},
		{"ciphertext tagged", with(cat(t, []byte{0xa3}, 1, 1, 2, enc(t, nonce), 3, []byte{0xd8, 0x40}, enc(t, ct))), "CBOR tag isn't allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := reading.Decode(tc.raw)
			if !errors.Is(err, reading.ErrMalformed) || s != nil {
				t.Fatalf("Decode = %+v, %v; want ErrMalformed", s, err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q\ndoes not say %q", err, tc.says)
			}
		})
	}
}
