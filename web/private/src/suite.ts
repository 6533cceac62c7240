// The two HPKE suites of a wrapped key (docs/PRIVATE.md, "A wrapped
// key"): base mode, HKDF-SHA256 (0x0001), ChaCha20-Poly1305 (0x0003), with
// DHKEM(X25519, HKDF-SHA256) (0x0020) or X-Wing, MLKEM768-X25519 (0x647a).
// Built once, on first use.
import { CipherSuite } from "@hpke/core";
import { DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/dhkem-x25519";
import { XWing } from "@hpke/hybridkem-x-wing";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { PrivateError } from "./errors.js";

export const kemX25519 = 0x0020;
export const kemXWing = 0x647a;
export const kdfHKDFSHA256 = 0x0001;
export const aeadChaCha20Poly1305 = 0x0003;

export const x25519KeySize = 32;
export const xwingSeedSize = 32;
export const xwingPublicKeySize = 1216;

let suites: Map<number, CipherSuite> | undefined;

/** kemName is how messages name a KEM. */
export function kemName(kem: number): string {
  switch (kem) {
    case kemX25519:
      return "X25519 (0x0020)";
    case kemXWing:
      return "X-Wing (0x647a)";
    default:
      return "0x" + kem.toString(16).padStart(4, "0");
  }
}

/**
 * The suite of kem. HKDF runs on WebCrypto's HMAC, which browsers offer
 * only in secure contexts: without it, a clear error rather than HPKE's.
 */
export function suite(kem: number): CipherSuite {
  if (globalThis.crypto?.subtle === undefined) {
    throw new PrivateError(
      "no_webcrypto",
      "WebCrypto (crypto.subtle) is not available, and HPKE needs it for HKDF-SHA256: browsers offer it only on secure pages; " +
        "open the explorer over https, or on http://localhost (an SSH tunnel to the node will do)",
    );
  }
  if (suites === undefined) {
    // One KDF per suite: a CipherSuite writes its suite id (which names
    // the KEM) into its KDF, so a KDF shared by two suites labels one
    // suite's keys with the other's id (RFC 9180's vectors catch it).
    suites = new Map([
      [kemX25519, new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() })],
      [kemXWing, new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() })],
    ]);
  }
  const s = suites.get(kem);
  if (s === undefined) throw new PrivateError("malformed", `unknown KEM ${kemName(kem)}: a wrapped key uses X25519 (0x0020) or X-Wing (0x647a)`);
  return s;
}
