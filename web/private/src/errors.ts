// Errors: every refusal is a PrivateError whose code a program branches on
// and whose message says what was wrong and what to do.

/**
 * Why something did not open or decode:
 *
 * - `malformed`: an input has the wrong shape (a length, a CBOR value, a
 *   JSON field); the message names it.
 * - `no_webcrypto`: HPKE needs WebCrypto (HMAC for HKDF-SHA256), which
 *   browsers give only to secure contexts (https, or http on localhost).
 * - `no_hybrid_key`: the key was wrapped with X-Wing and the key material
 *   given has no X-Wing seed.
 * - `unwrap_failed`: HPKE did not open the wrapped key: another
 *   recipient's key, a wrapped key of another chain, device, epoch or
 *   recipient (a replayed one), or changed bytes.
 * - `open_failed`: XChaCha20-Poly1305 did not open the sealed fields:
 *   another epoch's stream key, or a ciphertext, nonce, device, seq or
 *   epoch changed since the device sealed them.
 */
export type ErrorCode = "malformed" | "no_webcrypto" | "no_hybrid_key" | "unwrap_failed" | "open_failed";

export class PrivateError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super("private: " + message);
    this.name = "PrivateError";
    this.code = code;
  }
}

export function malformed(message: string): never {
  throw new PrivateError("malformed", message);
}
