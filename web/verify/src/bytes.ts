// Byte helpers: hex and base64 as the Go side reads and writes them.
import { base64 } from "@scure/base";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Upper-case hex, as Go's %X and CometBFT's JSON write hashes. */
export function hexUpper(b: Uint8Array): string {
  return bytesToHex(b).toUpperCase();
}

/** Hex in either case (Go's hex.DecodeString); null on anything else. */
export function fromHex(s: string): Uint8Array | null {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  return hexToBytes(s.toLowerCase());
}

/**
 * The bytes of s if it is canonical standard base64 with padding (what Go's
 * encoding/json writes for []byte and the only spelling a receipt's own byte
 * strings may use); null otherwise.
 */
export function fromCanonicalBase64(s: string): Uint8Array | null {
  let b: Uint8Array;
  try {
    b = base64.decode(s);
  } catch {
    return null;
  }
  return base64.encode(b) === s ? b : null;
}

/**
 * The bytes of s as Go's encoding/json decodes a []byte: standard base64
 * with padding, line breaks (\r, \n) ignored, padding bits not checked.
 */
export function fromGoBase64(s: string): Uint8Array | null {
  const t = s.replace(/[\r\n]/g, "");
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return null;
  let bin: string;
  try {
    bin = atob(t);
  } catch {
    return null;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function toBase64(b: Uint8Array): string {
  return base64.encode(b);
}

const utf8 = new TextEncoder();
export function utf8Bytes(s: string): Uint8Array {
  return utf8.encode(s);
}
