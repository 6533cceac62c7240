package apiwire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// The API writes each kind of value one way (the OpenAPI document's
// description says the same, for clients in any language):
//
//   - Hashes (app hashes, log roots, state digests, block and transaction
//     hashes): lowercase hex, type Hex.
//   - Keys (Ed25519 public keys) and signed payloads: standard base64
//     with padding (RFC 4648 section 4), as Go writes []byte and as
//     genesis.json writes keys. Validator addresses are uppercase hex, as
//     CometBFT writes them.
//   - Integers that can exceed 2^53 (balances, amounts, escrow, nonces):
//     decimal strings, types Uint64 and Int64, because JavaScript rounds
//     larger numbers. Heights, indexes, sequence numbers, counts and
//     voting powers stay numbers.
//
// The values of documents the ledger stores as their authors wrote them
// (reading data, twin state, contract state and event fields) keep their
// JSON types.

// Hex is bytes written as a lowercase hex string in JSON. It has no
// String method, so that fmt's %x and %X print it as the bytes they are.
type Hex []byte

// MarshalJSON writes h as a lowercase hex string ("" for none).
func (h Hex) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+2*len(h))
	b = append(b, '"')
	b = hex.AppendEncode(b, h)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a hex string, in either case.
func (h *Hex) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("apiwire: a hash is a hex string, not %s", b)
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("apiwire: hash %q is not hex: %w", s, err)
	}
	*h = v
	return nil
}

// Uint64 is an unsigned 64-bit integer written as a decimal string in
// JSON ("123"); it reads a string or a bare number.
type Uint64 uint64

// MarshalJSON writes n as a decimal string.
func (n Uint64) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendUint(b, uint64(n), 10)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a decimal string or a bare JSON number (as older
// nodes and clients write it).
func (n *Uint64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := strconv.ParseUint(string(unquote(b)), 10, 64)
	if err != nil {
		return fmt.Errorf("apiwire: %s is not an unsigned 64-bit integer (a decimal string such as \"123\")", b)
	}
	*n = Uint64(v)
	return nil
}

// String returns n in decimal.
func (n Uint64) String() string { return strconv.FormatUint(uint64(n), 10) }

// Int64 is a signed 64-bit integer written as a decimal string in JSON
// ("-123"); it reads a string or a bare number.
type Int64 int64

// MarshalJSON writes n as a decimal string.
func (n Int64) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a decimal string or a bare JSON number (as older
// nodes and clients write it).
func (n *Int64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := strconv.ParseInt(string(unquote(b)), 10, 64)
	if err != nil {
		return fmt.Errorf("apiwire: %s is not a signed 64-bit integer (a decimal string such as \"-123\")", b)
	}
	*n = Int64(v)
	return nil
}

// String returns n in decimal.
func (n Int64) String() string { return strconv.FormatInt(int64(n), 10) }

// unquote strips the quotes of a JSON string holding a number; a bare
// number comes back as it is.
func unquote(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return b[1 : len(b)-1]
	}
	return b
}
