package reading

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// TestDecodeFastTakesSign: the readings Sign makes, the common case, go
// through the fast path, and it gives what the reference path gives.
func TestDecodeFastTakesSign(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	many := map[string]any{}
	for i := range MaxFields {
		many[string(rune('A'+i%26))+string(rune('a'+i/26))] = int64(i)
	}
	for _, r := range []Reading{
		{},
		{Data: map[string]any{}},
		{Seq: 1 << 40, Time: -5, Data: map[string]any{"t": 21.5, "s": string(bytes.Repeat([]byte{'x'}, 300))}},
		{Seq: 23, Time: 24, Data: map[string]any{"half": 0.5, "single": 0.1 + float64(float32(0.2)), "double": 0.1, "neg": -1e300, "tiny": 5e-324}},
		{Seq: 255, Time: -256, Data: map[string]any{"i": int64(-1), "j": int64(-25), "k": int64(1 << 40), "big": uint64(math.MaxUint64), "max": int64(math.MaxInt64), "min": int64(math.MinInt64)}},
		{Seq: math.MaxUint64, Time: math.MaxInt64, Data: map[string]any{"on": true, "off": false, "ü": "ÿ", strings.Repeat("k", MaxFieldLen): ""}},
		{Seq: 65536, Time: math.MinInt64, Data: many},
		{Seq: 9, Sealed: &Sealed{Epoch: 1, Nonce: make([]byte, NonceSize), Ciphertext: make([]byte, TagSize)}},
		{Seq: 10, Data: map[string]any{"site": "lab"}, Sealed: &Sealed{Epoch: math.MaxUint64, Nonce: bytes.Repeat([]byte{7}, NonceSize), Ciphertext: bytes.Repeat([]byte{8}, 300)}},
	} {
		raw, err := Sign(r, key)
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := decodeFast(raw)
		if !ok {
			t.Fatalf("decodeFast refused a reading Sign made: % x", raw)
		}
		checkSame(t, raw, fast)
	}
}

// TestDecodeFastNeedsEveryKey: a payload without one of its four keys, or
// with null where a seq or time must be, is never the fast path's; the
// reference refuses it.
func TestDecodeFastNeedsEveryKey(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	good, err := Sign(Reading{Seq: 5, Time: 6, Data: map[string]any{"t": int64(1)}}, key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode(good)
	if err != nil {
		t.Fatal(err)
	}
	dev := s.Device
	for name, p := range map[string]map[int]any{
		"no device": {2: 5, 3: 6, 4: map[string]any{}},
		"no seq":    {1: dev, 3: 6, 4: map[string]any{}},
		"no time":   {1: dev, 2: 5, 4: map[string]any{}},
		"no data":   {1: dev, 2: 5, 3: 6},
		"seq null":  {1: dev, 2: nil, 3: 6, 4: map[string]any{}},
		"time null": {1: dev, 2: 5, 3: nil, 4: map[string]any{}},
	} {
		t.Run(name, func(t *testing.T) {
			pl, err := dcbor.EncMode.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			protected := s.protected
			msg, err := dcbor.EncMode.Marshal([]any{"Signature1", protected, []byte{}, pl})
			if err != nil {
				t.Fatal(err)
			}
			raw := append([]byte{0xd2, 0x84}, dcbor.AppendBytes(nil, protected)...)
			raw = append(raw, 0xa0)
			raw = dcbor.AppendBytes(raw, pl)
			raw = dcbor.AppendBytes(raw, ed25519.Sign(key, msg))
			if _, ok := decodeFast(raw); ok {
				t.Errorf("decodeFast accepts it")
			}
			if _, err := decodeSlow(raw); !errors.Is(err, ErrMalformed) {
				t.Errorf("decodeSlow = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestDecodeFastSealed: the fast path takes a sealed part only in the form
// Sign writes and only when it is valid; everything else goes to the
// reference, which refuses what is invalid and decodes what is valid.
func TestDecodeFastSealed(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	good, err := Sign(Reading{Seq: 5, Time: 6}, key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode(good)
	if err != nil {
		t.Fatal(err)
	}
	dev, nonce, ct := s.Device, bytes.Repeat([]byte{1}, NonceSize), bytes.Repeat([]byte{2}, TagSize)
	enc := func(v any) []byte {
		b, err := dcbor.EncMode.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A valid payload with the epoch 1 written in two bytes, 0x18 0x01.
	notShortest := append([]byte{0xa5}, enc(map[int]any{1: dev, 2: 5, 3: 6, 4: nil})[1:]...)
	notShortest = append(notShortest, 0x05, 0xa3, 0x01, 0x18, 0x01, 0x02)
	notShortest = append(dcbor.AppendBytes(notShortest, nonce), 0x03)
	notShortest = dcbor.AppendBytes(notShortest, ct)
	for _, tc := range []struct {
		name  string
		pl    []byte
		valid bool
	}{
		{"epoch 0", enc(map[int]any{1: dev, 2: 5, 3: 6, 4: nil, 5: map[int]any{1: 0, 2: nonce, 3: ct}}), false},
		{"short nonce", enc(map[int]any{1: dev, 2: 5, 3: 6, 4: nil, 5: map[int]any{1: 1, 2: nonce[1:], 3: ct}}), false},
		{"short ciphertext", enc(map[int]any{1: dev, 2: 5, 3: 6, 4: nil, 5: map[int]any{1: 1, 2: nonce, 3: ct[1:]}}), false},
		{"no ciphertext", enc(map[int]any{1: dev, 2: 5, 3: 6, 4: nil, 5: map[int]any{1: 1, 2: nonce}}), false},
		{"a fourth key", enc(map[int]any{1: dev, 2: 5, 3: 6, 4: nil, 5: map[int]any{1: 1, 2: nonce, 3: ct, 4: 1}}), false},
		{"sealed null", enc(map[int]any{1: dev, 2: 5, 3: 6, 4: nil, 5: nil}), false},
		{"a sixth payload key", enc(map[int]any{1: dev, 2: 5, 3: 6, 4: nil, 5: map[int]any{1: 1, 2: nonce, 3: ct}, 6: 0}), false},
		{"epoch not shortest", notShortest, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := signPayload(t, key, s.protected, tc.pl)
			if _, ok := decodeFast(raw); ok {
				t.Errorf("decodeFast accepts it")
			}
			if _, _, ok := Peek(raw); ok {
				t.Errorf("Peek reads it")
			}
			_, err := decodeSlow(raw)
			if tc.valid && err != nil {
				t.Errorf("decodeSlow = %v, want the reading", err)
			}
			if !tc.valid && !errors.Is(err, ErrMalformed) {
				t.Errorf("decodeSlow = %v, want ErrMalformed", err)
			}
		})
	}
}

// checkSame fails unless decodeSlow accepts raw and returns what fast holds.
func checkSame(t *testing.T, raw []byte, fast *Signed) {
	t.Helper()
	slow, err := decodeSlow(raw)
	if err != nil {
		t.Fatalf("decodeFast accepts what decodeSlow refuses (%v): % x", err, raw)
	}
	if d := cmp.Diff(slow.Reading, fast.Reading); d != "" {
		t.Fatalf("the paths decode different readings (-slow +fast):\n%s", d)
	}
	if !bytes.Equal(slow.Raw, fast.Raw) || !bytes.Equal(slow.Signature, fast.Signature) ||
		!bytes.Equal(slow.protected, fast.protected) || !bytes.Equal(slow.payload, fast.payload) {
		t.Fatalf("the paths split % x differently", raw)
	}
	if !bytes.Equal(slow.Message(), fast.Message()) {
		t.Fatalf("the paths give different signed messages for % x", raw)
	}
}

// FuzzDecodeFast: whatever the fast path accepts, the reference path
// accepts too, with the same result; so the fast path changes speed only.
// Its corpus is FuzzDecode's.
func FuzzDecodeFast(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		if fast, ok := decodeFast(raw); ok {
			checkSame(t, raw, fast)
		}
	})
}

// TestMessageEncoding: Message is the Sig_structure in the deterministic
// encoding, as the CBOR library writes it.
func TestMessageEncoding(t *testing.T) {
	for _, n := range []int{0, 23, 24, 255, 256, 4000, 70000} {
		s := &Signed{protected: bytes.Repeat([]byte{1}, n%300), payload: bytes.Repeat([]byte{2}, n)}
		want, err := dcbor.EncMode.Marshal([]any{"Signature1", s.protected, []byte{}, s.payload})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Message(); !bytes.Equal(got, want) {
			t.Fatalf("payload of %d bytes: Message() = % x..., want % x...", n, got[:min(len(got), 20)], want[:min(len(want), 20)])
		}
	}
}
