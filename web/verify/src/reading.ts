// A reading: a COSE_Sign1 message (RFC 9052, tag 18) signed with EdDSA by
// the device's Ed25519 key, decoded and checked as package reading does.
// The COSE_Sign1 array must be in the core deterministic encoding with an
// empty unprotected header; the protected header holds alg -8 and the
// device id as kid; the payload is a CBOR map {1: device, 2: seq, 3: time,
// 4: data}.
import { decode, encode } from "cborg";
import { concat, equal, utf8Bytes } from "./bytes.js";
import { parseDevice } from "./address.js";
import { verifyEd25519 } from "./cometbft.js";

export const maxReadingSize = 4096;
const maxFields = 64;
const maxFieldLen = 64;

/** ReadingError says why a reading does not decode or verify (the device signature check fails). */
export class ReadingError extends Error {}

export interface SignedReading {
  device: string;
  seq: bigint;
  time: bigint; // unix milliseconds, the device's clock
  data: Map<string, unknown> | null;
  protected: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
}

const strict = { useMaps: true, rejectDuplicateMapKeys: true, allowIndefinite: false, allowUndefined: true, allowBigInt: true, tags: [] };

function malformed(why: string): never {
  throw new ReadingError("reading: malformed COSE_Sign1 or CBOR: " + why);
}

function dec(b: Uint8Array, what: string): unknown {
  try {
    return decode(b, strict);
  } catch (e) {
    malformed(`${what}: ${(e as Error).message}`);
  }
}

function int(v: unknown): bigint | null {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  return null;
}

/** decodeReading is reading.Decode. */
export function decodeReading(raw: Uint8Array): SignedReading {
  if (raw.length > maxReadingSize) throw new ReadingError(`reading: larger than 4096 bytes: got ${raw.length} bytes`);
  if (raw.length < 2 || raw[0] !== 0xd2 || raw[1] !== 0x84) {
    malformed("a COSE_Sign1_Tagged message (RFC 9052) starts with tag 18 and an array of 4 items, 0xd2 0x84");
  }
  const msg = dec(raw.subarray(1), "COSE_Sign1");
  if (!Array.isArray(msg) || msg.length !== 4) malformed("the COSE_Sign1 array has not 4 items");
  const [prot, unprot, payload, sig] = msg as [unknown, unknown, unknown, unknown];
  if (!(prot instanceof Uint8Array)) malformed("the protected header is not a byte string");
  if (!(unprot instanceof Map)) malformed("the unprotected header is not a map");
  if (payload === null || payload === undefined) malformed("detached payload; embed the payload");
  if (!(payload instanceof Uint8Array)) malformed("the payload is not a byte string");
  if (!(sig instanceof Uint8Array) || sig.length === 0) malformed("the signature is not a non-empty byte string");
  const headers = prot.length === 0 ? new Map() : dec(prot, "protected header");
  if (!(headers instanceof Map)) malformed("the protected header is not a map");
  if (!headers.has(1)) {
    throw new ReadingError(
      unprot.has(1)
        ? "reading: algorithm is not EdDSA (-8): the algorithm (label 1) is in the unprotected header"
        : "reading: algorithm is not EdDSA (-8): the protected header has no algorithm (label 1)",
    );
  }
  if (headers.get(1) !== -8) throw new ReadingError(`reading: algorithm is not EdDSA (-8): the protected header's algorithm is ${String(headers.get(1))}`);
  const kid = headers.get(4);
  if (!(kid instanceof Uint8Array)) throw new ReadingError("reading: no kid in the protected header, or not the payload's device id");
  if (headers.has(2)) malformed("protected header lists critical parameters (label 2), which iotledger does not understand");
  if (unprot.size !== 0) malformed("unprotected header is not empty; put header parameters in the protected header, which the signature covers");
  const canonical = concat(Uint8Array.of(0xd2, 0x84), encode(prot), Uint8Array.of(0xa0), encode(payload), encode(sig));
  if (!equal(raw, canonical)) malformed("COSE_Sign1 is not in the core deterministic encoding (RFC 8949 section 4.2.1)");

  const want = "want a map {1: device, 2: seq, 3: time, 4: data}";
  const p = dec(payload, "payload");
  if (!(p instanceof Map)) malformed(`payload: ${want}`);
  for (const k of p.keys()) {
    if (k !== 1 && k !== 2 && k !== 3 && k !== 4) malformed(`payload: unknown key ${String(k)}; ${want}`);
  }
  const names = ["", "1 (device id)", "2 (seq)", "3 (time)", "4 (data)"];
  for (let i = 1; i <= 4; i++) {
    if (!p.has(i)) malformed(`payload has no key ${names[i]}; ${want}, every key present`);
    const v = p.get(i);
    if (v === undefined || (i !== 4 && v === null)) malformed(`payload key ${names[i]} is null or undefined; ${want}`);
  }
  const device = p.get(1);
  if (typeof device !== "string") malformed(`payload key 1 (device id) is not text; ${want}`);
  const seq = int(p.get(2));
  if (seq === null || seq < 0n || seq >= 1n << 64n) malformed(`payload key 2 (seq) is not an unsigned integer; ${want}`);
  const time = int(p.get(3));
  if (time === null || time < -(1n << 63n) || time >= 1n << 63n) malformed(`payload key 3 (time) is not a 64-bit integer; ${want}`);
  const data = p.get(4);
  if (data !== null && !(data instanceof Map)) malformed(`payload key 4 (data) is not a map; ${want}`);
  const bad = parseDevice(device);
  if (bad) malformed("payload device: address: invalid identifier: " + bad);
  if (!equal(kid, utf8Bytes(device))) throw new ReadingError("reading: no kid in the protected header, or not the payload's device id");
  if (data) checkData(data);
  return { device, seq, time, data, protected: prot, payload, signature: sig };
}

function checkData(data: Map<unknown, unknown>): void {
  if (data.size > maxFields) throw new ReadingError(`reading: invalid data field: ${data.size} fields, at most ${maxFields}`);
  for (const k of [...data.keys()].sort()) {
    if (typeof k !== "string") malformed("data: a field name is not text");
    const n = utf8Bytes(k).length;
    if (n === 0 || n > maxFieldLen) throw new ReadingError(`reading: invalid data field: field name ${JSON.stringify(k)} must be 1 to ${maxFieldLen} bytes`);
    const v = data.get(k);
    if (typeof v === "number" && !Number.isFinite(v)) throw new ReadingError(`reading: invalid data field: field ${JSON.stringify(k)} is ${v}; send a finite number`);
    // A negative integer below the int64 range decodes in Go to none of
    // the types a value may have.
    if (typeof v === "bigint" && v < -(1n << 63n)) throw new ReadingError(`reading: invalid data field: field ${JSON.stringify(k)} is below the 64-bit integer range`);
    if (typeof v !== "number" && typeof v !== "bigint" && typeof v !== "string" && typeof v !== "boolean") {
      throw new ReadingError(`reading: invalid data field: field ${JSON.stringify(k)} has a type other than number, text or bool`);
    }
  }
}

/** message is the COSE Sig_structure the device signed: ["Signature1", protected, h'', payload]. */
export function message(r: SignedReading): Uint8Array {
  return encode(["Signature1", r.protected, new Uint8Array(0), r.payload]);
}

/** verifyReading checks the device's signature under ZIP 215. */
export function verifyReading(r: SignedReading, pub: Uint8Array): void {
  if (!verifyEd25519(pub, message(r), r.signature)) {
    throw new ReadingError(`reading: signature does not verify with the device key: device ${r.device} seq ${r.seq}`);
  }
}
