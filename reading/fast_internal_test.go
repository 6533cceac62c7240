package reading

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeFastTakesSign: the readings Sign makes, the common case, go
// through the fast path, and it gives what the reference path gives.
func TestDecodeFastTakesSign(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	for _, r := range []Reading{
		{},
		{Seq: 1 << 40, Time: -5, Data: map[string]any{"t": 21.5, "s": string(bytes.Repeat([]byte{'x'}, 300))}},
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
		want, err := EncMode.Marshal([]any{"Signature1", s.protected, []byte{}, s.payload})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Message(); !bytes.Equal(got, want) {
			t.Fatalf("payload of %d bytes: Message() = % x..., want % x...", n, got[:min(len(got), 20)], want[:min(len(want), 20)])
		}
	}
}
