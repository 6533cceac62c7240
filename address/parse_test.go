package address_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/bech32"

	"github.com/iotledger/iotledger/address"
)

// TestGolden pins the derivation: identifiers are stored forever, so a
// change here is a change of format.
func TestGolden(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	for _, tc := range []struct{ got, want string }{
		{address.Device(pub), "dev1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkz3smc"},
		{address.Account(pub), "acc1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqfd4tv9"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
	// The data part is the first 20 bytes of SHA-256 of the key.
	_, data, err := bech32.Decode(address.Device(pub))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := bech32.ConvertBits(data, 5, 8, false)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pub)
	if !bytes.Equal(raw, sum[:address.Len]) {
		t.Errorf("data = %x, want %x", raw, sum[:address.Len])
	}
}

func encodeWith(t *testing.T, hrp string, raw []byte, m bool) string {
	t.Helper()
	conv, err := bech32.ConvertBits(raw, 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if m {
		s, err = bech32.EncodeM(hrp, conv)
	} else {
		s, err = bech32.Encode(hrp, conv)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseKinds(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	dev, acc := address.Device(pub), address.Account(pub)
	sum := sha256.Sum256(pub)
	for _, tc := range []struct {
		name  string
		parse func(string) error
		s     string
		want  error
	}{
		{"device", address.ParseDevice, dev, nil},
		{"account", address.ParseAccount, acc, nil},
		{"account as device", address.ParseDevice, acc, address.ErrWrongKind},
		{"device as account", address.ParseAccount, dev, address.ErrWrongKind},
		{"other prefix", address.ParseDevice, encodeWith(t, "xyz", sum[:20], false), address.ErrWrongKind},
		{"all upper case", address.ParseDevice, strings.ToUpper(dev), address.ErrInvalid},
		{"32 bytes of data", address.ParseDevice, encodeWith(t, "dev", sum[:], false), address.ErrInvalid},
		{"19 bytes of data", address.ParseDevice, encodeWith(t, "dev", sum[:19], false), address.ErrInvalid},
		{"bech32m checksum", address.ParseDevice, encodeWith(t, "dev", sum[:20], true), address.ErrInvalid},
		{"surrounding space", address.ParseDevice, " " + dev, address.ErrInvalid},
		{"too long", address.ParseAccount, "acc1" + strings.Repeat("q", address.MaxLen), address.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.parse(tc.s); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("parse(%q) = %v, want %v", tc.s, err, tc.want)
			}
		})
	}
}
