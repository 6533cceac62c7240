package zip215

import (
	"bytes"
	stded25519 "crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// A sig is one verification: a public key, a message, a signature, and
// whether ZIP 215 accepts it.
type sig struct {
	name          string
	pub, msg, sig []byte
	want          bool
}

// order is the order L of the prime-order subgroup, little endian.
var order = [32]byte{
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
}

// addLE returns a+b on 32-byte little-endian numbers (no overflow in use here).
func addLE(a, b []byte) []byte {
	out := make([]byte, 32)
	carry := 0
	for i := range 32 {
		v := int(a[i]) + int(b[i]) + carry
		out[i], carry = byte(v), v>>8
	}
	return out
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectors returns the ZIP 215 test vectors (testdata/README.md): small-order
// A and R, canonical and not, S = 0, over the message "Zcash".
func vectors(t testing.TB) []sig {
	t.Helper()
	b, err := os.ReadFile("testdata/zip215.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw [][2]string
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 196 {
		t.Fatalf("got %d vectors, want 196", len(raw))
	}
	var out []sig
	for i, v := range raw {
		out = append(out, sig{name: fmt.Sprintf("vector %d", i), pub: unhex(t, v[0]), msg: []byte("Zcash"), sig: unhex(t, v[1]), want: true})
	}
	return out
}

func point(t testing.TB, enc []byte) *curve.EdwardsPoint {
	t.Helper()
	var c curve.CompressedEdwardsY
	if _, err := c.SetBytes(enc); err != nil {
		t.Fatal(err)
	}
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&c); err != nil {
		t.Fatalf("%x is not a point: %v", enc, err)
	}
	return &p
}

func encode(p *curve.EdwardsPoint) []byte {
	var c curve.CompressedEdwardsY
	c.SetEdwardsPoint(p)
	return c[:]
}

func randScalar(t testing.TB, rng io.Reader) *scalar.Scalar {
	t.Helper()
	var wide [64]byte
	if _, err := io.ReadFull(rng, wide[:]); err != nil {
		t.Fatal(err)
	}
	s, err := scalar.NewFromBytesModOrderWide(wide[:])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signMixed signs msg with secret scalar a for the public key A = aB + tA,
// with nonce point R = rB + tR, where tA and tR are small-order points (or
// nil). The cofactored equation of ZIP 215 ignores the small-order parts, so
// the signature is valid; cofactorless verifiers (RFC 8032 strict, Go's
// crypto/ed25519) reject it for most messages. This is the classic case
// where single and batch verification disagree when their rules differ.
func signMixed(t testing.TB, rng io.Reader, tA, tR *curve.EdwardsPoint, msg []byte) (pub, signature []byte) {
	t.Helper()
	a, r := randScalar(t, rng), randScalar(t, rng)
	var A, R curve.EdwardsPoint
	A.MulBasepoint(curve.ED25519_BASEPOINT_TABLE, a)
	if tA != nil {
		A.Add(&A, tA)
	}
	R.MulBasepoint(curve.ED25519_BASEPOINT_TABLE, r)
	if tR != nil {
		R.Add(&R, tR)
	}
	pub, rEnc := encode(&A), encode(&R)
	h := sha512.New()
	h.Write(rEnc)
	h.Write(pub)
	h.Write(msg)
	k, err := scalar.NewFromBytesModOrderWide(h.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	var s scalar.Scalar
	s.Mul(k, a)
	s.Add(&s, r)
	sEnc := make([]byte, 32)
	if err := s.ToBytes(sEnc); err != nil {
		t.Fatal(err)
	}
	return pub, append(rEnc, sEnc...)
}

// nonCanonical returns the encodings y+p (y >= p, so not canonical), with
// either sign bit, of the points whose y is below 19, split by whether the
// point has small order.
func nonCanonical(t testing.TB) (small, large [][]byte) {
	t.Helper()
	for y := range 19 {
		for _, sign := range []byte{0, 0x80} {
			enc := bytes.Repeat([]byte{0xff}, 32)
			enc[0] = byte(0xed + y) // p = 2^255 - 19 = ed ff .. ff 7f
			enc[31] = 0x7f | sign
			var c curve.CompressedEdwardsY
			copy(c[:], enc)
			if c.IsCanonicalVartime() {
				t.Fatalf("%x is canonical", enc)
			}
			var p curve.EdwardsPoint
			if _, err := p.SetCompressedY(&c); err != nil {
				continue // not on the curve
			}
			if p.IsSmallOrder() {
				small = append(small, enc)
			} else {
				large = append(large, enc)
			}
		}
	}
	if len(small) == 0 || len(large) == 0 {
		t.Fatalf("got %d small-order and %d large-order non-canonical points, want some of each", len(small), len(large))
	}
	return small, large
}

// edgeCases returns signatures that ZIP 215 accepts and that strict verifiers
// do not, beside ones everyone must reject, and honest ones.
func edgeCases(t testing.TB) []sig {
	t.Helper()
	rng := mrand.NewChaCha8([32]byte{'z', 'i', 'p', '2', '1', '5'})
	vs := vectors(t)
	out := append([]sig(nil), vs...)

	// Small-order A and R with S = 0 verify for any message.
	for i, v := range vs[:20] {
		out = append(out, sig{fmt.Sprintf("vector %d, other message", i), v.pub, []byte("other"), v.sig, true})
	}
	// S >= L is refused even when S mod L would verify: S = L, S = L+1, and
	// S with the top bits set.
	for i, v := range vs[:14] {
		sL := append(bytes.Clone(v.sig[:32]), order[:]...)
		out = append(out, sig{fmt.Sprintf("vector %d, S = L", i), v.pub, v.msg, sL, false})
		sL1 := bytes.Clone(sL)
		sL1[32]++
		out = append(out, sig{fmt.Sprintf("vector %d, S = L+1", i), v.pub, v.msg, sL1, false})
		sHigh := bytes.Clone(v.sig)
		sHigh[63] |= 0xe0
		out = append(out, sig{fmt.Sprintf("vector %d, S high bits", i), v.pub, v.msg, sHigh, false})
	}

	// Honest signatures, and their mutations.
	for i := range 8 {
		seed := make([]byte, 32)
		rng.Read(seed)
		key := stded25519.NewKeyFromSeed(seed)
		pub := []byte(key.Public().(stded25519.PublicKey))
		msg := fmt.Appendf(nil, "reading %d", i)
		s := stded25519.Sign(key, msg)
		out = append(out, sig{fmt.Sprintf("honest %d", i), pub, msg, s, true})
		out = append(out, sig{fmt.Sprintf("honest %d, other message", i), pub, []byte("other"), s, false})
		malleated := append(bytes.Clone(s[:32]), addLE(s[32:], order[:])...)
		out = append(out, sig{fmt.Sprintf("honest %d, S+L", i), pub, msg, malleated, false})
		flipped := bytes.Clone(s)
		flipped[i*8] ^= 1
		out = append(out, sig{fmt.Sprintf("honest %d, flipped bit", i), pub, msg, flipped, false})
		out = append(out, sig{fmt.Sprintf("honest %d, short signature", i), pub, msg, s[:63], false})
		out = append(out, sig{fmt.Sprintf("honest %d, short key", i), pub[:31], msg, s, false})
		out = append(out, sig{fmt.Sprintf("honest %d, no key", i), nil, msg, s, false})
	}

	// Mixed-order A and R: a prime-order part plus a small-order one.
	var torsion []*curve.EdwardsPoint
	seen := map[string]bool{}
	for _, v := range vs {
		p := point(t, v.pub)
		if enc := string(encode(p)); !p.IsIdentity() && !seen[enc] {
			seen[enc] = true
			torsion = append(torsion, p)
		}
	}
	if len(torsion) != 7 {
		t.Fatalf("got %d small-order points besides the identity, want 7", len(torsion))
	}
	for i, tp := range torsion[:6] {
		msg := fmt.Appendf(nil, "mixed %d", i)
		pub, s := signMixed(t, rng, tp, nil, msg)
		out = append(out, sig{fmt.Sprintf("mixed-order A %d", i), pub, msg, s, true})
		out = append(out, sig{fmt.Sprintf("mixed-order A %d, other message", i), pub, []byte("other"), s, false})
		pub, s = signMixed(t, rng, nil, tp, msg)
		out = append(out, sig{fmt.Sprintf("mixed-order R %d", i), pub, msg, s, true})
		pub, s = signMixed(t, rng, tp, torsion[(i+1)%len(torsion)], msg)
		out = append(out, sig{fmt.Sprintf("mixed-order A and R %d", i), pub, msg, s, true})
	}

	// Non-canonical encodings (y >= p). Small-order ones with S = 0 verify;
	// large-order ones cannot be signed for (their discrete log is unknown),
	// so they are refused, but must be refused by both paths.
	small, large := nonCanonical(t)
	for i, a := range small {
		for j, r := range small {
			out = append(out, sig{fmt.Sprintf("non-canonical small A %d, R %d", i, j), a, []byte("msg"), append(bytes.Clone(r), make([]byte, 32)...), true})
		}
	}
	for i, enc := range large {
		pub, s := signMixed(t, rng, nil, nil, []byte("msg"))
		out = append(out, sig{fmt.Sprintf("non-canonical large A %d", i), enc, []byte("msg"), s, false})
		out = append(out, sig{fmt.Sprintf("non-canonical large R %d", i), pub, []byte("msg"), append(bytes.Clone(enc), s[32:]...), false})
	}

	// Encodings that are not points.
	notPoint := bytes.Repeat([]byte{0}, 32)
	notPoint[0] = 2 // y = 2 is not on the curve
	if _, err := ed25519.NewExpandedPublicKey(notPoint); err == nil {
		t.Fatal("y = 2 decodes as a point")
	}
	out = append(out, sig{"A not a point", notPoint, []byte("Zcash"), vs[0].sig, false})
	out = append(out, sig{"R not a point", vs[0].pub, []byte("Zcash"), append(bytes.Clone(notPoint), make([]byte, 32)...), false})
	return out
}

func TestVectors(t *testing.T) {
	for _, v := range vectors(t) {
		if !Verify(v.pub, v.msg, v.sig) {
			t.Errorf("%s: ZIP 215 refuses A=%x sig=%x", v.name, v.pub, v.sig)
		}
		if ed25519.VerifyWithOptions(v.pub, v.msg, v.sig, &ed25519.Options{Verify: ed25519.VerifyOptionsDefault}) {
			t.Errorf("%s: strict RFC 8032 rules accept it; the vector is not an edge case", v.name)
		}
	}
}

// TestSingleMatchesWant pins what ZIP 215 decides on each edge case.
func TestSingleMatchesWant(t *testing.T) {
	for _, c := range edgeCases(t) {
		if got := Verify(c.pub, c.msg, c.sig); got != c.want {
			t.Errorf("%s: Verify = %v, want %v", c.name, got, c.want)
		}
		if got := NewKeyCache(4).Verify(c.pub, c.msg, c.sig); got != c.want {
			t.Errorf("%s: KeyCache.Verify = %v, want %v", c.name, got, c.want)
		}
	}
}

// voiBatch verifies cs with voi's batch verifier and keys that are not
// expanded, the other code path of voi; it returns the per-entry results and
// whether the batch equation alone accepted the batch.
func voiBatch(cs []sig, rng io.Reader) (valid []bool, batchOnly bool) {
	v := ed25519.NewBatchVerifier().ForceNoPublicKeyExpansion()
	for _, c := range cs {
		pub := c.pub
		if len(pub) != PublicKeySize {
			pub = make([]byte, PublicKeySize) // voi panics on short keys; the entry is refused below
		}
		v.AddWithOptions(pub, c.msg, c.sig, options)
	}
	batchOnly = v.VerifyBatchOnly(rng)
	_, valid = v.Verify(rng)
	for i, c := range cs {
		if len(c.pub) != PublicKeySize {
			valid[i] = false
		}
	}
	return valid, batchOnly
}

func wants(cs []sig) []bool {
	out := make([]bool, len(cs))
	for i, c := range cs {
		out[i] = Verify(c.pub, c.msg, c.sig)
	}
	return out
}

func allTrue(bs []bool) bool {
	for _, b := range bs {
		if !b {
			return false
		}
	}
	return true
}

// TestBatchAgreesWithSingle is the guard against a chain split: on every edge
// case and on batches mixing them, batch verification returns exactly what
// single verification does, and the batch equation itself accepts a batch
// if and only if every entry is valid (so agreement does not rest on the
// per-entry fallback alone).
func TestBatchAgreesWithSingle(t *testing.T) {
	cases := edgeCases(t)
	valid, invalid := []sig{}, []sig{}
	for _, c := range cases {
		if c.want {
			valid = append(valid, c)
		} else {
			invalid = append(invalid, c)
		}
	}
	t.Logf("%d edge cases: %d valid, %d invalid", len(cases), len(valid), len(invalid))

	rng := mrand.New(mrand.NewPCG(1, 2))
	pick := func(from []sig, n int) []sig {
		out := make([]sig, n)
		for i := range out {
			out[i] = from[rng.IntN(len(from))]
		}
		return out
	}
	batches := map[string][]sig{
		"all cases":          cases,
		"all valid":          valid,
		"all invalid":        invalid,
		"vectors only":       vectors(t),
		"one valid":          valid[:1],
		"one invalid":        invalid[:1],
		"valid then one bad": append(append([]sig{}, valid...), invalid[len(invalid)-1]),
	}
	// Sizes on both sides of voi's precomputation threshold (94).
	for _, n := range []int{2, 3, 16, 93, 94, 95, 200, 1000} {
		batches[fmt.Sprintf("%d valid", n)] = pick(valid, n)
		mixed := pick(valid, n)
		mixed[rng.IntN(n)] = invalid[rng.IntN(len(invalid))]
		batches[fmt.Sprintf("%d with one invalid", n)] = mixed
		all := pick(cases, n)
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		batches[fmt.Sprintf("%d random", n)] = all
	}

	check := func(t *testing.T, cs []sig) {
		t.Helper()
		want := wants(cs)
		for i, c := range cs {
			if want[i] != c.want {
				t.Fatalf("%s: Verify = %v, want %v", c.name, want[i], c.want)
			}
		}
		b := NewKeyCache(64).NewBatch(len(cs))
		for _, c := range cs {
			b.Add(c.pub, c.msg, c.sig)
		}
		if got := b.Len(); got != len(cs) {
			t.Errorf("Len = %d, want %d", got, len(cs))
		}
		if d := cmp.Diff(b.Verify(), want); d != "" {
			t.Errorf("Batch.Verify differs from Verify (-batch +single):\n%s", d)
		}
		if got, want := b.v.VerifyBatchOnly(rand.Reader), allTrue(want); got != want {
			t.Errorf("batch equation with expanded keys = %v, want %v", got, want)
		}
		got, batchOnly := voiBatch(cs, rand.Reader)
		if d := cmp.Diff(got, want); d != "" {
			t.Errorf("voi AddWithOptions batch differs from Verify (-batch +single):\n%s", d)
		}
		if batchOnly != allTrue(want) {
			t.Errorf("voi batch equation = %v, want %v", batchOnly, allTrue(want))
		}
	}
	for name, cs := range batches {
		t.Run(name, func(t *testing.T) { check(t, cs) })
	}
	t.Run("each case alone", func(t *testing.T) {
		for _, c := range cases {
			check(t, []sig{c})
		}
	})
}

// zeros is a reader of zero bytes: the worst randomness there is.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestBatchResultIndependentOfRandomness checks that the coefficients drawn
// for the batch equation change nothing in the results.
func TestBatchResultIndependentOfRandomness(t *testing.T) {
	cases := edgeCases(t)
	want := wants(cases)
	sources := map[string]func() io.Reader{
		"crypto/rand": func() io.Reader { return nil },
		"zeros":       func() io.Reader { return zeros{} },
		"ones":        func() io.Reader { return bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)) },
	}
	for seed := range uint64(8) {
		sources[fmt.Sprintf("chacha8 seed %d", seed)] = func() io.Reader {
			return mrand.NewChaCha8([32]byte{byte(seed)})
		}
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			for _, cs := range [][]sig{cases, cases[:100], cases[196:], cases[len(cases)-5:]} {
				b := NewBatch(len(cs))
				b.rand = src()
				for _, c := range cs {
					b.Add(c.pub, c.msg, c.sig)
				}
				if d := cmp.Diff(b.Verify(), wants(cs)); d != "" {
					t.Errorf("results depend on the randomness (-batch +single):\n%s", d)
				}
			}
			b := NewBatch(len(cases))
			b.rand = src()
			for _, c := range cases {
				b.Add(c.pub, c.msg, c.sig)
			}
			if d := cmp.Diff(b.Verify(), want); d != "" {
				t.Errorf("results depend on the randomness (-batch +single):\n%s", d)
			}
		})
	}
}

func TestBatchReuseAndEmpty(t *testing.T) {
	b := NewBatch(0)
	if got := b.Verify(); len(got) != 0 {
		t.Errorf("empty batch: Verify = %v, want no results", got)
	}
	cases := edgeCases(t)
	for _, cs := range [][]sig{cases[:10], cases[len(cases)-10:], cases[300:301]} {
		b.Reset()
		for _, c := range cs {
			b.Add(c.pub, c.msg, c.sig)
		}
		if d := cmp.Diff(b.Verify(), wants(cs)); d != "" {
			t.Errorf("reused batch (-batch +single):\n%s", d)
		}
	}
}

func TestBatchDoesNotKeepMessage(t *testing.T) {
	key := stded25519.NewKeyFromSeed(make([]byte, 32))
	pub := key.Public().(stded25519.PublicKey)
	buf := []byte("first message")
	s := stded25519.Sign(key, buf)
	b := NewBatch(1)
	b.Add(pub, buf, s)
	copy(buf, "XXXXX")
	if got := b.Verify(); !cmp.Equal(got, []bool{true}) {
		t.Errorf("Verify after the caller reused msg = %v, want [true]", got)
	}
}

func TestKeyCacheBounded(t *testing.T) {
	c := NewKeyCache(3)
	var keys [][]byte
	for i := range 10 {
		key := stded25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i)}, 32))
		keys = append(keys, key.Public().(stded25519.PublicKey))
		msg := []byte{byte(i)}
		if !c.Verify(keys[i], msg, stded25519.Sign(key, msg)) {
			t.Fatalf("key %d: valid signature refused", i)
		}
		if got := c.Len(); got > 3 {
			t.Fatalf("after %d keys Len = %d, want at most 3", i+1, got)
		}
	}
	// Invalid keys are not cached.
	c = NewKeyCache(3)
	notPoint := make([]byte, 32)
	notPoint[0] = 2
	c.Verify(notPoint, nil, make([]byte, 64))
	c.Verify(notPoint[:31], nil, make([]byte, 64))
	if got := c.Len(); got != 0 {
		t.Errorf("Len after invalid keys = %d, want 0", got)
	}
}

func TestKeyCacheConcurrent(t *testing.T) {
	c := NewKeyCache(4)
	cases := edgeCases(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			b := c.NewBatch(len(cases))
			for i := range cases {
				cs := cases[(i+w*37)%len(cases)]
				b.Add(cs.pub, cs.msg, cs.sig)
				if got := c.Verify(cs.pub, cs.msg, cs.sig); got != cs.want {
					t.Errorf("%s: KeyCache.Verify = %v, want %v", cs.name, got, cs.want)
				}
			}
			for i, got := range b.Verify() {
				if cs := cases[(i+w*37)%len(cases)]; got != cs.want {
					t.Errorf("%s: Batch.Verify = %v, want %v", cs.name, got, cs.want)
				}
			}
		})
	}
	wg.Wait()
}

func TestVerifierForCOSE(t *testing.T) {
	key := stded25519.NewKeyFromSeed(make([]byte, 32))
	pub := key.Public().(stded25519.PublicKey)
	s := stded25519.Sign(key, []byte("content"))
	v := Verifier(pub)
	if err := v.Verify([]byte("content"), s); err != nil {
		t.Errorf("Verify(good) = %v", err)
	}
	if err := v.Verify([]byte("contenT"), s); err != ErrSignature {
		t.Errorf("Verify(bad) = %v, want ErrSignature", err)
	}
	if err := Verifier(pub[:5]).Verify([]byte("content"), s); err != ErrSignature {
		t.Errorf("Verify(short key) = %v, want ErrSignature", err)
	}
}

// benchSigs returns n signatures by n different keys over 150-byte messages,
// about the size of a reading's Sig_structure.
func benchSigs(n int) (pubs, msgs, sigs [][]byte) {
	for i := range n {
		seed := make([]byte, 32)
		seed[0], seed[1] = byte(i), byte(i>>8)
		key := stded25519.NewKeyFromSeed(seed)
		msg := bytes.Repeat([]byte{byte(i)}, 150)
		pubs = append(pubs, key.Public().(stded25519.PublicKey))
		msgs = append(msgs, msg)
		sigs = append(sigs, stded25519.Sign(key, msg))
	}
	return pubs, msgs, sigs
}

func BenchmarkVerify(b *testing.B) {
	pubs, msgs, sigs := benchSigs(1)
	for b.Loop() {
		if !Verify(pubs[0], msgs[0], sigs[0]) {
			b.Fatal("refused")
		}
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	pubs, msgs, sigs := benchSigs(1)
	c := NewKeyCache(1)
	for b.Loop() {
		if !c.Verify(pubs[0], msgs[0], sigs[0]) {
			b.Fatal("refused")
		}
	}
}

func benchBatch(b *testing.B, n int) {
	pubs, msgs, sigs := benchSigs(n)
	c := NewKeyCache(n)
	for i := range n {
		c.expand(pubs[i]) // warm: every key already expanded
	}
	for b.Loop() {
		batch := c.NewBatch(n)
		for i := range n {
			batch.Add(pubs[i], msgs[i], sigs[i])
		}
		for _, ok := range batch.Verify() {
			if !ok {
				b.Fatal("refused")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
}

func BenchmarkBatch64(b *testing.B)   { benchBatch(b, 64) }
func BenchmarkBatch1024(b *testing.B) { benchBatch(b, 1024) }

// VerifyAll gives, item by item, what Verify gives, whatever the mix of good
// and bad signatures and however the items are spread over goroutines.
func TestVerifyAllMatchesVerify(t *testing.T) {
	c := NewKeyCache(64)
	var items []Item
	for i := range 300 {
		seed := make([]byte, 32)
		seed[0] = byte(i % 7)
		priv := stded25519.NewKeyFromSeed(seed)
		msg := []byte{byte(i), byte(i >> 8)}
		sig := stded25519.Sign(priv, msg)
		if i%5 == 0 {
			sig[3] ^= 1 // a bad signature every fifth item
		}
		items = append(items, Item{Pub: priv.Public().(stded25519.PublicKey), Msg: msg, Sig: sig})
	}
	for _, n := range []int{0, 1, 2, 31, 33, 100, 300} {
		got := c.VerifyAll(items[:n])
		if len(got) != n {
			t.Fatalf("VerifyAll of %d items gave %d results", n, len(got))
		}
		for i, ok := range got {
			if want := Verify(items[i].Pub, items[i].Msg, items[i].Sig); ok != want {
				t.Errorf("n=%d item %d: VerifyAll %v, Verify %v", n, i, ok, want)
			}
		}
	}
}
