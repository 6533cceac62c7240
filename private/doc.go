// Package private seals a device's private fields and wraps the keys that
// open them: the cryptography of private readings (docs/PRIVATE.md is the
// design; this package is its reference).
//
// # The model
//
// A device may seal some of its data fields. All private fields of one
// reading are sealed together, once, into the reading's sealed part
// (reading.Sealed, payload key 5), under the device's stream key for its
// current epoch; the public fields stay in data. The device signs the
// reading over the ciphertext, so the ledger and every verifier check it
// without the key.
//
// Each (device, epoch) has its own stream key ([StreamKey]), 32 random
// bytes the device makes when the ledger moves it to a new epoch (a
// revocation, a rotation, a contract's grant, an erasure). The device
// wraps the key to each recipient of the epoch (the owner and the
// consumers granted access) with HPKE, announces the commitments of the
// wrapped keys in a transaction, and uploads the wrapped keys to a node's
// key box, outside every block. Erasing an epoch deletes its wrapped keys
// from every key box: with them goes the only way to its stream key.
//
// # Sealing
//
//   - AEAD: XChaCha20-Poly1305 (golang.org/x/crypto/chacha20poly1305,
//     NewX) with a random 192-bit nonce carried in the reading. A random
//     nonce of 192 bits is safe for any number of readings under one key,
//     and a device that reuses a sequence number does not reuse a nonce.
//   - Plaintext: the deterministic CBOR map of the private fields, by the
//     rules of a reading's data (reading.CheckData), at least one field. A
//     field is public or private, never both.
//   - Additional data: the deterministic CBOR array
//     ["iotledger-sealed-v1", device id, seq, epoch]: a ciphertext or
//     nonce moved to another reading, device, seq or epoch does not open.
//
// [Seal] signs a reading with some fields sealed; [Open] opens them again.
// [SealFields] and [OpenFields] are the sealing alone.
//
// # Wrapping
//
// An account's encryption key ([PublicKey]) is X25519, and optionally an
// X-Wing key (ML-KEM-768 + X25519) beside it; its private half
// ([PrivateKey]) is an X25519 private key and an X-Wing seed of 32 bytes,
// from which crypto/hpke's MLKEM768X25519 derives the key pair.
//
// [Wrap] seals a stream key to one recipient with HPKE (RFC 9180, base
// mode, single shot, Go's crypto/hpke): KEM X-Wing (0x647a) when the
// recipient published a hybrid key, else DHKEM(X25519, HKDF-SHA256)
// (0x0020); KDF HKDF-SHA256; AEAD ChaCha20-Poly1305; info the
// deterministic CBOR array ["iotledger-stream-key-v1", chain id, device
// id, epoch, recipient account]; aad empty. A wrapped key replayed for
// another epoch, device, chain or recipient does not open. The wrapped key
// is the deterministic CBOR map {1: kem id, 2: enc, 3: ct}; its
// [Commitment] is the SHA-256 of those bytes. [Unwrap] opens it with the
// recipient's private key.
//
// # Errors
//
// Every error wraps one of the package's sentinels and says what to check:
// [ErrOpen] (sealed fields that do not open: the wrong stream key, or a
// changed ciphertext, nonce, device, seq or epoch), [ErrUnwrap] (a wrapped
// key that does not open: the wrong private key, or one made for another
// chain, device, epoch or recipient), [ErrKEM] (a key wrapped with X-Wing
// for a private key without it), [ErrMalformed], [ErrFields] and
// [ErrContext]. An AEAD cannot tell a wrong key from changed bytes, so
// neither can these errors.
//
// # What the caller keeps
//
// The device keeps its current stream key beside its sequence counter and
// deletes the old one once the next epoch's announcement is committed.
// Private keys live in key files; nothing here writes them anywhere.
//
// testdata/vectors.json holds vectors for other implementations (the
// browser's, the SDKs'); testdata/README.md says what each field means.
package private
