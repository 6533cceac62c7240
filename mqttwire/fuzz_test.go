package mqttwire

import (
	"crypto/ed25519"
	"encoding/base64"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// fuzzBase is the time the fuzz target's clock is set from.
const fuzzBase = 1767225600

// FuzzVerifyToken checks VerifyToken against a plain reference: a token is
// accepted exactly when it has the documented form, its expiry is in the
// window, and it is, character for character, the token the device's key
// makes for that expiry (Ed25519 signatures are deterministic, and the
// strict base64url decoding leaves no second spelling). So no token the
// key did not make verifies, whatever the fuzzer tries. The clock is
// fuzzBase + offset. The seed corpus is in testdata/fuzz.
func FuzzVerifyToken(f *testing.F) {
	id := deviceID(sensor)
	for _, d := range []time.Duration{0, -2 * time.Minute, 11 * time.Minute} {
		tok, err := Token(sensor, id, time.Unix(fuzzBase, 0).Add(d), time.Minute)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok, int32(0))
	}
	pub := sensor.Public().(ed25519.PublicKey)
	form := regexp.MustCompile(`^v1\.(0|[1-9][0-9]{0,18})\.[A-Za-z0-9_-]{86}$`)
	f.Fuzz(func(t *testing.T, tok string, offset int32) {
		now := time.Unix(fuzzBase+int64(offset), 0)
		err := VerifyToken(tok, id, pub, now, MaxTokenTTL, time.Minute)

		want := false
		if m := form.FindStringSubmatch(tok); m != nil {
			if exp, perr := strconv.ParseInt(m[1], 10, 64); perr == nil {
				n := now.Unix()
				made := "v1." + m[1] + "." + base64.RawURLEncoding.EncodeToString(
					ed25519.Sign(sensor, []byte("iotledger-mqtt-v1|"+id+"|"+m[1])))
				want = exp >= n-60 && exp <= n+600+60 && tok == made
			}
		}
		if got := err == nil; got != want {
			t.Fatalf("VerifyToken(%q) at %d = %v; the reference says accepted %v", tok, now.Unix(), err, want)
		}
		if _, perr := ParseToken(tok); err == nil && perr != nil {
			t.Fatalf("ParseToken refuses a token VerifyToken accepts: %v", perr)
		}
	})
}
