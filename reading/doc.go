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
//
// All four keys are required and no other key is allowed; data may be null
// (what [Sign] writes for a reading without data), the others may not.
// Decode refuses a payload without one of them and names the missing key.
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
