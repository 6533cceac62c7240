package private

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/reading"
)

// TestOpenedFieldsChecked: a sealed part that opens (the right key) but
// holds something other than a map of valid fields is refused as
// malformed, never returned.
func TestOpenedFieldsChecked(t *testing.T) {
	dev := address.Device(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey))
	var key StreamKey
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	for _, tc := range []struct {
		name string
		pt   []byte
		says string
	}{
		{"empty plaintext", nil, "not a CBOR map"},
		{"an array", []byte{0x81, 0x01}, "not a CBOR map"},
		{"null", []byte{0xf6}, "holds no field"},
		{"empty map", []byte{0xa0}, "holds no field"},
		{"integer key", []byte{0xa1, 0x01, 0x01}, "not a CBOR map of text"},
		{"NaN", []byte{0xa1, 0x61, 't', 0xf9, 0x7e, 0x00}, `field "t" is NaN`},
		{"nested map", []byte{0xa1, 0x61, 't', 0xa0}, "values are numbers, text or bool"},
		{"empty name", []byte{0xa1, 0x60, 0x01}, "field name"},
		{"trailing bytes", []byte{0xa1, 0x61, 't', 0x01, 0x00}, "not a CBOR map"},
		{"garbage", []byte("not cbor at all"), "not a CBOR map"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &reading.Sealed{Epoch: 1, Nonce: nonce, Ciphertext: aead.Seal(nil, nonce, tc.pt, sealedAAD(dev, 5, 1))}
			fields, err := OpenFields(dev, 5, s, key)
			if !errors.Is(err, ErrMalformed) || fields != nil {
				t.Fatalf("OpenFields = %v, %v; want ErrMalformed", fields, err)
			}
			for _, want := range []string{"the sealed part opened but", tc.says} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not say %q", err, want)
				}
			}
		})
	}
}

// TestSealedAAD: the additional data is the documented array.
func TestSealedAAD(t *testing.T) {
	got := sealedAAD("dev1x", 1, 24)
	want := append([]byte{0x84, 0x73}, "iotledger-sealed-v1"...)
	want = append(want, 0x65, 'd', 'e', 'v', '1', 'x', 0x01, 0x18, 24)
	if !bytes.Equal(got, want) {
		t.Errorf("sealedAAD = %x, want %x", got, want)
	}
}
