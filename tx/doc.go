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
//
// The private readings of docs/PRIVATE.md add seven signed types (private.go):
// set_encryption_key (any account: its HPKE public keys), set_private_fields,
// grant_access, revoke_access, rotate_stream_key and erase_epochs (a device's
// owner), and stream_key (the device's own key: the commitments of its
// current epoch's wrapped stream key, one per recipient). A transaction never
// carries a wrapped key, only its SHA-256 commitment, so that erasing the
// wrapped keys from the nodes' key boxes leaves nothing in blocks or the
// consensus WAL that opens an erased epoch. Decode checks each one's fields
// (sizes, KEM identifiers, one wrap per recipient or epoch, ranges in order)
// and names what is wrong.
package tx
