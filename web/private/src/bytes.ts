// Bytes as callers hand them over: Uint8Array, hex (key material), or
// standard base64 (what Go's encoding/json writes for []byte, and so the
// API).
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { malformed } from "./errors.js";

/** Bytes, or a string of them: hex (either case) or standard base64 with padding. */
export type BytesLike = Uint8Array | string;

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function toHex(b: Uint8Array): string {
  return bytesToHex(b);
}

/** The bytes of a hex string (either case); null if it is not one. */
export function fromHex(s: string): Uint8Array | null {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  return hexToBytes(s.toLowerCase());
}

/** The bytes of canonical standard base64 with padding (Go's []byte in JSON); null otherwise. */
export function fromBase64(s: string): Uint8Array | null {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    return null;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return toBase64(out) === s ? out : null;
}

export function toBase64(b: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < b.length; i++) bin += String.fromCharCode(b[i]!);
  return btoa(bin);
}

/**
 * Key material: bytes or hex, of exactly size bytes. what names it in
 * the error.
 */
export function keyBytes(v: unknown, size: number, what: string): Uint8Array {
  let b: Uint8Array | null = null;
  if (v instanceof Uint8Array) b = v;
  else if (typeof v === "string") {
    b = fromHex(v.trim());
    if (b === null) malformed(`${what} is not hex: give it as ${size} bytes or ${2 * size} hex digits`);
  } else malformed(`${what} is ${describe(v)}: give it as ${size} bytes (Uint8Array) or ${2 * size} hex digits`);
  if (b.length !== size) malformed(`${what} is ${b.length} bytes, not ${size}`);
  return b;
}

/** Bytes as the API sends them: a Uint8Array, or standard base64 with padding (Go's []byte in JSON). */
export function wireBytes(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") {
    const b = fromBase64(v);
    if (b !== null) return b;
    malformed(`${what} is not standard base64 (with padding), as the API sends bytes`);
  }
  malformed(`${what} is ${describe(v)}, not bytes (Uint8Array or base64)`);
}

/**
 * A wrapped key: a Uint8Array, hex or standard base64. Hex is tried
 * first, which is unambiguous here: a wrapped key starts with 0xa3 (a map
 * of 3), whose base64 starts with "o", not a hex digit.
 */
export function wrappedBytes(v: unknown): Uint8Array {
  if (typeof v === "string") {
    const b = fromHex(v) ?? fromBase64(v);
    if (b !== null) return b;
    malformed("the wrapped key is neither hex nor standard base64 (with padding)");
  }
  if (v instanceof Uint8Array) return v;
  malformed(`the wrapped key is ${describe(v)}, not bytes (Uint8Array, hex or base64)`);
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "missing";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return `a ${typeof v}`;
}
