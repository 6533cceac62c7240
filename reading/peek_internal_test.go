package reading

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// TestPeek: Peek reads the device and seq of the readings Sign makes, and
// nothing of what the fast path does not take: another valid encoding,
// a reading whose data the fast path refuses, or bytes that are no reading.
func TestPeek(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	good, err := Sign(Reading{Seq: 1 << 40, Time: 5, Data: map[string]any{"t": 21.5, "n": int64(-3), "on": true, "s": "x"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode(good)
	if err != nil {
		t.Fatal(err)
	}
	dev, seq, ok := Peek(good)
	if !ok || string(dev) != s.Device || seq != 1<<40 {
		t.Fatalf("Peek(a reading Sign made) = %q, %d, %v; want %q, %d, true", dev, seq, ok, s.Device, uint64(1<<40))
	}
	if n := testing.AllocsPerRun(100, func() { Peek(good) }); n > 1 {
		t.Errorf("Peek allocates %v times, want at most once (the device id's check)", n)
	}

	sealed, err := Sign(Reading{Seq: 77, Sealed: &Sealed{Epoch: 2, Nonce: make([]byte, NonceSize), Ciphertext: make([]byte, 40)}}, key)
	if err != nil {
		t.Fatal(err)
	}
	if dev, seq, ok := Peek(sealed); !ok || string(dev) != s.Device || seq != 77 {
		t.Errorf("Peek(a sealed reading Sign made) = %q, %d, %v; want %q, 77, true", dev, seq, ok, s.Device)
	}
	if n := testing.AllocsPerRun(100, func() { Peek(sealed) }); n > 1 {
		t.Errorf("Peek of a sealed reading allocates %v times, want at most once", n)
	}

	// The same reading with a data value the fast path refuses (a NaN):
	// Peek must not read it, since Decode refuses it.
	nan := signPayload(t, key, s.protected, bytes.Replace(s.payload, []byte{0xf9, 0x4d, 0x60}, []byte{0xf9, 0x7e, 0x00}, 1)) // 21.5 in half precision
	if _, err := Decode(nan); err == nil {
		t.Fatal("the NaN reading decodes; the test needs one that does not")
	}
	for name, raw := range map[string][]byte{
		"truncated":     good[:len(good)-1],
		"too large":     append(bytes.Clone(good), make([]byte, MaxSize)...),
		"untagged":      good[1:],
		"garbage":       []byte("not a reading"),
		"empty":         nil,
		"nan":           nan,
		"other device":  signPayload(t, key, bytes.Replace(s.protected, []byte(s.Device[len(s.Device)-2:]), []byte("qq"), 1), s.payload),
		"trailing byte": append(bytes.Clone(good), 0),
	} {
		if dev, seq, ok := Peek(raw); ok {
			t.Errorf("%s: Peek = %q, %d, true; want nothing read", name, dev, seq)
		}
	}
}

// signPayload frames a protected header and payload as Sign would, signed
// with key.
func signPayload(t *testing.T, key ed25519.PrivateKey, protected, pl []byte) []byte {
	t.Helper()
	msg, err := dcbor.EncMode.Marshal([]any{"Signature1", protected, []byte{}, pl})
	if err != nil {
		t.Fatal(err)
	}
	raw := append([]byte{0xd2, 0x84}, dcbor.AppendBytes(nil, protected)...)
	raw = append(raw, 0xa0)
	raw = dcbor.AppendBytes(raw, pl)
	return dcbor.AppendBytes(raw, ed25519.Sign(key, msg))
}

// FuzzPeek: Peek reads exactly the readings Decode takes by its fast path,
// with their device and seq, so that a reading Peek reads is one Decode
// accepts. The seed corpus is FuzzDecodeFast's (testdata/fuzz).
func FuzzPeek(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		dev, seq, ok := Peek(raw)
		fast, fastOK := decodeFast(raw)
		fastOK = fastOK && len(raw) <= MaxSize // Decode checks the size first
		if ok != fastOK {
			t.Fatalf("Peek ok %v, Decode's fast path %v: % x", ok, fastOK, raw)
		}
		if !ok {
			return
		}
		if string(dev) != fast.Device || seq != fast.Seq {
			t.Fatalf("Peek = %q, %d; the fast path decodes %q, %d", dev, seq, fast.Device, fast.Seq)
		}
		s, err := Decode(raw)
		if err != nil || s.Device != string(dev) || s.Seq != seq {
			t.Fatalf("Decode = %v, %v after Peek read %q, %d", s, err, dev, seq)
		}
	})
}
