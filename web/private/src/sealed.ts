// Sealed fields (docs/PRIVATE.md, "A sealed reading"): the private fields
// of one reading, as a deterministic CBOR map of field name to value,
// sealed with XChaCha20-Poly1305 under the device's stream key for the
// epoch, with a random 24-byte nonce carried in the reading and the
// additional data ["iotledger-sealed-v1", device, seq, epoch].
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { detEncode, strictDecode, uint } from "./cbor.js";
import { describe, keyBytes, wireBytes } from "./bytes.js";
import { PrivateError, malformed } from "./errors.js";

export const streamKeySize = 32;
export const nonceSize = 24;
export const tagSize = 16;
export const maxFields = 64;
export const maxFieldLen = 64;

/** A value of a data field: a number (a bigint beyond 2^53), text or a bool. */
export type FieldValue = number | bigint | string | boolean;
/** Fields by name. */
export type Fields = Map<string, FieldValue>;

/** A reading's sealed part (payload key 5). */
export interface Sealed {
  epoch: bigint;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

/** An unsigned integer: a number (a safe integer), a bigint or a decimal string. */
export type Uint = number | bigint | string;

const sealedLabel = "iotledger-sealed-v1";

/** The additional data of a reading's sealed fields: CBOR ["iotledger-sealed-v1", device, seq, epoch]. */
export function sealedAAD(device: string, seq: Uint, epoch: Uint): Uint8Array {
  if (typeof device !== "string" || device === "") malformed("the device id is not a non-empty string");
  return detEncode([sealedLabel, device, uint(seq, "seq"), uint(epoch, "epoch", 1n)]);
}

const utf8 = new TextEncoder();
const minInt64 = -(1n << 63n);
const maxUint64 = (1n << 64n) - 1n;

/** Checks a fields map as package reading checks data (and at least one field); returns it as a Map. */
export function checkFields(fields: Fields | Record<string, FieldValue>): Fields {
  const m: Fields = fields instanceof Map ? fields : new Map(Object.entries(fields));
  if (m.size === 0) malformed("no sealed fields: seal at least one field, or send the reading without key 5");
  if (m.size > maxFields) malformed(`${m.size} sealed fields, at most ${maxFields}`);
  for (const [k, v] of m) {
    if (typeof k !== "string") malformed(`a sealed field name is ${describe(k)}, not text`);
    const n = utf8.encode(k).length;
    if (n === 0 || n > maxFieldLen) malformed(`sealed field name ${JSON.stringify(k)} must be 1 to ${maxFieldLen} bytes`);
    switch (typeof v) {
      case "string":
      case "boolean":
        break;
      case "number":
        if (!Number.isFinite(v)) malformed(`sealed field ${JSON.stringify(k)} is ${v}; values are finite numbers`);
        break;
      case "bigint":
        if (v < minInt64 || v > maxUint64) malformed(`sealed field ${JSON.stringify(k)} is ${v}, outside -2^63 to 2^64-1`);
        break;
      default:
        malformed(`sealed field ${JSON.stringify(k)} is ${describe(v)}; values are numbers, text or bool`);
    }
  }
  return m;
}

/**
 * The plaintext of sealed fields: their deterministic CBOR map. A number
 * with no fraction is written as an integer, any other as the shortest
 * float that keeps it.
 */
export function encodeFields(fields: Fields | Record<string, FieldValue>): Uint8Array {
  return detEncode(checkFields(fields));
}

/** The fields of an opened plaintext, checked as package reading checks data. */
export function decodeFields(plaintext: Uint8Array): Fields {
  const v = strictDecode(plaintext, "the opened sealed fields");
  if (!(v instanceof Map)) malformed(`the opened sealed fields are ${describe(v)}, not a CBOR map of field name to value`);
  return checkFields(v as Fields);
}

/** A stream key: 32 bytes, or 64 hex digits. */
export function streamKeyBytes(key: Uint8Array | string): Uint8Array {
  return keyBytes(key, streamKeySize, "the stream key");
}

/** A reading's sealed part, from bytes or the API's JSON ({epoch, nonce, ciphertext}, the bytes in standard base64). */
export function sealedFrom(v: unknown): Sealed {
  if (typeof v !== "object" || v === null || Array.isArray(v)) malformed(`sealed is ${describe(v)}, not {epoch, nonce, ciphertext}`);
  const o = v as Record<string, unknown>;
  const nonce = wireBytes(o.nonce, "sealed.nonce");
  const ciphertext = wireBytes(o.ciphertext, "sealed.ciphertext");
  if (nonce.length !== nonceSize) malformed(`sealed.nonce is ${nonce.length} bytes, not ${nonceSize}`);
  if (ciphertext.length < tagSize) malformed(`sealed.ciphertext is ${ciphertext.length} bytes, shorter than the ${tagSize}-byte tag`);
  return { epoch: uint(o.epoch, "sealed.epoch", 1n), nonce, ciphertext };
}

/**
 * Opens the sealed fields of reading (device, seq) with the stream key of
 * its epoch, and returns them. Throws PrivateError "open_failed" when
 * they do not open.
 */
export function openFields(streamKey: Uint8Array | string, device: string, seq: Uint, sealed: Sealed): Fields {
  const key = streamKeyBytes(streamKey);
  const s = sealedFrom(sealed);
  const aad = sealedAAD(device, seq, s.epoch);
  let pt: Uint8Array;
  try {
    pt = xchacha20poly1305(key, s.nonce, aad).decrypt(s.ciphertext);
  } catch {
    throw new PrivateError(
      "open_failed",
      `the sealed fields of ${device} seq ${uint(seq, "seq")} (epoch ${s.epoch}) do not open with this stream key: ` +
        `it is not the key of epoch ${s.epoch}, or the ciphertext, nonce, device, seq or epoch changed after the device sealed them; ` +
        `unwrap the stream key of this reading's epoch, and fetch the reading again from a node you trust`,
    );
  }
  return decodeFields(pt);
}

/**
 * Seals fields for reading (device, seq) under the stream key of epoch,
 * with a random nonce (or the one given, for test vectors: never reuse a
 * nonce with a key).
 */
export function sealFields(
  streamKey: Uint8Array | string,
  device: string,
  seq: Uint,
  epoch: Uint,
  fields: Fields | Record<string, FieldValue>,
  nonce?: Uint8Array,
): Sealed {
  const key = streamKeyBytes(streamKey);
  const aad = sealedAAD(device, seq, epoch);
  let n = nonce;
  if (n === undefined) {
    n = new Uint8Array(nonceSize);
    globalThis.crypto.getRandomValues(n);
  } else if (n.length !== nonceSize) malformed(`the nonce is ${n.length} bytes, not ${nonceSize}`);
  const ciphertext = xchacha20poly1305(key, n, aad).encrypt(encodeFields(fields));
  return { epoch: uint(epoch, "epoch", 1n), nonce: n, ciphertext };
}
