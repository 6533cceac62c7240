// Package reading is the format of an iotledger reading: what a device signs
// and what the ledger stores, forever, as one leaf of its Merkle log.
//
// A reading is a COSE_Sign1 message (RFC 9052), tagged (CBOR tag 18), signed
// with EdDSA (algorithm -8) by the device's Ed25519 key. Its protected header
// holds the algorithm and, as kid (label 4), the device id in its text form
// (dev1...). Its payload is a CBOR map with integer keys:
//
//	1: device id (text, equal to the kid)
//	2: sequence number (uint, chosen by the device, unique per device)
//	3: time (int, unix milliseconds, the device's clock)
//	4: data (map of text to number, text or bool)
//	5: sealed (optional) = {1: epoch (uint >= 1), 2: nonce (bstr, 24 bytes), 3: ciphertext (bstr)}
//
// Keys 1 to 4 are required, 5 is optional, and no other key is allowed;
// data may be null (what [Sign] writes for a reading without data, or
// whose fields are all sealed), the others may not. Decode refuses a
// payload without one of them and names the missing key.
//
// Key 5 holds the reading's private fields, sealed by the device
// ([Sealed]): the XChaCha20-Poly1305 ciphertext of the deterministic CBOR
// map of those fields, under the device's stream key for that epoch, with
// a random 24-byte nonce. Its map has exactly the keys 1, 2 and 3; the
// epoch is at least 1, the nonce exactly [NonceSize] bytes and the
// ciphertext at least [TagSize] (the Poly1305 tag). This package checks
// only that shape: it never sees a key, and the signature covers the
// ciphertext, so the ledger and every verifier check a sealed reading as
// any other. Package private seals and opens it; docs/PRIVATE.md is the
// design (the additional data, the keys, the epochs).
//
// A reading is at most [MaxSize] bytes. Any COSE library can make one (t_cose,
// go-cose, pycose); [Sign] is the reference. Payloads are written in the core
// deterministic encoding of RFC 8949 by [Sign]; [Decode] accepts any valid
// encoding of the payload and of the protected header, since the signature
// covers those bytes as sent and the ledger stores exactly those bytes. The
// COSE_Sign1 array around them must be in the core deterministic encoding
// with an empty unprotected header (what COSE libraries write by default), so
// that every byte of a stored reading is either fixed framing or signed: a
// gateway cannot alter a reading, or hide data in it, without breaking the
// signature.
//
// Decode returns data integers as int64 (uint64 for values above the int64
// range) and floating-point numbers as float64.
//
// Signatures are checked under ZIP 215 rules (package internal/zip215), the
// same rules every validator applies.
package reading
