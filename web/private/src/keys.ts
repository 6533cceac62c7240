// Key material. A recipient's private keys: the X25519 private key (32
// bytes) and, optionally, the X-Wing seed (32 bytes) from which the hybrid
// key pair derives, as Go's crypto/hpke MLKEM768X25519 and
// @hpke/hybridkem-x-wing derive it. An account's published encryption key:
// the CBOR map {1: x25519 public key, 2: x-wing public key (optional)}.
import { X25519, HkdfSha256 } from "@hpke/dhkem-x25519";
import { XWing } from "@hpke/hybridkem-x-wing";
import { describe, equal, keyBytes } from "./bytes.js";
import { detEncode, strictDecode } from "./cbor.js";
import { malformed } from "./errors.js";
import { x25519KeySize, xwingPublicKeySize, xwingSeedSize } from "./suite.js";

/** A recipient's private key material. */
export interface RecipientKeys {
  x25519: Uint8Array;
  xwingSeed?: Uint8Array;
}

/** An account's published encryption key. */
export interface EncryptionKey {
  x25519: Uint8Array;
  xwing?: Uint8Array;
}

/**
 * recipientKeys takes a recipient's private key material as bytes or hex:
 * the X25519 private key and, if the account has a hybrid key, its X-Wing
 * seed, each 32 bytes.
 */
export function recipientKeys(x25519: Uint8Array | string, xwingSeed?: Uint8Array | string | null): RecipientKeys {
  const k: RecipientKeys = { x25519: keyBytes(x25519, x25519KeySize, "the X25519 private key") };
  if (xwingSeed !== undefined && xwingSeed !== null) k.xwingSeed = keyBytes(xwingSeed, xwingSeedSize, "the X-Wing seed");
  return k;
}

const basePoint = new Uint8Array(32);
basePoint[0] = 9;

/** publicKey derives the encryption key a recipient publishes from its private key material. */
export async function publicKey(keys: RecipientKeys): Promise<EncryptionKey> {
  const k = recipientKeys(keys.x25519, keys.xwingSeed);
  const out: EncryptionKey = { x25519: await new X25519(new HkdfSha256()).derive(k.x25519, basePoint) };
  if (k.xwingSeed !== undefined) {
    const kem = new XWing();
    const pair = await kem.generateKeyPairDerand(k.xwingSeed);
    out.xwing = new Uint8Array(await kem.serializePublicKey(pair.publicKey));
  }
  return out;
}

/** generateKeys makes new random key material (X25519 and X-Wing). */
export function generateKeys(): RecipientKeys {
  const x = new Uint8Array(x25519KeySize);
  const s = new Uint8Array(xwingSeedSize);
  globalThis.crypto.getRandomValues(x);
  globalThis.crypto.getRandomValues(s);
  return { x25519: x, xwingSeed: s };
}

function checkEncryptionKey(k: EncryptionKey): EncryptionKey {
  if (!(k.x25519 instanceof Uint8Array) || k.x25519.length !== x25519KeySize) {
    malformed(`the encryption key's X25519 public key is ${describe(k.x25519)}, not ${x25519KeySize} bytes`);
  }
  if (k.xwing !== undefined && (!(k.xwing instanceof Uint8Array) || k.xwing.length !== xwingPublicKeySize)) {
    malformed(`the encryption key's X-Wing public key is ${describe(k.xwing)}, not ${xwingPublicKeySize} bytes`);
  }
  return k;
}

/** The CBOR of an encryption key, {1: x25519, 2: x-wing (if any)}. */
export function encodeEncryptionKey(k: EncryptionKey): Uint8Array {
  checkEncryptionKey(k);
  const m = new Map<number, Uint8Array>([[1, k.x25519]]);
  if (k.xwing !== undefined) m.set(2, k.xwing);
  return detEncode(m);
}

/** decodeEncryptionKey reads {1: x25519, 2: x-wing (optional)}, in the deterministic encoding. */
export function decodeEncryptionKey(b: Uint8Array): EncryptionKey {
  const v = strictDecode(b, "the encryption key");
  if (!(v instanceof Map)) malformed(`the encryption key is ${describe(v)}, not a CBOR map {1: x25519, 2: x-wing (optional)}`);
  for (const key of v.keys()) {
    if (key !== 1 && key !== 2) malformed(`the encryption key has key ${String(key)}; want {1: x25519, 2: x-wing (optional)}, no other`);
  }
  const k: EncryptionKey = { x25519: v.get(1) };
  if (v.has(2)) k.xwing = v.get(2);
  checkEncryptionKey(k);
  if (!equal(encodeEncryptionKey(k), b)) malformed("the encryption key is not in the deterministic encoding (RFC 8949 section 4.2.1); want the CBOR map {1: x25519, 2: x-wing (optional)}");
  return k;
}
