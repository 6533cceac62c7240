package private_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/private"
	"github.com/iotledger/iotledger/reading"
)

// devKey returns the device key made from a seed of 32 times b.
func devKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func devID(key ed25519.PrivateKey) string {
	return address.Device(key.Public().(ed25519.PublicKey))
}

func streamKey(b byte) private.StreamKey {
	var k private.StreamKey
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

// wantErr fails unless err wraps want and its message holds each of says.
func wantErr(t *testing.T, err, want error, says ...string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q\ndoes not say %q", err, s)
		}
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	dev := devKey(1)
	key := streamKey(1)
	for _, tc := range []struct {
		name    string
		public  map[string]any
		private map[string]any
		want    map[string]any // the opened fields, as Decode types them
	}{
		{"some private", map[string]any{"site": "lab"}, map[string]any{"temp": 21.5, "hr": 70}, map[string]any{"temp": 21.5, "hr": int64(70)}},
		{"all private", nil, map[string]any{"hr": 70, "ok": true}, map[string]any{"hr": int64(70), "ok": true}},
		{"every kind of value", map[string]any{}, map[string]any{"u": uint64(math.MaxUint64), "i": int64(math.MinInt64), "f": float32(0.5), "s": "ünï", "b": false},
			map[string]any{"u": uint64(math.MaxUint64), "i": int64(math.MinInt64), "f": 0.5, "s": "ünï", "b": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := private.Seal(reading.Reading{Seq: 12, Time: 1700000000000, Data: tc.public}, tc.private, 3, key, dev)
			if err != nil {
				t.Fatalf("Seal = %v", err)
			}
			s, err := reading.Decode(raw)
			if err != nil {
				t.Fatalf("Decode(Seal(...)) = %v", err)
			}
			if err := s.Verify(dev.Public().(ed25519.PublicKey)); err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if s.Device != devID(dev) || s.Seq != 12 || s.Sealed == nil || s.Sealed.Epoch != 3 {
				t.Fatalf("decoded %+v", s.Reading)
			}
			for k := range tc.private {
				if _, ok := s.Data[k]; ok || len(k) >= 4 && bytes.Contains(raw, []byte(k)) {
					t.Errorf("private field %q is readable in the reading", k)
				}
			}
			if len(tc.public) > 0 && s.Data["site"] != "lab" {
				t.Errorf("public data = %v", s.Data)
			}
			got, err := private.Open(s.Reading, key)
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			if d := cmp.Diff(got, tc.want); d != "" {
				t.Errorf("opened fields (-got +want):\n%s", d)
			}
			// A second seal of the same reading draws another nonce.
			again, err := private.Seal(reading.Reading{Seq: 12, Time: 1700000000000, Data: tc.public}, tc.private, 3, key, dev)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := reading.Decode(again)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(s2.Sealed.Nonce, s.Sealed.Nonce) || bytes.Equal(s2.Sealed.Ciphertext, s.Sealed.Ciphertext) {
				t.Errorf("two seals share a nonce or a ciphertext")
			}
		})
	}
}

func TestSealRefuses(t *testing.T) {
	dev := devKey(1)
	key := streamKey(1)
	sealed := &reading.Sealed{Epoch: 1, Nonce: make([]byte, 24), Ciphertext: make([]byte, 16)}
	for _, tc := range []struct {
		name    string
		r       reading.Reading
		private map[string]any
		epoch   uint64
		dev     ed25519.PrivateKey
		want    error
		says    string
	}{
		{"no private field", reading.Reading{}, map[string]any{}, 1, dev, private.ErrFields, "no fields to seal"},
		{"a field public and private", reading.Reading{Data: map[string]any{"b": 1, "hr": 1}}, map[string]any{"hr": 2, "a": 1}, 1, dev, private.ErrFields, `field "hr" is both public (data) and private`},
		{"NaN", reading.Reading{}, map[string]any{"t": math.NaN()}, 1, dev, reading.ErrData, `field "t" is NaN`},
		{"nested map", reading.Reading{}, map[string]any{"t": map[string]any{}}, 1, dev, private.ErrFields, "values are numbers, text or bool"},
		{"too many fields", reading.Reading{}, manyFields(reading.MaxFields + 1), 1, dev, private.ErrFields, "65 fields, at most 64"},
		{"epoch 0", reading.Reading{}, map[string]any{"t": 1}, 0, dev, private.ErrContext, "epoch 0; epochs start at 1"},
		{"device id malformed", reading.Reading{Device: "dev1nope"}, map[string]any{"t": 1}, 1, dev, private.ErrContext, "device"},
		{"sealed already", reading.Reading{Sealed: sealed}, map[string]any{"t": 1}, 1, dev, private.ErrFields, "sealed already"},
		{"no device key", reading.Reading{}, map[string]any{"t": 1}, 1, nil, nil, "not an Ed25519 private key"},
		{"too large", reading.Reading{}, map[string]any{"t": strings.Repeat("x", reading.MaxSize)}, 1, dev, reading.ErrTooLarge, "larger than 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := private.Seal(tc.r, tc.private, tc.epoch, key, tc.dev)
			if err == nil || raw != nil {
				t.Fatalf("Seal = %x, %v; want an error", raw, err)
			}
			if tc.want != nil {
				wantErr(t, err, tc.want, tc.says)
			} else if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			t.Log(err)
		})
	}
}

func manyFields(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[string(rune('A'+i%26))+string(rune('a'+i/26))] = i
	}
	return m
}

// TestOpenRefuses: each thing that may be wrong with a sealed part, or
// with the key, is refused with an error that says what to check.
func TestOpenRefuses(t *testing.T) {
	dev := devKey(1)
	key := streamKey(1)
	seal := func(seq uint64, fields map[string]any) *reading.Signed {
		t.Helper()
		raw, err := private.Seal(reading.Reading{Seq: seq, Data: map[string]any{"site": "lab"}}, fields, 2, key, dev)
		if err != nil {
			t.Fatal(err)
		}
		s, err := reading.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	r7, r8 := seal(7, map[string]any{"hr": 70}), seal(8, map[string]any{"hr": 71})
	if _, err := private.Open(r7.Reading, key); err != nil {
		t.Fatalf("Open(the good reading) = %v", err)
	}
	with := func(f func(r *reading.Reading)) reading.Reading {
		r := r7.Reading
		s := *r.Sealed
		s.Nonce, s.Ciphertext = bytes.Clone(s.Nonce), bytes.Clone(s.Ciphertext)
		r.Sealed = &s
		f(&r)
		return r
	}
	const check = "check that the key is the stream key of epoch"
	for _, tc := range []struct {
		name string
		r    reading.Reading
		key  private.StreamKey
		want error
		says []string
	}{
		{"wrong key", r7.Reading, streamKey(2), private.ErrOpen, []string{"sealed fields do not open", check}},
		{"tampered ciphertext", with(func(r *reading.Reading) { r.Sealed.Ciphertext[0] ^= 1 }), key, private.ErrOpen, []string{check, "ciphertext, nonce, device, seq or epoch changed"}},
		{"tampered tag", with(func(r *reading.Reading) { r.Sealed.Ciphertext[len(r.Sealed.Ciphertext)-1] ^= 0x80 }), key, private.ErrOpen, []string{check}},
		{"swapped nonce (another reading's)", with(func(r *reading.Reading) { r.Sealed.Nonce = r8.Sealed.Nonce }), key, private.ErrOpen, []string{check}},
		{"ciphertext moved to another reading", with(func(r *reading.Reading) { r.Seq = 8 }), key, private.ErrOpen, []string{"seq 8", check}},
		{"sealed part of another reading", with(func(r *reading.Reading) { r.Sealed = r8.Sealed }), key, private.ErrOpen, []string{check}},
		{"another epoch", with(func(r *reading.Reading) { r.Sealed.Epoch = 3 }), key, private.ErrOpen, []string{"epoch 3", check}},
		{"another device", with(func(r *reading.Reading) { r.Device = devID(devKey(2)) }), key, private.ErrOpen, []string{devID(devKey(2)), check}},
		{"no sealed part", with(func(r *reading.Reading) { r.Sealed = nil }), key, private.ErrMalformed, []string{"no sealed part"}},
		{"short nonce", with(func(r *reading.Reading) { r.Sealed.Nonce = r.Sealed.Nonce[:12] }), key, private.ErrMalformed, []string{"nonce is 12 bytes, not 24"}},
		{"short ciphertext", with(func(r *reading.Reading) { r.Sealed.Ciphertext = r.Sealed.Ciphertext[:15] }), key, private.ErrMalformed, []string{"ciphertext is 15 bytes, shorter than the 16-byte Poly1305 tag"}},
		{"epoch 0", with(func(r *reading.Reading) { r.Sealed.Epoch = 0 }), key, private.ErrContext, []string{"epoch 0"}},
		{"field also in data", with(func(r *reading.Reading) { r.Data = map[string]any{"hr": 1} }), key, private.ErrMalformed, []string{`field "hr" is both in data and sealed`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields, err := private.Open(tc.r, tc.key)
			if fields != nil {
				t.Errorf("Open returned fields %v with its error", fields)
			}
			wantErr(t, err, tc.want, tc.says...)
			t.Log(err)
		})
	}
}
