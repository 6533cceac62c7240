package mqtt

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/address"
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
	if err := verifyToken(tok, id, sensor.Public().(ed25519.PublicKey), now, MaxTokenTTL, time.Minute); err != nil {
		t.Errorf("verify: %v", err)
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
			err := verifyToken(tt.tok, id, pub, now, MaxTokenTTL, time.Minute)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("verify = %v, want %v", err, tt.want)
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

// A device with the all-zero seed (an example only) makes the password for
// a connection on 1 January 2026 at 00:00 UTC, valid for five minutes.
func ExampleToken() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	id := address.Device(key.Public().(ed25519.PublicKey))
	tok, err := Token(key, id, time.Unix(1767225600, 0), 5*time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("client id:", id)
	fmt.Println("user name:", id)
	fmt.Println("password: ", tok)
	// Output:
	// client id: dev1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkz3smc
	// user name: dev1zw0rjs8xfd2fzu3q3rv6p46pv28usfhqkz3smc
	// password:  v1.1767225900.J88dIXW-nc7ad2sVKeBq3lVWAdGC19HsKk5qR1DQvO0OMaAyR4Wg17qtVunCRlHnarf7aj4L0Vh38RQnG0-JCQ
}
