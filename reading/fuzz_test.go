package reading_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	cose "github.com/veraison/go-cose"

	"github.com/iotledger/iotledger/internal/zip215"
	"github.com/iotledger/iotledger/reading"
)

var update = flag.Bool("update", false, "rewrite the seed corpus in testdata/fuzz")

// fuzzKey signs the seed corpus; FuzzDecode verifies with it.
var fuzzKey = newKey(7)

// seeds returns the named seed inputs of FuzzDecode: valid readings and
// broken ones near them.
func seeds(t testing.TB) map[string][]byte {
	t.Helper()
	key := fuzzKey
	dev := devOf(key)
	good := mustSign(t, reading.Reading{Seq: 7, Time: 1700000000000, Data: map[string]any{"temp": 21.5, "n": -3, "ok": true, "s": "open", "big": uint64(math.MaxUint64)}}, key)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	es256, err := cose.NewSigner(cose.AlgorithmES256, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pl := body(t, dev, map[string]any{"t": 1})
	es256Msg, err := cose.Sign1(rand.Reader, es256, cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm: cose.AlgorithmES256,
		cose.HeaderLabelKeyID:     []byte(dev),
	}}, pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed := &reading.Sealed{Epoch: 3, Nonce: bytes.Repeat([]byte{0x24}, 24), Ciphertext: bytes.Repeat([]byte{0xc7}, 37)}
	withSealed := func(v any) []byte {
		return signCOSE(t, key, header(t, dev), enc(t, map[int]any{1: dev, 2: 7, 3: 1700000000000, 4: nil, 5: v}))
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1
	return map[string][]byte{
		"valid":              good,
		"valid_empty":        mustSign(t, reading.Reading{}, key),
		"valid_gocose":       signGoCOSE(t, key, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA, cose.HeaderLabelKeyID: []byte(dev)}, map[int]any{1: dev, 2: 1, 3: 2, 4: map[string]any{"x": 1.5}}),
		"bad_signature":      flipped,
		"truncated":          good[:len(good)-10],
		"untagged":           good[1:],
		"es256":              es256Msg,
		"kid_mismatch":       signCOSE(t, key, header(t, devOf(newKey(8))), pl),
		"unprotected_header": frame(t, header(t, dev), enc(t, map[int]any{4: []byte(dev)}), pl, good[len(good)-64:]),
		"nan":                signCOSE(t, key, header(t, dev), body(t, dev, cat(t, []byte{0xa1}, "t", []byte{0xf9, 0x7e, 0x00}))),
		"nested_map":         signCOSE(t, key, header(t, dev), body(t, dev, map[string]any{"t": map[string]int{"a": 1}})),
		"duplicate_key":      signCOSE(t, key, header(t, dev), cat(t, []byte{0xa3}, 1, dev, 2, 7, 2, 8)),
		"garbage":            []byte("not a reading"),
		"no_seq":             signCOSE(t, key, header(t, dev), enc(t, map[int]any{1: dev, 3: 1700000000000, 4: map[string]any{"t": 1}})),
		"no_time":            signCOSE(t, key, header(t, dev), enc(t, map[int]any{1: dev, 2: 7, 4: map[string]any{"t": 1}})),
		"no_data":            signCOSE(t, key, header(t, dev), enc(t, map[int]any{1: dev, 2: 7, 3: 1700000000000})),
		"null_seq":           signCOSE(t, key, header(t, dev), enc(t, map[int]any{1: dev, 2: nil, 3: 1700000000000, 4: map[string]any{"t": 1}})),
		"array_head_long":    append([]byte{0xd2, 0x98, 0x04}, good[2:]...),
		"kid_unprotected":    frame(t, enc(t, map[int]any{1: -8}), enc(t, map[int]any{4: []byte(dev)}), pl, good[len(good)-64:]),
		"alg_text":           signCOSE(t, key, enc(t, map[int]any{1: "EdDSA", 4: []byte(dev)}), pl),

		// Sealed readings (payload key 5), good and broken.
		"valid_sealed":        mustSign(t, reading.Reading{Seq: 8, Time: 1700000000000, Data: map[string]any{"site": "lab"}, Sealed: sealed}, key),
		"valid_sealed_only":   mustSign(t, reading.Reading{Seq: 9, Sealed: &reading.Sealed{Epoch: 1, Nonce: make([]byte, 24), Ciphertext: make([]byte, 16)}}, key),
		"valid_sealed_gocose": signGoCOSE(t, key, cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA, cose.HeaderLabelKeyID: []byte(dev)}, map[int]any{5: sealedMap(sealed), 1: dev, 2: 1, 3: 2, 4: nil}),
		"sealed_epoch_zero":   withSealed(map[int]any{1: 0, 2: sealed.Nonce, 3: sealed.Ciphertext}),
		"sealed_short_nonce":  withSealed(map[int]any{1: 1, 2: sealed.Nonce[:12], 3: sealed.Ciphertext}),
		"sealed_short_ct":     withSealed(map[int]any{1: 1, 2: sealed.Nonce, 3: sealed.Ciphertext[:15]}),
		"sealed_extra_key":    withSealed(map[int]any{1: 1, 2: sealed.Nonce, 3: sealed.Ciphertext, 4: 0}),
		"sealed_null":         withSealed(nil),
		"sealed_array":        withSealed([]any{1, sealed.Nonce, sealed.Ciphertext}),
	}
}

// TestWriteFuzzCorpus rewrites the seed corpus of FuzzDecode,
// FuzzDecodeFast and FuzzPeek (which share it) with -update.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the seed corpus")
	}
	for _, target := range []string{"FuzzDecode", "FuzzDecodeFast", "FuzzPeek"} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds(t) {
			data := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, "seed_"+name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var sentinels = []error{reading.ErrTooLarge, reading.ErrMalformed, reading.ErrAlgorithm, reading.ErrKeyID, reading.ErrData, reading.ErrSignature}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzDecode: Decode never panics and every error names its sentinel; what
// decodes, decodes again from Raw to the same reading, signs again to the
// same reading, and verifies (or not) without panic and exactly as go-cose
// does over the same bytes with the same ZIP 215 verifier.
func FuzzDecode(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b)
	}
	pub := pubOf(fuzzKey)
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := reading.Decode(raw)
		if err != nil {
			if s != nil {
				t.Fatalf("Decode returned a reading and %v", err)
			}
			if !wrapsSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(raw) > reading.MaxSize {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		again, err := reading.Decode(s.Raw)
		if err != nil {
			t.Fatalf("Decode(Raw) = %v after Decode(raw) succeeded", err)
		}
		if d := cmp.Diff(again.Reading, s.Reading); d != "" {
			t.Fatalf("decoding Raw again gives another reading (-again +first):\n%s", d)
		}
		if !bytes.Equal(again.Message(), s.Message()) {
			t.Fatalf("decoding Raw again gives another Message")
		}

		ours := s.Verify(pub)
		if ours != nil && !errors.Is(ours, reading.ErrSignature) {
			t.Fatalf("Verify = %v, want nil or ErrSignature", ours)
		}
		for _, k := range [][]byte{nil, pub[:5], pubOf(newKey(8))} {
			_ = s.Verify(k)
		}
		var m cose.Sign1Message
		if err := m.UnmarshalCBOR(raw); err != nil {
			t.Fatalf("go-cose refuses what Decode accepts: %v", err)
		}
		theirs := m.Verify(nil, zip215.Verifier(pub))
		if (ours == nil) != (theirs == nil) {
			t.Fatalf("Signed.Verify = %v, go-cose Verify = %v", ours, theirs)
		}

		resigned, err := reading.Sign(s.Reading, fuzzKey)
		if errors.Is(err, reading.ErrTooLarge) {
			return
		}
		if err != nil {
			t.Fatalf("Sign(decoded reading) = %v", err)
		}
		back, err := reading.Decode(resigned)
		if err != nil {
			t.Fatalf("Decode(Sign(decoded reading)) = %v", err)
		}
		if d := cmp.Diff(back.Reading, s.Reading); d != "" {
			t.Fatalf("Sign and Decode change the reading (-resigned +decoded):\n%s", d)
		}
	})
}
