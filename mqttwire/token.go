package mqttwire

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/zip215"
)

// MaxTokenTTL is the longest lifetime Token gives a token, and a node's
// default for the longest it accepts.
const MaxTokenTTL = 10 * time.Minute

// tokenVersion starts every token; tokenDomain starts every signed message.
const (
	tokenVersion = "v1"
	tokenDomain  = "iotledger-mqtt-v1"
)

// maxTokenLen bounds the password that is parsed: "v1." + 19 digits + "."
// + 86 characters of signature is 109.
const maxTokenLen = 128

// Errors of token checks. A node refuses the CONNECT with 0x86 Bad User
// Name or Password (MQTT 3.1.1: return code 4) for each of them.
var (
	ErrTokenMalformed = errors.New("mqttwire: token is not v1.<expiry>.<signature>")
	ErrTokenExpired   = errors.New("mqttwire: token expired")
	ErrTokenTooLong   = errors.New("mqttwire: token expiry is too far ahead")
	ErrTokenSignature = errors.New("mqttwire: token signature does not verify with the device's current key")
)

// Token makes the MQTT password of a device: valid from now until now+ttl
// (at most MaxTokenTTL), signed with the device's key. deviceID is the id
// the device is registered under (for a device whose key was rotated, its
// original id). See the package documentation for the format.
func Token(key ed25519.PrivateKey, deviceID string, now time.Time, ttl time.Duration) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("mqttwire: token: key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	if err := address.ParseDevice(deviceID); err != nil {
		return "", fmt.Errorf("mqttwire: token: %w", err)
	}
	if ttl <= 0 || ttl > MaxTokenTTL {
		return "", fmt.Errorf("mqttwire: token: ttl %v, want more than 0 and at most %v", ttl, MaxTokenTTL)
	}
	exp := strconv.FormatInt(now.Add(ttl).Unix(), 10)
	sig := ed25519.Sign(key, tokenMessage(deviceID, exp))
	return tokenVersion + "." + exp + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// tokenMessage is what a token's signature covers.
func tokenMessage(deviceID, exp string) []byte {
	return []byte(tokenDomain + "|" + deviceID + "|" + exp)
}

// ParseToken checks the form of tok and returns its expiry. It checks
// neither the time nor the signature: VerifyToken does.
func ParseToken(tok string) (time.Time, error) {
	_, exp, _, err := parseToken(tok)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(exp, 0), nil
}

// parseToken splits a token into its expiry (as sent and as a number) and
// signature.
func parseToken(tok string) (expText string, exp int64, sig []byte, err error) {
	if len(tok) > maxTokenLen {
		return "", 0, nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTokenMalformed, len(tok), maxTokenLen)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] != tokenVersion {
		return "", 0, nil, ErrTokenMalformed
	}
	expText = parts[1]
	if len(expText) == 0 || len(expText) > 19 || (len(expText) > 1 && expText[0] == '0') {
		return "", 0, nil, fmt.Errorf("%w: expiry %q is not unix seconds in decimal", ErrTokenMalformed, expText)
	}
	for _, c := range expText {
		if c < '0' || c > '9' {
			return "", 0, nil, fmt.Errorf("%w: expiry %q is not unix seconds in decimal", ErrTokenMalformed, expText)
		}
	}
	exp, err = strconv.ParseInt(expText, 10, 64)
	if err != nil {
		return "", 0, nil, fmt.Errorf("%w: expiry %q: %v", ErrTokenMalformed, expText, err)
	}
	// Go's base64 decoders skip CR and LF, even in strict mode: refuse
	// them first, so a token has one spelling only.
	if strings.ContainsAny(parts[2], "\r\n") {
		return "", 0, nil, fmt.Errorf("%w: signature is not %d bytes in unpadded base64url (it holds a line break)", ErrTokenMalformed, zip215.SignatureSize)
	}
	sig, err = base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil || len(sig) != zip215.SignatureSize {
		return "", 0, nil, fmt.Errorf("%w: signature is not %d bytes in unpadded base64url", ErrTokenMalformed, zip215.SignatureSize)
	}
	return expText, exp, sig, nil
}

// checkTimes applies the time rules: not expired, and not valid for longer
// than maxTTL from now, both with skew of tolerance for the device's clock.
func checkTimes(exp int64, now time.Time, maxTTL, skew time.Duration) error {
	n := now.Unix()
	s := int64(skew / time.Second)
	if exp < n-s {
		return fmt.Errorf("%w %d s ago; sign a new one", ErrTokenExpired, n-exp)
	}
	if exp > n+int64(maxTTL/time.Second)+s {
		return fmt.Errorf("%w: %d s from now, at most %v: check the device clock", ErrTokenTooLong, exp-n, maxTTL)
	}
	return nil
}

// VerifyToken checks tok, presented by deviceID, against the device's
// current public key key: its form, its expiry (not in the past, at most
// maxTTL ahead of now, both with skew of tolerance for the device's clock)
// and its signature, under ZIP 215. The error is one of the ErrToken
// errors, wrapped with what was wrong.
func VerifyToken(tok, deviceID string, key []byte, now time.Time, maxTTL, skew time.Duration) error {
	expText, exp, sig, err := parseToken(tok)
	if err != nil {
		return err
	}
	if err := checkTimes(exp, now, maxTTL, skew); err != nil {
		return err
	}
	if !zip215.Verify(key, tokenMessage(deviceID, expText), sig) {
		return ErrTokenSignature
	}
	return nil
}
