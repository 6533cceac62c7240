// Package tx is the format of iotledger transactions.
//
// A transaction is a CBOR array [kind, content]:
//
//   - kind 1, a readings batch: content is an array of readings (byte strings,
//     each a COSE_Sign1 of package reading). The batch has no outer signature:
//     anyone may batch readings, since each carries its device's signature and
//     is checked on its own.
//   - kind 2, a signed transaction: content is a COSE_Sign1 (EdDSA) by an
//     account key whose payload is a [Body]: type, chain id, account nonce,
//     the signer's public key and the type's fields. The kid is the account
//     address.
//
// Everything is encoded in the core deterministic CBOR encoding (RFC 8949),
// and [Decode] refuses anything else outside the signed payload (including a
// non-empty COSE unprotected header), so a transaction's bytes, and its hash,
// cannot be changed by whoever relays it.
// Registering a device needs, besides the owner's signature, the device's own
// signature over [RegistrationMessage], so nobody registers a key they do not
// hold; a rotation carries the new key's signature over [RotationMessage].
package tx
