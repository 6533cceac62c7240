// Wrapped stream keys (docs/PRIVATE.md, "A wrapped key"): a stream key
// sealed with HPKE (RFC 9180), base mode, single shot, to one recipient's
// encryption key, with info = CBOR ["iotledger-stream-key-v1", chain id,
// device id, epoch, recipient account] and empty aad; the wrapped key is
// the CBOR map {1: kem id, 2: enc, 3: ct} and its commitment, on the
// ledger, SHA-256 of those bytes.
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, equal } from "./bytes.js";
import { detEncode, strictDecode, uint } from "./cbor.js";
import { PrivateError, malformed } from "./errors.js";
import { type EncryptionKey, type RecipientKeys, recipientKeys } from "./keys.js";
import { type Uint, streamKeyBytes, streamKeySize, tagSize } from "./sealed.js";
import { kemName, kemX25519, kemXWing, suite, x25519KeySize, xwingPublicKeySize } from "./suite.js";

/** Whose key, for which chain, device and epoch: what info binds a wrapped key to. */
export interface WrapContext {
  chainID: string;
  device: string;
  epoch: Uint;
  recipient: string;
}

/** A wrapped key's parts. */
export interface Wrapped {
  kem: number;
  enc: Uint8Array;
  ct: Uint8Array;
}

const infoLabel = "iotledger-stream-key-v1";
const encSize = new Map([
  [kemX25519, 32],
  [kemXWing, 1120],
]);
const ctSize = streamKeySize + tagSize;

function text(v: unknown, what: string): string {
  if (typeof v !== "string" || v === "") malformed(`${what} is ${v === "" ? "empty" : describe(v)}, not a non-empty string`);
  return v;
}

/** The HPKE info of a wrapped key: CBOR ["iotledger-stream-key-v1", chain id, device, epoch, recipient]. */
export function streamKeyInfo(ctx: WrapContext): Uint8Array {
  return detEncode([
    infoLabel,
    text(ctx.chainID, "the chain id"),
    text(ctx.device, "the device id"),
    uint(ctx.epoch, "the epoch", 1n),
    text(ctx.recipient, "the recipient account"),
  ]);
}

/** The bytes of a wrapped key, {1: kem, 2: enc, 3: ct}. */
export function encodeWrapped(w: Wrapped): Uint8Array {
  return detEncode(
    new Map<number, number | Uint8Array>([
      [1, w.kem],
      [2, w.enc],
      [3, w.ct],
    ]),
  );
}

const wantWrapped = "want the deterministic CBOR map {1: kem id, 2: enc, 3: ct}";

/**
 * decodeWrapped reads a wrapped key and checks its KEM, its sizes and its
 * encoding (deterministic, as Go's ParseWrapped wants: the commitment is
 * the hash of these bytes).
 */
export function decodeWrapped(b: Uint8Array): Wrapped {
  if (!(b instanceof Uint8Array)) malformed(`the wrapped key is ${describe(b)}, not bytes`);
  const v = strictDecode(b, "the wrapped key");
  if (!(v instanceof Map)) malformed(`the wrapped key is ${describe(v)}; ${wantWrapped}`);
  for (const k of v.keys()) if (k !== 1 && k !== 2 && k !== 3) malformed(`the wrapped key has key ${String(k)}; ${wantWrapped}, no other`);
  const kem = v.get(1);
  const enc = v.get(2);
  const ct = v.get(3);
  if (typeof kem !== "number" || !Number.isInteger(kem) || kem < 0) malformed(`the wrapped key's kem (key 1) is ${describe(kem)}; ${wantWrapped}`);
  const es = encSize.get(kem);
  if (es === undefined) malformed(`the wrapped key's KEM is ${kemName(kem)}: a wrapped key uses X25519 (0x0020) or X-Wing (0x647a)`);
  if (!(enc instanceof Uint8Array) || enc.length !== es) malformed(`the wrapped key's enc (key 2) is ${describe(enc)}, not the ${es} bytes of ${kemName(kem)}`);
  if (!(ct instanceof Uint8Array) || ct.length !== ctSize) malformed(`the wrapped key's ct (key 3) is ${describe(ct)}, not ${ctSize} bytes (a 32-byte key and its tag)`);
  const w = { kem, enc, ct };
  if (!equal(encodeWrapped(w), b)) malformed(`the wrapped key is not in the deterministic encoding (RFC 8949 section 4.2.1); ${wantWrapped}`);
  return w;
}

/** commitment is what the ledger holds of a wrapped key: SHA-256 of its bytes. */
export function commitment(wrapped: Uint8Array): Uint8Array {
  return sha256(wrapped);
}

/** Options of wrapStreamKey. */
export interface WrapOptions {
  /** Force X25519 for a recipient with a hybrid key (the design never does; for tests). */
  kem?: number;
  /**
   * Ephemeral key material, for test vectors only: 32 bytes of ikmE for
   * X25519 (the ephemeral key pair is DeriveKeyPair(ikmE)), 64 bytes of
   * eseed for X-Wing. Never reuse it.
   */
  ekm?: Uint8Array;
}

/**
 * wrapStreamKey wraps a stream key to a recipient's encryption key: with
 * X-Wing when the recipient published a hybrid key, else with X25519.
 * It returns the wrapped key's bytes.
 */
export async function wrapStreamKey(streamKey: Uint8Array | string, to: EncryptionKey, ctx: WrapContext, opts: WrapOptions = {}): Promise<Uint8Array> {
  const key = streamKeyBytes(streamKey);
  const info = streamKeyInfo(ctx);
  const kem = opts.kem ?? (to.xwing !== undefined ? kemXWing : kemX25519);
  const pub = kem === kemXWing ? to.xwing : to.x25519;
  const size = kem === kemXWing ? xwingPublicKeySize : x25519KeySize;
  if (!(pub instanceof Uint8Array) || pub.length !== size) {
    malformed(`the recipient's ${kemName(kem)} public key is ${describe(pub)}, not ${size} bytes`);
  }
  const s = suite(kem);
  let recipientPublicKey: CryptoKey;
  try {
    recipientPublicKey = await s.kem.deserializePublicKey(pub);
  } catch (e) {
    malformed(`the recipient's ${kemName(kem)} public key does not load: ${(e as Error).message}`);
  }
  let sealed: { ct: ArrayBuffer; enc: ArrayBuffer };
  try {
    sealed = await s.seal(opts.ekm === undefined ? { recipientPublicKey, info } : { recipientPublicKey, info, ekm: opts.ekm }, key);
  } catch (e) {
    malformed(`wrapping with ${kemName(kem)} failed: ${(e as Error).message}`);
  }
  return encodeWrapped({ kem, enc: new Uint8Array(sealed.enc), ct: new Uint8Array(sealed.ct) });
}

/**
 * unwrapStreamKey opens a wrapped key with the recipient's private key
 * material and returns the 32-byte stream key. ctx must be what the key
 * was wrapped for: a wrapped key of another chain, device, epoch or
 * recipient does not open.
 */
export async function unwrapStreamKey(wrapped: Uint8Array, keys: RecipientKeys, ctx: WrapContext): Promise<Uint8Array> {
  const w = decodeWrapped(wrapped);
  const info = streamKeyInfo(ctx);
  const k = recipientKeys(keys.x25519, keys.xwingSeed);
  let sk: Uint8Array;
  if (w.kem === kemXWing) {
    if (k.xwingSeed === undefined) {
      throw new PrivateError(
        "no_hybrid_key",
        `the stream key of ${ctx.device} epoch ${ctx.epoch} is wrapped with X-Wing (0x647a), to ${ctx.recipient}'s hybrid key, and the key given has no X-Wing seed: ` +
          `use the key file that holds it (the one whose hybrid key the account published)`,
      );
    }
    sk = k.xwingSeed;
  } else sk = k.x25519;
  const s = suite(w.kem);
  let recipientKey: CryptoKey;
  try {
    recipientKey = await s.kem.deserializePrivateKey(sk);
  } catch (e) {
    malformed(`the ${kemName(w.kem)} private key does not load: ${(e as Error).message}`);
  }
  let pt: Uint8Array;
  try {
    pt = new Uint8Array(await s.open({ recipientKey, enc: w.enc, info }, w.ct));
  } catch {
    throw new PrivateError(
      "unwrap_failed",
      `the wrapped stream key of ${ctx.device} epoch ${ctx.epoch} does not open (HPKE, ${kemName(w.kem)}) with this key for recipient ${ctx.recipient} on chain ${ctx.chainID}: ` +
        `it was wrapped to another account's key, or for another chain, device, epoch or recipient (a replayed wrapped key), or its bytes changed; ` +
        `fetch the wrapped key of this epoch for your account, and use that account's key file`,
    );
  }
  return pt; // 32 bytes: decodeWrapped checked ct's size
}
