// @iotledger/private: open iotledger's private readings in a browser or in
// Node, with the user's own key, as package private does in Go
// (docs/PRIVATE.md): sealed fields (XChaCha20-Poly1305) and wrapped stream
// keys (HPKE, X25519 or X-Wing).
export { decryptReading, openReading, sealedReading, type DecryptContext, type OpenedReading, type SealedReading } from "./reading.js";
export {
  openFields,
  sealFields,
  sealedAAD,
  sealedFrom,
  encodeFields,
  decodeFields,
  checkFields,
  streamKeySize,
  nonceSize,
  tagSize,
  maxFields,
  maxFieldLen,
  type Sealed,
  type Fields,
  type FieldValue,
  type Uint,
} from "./sealed.js";
export {
  wrapStreamKey,
  unwrapStreamKey,
  streamKeyInfo,
  encodeWrapped,
  decodeWrapped,
  commitment,
  type WrapContext,
  type WrapOptions,
  type Wrapped,
} from "./wrap.js";
export {
  recipientKeys,
  publicKey,
  generateKeys,
  encodeEncryptionKey,
  decodeEncryptionKey,
  type RecipientKeys,
  type EncryptionKey,
} from "./keys.js";
export { kemX25519, kemXWing, kdfHKDFSHA256, aeadChaCha20Poly1305, kemName, suite as hpkeSuite } from "./suite.js";
export { PrivateError, type ErrorCode } from "./errors.js";
export { toHex, fromHex, toBase64, fromBase64 } from "./bytes.js";
