// Private fields, opened here, in the browser, with the user's own key
// file (docs/PRIVATE.md): the node serves only ciphertext and wrapped
// stream keys; the key file is read into this page's memory and is never
// stored or sent. The cryptography is web/private's library, loaded from
// /explorer/private.js.
import { APIError, enc, get, ReadingEntry } from './api';

const libURL = '/explorer/private.js';

interface Opened { fields: Map<string, unknown> }
interface Lib {
  recipientKeys(x25519: Uint8Array, xwingSeed?: Uint8Array | null): unknown;
  decryptReading(reading: object, wrapped: string, keys: unknown, ctx: { chainID: string; recipient: string; device?: string }): Promise<Opened>;
}

let lib: Promise<Lib> | undefined;
function loadLib(): Promise<Lib> {
  lib ??= import(/* web/private's own bundle */ libURL).then((m) => {
    if (typeof m.decryptReading !== 'function') throw new Error(`${libURL} has no decryptReading`);
    return m as Lib;
  });
  lib.catch(() => {
    lib = undefined;
  });
  return lib;
}

// UserKey is a key file's account and encryption key, in memory only.
export interface UserKey { name: string; address: string; keys: unknown }

let held: UserKey | null = null;
const listeners = new Set<() => void>();

export function userKey(): UserKey | null {
  return held;
}

// onKeyChange calls fn when a key is loaded or forgotten; it returns the
// function that stops it.
export function onKeyChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function forgetKey(): void {
  held = null;
  cache.clear();
  listeners.forEach((fn) => fn());
}

function base64(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string') throw new Error(`the key file has no ${what}`);
  const bin = atob(s);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// loadKeyFile reads an iotledger key file (keys/NAME.json, as `iotledger
// keys new` writes it) and keeps its account and encryption key.
export async function loadKeyFile(f: File): Promise<UserKey> {
  let k: { name?: string; address?: string; encryption?: { x25519?: string; x_wing_seed?: string } };
  try {
    k = JSON.parse(await f.text());
  } catch {
    throw new Error(`${f.name} is not JSON: choose an iotledger key file (keys/NAME.json in the node's home)`);
  }
  if (!k.address || !k.address.startsWith('acc1')) throw new Error(`${f.name} has no account address: choose an iotledger key file of an account (keys/NAME.json)`);
  if (!k.encryption) throw new Error(`${f.name} holds no encryption key: give the account one with iotledger keys publish ${k.name ?? 'NAME'}, and grant it access`);
  const l = await loadLib();
  const keys = l.recipientKeys(base64(k.encryption.x25519, 'X25519 key'), k.encryption.x_wing_seed ? base64(k.encryption.x_wing_seed, 'X-Wing seed') : null);
  held = { name: k.name ?? f.name, address: k.address, keys };
  cache.clear();
  listeners.forEach((fn) => fn());
  return held;
}

// The wrapped keys fetched, by device and epoch, for the held key.
const cache = new Map<string, Promise<string>>();

function wrappedKey(device: string, epoch: number, recipient: string, signal: AbortSignal): Promise<string> {
  const k = `${device}/${epoch}`;
  let p = cache.get(k);
  if (!p) {
    p = get<{ wrapped: string }>(`/v1/devices/${enc(device)}/stream-keys/${epoch}?recipient=${enc(recipient)}`, signal).then((w) => w.wrapped);
    p.catch(() => cache.delete(k));
    cache.set(k, p);
  }
  return p;
}

// openReading opens a reading's sealed fields with the held key, or says
// why it cannot (no key, not a recipient of the epoch, erased, ...).
export async function openReading(r: ReadingEntry, device: string, chainID: string, signal: AbortSignal): Promise<Record<string, unknown>> {
  if (!r.sealed) return {};
  if (!held) throw new Error('no key loaded');
  let wrapped: string;
  try {
    wrapped = await wrappedKey(device, r.sealed.epoch, held.address, signal);
  } catch (e) {
    if (e instanceof APIError && e.status === 404) throw new Error(e.detail || `no key of epoch ${r.sealed.epoch} for ${held.address}`);
    throw e;
  }
  const l = await loadLib();
  const o = await l.decryptReading(r, wrapped, held.keys, { chainID, recipient: held.address, device });
  return Object.fromEntries(o.fields);
}
