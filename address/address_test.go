package address_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/address"
)

func TestRoundTrip(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	dev, acc := address.Device(pub), address.Account(pub)
	if !strings.HasPrefix(dev, "dev1") || !strings.HasPrefix(acc, "acc1") {
		t.Fatalf("got %q and %q, want dev1... and acc1...", dev, acc)
	}
	if err := address.ParseDevice(dev); err != nil {
		t.Errorf("ParseDevice(%q) = %v", dev, err)
	}
	if err := address.ParseAccount(acc); err != nil {
		t.Errorf("ParseAccount(%q) = %v", acc, err)
	}
	if err := address.ParseDevice(acc); !errors.Is(err, address.ErrWrongKind) {
		t.Errorf("ParseDevice(account) = %v, want ErrWrongKind", err)
	}
}

func TestParseRejects(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	dev := address.Device(pub)
	typo := []byte(dev)
	typo[len(typo)-3] ^= 1
	for _, s := range []string{"", "dev1", dev[:len(dev)-1], string(typo), strings.ToUpper(dev)[:3] + dev[3:], strings.Repeat("q", 100)} {
		if err := address.ParseDevice(s); !errors.Is(err, address.ErrInvalid) {
			t.Errorf("ParseDevice(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func Example() {
	seed := make([]byte, 32)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	id := address.Device(pub)
	fmt.Println(id[:4], address.ParseDevice(id) == nil)
	// Output: dev1 true
}

// Parsing remembers valid ids; what it remembers must not let another kind
// or a changed string through.
func TestParseRemembers(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	id := address.Device(pub)
	for range 2 {
		if err := address.ParseDevice(id); err != nil {
			t.Fatalf("ParseDevice(%s) = %v", id, err)
		}
	}
	if err := address.ParseAccount(id); !errors.Is(err, address.ErrWrongKind) {
		t.Errorf("ParseAccount(device id) after caching = %v, want ErrWrongKind", err)
	}
	last := id[len(id)-1]
	changed := id[:len(id)-1] + string("qp"[map[bool]int{true: 1}[last == 'q']])
	if err := address.ParseDevice(changed); err == nil {
		t.Errorf("ParseDevice(%s), one character changed, = nil", changed)
	}
	if err := address.ParseDevice(strings.ToUpper(id)); err == nil {
		t.Errorf("ParseDevice(upper case) = nil, want an error")
	}
}
