// Device ids: bech32 (BIP 173) with prefix "dev" over the first 20 bytes
// of the SHA-256 of the device's Ed25519 key, as package address writes
// and checks them.
import { bech32 } from "@scure/base";
import { sha256 } from "@noble/hashes/sha2.js";

export const devicePrefix = "dev";
const idLen = 20;
const maxLen = 64;

/** deviceId is address.Device: the id a device key derives. */
export function deviceId(pub: Uint8Array): string {
  return bech32.encode(devicePrefix, bech32.toWords(sha256(pub).subarray(0, idLen)));
}

/** parseDevice is address.ParseDevice: it returns why s is not a device id, or null. */
export function parseDevice(s: string): string | null {
  if (s.length === 0 || s.length > maxLen) return `${JSON.stringify(s)} has length ${s.length}, want 1 to ${maxLen}`;
  let prefix: string;
  let raw: Uint8Array;
  try {
    const d = bech32.decode(s as `${string}1${string}`, 90);
    prefix = d.prefix;
    raw = bech32.fromWords(d.words);
  } catch (e) {
    return `${JSON.stringify(s)}: ${(e as Error).message}`;
  }
  if (prefix !== devicePrefix) return `${JSON.stringify(s)} starts with ${JSON.stringify(prefix + "1")}, want "dev1"`;
  if (raw.length !== idLen) return `${JSON.stringify(s)} does not hold ${idLen} bytes`;
  if (bech32.encode(devicePrefix, bech32.toWords(raw)) !== s) return `${JSON.stringify(s)} is not in canonical lower-case form`;
  return null;
}
