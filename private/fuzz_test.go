package private

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/cryptotest"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/reading"
)

// The fixed context of the fuzz targets.
var (
	fuzzDevice = address.Device(vecDevice.Public().(ed25519.PublicKey))
	fuzzSeq    = uint64(7)
	fuzzEpoch  = uint64(3)
)

// checkRefusal fails unless err wraps one of wants and says something.
func checkRefusal(t *testing.T, err error, wants ...error) {
	t.Helper()
	for _, w := range wants {
		if errors.Is(err, w) {
			if len(err.Error()) <= len(w.Error())+2 {
				t.Fatalf("error %q says no more than its class", err)
			}
			return
		}
	}
	t.Fatalf("error %v wraps none of %v", err, wants)
}

// openSeeds are FuzzOpenFields's seeds: epoch, nonce, ciphertext, and a
// plaintext the target also seals with the right key.
func openSeeds(t testing.TB) map[string][]any {
	t.Helper()
	good, err := sealFields(fuzzDevice, fuzzSeq, fuzzEpoch, vecStream, map[string]any{"temp": 21.5, "hr": int64(70)}, pattern(0x80, 24))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := encodeFields(map[string]any{"temp": 21.5, "hr": int64(70), "note": "x", "ok": true, "n": int64(-1)})
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good.Ciphertext)
	flipped[3] ^= 0x10
	return map[string][]any{
		"valid":          {good.Epoch, good.Nonce, good.Ciphertext, pt},
		"tampered":       {good.Epoch, good.Nonce, flipped, pt},
		"other_epoch":    {good.Epoch + 1, good.Nonce, good.Ciphertext, []byte{0xa0}},
		"epoch_zero":     {uint64(0), good.Nonce, good.Ciphertext, []byte{0xf6}},
		"short_nonce":    {good.Epoch, good.Nonce[:12], good.Ciphertext, []byte{0x81, 0x01}},
		"short_ct":       {good.Epoch, good.Nonce, good.Ciphertext[:15], []byte{0xa1, 0x61, 't', 0xf9, 0x7e, 0x00}},
		"empty":          {uint64(1), []byte{}, []byte{}, []byte{}},
		"nested_fields":  {good.Epoch, good.Nonce, good.Ciphertext, []byte{0xa1, 0x61, 't', 0xa1, 0x61, 'u', 0x01}},
		"big_int_fields": {good.Epoch, good.Nonce, good.Ciphertext, []byte{0xa2, 0x61, 'a', 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x61, 'b', 0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
}

// FuzzOpenFields: OpenFields never panics, and refuses what does not open
// with ErrOpen, ErrMalformed or ErrContext and a message; sealed under the
// right key, any plaintext opens to fields that seal and open again to the
// same fields, or is refused as malformed.
func FuzzOpenFields(f *testing.F) {
	for _, s := range openSeeds(f) {
		f.Add(s[0].(uint64), s[1].([]byte), s[2].([]byte), s[3].([]byte))
	}
	aead, err := chacha20poly1305.NewX(vecStream[:])
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, epoch uint64, nonce, ct, pt []byte) {
		s := &reading.Sealed{Epoch: epoch, Nonce: nonce, Ciphertext: ct}
		fields, err := OpenFields(fuzzDevice, fuzzSeq, s, vecStream)
		if err != nil {
			if fields != nil {
				t.Fatalf("fields and an error")
			}
			checkRefusal(t, err, ErrOpen, ErrMalformed, ErrContext)
		} else if err := reading.CheckData(fields); err != nil || len(fields) == 0 {
			t.Fatalf("OpenFields returned fields a reading would refuse: %v, %v", fields, err)
		}

		// The same bytes as a plaintext, sealed with the right key.
		if epoch == 0 {
			epoch = 1
		}
		n := make([]byte, chacha20poly1305.NonceSizeX)
		copy(n, nonce)
		s = &reading.Sealed{Epoch: epoch, Nonce: n, Ciphertext: aead.Seal(nil, n, pt, sealedAAD(fuzzDevice, fuzzSeq, epoch))}
		fields, err = OpenFields(fuzzDevice, fuzzSeq, s, vecStream)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "opened but") {
				t.Fatalf("the right key: OpenFields = %v, want ErrMalformed for the plaintext", err)
			}
			return
		}
		again, err := SealFields(fuzzDevice, fuzzSeq, epoch, vecStream, fields)
		if err != nil {
			t.Fatalf("SealFields(opened fields) = %v", err)
		}
		back, err := OpenFields(fuzzDevice, fuzzSeq, again, vecStream)
		if err != nil {
			t.Fatalf("OpenFields(SealFields(opened fields)) = %v", err)
		}
		p1, _ := encodeFields(fields)
		p2, _ := encodeFields(back)
		if !bytes.Equal(p1, p2) {
			t.Fatalf("seal and open change the fields: %v, %v", fields, back)
		}
	})
}

// fuzzKey is the private key FuzzUnwrap opens with: hybrid, so that it
// has both KEMs.
func fuzzKey(t testing.TB) *PrivateKey {
	t.Helper()
	k, err := NewPrivateKey(pattern(0x10, 32), pattern(0x20, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// unwrapSeeds are FuzzUnwrap's seeds: a wrapped key and the epoch it is
// presented for.
func unwrapSeeds(t *testing.T) map[string][]any {
	t.Helper()
	cryptotest.SetGlobalRandom(t, 17) // the same seeds on every -update
	k := fuzzKey(t)
	seeds := map[string][]any{}
	for _, c := range []struct {
		name string
		pub  PublicKey
	}{{"x25519", PublicKey{X25519: k.Public().X25519}}, {"xwing", k.Public()}} { // in order: each wrap draws from the seeded randomness
		name, pub := c.name, c.pub
		w, _, err := Wrap(vectorsChain, fuzzDevice, fuzzEpoch, vecOwner, pub, vecStream)
		if err != nil {
			t.Fatal(err)
		}
		pw, err := ParseWrapped(w)
		if err != nil {
			t.Fatal(err)
		}
		tampered := bytes.Clone(w)
		tampered[len(tampered)-1] ^= 1
		other := pw
		other.KEM ^= KEMX25519 ^ KEMXWing
		seeds["valid_"+name] = []any{w, fuzzEpoch}
		seeds["replayed_"+name] = []any{w, fuzzEpoch + 1}
		seeds["tampered_"+name] = []any{tampered, fuzzEpoch}
		seeds["other_kem_"+name] = []any{other.Marshal(), fuzzEpoch}
		seeds["truncated_"+name] = []any{w[:len(w)-1], fuzzEpoch}
	}
	seeds["garbage"] = []any{[]byte("not a wrapped key"), fuzzEpoch}
	seeds["empty_map"] = []any{[]byte{0xa0}, uint64(0)}
	seeds["unknown_kem"] = []any{Wrapped{KEM: 0x10, Enc: make([]byte, 32), Ciphertext: make([]byte, 48)}.Marshal(), fuzzEpoch}
	return seeds
}

// FuzzUnwrap: Unwrap never panics; what it refuses wraps ErrUnwrap,
// ErrMalformed, ErrKEM or ErrContext with a message; what it opens is the
// stream key the seeds wrap (nothing else can open without the sender);
// what ParseWrapped takes, it writes back to the same bytes.
func FuzzUnwrap(f *testing.F) {
	k := fuzzKey(f)
	f.Fuzz(func(t *testing.T, wrapped []byte, epoch uint64) {
		got, err := Unwrap(vectorsChain, fuzzDevice, epoch, vecOwner, k, wrapped)
		if err != nil {
			if got != (StreamKey{}) {
				t.Fatalf("a key and an error")
			}
			checkRefusal(t, err, ErrUnwrap, ErrMalformed, ErrKEM, ErrContext)
		} else if got != vecStream {
			t.Fatalf("Unwrap opened %x, not a key any seed wraps", got)
		}
		w, err := ParseWrapped(wrapped)
		if err != nil {
			checkRefusal(t, err, ErrMalformed)
			return
		}
		if !bytes.Equal(w.Marshal(), wrapped) {
			t.Fatalf("ParseWrapped took %x; Marshal writes %x", wrapped, w.Marshal())
		}
	})
}

// FuzzParsePublicKey: ParsePublicKey never panics, refuses with
// ErrMalformed, and what it takes it writes back to the same bytes.
func FuzzParsePublicKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePublicKey(b)
		if err != nil {
			checkRefusal(t, err, ErrMalformed)
			return
		}
		out, err := k.Marshal()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("ParsePublicKey took %x; Marshal = %x, %v", b, out, err)
		}
	})
}

// TestWriteFuzzCorpus rewrites the seed corpora in testdata/fuzz with
// -update.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the seed corpora")
	}
	write := func(target, name string, args []any) {
		t.Helper()
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		data := []byte("go test fuzz v1\n")
		for _, a := range args {
			switch v := a.(type) {
			case []byte:
				data = fmt.Appendf(data, "[]byte(%q)\n", v)
			case uint64:
				data = fmt.Appendf(data, "uint64(%d)\n", v)
			default:
				t.Fatalf("seed %s/%s: type %T", target, name, a)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "seed_"+name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, args := range openSeeds(t) {
		write("FuzzOpenFields", name, args)
	}
	for name, args := range unwrapSeeds(t) {
		write("FuzzUnwrap", name, args)
	}
	k := fuzzKey(t)
	for name, pub := range map[string]PublicKey{"x25519": {X25519: k.Public().X25519}, "xwing": k.Public()} {
		b, err := pub.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		write("FuzzParsePublicKey", "valid_"+name, []any{b})
		write("FuzzParsePublicKey", "truncated_"+name, []any{b[:len(b)-1]})
	}
	write("FuzzParsePublicKey", "garbage", []any{[]byte("not a key")})
}
