// decryptReading, as the explorer calls it: a reading of the API (JSON,
// sealed bytes in base64), the wrapped key of its epoch for the user's
// account, the user's key material. Round trips for the owner and a
// grantee; a revoked consumer without the new epoch's key, a wrong key, a
// tampered ciphertext, a swapped nonce and a replayed wrapped key each
// fail with a clear error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decryptReading, openReading, sealedReading, sealFields, wrapStreamKey, unwrapStreamKey, publicKey, generateKeys, toBase64, toHex, PrivateError } from "../dist/private.js";

const chainID = "iotledger-test";
const device = "dev1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn3s4vtyr";
const owner = { account: "acc1owner", keys: generateKeys() };
const grantee = { account: "acc1grantee", keys: { x25519: generateKeys().x25519 } }; // X25519 only
for (const p of [owner, grantee]) p.pub = await publicKey(p.keys);

// A device's epochs: epoch 1 wrapped to the owner and the grantee; the
// grantee revoked, epoch 2 wrapped to the owner alone.
const epochs = new Map();
for (const [epoch, to] of [
  [1, [owner, grantee]],
  [2, [owner]],
]) {
  const key = generateKeys().x25519; // 32 random bytes
  const wraps = new Map();
  for (const p of to) wraps.set(p.account, await wrapStreamKey(key, p.pub, { chainID, device, epoch, recipient: p.account }));
  epochs.set(epoch, { key, wraps });
}

function apiReading(seq, epoch, fields, data = { site: "lab" }) {
  const s = sealFields(epochs.get(epoch).key, device, seq, epoch, fields);
  return { seq, time: "2026-01-01T00:00:00Z", time_ms: 1767225600000, data, sealed: { epoch, nonce: toBase64(s.nonce), ciphertext: toBase64(s.ciphertext) }, index: 9, height: 4, receipt: `/v1/devices/${device}/readings/${seq}/receipt` };
}

async function refused(p, code, ...parts) {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof PrivateError, `not a PrivateError: ${e}`);
    assert.equal(e.code, code, e.message);
    for (const s of parts) assert.ok(e.message.includes(s), `${JSON.stringify(e.message)} does not say ${JSON.stringify(s)}`);
    return true;
  });
}

test("the owner and a grantee open a reading of an epoch both hold", async () => {
  const r = apiReading(10, 1, { temp: 21.5, hr: 70 });
  for (const p of [owner, grantee]) {
    const wrapped = epochs.get(1).wraps.get(p.account);
    // From the device's own list (no device in the item): pass it.
    const got = await decryptReading(r, wrapped, p.keys, { chainID, recipient: p.account, device });
    assert.deepEqual(got, { device, seq: 10n, epoch: 1n, fields: new Map([["hr", 70], ["temp", 21.5]]) });
    // From /v1/readings (device in the item), as JSON text, the wrapped key in base64.
    const text = JSON.stringify({ device, ...r });
    assert.deepEqual(await decryptReading(text, toBase64(wrapped), p.keys, { chainID, recipient: p.account }), got);
    // The wrapped key as hex, too.
    assert.deepEqual(await decryptReading(text, toHex(wrapped), p.keys, { chainID, recipient: p.account }), got);
  }
});

test("a stream key unwrapped once opens the epoch's other readings", async () => {
  const key = await unwrapStreamKey(epochs.get(2).wraps.get(owner.account), owner.keys, { chainID, device, epoch: 2, recipient: owner.account });
  for (let seq = 20; seq < 25; seq++) {
    assert.equal(openReading(apiReading(seq, 2, { n: seq }), key, device).fields.get("n"), seq);
  }
});

test("a revoked consumer cannot read a later epoch: it has no wrapped key, and an earlier one does not open it", async () => {
  assert.equal(epochs.get(2).wraps.get(grantee.account), undefined);
  const r = apiReading(30, 2, { temp: 22 });
  // Its epoch-1 wrapped key, replayed for epoch 2, does not open.
  await refused(decryptReading(r, epochs.get(1).wraps.get(grantee.account), grantee.keys, { chainID, recipient: grantee.account, device }), "unwrap_failed", "epoch 2", "a replayed wrapped key");
  // The epoch-1 stream key it kept does not open epoch 2's readings.
  const old = await unwrapStreamKey(epochs.get(1).wraps.get(grantee.account), grantee.keys, { chainID, device, epoch: 1, recipient: grantee.account });
  assert.throws(() => openReading(r, old, device), { code: "open_failed" });
  // The owner's wrapped key with the grantee's key does not open either.
  await refused(decryptReading(r, epochs.get(2).wraps.get(owner.account), grantee.keys, { chainID, recipient: grantee.account, device }), "no_hybrid_key");
  await refused(decryptReading(r, epochs.get(2).wraps.get(owner.account), { ...grantee.keys, xwingSeed: generateKeys().xwingSeed }, { chainID, recipient: grantee.account, device }), "unwrap_failed");
});

test("a wrong key, a tampered ciphertext, a swapped nonce and a replayed wrapped key each fail clearly", async () => {
  const r = apiReading(40, 1, { temp: 21.5 });
  const wrapped = epochs.get(1).wraps.get(owner.account);
  const as = { chainID, recipient: owner.account, device };
  // Wrong key: another account's key file.
  await refused(decryptReading(r, wrapped, generateKeys(), as), "unwrap_failed", "does not open", "use that account's key file");
  // Tampered ciphertext.
  const ct = Uint8Array.from(atob(r.sealed.ciphertext), (c) => c.charCodeAt(0));
  ct[0] ^= 1;
  await refused(decryptReading({ ...r, sealed: { ...r.sealed, ciphertext: toBase64(ct) } }, wrapped, owner.keys, as), "open_failed", `${device} seq 40 (epoch 1)`, "ciphertext, nonce, device, seq or epoch changed");
  // Swapped nonce: another reading's.
  const other = apiReading(41, 1, { temp: 21.5 });
  await refused(decryptReading({ ...r, sealed: { ...r.sealed, nonce: other.sealed.nonce } }, wrapped, owner.keys, as), "open_failed");
  // The sealed part moved to another seq.
  await refused(decryptReading({ ...r, seq: 41 }, wrapped, owner.keys, as), "open_failed", "seq 41");
  // A replayed wrapped key: epoch 2's for a reading of epoch 1.
  await refused(decryptReading(r, epochs.get(2).wraps.get(owner.account), owner.keys, as), "unwrap_failed", "epoch 1", "a replayed wrapped key");
  // Asking as another recipient, or on another chain.
  await refused(decryptReading(r, wrapped, owner.keys, { ...as, recipient: grantee.account }), "unwrap_failed");
  await refused(decryptReading(r, wrapped, owner.keys, { ...as, chainID: "another" }), "unwrap_failed");
  // The untouched reading still opens.
  assert.equal((await decryptReading(r, wrapped, owner.keys, as)).fields.get("temp"), 21.5);
});

test("a reading's JSON is read with its 64-bit seq, and refused when it cannot be opened", async () => {
  const big = 2n ** 60n + 1n;
  const s = sealFields(epochs.get(1).key, device, big, 1, { a: 1 });
  const text = `{"device":"${device}","seq":${big},"data":null,"sealed":{"epoch":1,"nonce":"${toBase64(s.nonce)}","ciphertext":"${toBase64(s.ciphertext)}"}}`;
  assert.equal(sealedReading(text).seq, big);
  assert.equal(openReading(text, epochs.get(1).key).seq, big);
  // Parsed already, the seq was rounded: refused, saying so.
  assert.throws(() => sealedReading(JSON.parse(text)), { code: "malformed", message: /beyond 2\^53/ });

  const r = apiReading(50, 1, { temp: 1 });
  assert.throws(() => sealedReading(r), { code: "malformed", message: /names no device: pass the device id/ });
  assert.throws(() => sealedReading({ device, ...r }, "dev1other"), { code: "malformed", message: /is of device dev1.*, not dev1other/ });
  assert.throws(() => sealedReading({ ...r, sealed: undefined }, device), { code: "malformed", message: /reading 50 of dev1.* has no sealed fields/ });
  assert.throws(() => sealedReading({ ...r, sealed: { ...r.sealed, nonce: "%%" } }, device), { code: "malformed", message: /sealed.nonce is not standard base64 \(with padding\), as the API sends bytes/ });
  assert.throws(() => sealedReading("{", device), { code: "malformed", message: /the reading is not JSON/ });
  assert.throws(() => sealedReading("[]", device), { code: "malformed", message: /an array, not a JSON object/ });
  // A field both public and sealed.
  const both = apiReading(51, 1, { temp: 1 }, { temp: 2 });
  assert.throws(() => openReading(both, epochs.get(1).key, device), { code: "malformed", message: /field "temp" of dev1.* seq 51 is both public \(data\) and sealed/ });
});

test("a signed reading's bytes (COSE_Sign1, as a receipt holds it) open too", async () => {
  const { encode } = await import("cborg");
  const s = sealFields(epochs.get(1).key, device, 60, 1, { temp: 19.5 });
  const cose = (payload) => new Uint8Array([0xd2, ...encode([new Uint8Array([0xa0]), new Map(), encode(payload), new Uint8Array(64)])]);
  const payload = new Map([
    [1, device],
    [2, 60],
    [3, 1700000000000],
    [4, new Map([["site", "lab"]])],
    [5, new Map([[1, 1], [2, s.nonce], [3, s.ciphertext]])],
  ]);
  const raw = cose(payload);
  const r = sealedReading(raw);
  assert.deepEqual([r.device, r.seq, r.sealed.epoch, r.data], [device, 60n, 1n, { site: "lab" }]);
  assert.deepEqual(openReading(raw, epochs.get(1).key).fields, new Map([["temp", 19.5]]));
  const wrapped = epochs.get(1).wraps.get(owner.account);
  assert.equal((await decryptReading(raw, wrapped, owner.keys, { chainID, recipient: owner.account })).fields.get("temp"), 19.5);

  assert.throws(() => sealedReading(raw, "dev1other"), { code: "malformed", message: /is of device dev1.*, not dev1other/ });
  assert.throws(() => sealedReading(new Uint8Array([0xff])), { code: "malformed", message: /the signed reading is not CBOR/ });
  assert.throws(() => sealedReading(encode([1, 2, 3, 4])), { code: "malformed", message: /not a COSE_Sign1 message/ });
  const noSealed = new Map(payload);
  noSealed.delete(5);
  assert.throws(() => sealedReading(cose(noSealed)), { code: "malformed", message: /has no sealed fields \(payload key 5\)/ });
  assert.throws(() => sealedReading(cose(new Map([...payload, [5, new Map([[1, 1], [2, s.nonce], [3, s.ciphertext], [4, 0]])]]))), { code: "malformed", message: /sealed part has key 4/ });
  // The sealed part moved into another reading's payload does not open.
  assert.throws(() => openReading(cose(new Map([...payload, [2, 61]])), epochs.get(1).key), { code: "open_failed" });
});
