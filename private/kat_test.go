package private

// Known-answer tests: the HPKE suites this package wraps stream keys with
// reproduce published vectors (testdata/kat; testdata/README.md names the
// source of each file).

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/mlkem"
	"crypto/mlkem/mlkemtest"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// hpkeVector is one vector in the format of RFC 9180's test-vectors.json.
type hpkeVector struct {
	Mode         uint16 `json:"mode"`
	KEM          uint16 `json:"kem_id"`
	KDF          uint16 `json:"kdf_id"`
	AEAD         uint16 `json:"aead_id"`
	Info         string `json:"info"`
	IkmE         string `json:"ikmE"`
	PkEm         string `json:"pkEm"`
	SkEm         string `json:"skEm"`
	IkmR         string `json:"ikmR"`
	PkRm         string `json:"pkRm"`
	SkRm         string `json:"skRm"`
	Enc          string `json:"enc"`
	SharedSecret string `json:"shared_secret"`
	Key          string `json:"key"`
	BaseNonce    string `json:"base_nonce"`
	Encryptions  []struct {
		Seq   *int   `json:"sequence_number"` // absent: the list is consecutive from 0
		Aad   string `json:"aad"`
		Ct    string `json:"ct"`
		Nonce string `json:"nonce"`
		Pt    string `json:"pt"`
	} `json:"encryptions"`
	Exports []struct {
		Context string `json:"exporter_context"`
		L       int    `json:"L"`
		Value   string `json:"exported_value"`
	} `json:"exports"`
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "kat", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkSuite fails unless v is the suite Wrap uses for the KEM id.
func checkSuite(t *testing.T, v hpkeVector, kem uint16) {
	t.Helper()
	if v.Mode != 0 || v.KEM != kem || v.KDF != wrapKDF.ID() || v.AEAD != wrapAEAD.ID() || kemOf(kem).ID() != kem {
		t.Fatalf("vector is mode %d, suite 0x%04x/0x%04x/0x%04x; Wrap uses mode 0, 0x%04x/0x%04x/0x%04x",
			v.Mode, v.KEM, v.KDF, v.AEAD, kemOf(kem).ID(), wrapKDF.ID(), wrapAEAD.ID())
	}
}

// openAll opens the vector's encryptions in order with a recipient made
// from the vector's private key and enc, and checks every export. A
// recipient reaches sequence number n only by opening the n before it: for
// the numbers the vector leaves out, it opens ciphertexts sealed under the
// vector's published key and nonce (RFC 9180 section 5.2: base_nonce xor
// the sequence number), so that what the recipient opens at n shows its
// key schedule is the vector's.
func openAll(t *testing.T, v hpkeVector, sk hpke.PrivateKey) {
	t.Helper()
	r, err := hpke.NewRecipient(unhex(t, v.Enc), sk, wrapKDF, wrapAEAD, unhex(t, v.Info))
	if err != nil {
		t.Fatalf("NewRecipient = %v", err)
	}
	aead, err := chacha20poly1305.New(unhex(t, v.Key))
	if err != nil {
		t.Fatal(err)
	}
	seq := 0
	for i, e := range v.Encryptions {
		want := i
		if e.Seq != nil {
			want = *e.Seq
		}
		for ; seq < want; seq++ {
			nonce := unhex(t, v.BaseNonce)
			for j, k := len(nonce)-1, seq; k > 0; j, k = j-1, k>>8 {
				nonce[j] ^= byte(k)
			}
			if _, err := r.Open(nil, aead.Seal(nil, nonce, []byte("filler"), nil)); err != nil {
				t.Fatalf("sequence number %d (not in the vector): Open = %v", seq, err)
			}
		}
		pt, err := r.Open(unhex(t, e.Aad), unhex(t, e.Ct))
		if err != nil {
			t.Fatalf("sequence number %d: Open = %v", seq, err)
		}
		if !bytes.Equal(pt, unhex(t, e.Pt)) {
			t.Errorf("sequence number %d: Open = %x, want %x", seq, pt, e.Pt)
		}
		seq++
	}
	for _, x := range v.Exports {
		got, err := r.Export(string(unhex(t, x.Context)), x.L)
		if err != nil || !bytes.Equal(got, unhex(t, x.Value)) {
			t.Errorf("Export(%s, %d) = %x, %v; want %s", x.Context, x.L, got, err, x.Value)
		}
	}
}

// TestKnownAnswersRFC9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20-Poly1305 in base mode, the suite of X25519 recipients, against
// RFC 9180 appendix A.2.1: key derivation (enc is the public key derived
// from ikmE) and the recipient's side (the ciphertexts open to their
// plaintexts, the exports match). The sender's side cannot be replayed
// with the vector's ephemeral key: crypto/hpke draws it inside the
// package, and testing/cryptotest.SetGlobalRandom seeds a stream rather
// than serving given bytes. X25519 is symmetric (the sender's DH equals
// the recipient's), so the recipient's side checks the key schedule both
// sides share.
func TestKnownAnswersRFC9180(t *testing.T) {
	var v hpkeVector
	readJSON(t, "rfc9180-a2-1.json", &v)
	checkSuite(t, v, KEMX25519)
	kem := kemOf(KEMX25519)

	t.Run("DeriveKeyPair", func(t *testing.T) {
		for _, c := range []struct{ ikm, pk string }{{v.IkmR, v.PkRm}, {v.IkmE, v.PkEm}} {
			k, err := kem.DeriveKeyPair(unhex(t, c.ikm))
			if err != nil {
				t.Fatal(err)
			}
			if got := k.PublicKey().Bytes(); !bytes.Equal(got, unhex(t, c.pk)) {
				t.Errorf("DeriveKeyPair(%s) public key = %x, want %s", c.ikm, got, c.pk)
			}
		}
		if v.PkEm != v.Enc {
			t.Errorf("enc %s is not the ephemeral public key %s", v.Enc, v.PkEm)
		}
	})
	sk, err := kem.NewPrivateKey(unhex(t, v.SkRm))
	if err != nil {
		t.Fatal(err)
	}
	if got := sk.PublicKey().Bytes(); !bytes.Equal(got, unhex(t, v.PkRm)) {
		t.Fatalf("public key of skRm = %x, want %s", got, v.PkRm)
	}
	// The recipient's side: every ciphertext (sequence numbers 0, 1, 2,
	// 4, 255 and 256) and every export.
	openAll(t, v, sk)
}

// xwingLabel ends the input of X-Wing's combiner.
var xwingLabel = []byte(`\.//^\`)

// xwingRef is X-Wing as draft-connolly-cfrg-xwing-kem writes it, from the
// standard library's ML-KEM-768, X25519 and SHA-3: a reference for the
// known-answer tests, not used to wrap anything.
type xwingRef struct {
	dk  *mlkem.DecapsulationKey768
	skX *ecdh.PrivateKey
}

func newXWingRef(t *testing.T, seed []byte) xwingRef {
	t.Helper()
	expanded := sha3.SumSHAKE256(seed, 96)
	dk, err := mlkem.NewDecapsulationKey768(expanded[:64])
	if err != nil {
		t.Fatal(err)
	}
	skX, err := ecdh.X25519().NewPrivateKey(expanded[64:96])
	if err != nil {
		t.Fatal(err)
	}
	return xwingRef{dk, skX}
}

func (x xwingRef) publicKey() []byte {
	return append(x.dk.EncapsulationKey().Bytes(), x.skX.PublicKey().Bytes()...)
}

func xwingCombine(ssM, ssX, ctX, pkX []byte) []byte {
	ss := sha3.Sum256(bytes.Join([][]byte{ssM, ssX, ctX, pkX, xwingLabel}, nil))
	return ss[:]
}

func (x xwingRef) decapsulate(t *testing.T, ct []byte) []byte {
	t.Helper()
	ssM, err := x.dk.Decapsulate(ct[:mlkem.CiphertextSize768])
	if err != nil {
		t.Fatal(err)
	}
	ctX := ct[mlkem.CiphertextSize768:]
	peer, err := ecdh.X25519().NewPublicKey(ctX)
	if err != nil {
		t.Fatal(err)
	}
	ssX, err := x.skX.ECDH(peer)
	if err != nil {
		t.Fatal(err)
	}
	return xwingCombine(ssM, ssX, ctX, x.skX.PublicKey().Bytes())
}

// xwingEncapsulate is X-Wing's derandomized encapsulation to pk.
func xwingEncapsulate(t *testing.T, pk, eseed []byte) (ss, ct []byte) {
	t.Helper()
	ek, err := mlkem.NewEncapsulationKey768(pk[:mlkem.EncapsulationKeySize768])
	if err != nil {
		t.Fatal(err)
	}
	ssM, ctM, err := mlkemtest.Encapsulate768(ek, eseed[:32])
	if err != nil {
		t.Fatal(err)
	}
	ekX, err := ecdh.X25519().NewPrivateKey(eseed[32:64])
	if err != nil {
		t.Fatal(err)
	}
	pkX, err := ecdh.X25519().NewPublicKey(pk[mlkem.EncapsulationKeySize768:])
	if err != nil {
		t.Fatal(err)
	}
	ssX, err := ekX.ECDH(pkX)
	if err != nil {
		t.Fatal(err)
	}
	ctX := ekX.PublicKey().Bytes()
	return xwingCombine(ssM, ssX, ctX, pkX.Bytes()), append(ctM, ctX...)
}

// TestKnownAnswersXWingKEM: the X-Wing draft's own vectors. A private key
// made from a seed the way NewPrivateKey makes it (crypto/hpke's
// MLKEM768X25519) has the vector's public key; the reference made of the
// standard library's parts encapsulates to the vector's ciphertext and
// shared secret, and decapsulates the ciphertext to the shared secret.
func TestKnownAnswersXWingKEM(t *testing.T) {
	var vectors []struct {
		Seed  string `json:"seed"`
		Sk    string `json:"sk"`
		Pk    string `json:"pk"`
		Eseed string `json:"eseed"`
		Ct    string `json:"ct"`
		Ss    string `json:"ss"`
	}
	readJSON(t, "xwing-kem.json", &vectors)
	if len(vectors) == 0 {
		t.Fatal("no vectors")
	}
	for i, v := range vectors {
		seed, pk := unhex(t, v.Seed), unhex(t, v.Pk)
		k, err := NewPrivateKey(make([]byte, 32), seed)
		if err != nil {
			t.Fatalf("vector %d: NewPrivateKey = %v", i, err)
		}
		if got := k.Public().XWing; !bytes.Equal(got, pk) {
			t.Errorf("vector %d: the public key NewPrivateKey derives from the seed is not the vector's pk", i)
		}
		if _, s := k.Bytes(); !bytes.Equal(s, unhex(t, v.Sk)) {
			t.Errorf("vector %d: the key's seed = %x, want sk %s", i, s, v.Sk)
		}
		if b, err := k.hybrid.Bytes(); err != nil || !bytes.Equal(b, unhex(t, v.Sk)) {
			t.Errorf("vector %d: crypto/hpke serializes the key as %x, %v; want sk %s", i, b, err, v.Sk)
		}
		ref := newXWingRef(t, seed)
		if !bytes.Equal(ref.publicKey(), pk) {
			t.Errorf("vector %d: the reference's public key differs", i)
		}
		ss, ct := xwingEncapsulate(t, pk, unhex(t, v.Eseed))
		if !bytes.Equal(ct, unhex(t, v.Ct)) || !bytes.Equal(ss, unhex(t, v.Ss)) {
			t.Errorf("vector %d: EncapsulateDerand = %x, %x...; want %s, %.32s...", i, ss, ct[:16], v.Ss, v.Ct)
		}
		if got := ref.decapsulate(t, unhex(t, v.Ct)); !bytes.Equal(got, unhex(t, v.Ss)) {
			t.Errorf("vector %d: Decapsulate = %x, want %s", i, got, v.Ss)
		}
	}
}

// TestKnownAnswersXWingHPKE: MLKEM768-X25519 (X-Wing), HKDF-SHA256,
// ChaCha20-Poly1305 in base mode, the suite of hybrid recipients, against
// the draft-ietf-hpke-pq vector Go ships: key derivation, the recipient's
// side (every ciphertext, every export), and the vector's shared secret is
// X-Wing's (the reference decapsulates enc to it), which ties crypto/hpke's
// X-Wing to the X-Wing draft's vectors above. (The sender's side is not
// reproducible here: crypto/mlkem takes no randomness from a test.)
func TestKnownAnswersXWingHPKE(t *testing.T) {
	var vectors []hpkeVector
	readJSON(t, "hpke-pq-xwing.json", &vectors)
	if len(vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vectors {
		checkSuite(t, v, KEMXWing)
		kem := kemOf(KEMXWing)
		derived, err := kem.DeriveKeyPair(unhex(t, v.IkmR))
		if err != nil {
			t.Fatal(err)
		}
		if b, err := derived.Bytes(); err != nil || !bytes.Equal(b, unhex(t, v.SkRm)) {
			t.Errorf("DeriveKeyPair(ikmR) = %x, %v; want skRm %s", b, err, v.SkRm)
		}
		k, err := NewPrivateKey(make([]byte, 32), unhex(t, v.SkRm))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Public().XWing, unhex(t, v.PkRm)) {
			t.Errorf("public key of skRm differs from pkRm")
		}
		if got := newXWingRef(t, unhex(t, v.SkRm)).decapsulate(t, unhex(t, v.Enc)); !bytes.Equal(got, unhex(t, v.SharedSecret)) {
			t.Errorf("X-Wing decapsulation of enc = %x, want shared_secret %s", got, v.SharedSecret)
		}
		openAll(t, v, k.hybrid)
	}
}
