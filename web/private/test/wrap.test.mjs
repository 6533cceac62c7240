// Wrapped stream keys: round trips for both KEMs, the exact info and
// wrapped-key encoding, the commitment, and each way a wrapped key must
// not open (another recipient's key, a replay for another chain, device,
// epoch or recipient, changed bytes, an X-Wing wrap without the seed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  wrapStreamKey,
  unwrapStreamKey,
  streamKeyInfo,
  encodeWrapped,
  decodeWrapped,
  commitment,
  publicKey,
  recipientKeys,
  generateKeys,
  encodeEncryptionKey,
  decodeEncryptionKey,
  kemX25519,
  kemXWing,
  toHex,
  fromHex,
  PrivateError,
} from "../dist/private.js";

const streamKey = fromHex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
const ctx = { chainID: "iotledger-test", device: "dev1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn3s4vtyr", epoch: 7, recipient: "acc1owner" };
const owner = generateKeys();
const ownerPub = await publicKey(owner);
const classic = { x25519: generateKeys().x25519 }; // no hybrid key
const classicPub = await publicKey(classic);

async function refused(p, code, ...parts) {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof PrivateError, `not a PrivateError: ${e}`);
    assert.equal(e.code, code, e.message);
    for (const s of parts) assert.ok(e.message.includes(s), `${JSON.stringify(e.message)} does not say ${JSON.stringify(s)}`);
    return true;
  });
}

test("info is CBOR [\"iotledger-stream-key-v1\", chain id, device, epoch, recipient]", () => {
  const t = (s) => toHex(new TextEncoder().encode(s));
  assert.equal(toHex(streamKeyInfo({ chainID: "c", device: "d", epoch: 24, recipient: "r" })), "85" + "77" + t("iotledger-stream-key-v1") + "6163" + "6164" + "1818" + "6172");
  assert.deepEqual(streamKeyInfo({ ...ctx, epoch: 2n ** 64n - 1n }), streamKeyInfo({ ...ctx, epoch: "18446744073709551615" }));
});

test("a key wraps with X-Wing to a hybrid recipient and with X25519 to another, and opens", async () => {
  for (const [keys, pub, kem, encLen] of [
    [owner, ownerPub, kemXWing, 1120],
    [classic, classicPub, kemX25519, 32],
  ]) {
    const wrapped = await wrapStreamKey(streamKey, pub, ctx);
    const w = decodeWrapped(wrapped);
    assert.equal(w.kem, kem);
    assert.equal(w.enc.length, encLen);
    assert.equal(w.ct.length, 48);
    assert.deepEqual(encodeWrapped(w), wrapped, "the wrapped key is deterministic CBOR");
    assert.deepEqual(await unwrapStreamKey(wrapped, keys, ctx), streamKey);
    // Each wrap is fresh: a new ephemeral key.
    assert.notDeepEqual(await wrapStreamKey(streamKey, pub, ctx), wrapped);
  }
  // X25519 to a hybrid recipient, if asked (the design never does): it opens with the X25519 key.
  const w = await wrapStreamKey(streamKey, ownerPub, ctx, { kem: kemX25519 });
  assert.equal(decodeWrapped(w).kem, kemX25519);
  assert.deepEqual(await unwrapStreamKey(w, owner, ctx), streamKey);
});

test("the commitment is SHA-256 of the wrapped key's bytes", async () => {
  const wrapped = await wrapStreamKey(streamKey, ownerPub, ctx);
  assert.equal(toHex(commitment(wrapped)), createHash("sha256").update(wrapped).digest("hex"));
});

test("a wrapped key does not open for another chain, device, epoch or recipient, or with another key", async () => {
  for (const [keys, pub, kemText] of [
    [owner, ownerPub, "X-Wing (0x647a)"],
    [classic, classicPub, "X25519 (0x0020)"],
  ]) {
    const wrapped = await wrapStreamKey(streamKey, pub, ctx);
    const what = [`does not open (HPKE, ${kemText})`, "a replayed wrapped key", "fetch the wrapped key of this epoch for your account"];
    await refused(unwrapStreamKey(wrapped, keys, { ...ctx, epoch: 8 }), "unwrap_failed", "epoch 8", ...what);
    await refused(unwrapStreamKey(wrapped, keys, { ...ctx, device: "dev1other" }), "unwrap_failed", "dev1other", ...what);
    await refused(unwrapStreamKey(wrapped, keys, { ...ctx, chainID: "other-chain" }), "unwrap_failed", "other-chain", ...what);
    await refused(unwrapStreamKey(wrapped, keys, { ...ctx, recipient: "acc1grantee" }), "unwrap_failed", "acc1grantee", ...what);
    await refused(unwrapStreamKey(wrapped, generateKeys(), ctx), "unwrap_failed", ...what);
    // A changed enc or ct.
    const w = decodeWrapped(wrapped);
    for (const i of [0, w.enc.length - 1]) {
      const enc = w.enc.slice();
      enc[i] ^= 1;
      await refused(unwrapStreamKey(encodeWrapped({ ...w, enc }), keys, ctx), "unwrap_failed", ...what);
    }
    for (let i = 0; i < w.ct.length; i++) {
      const ct = w.ct.slice();
      ct[i] ^= 1;
      await refused(unwrapStreamKey(encodeWrapped({ ...w, ct }), keys, ctx), "unwrap_failed", ...what);
    }
    assert.deepEqual(await unwrapStreamKey(wrapped, keys, ctx), streamKey);
  }
  // A small-order X25519 enc (all zeros) is refused, not thrown through.
  const w = decodeWrapped(await wrapStreamKey(streamKey, classicPub, ctx));
  await refused(unwrapStreamKey(encodeWrapped({ ...w, enc: new Uint8Array(32) }), classic, ctx), "unwrap_failed");
});

test("an X-Wing wrap needs the X-Wing seed", async () => {
  const wrapped = await wrapStreamKey(streamKey, ownerPub, ctx);
  await refused(unwrapStreamKey(wrapped, { x25519: owner.x25519 }, ctx), "no_hybrid_key", "wrapped with X-Wing (0x647a)", "has no X-Wing seed", "acc1owner");
});

test("a malformed wrapped key is refused, saying what is wrong", async () => {
  const w = decodeWrapped(await wrapStreamKey(streamKey, ownerPub, ctx));
  const cbor = (hex) => fromHex(hex);
  await refused(unwrapStreamKey(cbor("ff"), owner, ctx), "malformed", "the wrapped key is not valid CBOR");
  await refused(unwrapStreamKey(cbor("80"), owner, ctx), "malformed", "is an array; want the deterministic CBOR map {1: kem id, 2: enc, 3: ct}");
  await refused(unwrapStreamKey(encodeWrapped({ ...w, kem: 0x0010 }), owner, ctx), "malformed", "KEM is 0x0010");
  await refused(unwrapStreamKey(encodeWrapped({ ...w, kem: kemX25519 }), owner, ctx), "malformed", "enc (key 2) is 1120 bytes, not the 32 bytes of X25519 (0x0020)");
  await refused(unwrapStreamKey(encodeWrapped({ ...w, ct: w.ct.subarray(1) }), owner, ctx), "malformed", "ct (key 3) is 47 bytes, not 48");
  await refused(unwrapStreamKey("not bytes", owner, ctx), "malformed", "not bytes");
  // An extra key: {1, 2, 3, 4: 0}.
  const extra = encodeWrapped(w).slice();
  extra[0] = 0xa4;
  const withKey4 = new Uint8Array([...extra, 0x04, 0x00]);
  await refused(unwrapStreamKey(withKey4, owner, ctx), "malformed", "has key 4", "no other");
  // Not in the deterministic encoding: the kem in 5 bytes, or key 1 last.
  const good = encodeWrapped(w);
  assert.equal(toHex(good.subarray(0, 5)), "a30119647a");
  const longKem = new Uint8Array([0xa3, 0x01, 0x1a, 0x00, 0x00, 0x64, 0x7a, ...good.subarray(5)]);
  await refused(unwrapStreamKey(longKem, owner, ctx), "malformed", "not in the deterministic encoding");
  const kemLast = new Uint8Array([0xa3, ...good.subarray(5), 0x01, 0x19, 0x64, 0x7a]);
  await refused(unwrapStreamKey(kemLast, owner, ctx), "malformed", "not in the deterministic encoding");
  await refused(unwrapStreamKey(encodeWrapped(w), owner, { ...ctx, epoch: 0 }), "malformed", "the epoch 0 is out of range: 1 to 2^64-1");
  await refused(unwrapStreamKey(encodeWrapped(w), owner, { ...ctx, chainID: "" }), "malformed", "the chain id is empty");
});

test("key material: bytes or hex, 32 bytes each", async () => {
  const k = recipientKeys(toHex(owner.x25519), toHex(owner.xwingSeed).toUpperCase());
  assert.deepEqual(k, owner);
  assert.deepEqual(await publicKey(k), ownerPub);
  assert.equal(ownerPub.x25519.length, 32);
  assert.equal(ownerPub.xwing.length, 1216);
  assert.deepEqual(recipientKeys(owner.x25519, null), { x25519: owner.x25519 });
  assert.throws(() => recipientKeys(owner.x25519.subarray(1)), { code: "malformed", message: "private: the X25519 private key is 31 bytes, not 32" });
  assert.throws(() => recipientKeys(owner.x25519, "xyz"), { code: "malformed", message: "private: the X-Wing seed is not hex: give it as 32 bytes or 64 hex digits" });
  assert.throws(() => recipientKeys(42), { code: "malformed", message: "private: the X25519 private key is a number: give it as 32 bytes (Uint8Array) or 64 hex digits" });
});

test("an encryption key is CBOR {1: x25519, 2: x-wing (optional)}", () => {
  const b = encodeEncryptionKey(ownerPub);
  assert.equal(toHex(b.subarray(0, 4)), "a2015820");
  assert.deepEqual(decodeEncryptionKey(b), ownerPub);
  assert.deepEqual(decodeEncryptionKey(encodeEncryptionKey(classicPub)), classicPub);
  assert.equal(toHex(encodeEncryptionKey(classicPub)).slice(0, 6), "a10158");
  assert.throws(() => decodeEncryptionKey(fromHex("a0")), { code: "malformed", message: /X25519 public key is missing, not 32 bytes/ });
  assert.throws(() => decodeEncryptionKey(fromHex("a10341ff")), { code: "malformed", message: /has key 3/ });
  const noncanonical = new Uint8Array([0xa1, 0x01, 0x59, 0x00, 0x20, ...classicPub.x25519]); // a 2-byte length for 32
  assert.throws(() => decodeEncryptionKey(noncanonical), { code: "malformed", message: /not in the deterministic encoding/ });
  assert.throws(() => encodeEncryptionKey({ x25519: ownerPub.x25519, xwing: new Uint8Array(10) }), { code: "malformed", message: /X-Wing public key is 10 bytes, not 1216/ });
});

test("without WebCrypto (a page that is not a secure context), HPKE says what to do", async () => {
  const wrapped = await wrapStreamKey(streamKey, ownerPub, ctx);
  const saved = Object.getOwnPropertyDescriptor(globalThis, "crypto");
  Object.defineProperty(globalThis, "crypto", { value: { getRandomValues: (a) => a }, configurable: true, writable: true });
  try {
    await refused(unwrapStreamKey(wrapped, owner, ctx), "no_webcrypto", "WebCrypto (crypto.subtle) is not available", "https", "localhost");
  } finally {
    Object.defineProperty(globalThis, "crypto", saved);
  }
  assert.deepEqual(await unwrapStreamKey(wrapped, owner, ctx), streamKey);
});
