// CBOR: the core deterministic encoding of RFC 8949 section 4.2.1 for what
// this library writes (cborg's RFC 8949 options: map keys sorted bytewise
// by their encoding, shortest integers, lengths and floats), and a strict
// decoder for what it reads (no duplicate map keys, indefinite lengths,
// tags or undefined), as the Go side's internal/dcbor.
import { decode, encode, rfc8949EncodeOptions } from "cborg";
import { malformed } from "./errors.js";

export function detEncode(v: unknown): Uint8Array {
  return encode(v, rfc8949EncodeOptions);
}

const strict = {
  useMaps: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowBigInt: true,
  tags: [],
};

/** Decodes one CBOR item; what names the input in the error. */
export function strictDecode(b: Uint8Array, what: string): unknown {
  try {
    return decode(b, strict);
  } catch (e) {
    malformed(`${what} is not valid CBOR: ${(e as Error).message}`);
  }
}

const maxUint64 = (1n << 64n) - 1n;

/** An unsigned 64-bit integer given as a number, bigint or decimal string; min the least allowed. */
export function uint(v: unknown, what: string, min = 0n): bigint {
  let n: bigint | null = null;
  if (typeof v === "bigint") n = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === "string" && /^(0|[1-9][0-9]*)$/.test(v)) n = BigInt(v);
  if (n === null) {
    if (typeof v === "number" && Number.isInteger(v)) {
      malformed(`${what} ${v} is beyond 2^53, where a JavaScript number is rounded: give it as a bigint or a decimal string`);
    }
    malformed(`${what} is not an unsigned integer`);
  }
  if (n < min || n > maxUint64) malformed(`${what} ${n} is out of range: ${min} to 2^64-1`);
  return n;
}
