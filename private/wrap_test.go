package private_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/private"
)

const chain = "iotledger-test"

// account returns the account address of the Ed25519 key made from b.
func account(b byte) string {
	return address.Account(devKey(b).Public().(ed25519.PublicKey))
}

// encKey returns a fixed encryption key: X25519 from b, and an X-Wing
// seed from b too when hybrid.
func encKey(t testing.TB, b byte, hybrid bool) *private.PrivateKey {
	t.Helper()
	var seed []byte
	if hybrid {
		seed = bytes.Repeat([]byte{b ^ 0x5a}, private.XWingSeedSize)
	}
	k, err := private.NewPrivateKey(bytes.Repeat([]byte{b}, private.X25519KeySize), seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := dcbor.EncMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWrapUnwrap(t *testing.T) {
	dev, owner := devID(devKey(1)), account(2)
	k := streamKey(9)
	for _, tc := range []struct {
		name   string
		hybrid bool
		kem    uint16
		encLen int
	}{
		{"X25519", false, private.KEMX25519, 32},
		{"X-Wing", true, private.KEMXWing, 1120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			priv := encKey(t, 3, tc.hybrid)
			wrapped, commitment, err := private.Wrap(chain, dev, 4, owner, priv.Public(), k)
			if err != nil {
				t.Fatalf("Wrap = %v", err)
			}
			if commitment != sha256.Sum256(wrapped) || commitment != private.Commitment(wrapped) {
				t.Errorf("commitment %x is not the SHA-256 of the wrapped key", commitment)
			}
			w, err := private.ParseWrapped(wrapped)
			if err != nil {
				t.Fatalf("ParseWrapped = %v", err)
			}
			if w.KEM != tc.kem || len(w.Enc) != tc.encLen || len(w.Ciphertext) != 48 {
				t.Errorf("wrapped with KEM 0x%04x, enc %d bytes, ct %d bytes; want 0x%04x, %d, 48", w.KEM, len(w.Enc), len(w.Ciphertext), tc.kem, tc.encLen)
			}
			if want := enc(t, map[int]any{1: tc.kem, 2: w.Enc, 3: w.Ciphertext}); !bytes.Equal(wrapped, want) {
				t.Errorf("wrapped key is not the map {1: kem, 2: enc, 3: ct} in the deterministic encoding")
			}
			got, err := private.Unwrap(chain, dev, 4, owner, priv, wrapped)
			if err != nil {
				t.Fatalf("Unwrap = %v", err)
			}
			if got != k {
				t.Errorf("Unwrap = %x, want %x", got, k)
			}
			// The key file's bytes make the same key again.
			x, seed := priv.Bytes()
			again, err := private.NewPrivateKey(x, seed)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := private.Unwrap(chain, dev, 4, owner, again, wrapped); err != nil || got != k {
				t.Errorf("Unwrap with the key from its bytes = %x, %v", got, err)
			}
			// Each wrap draws a fresh encapsulation.
			other, _, err := private.Wrap(chain, dev, 4, owner, priv.Public(), k)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(other, wrapped) {
				t.Errorf("two wraps of one key are equal")
			}
		})
	}
}

// TestUnwrapRefuses: a wrong key, a replayed wrapped key (another epoch,
// device, chain or recipient), a changed wrapped key and one that is not a
// wrapped key, each refused with what to check.
func TestUnwrapRefuses(t *testing.T) {
	dev, owner, consumer := devID(devKey(1)), account(2), account(3)
	k := streamKey(9)
	x25519Key, xwingKey := encKey(t, 3, false), encKey(t, 4, true)
	wrap := func(priv *private.PrivateKey) []byte {
		w, _, err := private.Wrap(chain, dev, 4, owner, priv.Public(), k)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	wrappedX, wrappedXW := wrap(x25519Key), wrap(xwingKey)
	mutate := func(wrapped []byte, f func(w *private.Wrapped)) []byte {
		w, err := private.ParseWrapped(wrapped)
		if err != nil {
			t.Fatal(err)
		}
		w.Enc, w.Ciphertext = bytes.Clone(w.Enc), bytes.Clone(w.Ciphertext)
		f(&w)
		return w.Marshal()
	}
	// A wrapped key's map with key 3 first.
	notDeterministic := append(append([]byte{0xa3, 0x03}, enc(t, make([]byte, 48))...), 0x01, 0x18, 0x20, 0x02)
	notDeterministic = append(notDeterministic, enc(t, make([]byte, 32))...)
	const check = "check that the private key is"
	type ctx struct {
		chain, device string
		epoch         uint64
		recipient     string
	}
	good := ctx{chain, dev, 4, owner}
	for _, tc := range []struct {
		name    string
		ctx     ctx
		priv    *private.PrivateKey
		wrapped []byte
		want    error
		says    []string
	}{
		{"X25519: wrong key", good, encKey(t, 5, false), wrappedX, private.ErrUnwrap, []string{"wrapped stream key does not open", check}},
		{"X-Wing: wrong key", good, encKey(t, 5, true), wrappedXW, private.ErrUnwrap, []string{"X-Wing (0x647a) key of device", check}},
		{"X25519: replayed for another epoch", ctx{chain, dev, 5, owner}, x25519Key, wrappedX, private.ErrUnwrap, []string{"epoch 5", "the one for this chain, device, epoch and recipient"}},
		{"X-Wing: replayed for another epoch", ctx{chain, dev, 3, owner}, xwingKey, wrappedXW, private.ErrUnwrap, []string{"epoch 3"}},
		{"replayed for another device", ctx{chain, devID(devKey(7)), 4, owner}, x25519Key, wrappedX, private.ErrUnwrap, []string{check}},
		{"replayed on another chain", ctx{"other-chain", dev, 4, owner}, xwingKey, wrappedXW, private.ErrUnwrap, []string{"chain other-chain"}},
		{"presented as another recipient's", ctx{chain, dev, 4, consumer}, x25519Key, wrappedX, private.ErrUnwrap, []string{"for " + consumer, check}},
		{"X25519: tampered ct", good, x25519Key, mutate(wrappedX, func(w *private.Wrapped) { w.Ciphertext[0] ^= 1 }), private.ErrUnwrap, []string{check}},
		{"X25519: tampered enc", good, x25519Key, mutate(wrappedX, func(w *private.Wrapped) { w.Enc[0] ^= 1 }), private.ErrUnwrap, []string{check}},
		{"X25519: enc of low order", good, x25519Key, mutate(wrappedX, func(w *private.Wrapped) { w.Enc = make([]byte, 32) }), private.ErrUnwrap, []string{check}},
		{"X-Wing: tampered ML-KEM ciphertext", good, xwingKey, mutate(wrappedXW, func(w *private.Wrapped) { w.Enc[0] ^= 1 }), private.ErrUnwrap, []string{check}},
		{"X-Wing: tampered X25519 part", good, xwingKey, mutate(wrappedXW, func(w *private.Wrapped) { w.Enc[1100] ^= 1 }), private.ErrUnwrap, []string{check}},
		{"X-Wing wrapped, key without X-Wing", good, x25519Key, wrappedXW, private.ErrKEM, []string{"wrapped with X-Wing (0x647a)", "has only its X25519 part"}},
		{"X25519 label on an X-Wing wrap", good, xwingKey, mutate(wrappedXW, func(w *private.Wrapped) { w.KEM = private.KEMX25519 }), private.ErrMalformed, []string{"enc is 1120 bytes; X25519 (0x0020) sends 32"}},
		{"unknown KEM", good, xwingKey, mutate(wrappedX, func(w *private.Wrapped) { w.KEM = 0x0010 }), private.ErrMalformed, []string{"KEM 0x0010 is neither X25519 (0x0020) nor X-Wing (0x647a)"}},
		{"short ct", good, x25519Key, mutate(wrappedX, func(w *private.Wrapped) { w.Ciphertext = w.Ciphertext[:47] }), private.ErrMalformed, []string{"ct is 47 bytes; a wrapped stream key is 48"}},
		{"not CBOR", good, x25519Key, []byte("garbage"), private.ErrMalformed, []string{"wrapped key: not a CBOR map"}},
		{"empty", good, x25519Key, nil, private.ErrMalformed, []string{"wrapped key: empty"}},
		{"no ct", good, x25519Key, enc(t, map[int]any{1: 0x20, 2: make([]byte, 32)}), private.ErrMalformed, []string{"no key 3 (ct)"}},
		{"a fourth key", good, x25519Key, enc(t, map[int]any{1: 0x20, 2: make([]byte, 32), 3: make([]byte, 48), 4: 0}), private.ErrMalformed, []string{"a key other than 1 to 3"}},
		{"a text key", good, x25519Key, enc(t, map[any]any{"kem": 0x20, 2: make([]byte, 32), 3: make([]byte, 48)}), private.ErrMalformed, []string{"wrapped key: "}},
		{"kem as text", good, x25519Key, enc(t, map[int]any{1: "x25519", 2: make([]byte, 32), 3: make([]byte, 48)}), private.ErrMalformed, []string{"key 1 (kem id) is not an unsigned integer"}},
		{"enc as text", good, x25519Key, enc(t, map[int]any{1: 0x20, 2: "enc", 3: make([]byte, 48)}), private.ErrMalformed, []string{"key 2 (enc) is not a byte string"}},
		{"not deterministic", good, x25519Key, notDeterministic, private.ErrMalformed, []string{"not in the deterministic encoding"}},
		{"no private key", good, nil, wrappedX, nil, []string{"no private key given"}},
		{"epoch 0", ctx{chain, dev, 0, owner}, x25519Key, wrappedX, private.ErrContext, []string{"epoch 0"}},
		{"no chain id", ctx{"", dev, 4, owner}, x25519Key, wrappedX, private.ErrContext, []string{"empty chain id"}},
		{"recipient is a device id", ctx{chain, dev, 4, dev}, x25519Key, wrappedX, private.ErrContext, []string{"recipient"}},
		{"device is an account", ctx{chain, owner, 4, owner}, x25519Key, wrappedX, private.ErrContext, []string{"device"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := private.Unwrap(tc.ctx.chain, tc.ctx.device, tc.ctx.epoch, tc.ctx.recipient, tc.priv, tc.wrapped)
			if got != (private.StreamKey{}) {
				t.Errorf("Unwrap returned a key with its error")
			}
			if tc.want != nil {
				wantErr(t, err, tc.want, tc.says...)
			} else {
				if err == nil {
					t.Fatal("Unwrap succeeded")
				}
				for _, s := range tc.says {
					if !bytes.Contains([]byte(err.Error()), []byte(s)) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
			}
			t.Log(err)
		})
	}
}

func TestWrapRefuses(t *testing.T) {
	dev, owner := devID(devKey(1)), account(2)
	pub := encKey(t, 3, true).Public()
	for _, tc := range []struct {
		name string
		to   private.PublicKey
		says string
	}{
		{"no key", private.PublicKey{}, "the X25519 key is 0 bytes, not 32"},
		{"short X-Wing key", private.PublicKey{X25519: pub.X25519, XWing: pub.XWing[:1000]}, "the X-Wing key is 1000 bytes, not 1216"},
		{"X-Wing key out of range", private.PublicKey{X25519: pub.X25519, XWing: bytes.Repeat([]byte{0xff}, 1216)}, "the X-Wing key is not a valid ML-KEM-768 + X25519 key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _, err := private.Wrap(chain, dev, 1, owner, tc.to, streamKey(1))
			if w != nil {
				t.Errorf("Wrap returned a wrapped key with its error")
			}
			wantErr(t, err, private.ErrMalformed, tc.says, owner)
		})
	}
	low := private.PublicKey{X25519: make([]byte, 32)} // a point of low order: no shared secret
	if _, _, err := private.Wrap(chain, dev, 1, owner, low, streamKey(1)); err == nil {
		t.Errorf("Wrap to an X25519 key of low order succeeded")
	}
}

func TestPublicKeyEncoding(t *testing.T) {
	for _, hybrid := range []bool{false, true} {
		pub := encKey(t, 3, hybrid).Public()
		b, err := pub.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]any{1: pub.X25519}
		if hybrid {
			want[2] = pub.XWing
		}
		if !bytes.Equal(b, enc(t, want)) {
			t.Errorf("hybrid %v: Marshal = %x, want the map {1: x25519, 2: x-wing}", hybrid, b)
		}
		got, err := private.ParsePublicKey(b)
		if err != nil {
			t.Fatalf("ParsePublicKey(Marshal) = %v", err)
		}
		if d := cmp.Diff(got, pub); d != "" {
			t.Errorf("hybrid %v: round trip (-got +want):\n%s", hybrid, d)
		}
		if got.Hybrid() != hybrid || (got.KEM() == private.KEMXWing) != hybrid {
			t.Errorf("hybrid %v: Hybrid %v, KEM 0x%04x", hybrid, got.Hybrid(), got.KEM())
		}
	}
	pub := encKey(t, 3, true).Public()
	for _, tc := range []struct {
		name string
		b    []byte
		says string
	}{
		{"empty", nil, "empty"},
		{"an array", enc(t, []any{pub.X25519}), "not a CBOR map"},
		{"no x25519", enc(t, map[int]any{2: pub.XWing}), "no key 1 (x25519)"},
		{"short x25519", enc(t, map[int]any{1: pub.X25519[:31]}), "the X25519 key is 31 bytes, not 32"},
		{"x25519 as text", enc(t, map[int]any{1: string(pub.X25519)}), "key 1 is not a byte string"},
		{"empty x-wing", enc(t, map[int]any{1: pub.X25519, 2: []byte{}}), "key 2 (x-wing) is empty"},
		{"short x-wing", enc(t, map[int]any{1: pub.X25519, 2: pub.XWing[1:]}), "the X-Wing key is 1215 bytes, not 1216"},
		{"a third key", enc(t, map[int]any{1: pub.X25519, 3: 1}), "a key other than 1 to 2"},
		{"not deterministic", append([]byte{0xa1, 0x01, 0x59, 0x00, 0x20}, pub.X25519...), "not in the deterministic encoding"},
		{"trailing byte", append(enc(t, map[int]any{1: pub.X25519}), 0), "extraneous data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := private.ParsePublicKey(tc.b)
			if k.X25519 != nil || k.XWing != nil {
				t.Errorf("ParsePublicKey returned a key with its error")
			}
			wantErr(t, err, private.ErrMalformed, tc.says)
		})
	}
}

func TestPrivateKeys(t *testing.T) {
	for _, hybrid := range []bool{false, true} {
		k, err := private.GenerateKey(hybrid)
		if err != nil {
			t.Fatal(err)
		}
		if k.Hybrid() != hybrid || k.Public().Hybrid() != hybrid {
			t.Errorf("GenerateKey(%v): Hybrid %v, public Hybrid %v", hybrid, k.Hybrid(), k.Public().Hybrid())
		}
		if err := k.Public().Check(); err != nil {
			t.Errorf("GenerateKey(%v): public key: %v", hybrid, err)
		}
		other, err := private.GenerateKey(hybrid)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(other.Public().X25519, k.Public().X25519) {
			t.Errorf("two generated keys are equal")
		}
		x, seed := k.Bytes()
		again, err := private.NewPrivateKey(x, seed)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(again.Public(), k.Public()); d != "" {
			t.Errorf("NewPrivateKey(Bytes()) has another public key:\n%s", d)
		}
	}
	for _, tc := range []struct {
		name    string
		x, seed []byte
		says    string
	}{
		{"no X25519 key", nil, nil, "the X25519 key is 0 bytes, not 32"},
		{"long X25519 key", make([]byte, 33), nil, "the X25519 key is 33 bytes, not 32"},
		{"short seed", make([]byte, 32), make([]byte, 31), "the X-Wing seed is 31 bytes, not 32"},
		{"expanded X-Wing key", make([]byte, 32), make([]byte, 2400), "the X-Wing seed is 2400 bytes, not 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := private.NewPrivateKey(tc.x, tc.seed)
			if k != nil {
				t.Errorf("NewPrivateKey returned a key with its error")
			}
			wantErr(t, err, private.ErrMalformed, tc.says)
		})
	}
}
