package mqttwire

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/address"
)

// key returns the Ed25519 key of a fixed seed.
func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func deviceID(k ed25519.PrivateKey) string { return address.Device(k.Public().(ed25519.PublicKey)) }

var (
	sensor = key(2) // the device of the tests
	other  = key(3) // another device
)

var tokenRE = regexp.MustCompile(`^v1\.[1-9][0-9]*\.[A-Za-z0-9_-]{86}$`)

func TestTokenRoundTrip(t *testing.T) {
	now := time.Unix(1767225600, 0)
	id := deviceID(sensor)
	tok, err := Token(sensor, id, now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !tokenRE.MatchString(tok) {
		t.Fatalf("token %q does not match %s", tok, tokenRE)
	}
	if !strings.HasPrefix(tok, "v1.1767225900.") {
		t.Errorf("token %q, want expiry 1767225900", tok)
	}
	// The signature is plain Ed25519 over the documented text.
	sig, _ := base64.RawURLEncoding.DecodeString(tok[len("v1.1767225900."):])
	if !ed25519.Verify(sensor.Public().(ed25519.PublicKey), []byte("iotledger-mqtt-v1|"+id+"|1767225900"), sig) {
		t.Error("signature is not over iotledger-mqtt-v1|ID|EXPIRY")
	}
	if err := VerifyToken(tok, id, sensor.Public().(ed25519.PublicKey), now, MaxTokenTTL, time.Minute); err != nil {
		t.Errorf("verify: %v", err)
	}
	exp, err := ParseToken(tok)
	if err != nil || !exp.Equal(time.Unix(1767225900, 0)) {
		t.Errorf("ParseToken = %v, %v; want 1767225900", exp, err)
	}
}

func TestVerifyToken(t *testing.T) {
	now := time.Unix(1767225600, 0)
	id := deviceID(sensor)
	pub := sensor.Public().(ed25519.PublicKey)
	mk := func(k ed25519.PrivateKey, id string, at time.Time, ttl time.Duration) string {
		tok, err := Token(k, id, at, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := mk(sensor, id, now, time.Minute)
	sigOf := func(tok string) string { return tok[strings.LastIndex(tok, ".")+1:] }
	tests := []struct {
		name string
		tok  string
		want error // nil: accepted
	}{
		{"fresh", good, nil},
		{"expires now", mk(sensor, id, now.Add(-time.Minute), time.Minute), nil},
		{"expired 60 s ago: within the skew", mk(sensor, id, now.Add(-2*time.Minute), time.Minute), nil},
		{"expired 61 s ago", mk(sensor, id, now.Add(-2*time.Minute-time.Second), time.Minute), ErrTokenExpired},
		{"expiry 11 min ahead: within the skew", mk(sensor, id, now.Add(time.Minute), 10*time.Minute), nil},
		{"expiry 11 min 1 s ahead", mk(sensor, id, now.Add(time.Minute+time.Second), 10*time.Minute), ErrTokenTooLong},
		{"signed by another key", mk(other, id, now, time.Minute), ErrTokenSignature},
		{"signed for another device", mk(sensor, deviceID(other), now, time.Minute), ErrTokenSignature},
		{"expiry changed", "v1.1767225661." + sigOf(good), ErrTokenSignature},
		{"version 2", "v2" + good[2:], ErrTokenMalformed},
		{"leading zero", "v1.01767225660." + sigOf(good), ErrTokenMalformed},
		{"signed expiry", "v1.+1767225660." + sigOf(good), ErrTokenMalformed},
		{"padded signature", good + "==", ErrTokenMalformed},
		{"short signature", good[:len(good)-4], ErrTokenMalformed},
		{"extra part", good + ".x", ErrTokenMalformed},
		{"empty", "", ErrTokenMalformed},
		{"too long", "v1.1." + strings.Repeat("A", 200), ErrTokenMalformed},
		{"expiry overflows", "v1.99999999999999999999." + sigOf(good), ErrTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyToken(tt.tok, id, pub, now, MaxTokenTTL, time.Minute)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("verify = %v, want %v", err, tt.want)
			}
			// ParseToken checks the form only: it refuses exactly the
			// malformed tokens.
			if _, perr := ParseToken(tt.tok); (perr != nil) != errors.Is(tt.want, ErrTokenMalformed) {
				t.Errorf("ParseToken = %v; want an error only for a malformed token", perr)
			}
		})
	}
}

func TestTokenArguments(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		key  ed25519.PrivateKey
		id   string
		ttl  time.Duration
	}{
		{"zero ttl", sensor, deviceID(sensor), 0},
		{"ttl over 10 min", sensor, deviceID(sensor), MaxTokenTTL + time.Second},
		{"not a device id", sensor, "acc1xyz", time.Minute},
		{"short key", sensor[:32], deviceID(sensor), time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := Token(tt.key, tt.id, now, tt.ttl); err == nil {
				t.Errorf("Token = %q, want an error", tok)
			}
		})
	}
}
