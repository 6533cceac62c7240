package private

// Cross-implementation vectors: testdata/vectors.json, written by this
// test with -update and checked by it otherwise, so that the file cannot
// drift from what this package does. testdata/README.md says what each
// field means, for the other implementations (the browser's, the SDKs').

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"testing/cryptotest"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/reading"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json and the seed corpora in testdata/fuzz")

const vectorsFile = "testdata/vectors.json"

type vectorFile struct {
	Comment  string          `json:"comment"`
	Sealed   []sealedVector  `json:"sealed"`
	Wrapped  []wrappedVector `json:"wrapped"`
	Refusals []refusal       `json:"refusals"`
}

type sealedVector struct {
	Name       string         `json:"name"`
	StreamKey  string         `json:"stream_key"`
	DeviceSeed string         `json:"device_seed"`
	Device     string         `json:"device"`
	Seq        string         `json:"seq"`
	Time       string         `json:"time"`
	Epoch      string         `json:"epoch"`
	Public     map[string]any `json:"public"`
	Private    map[string]any `json:"private"`
	Nonce      string         `json:"nonce"`
	AAD        string         `json:"aad"`
	Plaintext  string         `json:"plaintext"`
	Ciphertext string         `json:"ciphertext"`
	Reading    string         `json:"reading"`
}

type keyVector struct {
	Account       string `json:"account"`
	X25519Private string `json:"x25519_private"`
	XWingSeed     string `json:"xwing_seed,omitempty"`
	X25519Public  string `json:"x25519_public"`
	XWingPublic   string `json:"xwing_public,omitempty"`
	PublicKey     string `json:"public_key"`
}

type wrappedVector struct {
	Name       string    `json:"name"`
	KEM        uint16    `json:"kem"`
	Recipient  keyVector `json:"recipient"`
	ChainID    string    `json:"chain_id"`
	Device     string    `json:"device"`
	Epoch      string    `json:"epoch"`
	Info       string    `json:"info"`
	StreamKey  string    `json:"stream_key"`
	Wrapped    string    `json:"wrapped"`
	Enc        string    `json:"enc"`
	Ct         string    `json:"ct"`
	Commitment string    `json:"commitment"`
}

// refusal is an input that must be refused: Op "open" (sealed fields) or
// "unwrap" (a wrapped key), with the error class it must give.
type refusal struct {
	Name    string `json:"name"`
	Op      string `json:"op"`
	Error   string `json:"error"`
	Message string `json:"message"`

	Device string `json:"device"`
	Epoch  string `json:"epoch"`
	// open
	Seq        string `json:"seq,omitempty"`
	Nonce      string `json:"nonce,omitempty"`
	Ciphertext string `json:"ciphertext,omitempty"`
	StreamKey  string `json:"stream_key,omitempty"`
	// unwrap
	ChainID   string     `json:"chain_id,omitempty"`
	Recipient string     `json:"recipient,omitempty"`
	Key       *keyVector `json:"key,omitempty"`
	Wrapped   string     `json:"wrapped,omitempty"`
}

// sentinels names the errors a refusal may give.
var sentinels = map[string]error{"ErrOpen": ErrOpen, "ErrUnwrap": ErrUnwrap, "ErrKEM": ErrKEM, "ErrMalformed": ErrMalformed}

func errorName(err error) string {
	for _, name := range []string{"ErrOpen", "ErrUnwrap", "ErrKEM", "ErrMalformed"} {
		if errors.Is(err, sentinels[name]) {
			return name
		}
	}
	return ""
}

// pattern returns n bytes from b on: b, b+1, b+2, ...
func pattern(b byte, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = b + byte(i)
	}
	return p
}

func hx(b []byte) string { return hex.EncodeToString(b) }

func u(n uint64) string { return strconv.FormatUint(n, 10) }

const vectorsChain = "iotledger-vectors"

// The fixed keys of the vectors.
var (
	vecDevice   = ed25519.NewKeyFromSeed(pattern(0x01, 32))
	vecDevice2  = ed25519.NewKeyFromSeed(pattern(0x02, 32))
	vecOwner    = address.Account(ed25519.NewKeyFromSeed(pattern(0x03, 32)).Public().(ed25519.PublicKey))
	vecConsumer = address.Account(ed25519.NewKeyFromSeed(pattern(0x04, 32)).Public().(ed25519.PublicKey))
	vecStream   = StreamKey(pattern(0x40, 32))
	vecStream2  = StreamKey(pattern(0x60, 32))
)

func mustKey(t *testing.T, x, seed []byte) *PrivateKey {
	t.Helper()
	k, err := NewPrivateKey(x, seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyVectorOf(t *testing.T, account string, k *PrivateKey) *keyVector {
	t.Helper()
	x, seed := k.Bytes()
	pub := k.Public()
	enc, err := pub.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return &keyVector{Account: account, X25519Private: hx(x), XWingSeed: hx(seed), X25519Public: hx(pub.X25519), XWingPublic: hx(pub.XWing), PublicKey: hx(enc)}
}

// buildVectors makes the vectors from the fixed inputs above. The wraps
// draw randomness, made reproducible with a fixed seed for crypto/rand.
func buildVectors(t *testing.T) vectorFile {
	cryptotest.SetGlobalRandom(t, 16)
	dev := address.Device(vecDevice.Public().(ed25519.PublicKey))
	ownerKey := mustKey(t, pattern(0x10, 32), pattern(0x20, 32)) // hybrid
	consumerKey := mustKey(t, pattern(0x30, 32), nil)            // X25519 only
	otherKey := mustKey(t, pattern(0x50, 32), nil)

	var v vectorFile
	v.Comment = "iotledger private readings: test vectors for other implementations, written by `go test ./private -run TestVectors -update`; testdata/README.md says what each field means"

	type sealCase struct {
		name            string
		key             ed25519.PrivateKey
		seq, time, ep   uint64
		public, private map[string]any
		stream          StreamKey
		nonce           []byte
	}
	for _, c := range []sealCase{
		{"public and private fields", vecDevice, 7, 1700000000000, 3, map[string]any{"site": "lab"}, map[string]any{"temp": 21.5, "hr": int64(70)}, vecStream, pattern(0x80, 24)},
		{"another reading of the same device and epoch", vecDevice, 8, 1700000001000, 3, map[string]any{"site": "lab"}, map[string]any{"temp": 21.75, "hr": int64(71)}, vecStream, pattern(0xa0, 24)},
		{"only private fields, every kind of value", vecDevice2, 1, 1700000002000, 1, nil,
			map[string]any{"neg": int64(-3), "ratio": 0.1, "ok": true, "note": "ünïcode ✓", "big": int64(1) << 40}, vecStream2, pattern(0xc0, 24)},
	} {
		d := address.Device(c.key.Public().(ed25519.PublicKey))
		s, err := sealFields(d, c.seq, c.ep, c.stream, c.private, c.nonce)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := seal(reading.Reading{Seq: c.seq, Time: int64(c.time), Data: c.public}, c.private, c.ep, c.stream, c.key, c.nonce)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := encodeFields(c.private)
		if err != nil {
			t.Fatal(err)
		}
		v.Sealed = append(v.Sealed, sealedVector{
			Name: c.name, StreamKey: hx(c.stream[:]), DeviceSeed: hx(c.key.Seed()), Device: d,
			Seq: u(c.seq), Time: u(c.time), Epoch: u(c.ep), Public: c.public, Private: c.private,
			Nonce: hx(s.Nonce), AAD: hx(sealedAAD(d, c.seq, c.ep)), Plaintext: hx(pt), Ciphertext: hx(s.Ciphertext), Reading: hx(raw),
		})
	}

	type wrapCase struct {
		name      string
		recipient string
		key       *PrivateKey
		epoch     uint64
	}
	var wraps [][]byte
	for _, c := range []wrapCase{
		{"to an X25519 recipient (a consumer)", vecConsumer, consumerKey, 4},
		{"to a hybrid recipient (the owner): X-Wing", vecOwner, ownerKey, 4},
	} {
		wrapped, commitment, err := Wrap(vectorsChain, dev, c.epoch, c.recipient, c.key.Public(), vecStream)
		if err != nil {
			t.Fatal(err)
		}
		w, err := ParseWrapped(wrapped)
		if err != nil {
			t.Fatal(err)
		}
		info, err := wrapInfo(vectorsChain, dev, c.epoch, c.recipient)
		if err != nil {
			t.Fatal(err)
		}
		wraps = append(wraps, wrapped)
		v.Wrapped = append(v.Wrapped, wrappedVector{
			Name: c.name, KEM: w.KEM, Recipient: *keyVectorOf(t, c.recipient, c.key),
			ChainID: vectorsChain, Device: dev, Epoch: u(c.epoch), Info: hx(info), StreamKey: hx(vecStream[:]),
			Wrapped: hx(wrapped), Enc: hx(w.Enc), Ct: hx(w.Ciphertext), Commitment: hx(commitment[:]),
		})
	}

	// Refusals of sealed fields, made from the first sealed vector.
	s0, s1 := v.Sealed[0], v.Sealed[1]
	ct0 := unhexString(t, s0.Ciphertext)
	tampered := bytes.Clone(ct0)
	tampered[0] ^= 0x01
	open := func(name string, f func(r *refusal)) {
		r := refusal{Name: name, Op: "open", Device: s0.Device, Seq: s0.Seq, Epoch: s0.Epoch, Nonce: s0.Nonce, Ciphertext: s0.Ciphertext, StreamKey: s0.StreamKey}
		f(&r)
		v.Refusals = append(v.Refusals, r)
	}
	open("wrong stream key", func(r *refusal) { r.StreamKey = hx(vecStream2[:]) })
	open("tampered ciphertext (first byte flipped)", func(r *refusal) { r.Ciphertext = hx(tampered) })
	open("tampered tag (last byte flipped)", func(r *refusal) {
		b := bytes.Clone(ct0)
		b[len(b)-1] ^= 0x80
		r.Ciphertext = hx(b)
	})
	open("swapped nonce (the nonce of another reading)", func(r *refusal) { r.Nonce = s1.Nonce })
	open("ciphertext moved to another seq", func(r *refusal) { r.Seq = s1.Seq })
	open("ciphertext moved to another epoch", func(r *refusal) { r.Epoch = "4" })
	open("ciphertext moved to another device", func(r *refusal) { r.Device = v.Sealed[2].Device })
	open("nonce of 12 bytes", func(r *refusal) { r.Nonce = s0.Nonce[:24] })

	// Refusals of wrapped keys.
	w0, w1 := v.Wrapped[0], v.Wrapped[1]
	unwrap := func(name string, w wrappedVector, f func(r *refusal)) {
		r := refusal{Name: name, Op: "unwrap", ChainID: w.ChainID, Device: w.Device, Epoch: w.Epoch, Recipient: w.Recipient.Account, Key: &w.Recipient, Wrapped: w.Wrapped}
		f(&r)
		v.Refusals = append(v.Refusals, r)
	}
	mutate := func(wrapped []byte, f func(w *Wrapped)) string {
		w, err := ParseWrapped(wrapped)
		if err != nil {
			t.Fatal(err)
		}
		w.Enc, w.Ciphertext = bytes.Clone(w.Enc), bytes.Clone(w.Ciphertext)
		f(&w)
		return hx(w.Marshal())
	}
	unwrap("wrong key: another account's X25519 key", w0, func(r *refusal) { r.Key = keyVectorOf(t, vecConsumer, otherKey) })
	unwrap("wrong recipient: the owner's key on the consumer's wrapped key", w0, func(r *refusal) { r.Key = keyVectorOf(t, vecConsumer, ownerKey) })
	unwrap("presented for another recipient (the consumer's key and wrapped key, the owner's account)", w0, func(r *refusal) { r.Recipient = vecOwner })
	unwrap("replayed wrapped key: X25519, presented for another epoch", w0, func(r *refusal) { r.Epoch = "5" })
	unwrap("replayed wrapped key: X-Wing, presented for another epoch", w1, func(r *refusal) { r.Epoch = "3" })
	unwrap("replayed wrapped key: presented for another device", w1, func(r *refusal) { r.Device = v.Sealed[2].Device })
	unwrap("replayed wrapped key: presented on another chain", w0, func(r *refusal) { r.ChainID = "another-chain" })
	unwrap("tampered ct", w0, func(r *refusal) { r.Wrapped = mutate(wraps[0], func(w *Wrapped) { w.Ciphertext[0] ^= 1 }) })
	unwrap("tampered enc (X-Wing, in its ML-KEM part)", w1, func(r *refusal) { r.Wrapped = mutate(wraps[1], func(w *Wrapped) { w.Enc[0] ^= 1 }) })
	unwrap("wrapped with X-Wing, a key without X-Wing", w1, func(r *refusal) { r.Key = keyVectorOf(t, vecOwner, consumerKey) })
	unwrap("unknown KEM id", w0, func(r *refusal) { r.Wrapped = mutate(wraps[0], func(w *Wrapped) { w.KEM = 0x0010 }) })
	unwrap("wrapped key not in the deterministic encoding (keys out of order)", w0, func(r *refusal) {
		w, _ := ParseWrapped(wraps[0])
		b := append([]byte{0xa3, 0x02}, mustCBOR(t, w.Enc)...)
		b = append(append(b, 0x01, 0x18, 0x20, 0x03), mustCBOR(t, w.Ciphertext)...)
		r.Wrapped = hx(b)
	})

	for i := range v.Refusals {
		err := v.Refusals[i].run(t)
		if err == nil {
			t.Fatalf("refusal %q: accepted", v.Refusals[i].Name)
		}
		v.Refusals[i].Error, v.Refusals[i].Message = errorName(err), err.Error()
	}
	return v
}

func unhexString(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustCBOR returns b as a CBOR byte string.
func mustCBOR(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := dcbor.EncMode.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// run applies r with this package and returns its error.
func (r refusal) run(t *testing.T) error {
	t.Helper()
	epoch, err := strconv.ParseUint(r.Epoch, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	switch r.Op {
	case "open":
		seq, err := strconv.ParseUint(r.Seq, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		key := StreamKey(unhexString(t, r.StreamKey))
		_, err = OpenFields(r.Device, seq, &reading.Sealed{Epoch: epoch, Nonce: unhexString(t, r.Nonce), Ciphertext: unhexString(t, r.Ciphertext)}, key)
		return err
	case "unwrap":
		k := mustKey(t, unhexString(t, r.Key.X25519Private), unhexString(t, r.Key.XWingSeed))
		_, err := Unwrap(r.ChainID, r.Device, epoch, r.Recipient, k, unhexString(t, r.Wrapped))
		return err
	}
	t.Fatalf("refusal %q: unknown op %q", r.Name, r.Op)
	return nil
}

// withoutRandom returns v without what a wrap draws at random (enc, ct,
// the wrapped key, its commitment), as JSON, for comparing two files.
func withoutRandom(t *testing.T, v vectorFile) string {
	t.Helper()
	v.Wrapped = append([]wrappedVector(nil), v.Wrapped...)
	for i := range v.Wrapped {
		v.Wrapped[i].Wrapped, v.Wrapped[i].Enc, v.Wrapped[i].Ct, v.Wrapped[i].Commitment = "", "", "", ""
	}
	v.Refusals = append([]refusal(nil), v.Refusals...)
	for i := range v.Refusals {
		v.Refusals[i].Wrapped = ""
	}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVectors checks testdata/vectors.json against this package: what is
// deterministic is what the package makes from the same inputs; every
// wrapped key unwraps to its stream key with its recipient's key and has
// its commitment; every refusal is refused with its error. With -update it
// rewrites the file.
func TestVectors(t *testing.T) {
	want := buildVectors(t)
	if *update {
		b, err := json.MarshalIndent(want, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatalf("%v; run go test ./private -run TestVectors -update", err)
	}
	var got vectorFile
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(withoutRandom(t, got), withoutRandom(t, want)); d != "" {
		t.Fatalf("%s differs from what this package makes (-file +package); if the change is meant, run go test ./private -run TestVectors -update:\n%s", vectorsFile, d)
	}

	for _, s := range got.Sealed {
		t.Run("sealed/"+s.Name, func(t *testing.T) {
			raw := unhexString(t, s.Reading)
			r, err := reading.Decode(raw)
			if err != nil {
				t.Fatalf("Decode(reading) = %v", err)
			}
			key := ed25519.NewKeyFromSeed(unhexString(t, s.DeviceSeed))
			if err := r.Verify(key.Public().(ed25519.PublicKey)); err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if hx(r.Sealed.Nonce) != s.Nonce || hx(r.Sealed.Ciphertext) != s.Ciphertext || u(r.Sealed.Epoch) != s.Epoch || u(r.Seq) != s.Seq || r.Device != s.Device {
				t.Fatalf("the reading's sealed part is not the vector's")
			}
			fields, err := Open(r.Reading, StreamKey(unhexString(t, s.StreamKey)))
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			pt, err := encodeFields(fields)
			if err != nil || hx(pt) != s.Plaintext {
				t.Errorf("opened fields encode to %x, %v; want the plaintext %s", pt, err, s.Plaintext)
			}
		})
	}
	for _, w := range got.Wrapped {
		t.Run("wrapped/"+w.Name, func(t *testing.T) {
			wrapped := unhexString(t, w.Wrapped)
			if c := sha256.Sum256(wrapped); hx(c[:]) != w.Commitment || Commitment(wrapped) != c {
				t.Errorf("commitment %s is not the SHA-256 of the wrapped key (%x)", w.Commitment, c)
			}
			pw, err := ParseWrapped(wrapped)
			if err != nil {
				t.Fatalf("ParseWrapped = %v", err)
			}
			if pw.KEM != w.KEM || hx(pw.Enc) != w.Enc || hx(pw.Ciphertext) != w.Ct {
				t.Errorf("wrapped is not {1: %d, 2: enc, 3: ct} of the vector", w.KEM)
			}
			epoch, err := strconv.ParseUint(w.Epoch, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			k := mustKey(t, unhexString(t, w.Recipient.X25519Private), unhexString(t, w.Recipient.XWingSeed))
			sk, err := Unwrap(w.ChainID, w.Device, epoch, w.Recipient.Account, k, wrapped)
			if err != nil {
				t.Fatalf("Unwrap = %v", err)
			}
			if hx(sk[:]) != w.StreamKey {
				t.Errorf("Unwrap = %x, want %s", sk, w.StreamKey)
			}
		})
	}
	for _, r := range got.Refusals {
		t.Run(fmt.Sprintf("refusal/%s/%s", r.Op, r.Name), func(t *testing.T) {
			err := r.run(t)
			want, ok := sentinels[r.Error]
			if !ok {
				t.Fatalf("the vector's error %q names no sentinel", r.Error)
			}
			if !errors.Is(err, want) {
				t.Fatalf("error = %v, want %s", err, r.Error)
			}
			if err.Error() != r.Message {
				t.Errorf("message %q\nthe vector's %q", err, r.Message)
			}
		})
	}
}

// TestVectorsFile: the file is there, and covers what the other
// implementations must check: both KEMs, and each refusal the issue names.
func TestVectorsFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Clean(vectorsFile))
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	kems := map[uint16]bool{}
	for _, w := range v.Wrapped {
		kems[w.KEM] = true
	}
	if !kems[KEMX25519] || !kems[KEMXWing] {
		t.Errorf("wrapped keys cover KEMs %v, want both 0x0020 and 0x647a", kems)
	}
	errs := map[string]int{}
	for _, r := range v.Refusals {
		errs[r.Op+" "+r.Error]++
	}
	for _, want := range []string{"open ErrOpen", "open ErrMalformed", "unwrap ErrUnwrap", "unwrap ErrKEM", "unwrap ErrMalformed"} {
		if errs[want] == 0 {
			t.Errorf("no refusal %q", want)
		}
	}
}
