// A reading as the API answers it, and the whole decryption an explorer
// makes: the wrapped key of the reading's epoch opened with the user's key
// material, then the sealed fields with that stream key.
import { decode } from "cborg";
import { describe, wrappedBytes } from "./bytes.js";
import { strictDecode, uint } from "./cbor.js";
import { malformed } from "./errors.js";
import type { RecipientKeys } from "./keys.js";
import { type Fields, type Sealed, openFields, sealedFrom } from "./sealed.js";
import { unwrapStreamKey } from "./wrap.js";

/** A reading's identity and sealed part, read from the API's JSON. */
export interface SealedReading {
  device: string;
  seq: bigint;
  sealed: Sealed;
  /** The public fields (data), as the API sent them; null when none. */
  data: Record<string, unknown> | null;
}

/** A reading with its sealed fields opened. */
export interface OpenedReading {
  device: string;
  seq: bigint;
  epoch: bigint;
  /** The sealed (private) fields, opened. */
  fields: Fields;
}

/**
 * sealedReading reads a reading: either a reading of the API (an item of
 * GET /v1/devices/{id}/readings, /v1/readings or /v1/blocks/{h}/readings),
 * as JSON text or parsed, with seq, data, device (absent from a device's
 * own list: pass it) and sealed = {epoch, nonce, ciphertext}, the bytes in
 * standard base64; or the signed reading itself (COSE_Sign1 bytes, as a
 * receipt holds it). Give JSON as text when seq may exceed 2^53, which
 * JSON.parse rounds. It does not check the device's signature: package
 * receipt and web/verify do.
 */
export function sealedReading(reading: string | object | Uint8Array, device?: string): SealedReading {
  if (reading instanceof Uint8Array) {
    const r = signedReading(reading);
    if (device !== undefined && r.device !== device) malformed(`the reading is of device ${r.device}, not ${device}`);
    return r;
  }
  let o: unknown = reading;
  let seqText: string | undefined;
  if (typeof reading === "string") {
    try {
      o = JSON.parse(reading);
    } catch (e) {
      malformed(`the reading is not JSON: ${(e as Error).message}`);
    }
    const m = [...reading.matchAll(/"seq"\s*:\s*([0-9]+)/g)];
    if (m.length === 1) seqText = m[0]![1];
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) malformed(`the reading is ${describe(o)}, not a JSON object`);
  const r = o as Record<string, unknown>;
  const dev = device ?? r.device;
  if (typeof dev !== "string" || dev === "") malformed("the reading names no device: pass the device id (a device's own reading list leaves it out)");
  if (device !== undefined && r.device !== undefined && r.device !== device) {
    malformed(`the reading is of device ${String(r.device)}, not ${device}`);
  }
  if (r.sealed === undefined || r.sealed === null) malformed(`reading ${String(r.seq)} of ${dev} has no sealed fields`);
  const seq = typeof r.seq === "number" && !Number.isSafeInteger(r.seq) && seqText !== undefined ? seqText : r.seq;
  const data = r.data;
  if (data !== undefined && data !== null && (typeof data !== "object" || Array.isArray(data))) malformed(`the reading's data is ${describe(data)}, not an object`);
  return { device: dev, seq: uint(seq, "the reading's seq"), sealed: sealedFrom(r.sealed), data: (data ?? null) as Record<string, unknown> | null };
}

// COSE_Sign1 (RFC 9052): tag 18 around [protected, unprotected, payload, signature].
const coseOptions = {
  useMaps: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowBigInt: true,
  tags: { 18: (inner: () => unknown) => inner() },
};

/** The reading inside a signed reading's bytes: its payload {1: device, 2: seq, 3: time, 4: data, 5: sealed}. */
function signedReading(raw: Uint8Array): SealedReading {
  let msg: unknown;
  try {
    msg = decode(raw, coseOptions);
  } catch (e) {
    malformed(`the signed reading is not CBOR: ${(e as Error).message}`);
  }
  if (raw[0] !== 0xd2 || !Array.isArray(msg) || msg.length !== 4 || !(msg[2] instanceof Uint8Array)) {
    malformed("the signed reading is not a COSE_Sign1 message (tag 18 around [protected, unprotected, payload, signature])");
  }
  const p = strictDecode(msg[2] as Uint8Array, "the reading's payload");
  if (!(p instanceof Map)) malformed(`the reading's payload is ${describe(p)}; want {1: device, 2: seq, 3: time, 4: data, 5: sealed}`);
  const dev = p.get(1);
  if (typeof dev !== "string" || dev === "") malformed("the reading's payload has no device id (key 1)");
  const s = p.get(5);
  if (s === undefined) malformed(`the reading of ${dev} has no sealed fields (payload key 5)`);
  if (!(s instanceof Map)) malformed(`the reading's sealed part (payload key 5) is ${describe(s)}; want {1: epoch, 2: nonce, 3: ciphertext}`);
  for (const k of s.keys()) if (k !== 1 && k !== 2 && k !== 3) malformed(`the reading's sealed part has key ${String(k)}; want {1: epoch, 2: nonce, 3: ciphertext}, no other`);
  const data = p.get(4);
  if (data !== null && data !== undefined && !(data instanceof Map)) malformed(`the reading's data (payload key 4) is ${describe(data)}, not a map`);
  return {
    device: dev,
    seq: uint(p.get(2), "the reading's seq (payload key 2)"),
    sealed: sealedFrom({ epoch: s.get(1), nonce: s.get(2), ciphertext: s.get(3) }),
    data: data instanceof Map ? Object.fromEntries(data) : null,
  };
}

/**
 * openReading opens a reading's sealed fields with the stream key of its
 * epoch (from unwrapStreamKey: keep it to open the epoch's other readings
 * without unwrapping again). A field both public and sealed is refused.
 */
export function openReading(reading: string | object | Uint8Array, streamKey: Uint8Array | string, device?: string): OpenedReading {
  const r = sealedReading(reading, device);
  const fields = openFields(streamKey, r.device, r.seq, r.sealed);
  if (r.data !== null) {
    for (const name of fields.keys()) {
      if (Object.hasOwn(r.data, name)) malformed(`field ${JSON.stringify(name)} of ${r.device} seq ${r.seq} is both public (data) and sealed; a field is one or the other`);
    }
  }
  return { device: r.device, seq: r.seq, epoch: r.sealed.epoch, fields };
}

/** Whose reading to open: the chain, the account whose key is used, and the device if the reading does not name it. */
export interface DecryptContext {
  chainID: string;
  recipient: string;
  device?: string;
}

/**
 * decryptReading opens a reading of the API with the caller's key
 * material: the wrapped key (GET /v1/devices/{id}/stream-keys/{epoch}?
 * recipient=ACCOUNT; bytes, hex or base64) of the reading's epoch for
 * ctx.recipient, then the sealed fields. Everything happens here: no key
 * leaves the caller.
 */
export async function decryptReading(
  reading: string | object | Uint8Array,
  wrappedKey: Uint8Array | string,
  keys: RecipientKeys,
  ctx: DecryptContext,
): Promise<OpenedReading> {
  const r = sealedReading(reading, ctx.device);
  const wrapped = wrappedBytes(wrappedKey);
  const streamKey = await unwrapStreamKey(wrapped, keys, { chainID: ctx.chainID, device: r.device, epoch: r.sealed.epoch, recipient: ctx.recipient });
  return openReading(reading, streamKey, r.device);
}
