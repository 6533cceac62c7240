// Sealed fields: round trips, the exact additional data, and each way a
// sealed reading must not open (wrong key, changed ciphertext, swapped
// nonce, another device, seq or epoch), each with a clear error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openFields, sealFields, sealedAAD, encodeFields, decodeFields, toHex, fromHex, PrivateError } from "../dist/private.js";

const key = fromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
const device = "dev1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn3s4vtyr";

function refused(fn, code, ...parts) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof PrivateError, `not a PrivateError: ${e}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.startsWith("private: "), e.message);
    for (const p of parts) assert.ok(e.message.includes(p), `${JSON.stringify(e.message)} does not say ${JSON.stringify(p)}`);
    return true;
  });
}

test("the additional data is CBOR [\"iotledger-sealed-v1\", device, seq, epoch]", () => {
  // 84: an array of 4; 73: text of 19 bytes; 65: text of 5; 07; 01.
  assert.equal(toHex(sealedAAD("dev1x", 7, 1)), "84" + "73" + toHex(new TextEncoder().encode("iotledger-sealed-v1")) + "65" + toHex(new TextEncoder().encode("dev1x")) + "07" + "01");
  // 64-bit values keep every bit, given as bigint or decimal text.
  const label = toHex(new TextEncoder().encode("iotledger-sealed-v1"));
  assert.equal(toHex(sealedAAD("d", 2n ** 64n - 1n, "4294967296")), "8473" + label + "6164" + "1bffffffffffffffff" + "1b0000000100000000");
  assert.deepEqual(sealedAAD("d", 5, 2), sealedAAD("d", 5n, "2"));
});

test("sealed fields open to what was sealed", () => {
  const fields = new Map([
    ["temp", 21.5],
    ["hr", 70],
    ["ok", true],
    ["note", "fine, é"],
    ["big", 2n ** 63n + 5n],
    ["neg", -(2n ** 63n)],
  ]);
  const s = sealFields(key, device, 42, 3, fields);
  assert.equal(s.nonce.length, 24);
  assert.equal(s.epoch, 3n);
  assert.equal(s.ciphertext.length, encodeFields(fields).length + 16);
  const got = openFields(key, device, 42, s);
  assert.deepEqual(new Map([...got].sort()), new Map([...fields].sort()));
  // A plain object is fields too.
  assert.deepEqual(openFields(key, device, 1, sealFields(key, device, 1, 1, { a: 1 })), new Map([["a", 1]]));
});

test("every sealing draws a new nonce", () => {
  const seen = new Set();
  for (let i = 0; i < 50; i++) seen.add(toHex(sealFields(key, device, 1, 1, { a: 1 }).nonce));
  assert.equal(seen.size, 50);
});

test("a sealed reading does not open when anything changed", () => {
  const s = sealFields(key, device, 42, 3, { temp: 21.5, hr: 70 });
  const what = ["do not open with this stream key", "ciphertext, nonce, device, seq or epoch changed"];
  // Wrong key.
  const other = key.slice();
  other[31] ^= 1;
  refused(() => openFields(other, device, 42, s), "open_failed", `${device} seq 42 (epoch 3)`, ...what);
  // A changed ciphertext: every byte, the tag included.
  for (let i = 0; i < s.ciphertext.length; i++) {
    const ct = s.ciphertext.slice();
    ct[i] ^= 0x80;
    refused(() => openFields(key, device, 42, { ...s, ciphertext: ct }), "open_failed", ...what);
  }
  // A truncated ciphertext.
  refused(() => openFields(key, device, 42, { ...s, ciphertext: s.ciphertext.subarray(0, s.ciphertext.length - 1) }), "open_failed");
  // A swapped nonce: another reading's.
  const t = sealFields(key, device, 43, 3, { temp: 21.5, hr: 70 });
  refused(() => openFields(key, device, 42, { ...s, nonce: t.nonce }), "open_failed", ...what);
  // The ciphertext moved to another seq, device or epoch.
  refused(() => openFields(key, device, 43, s), "open_failed", "seq 43");
  refused(() => openFields(key, "dev1other", 42, s), "open_failed", "dev1other");
  refused(() => openFields(key, device, 42, { ...s, epoch: 4n }), "open_failed", "epoch 4");
  // The original still opens.
  assert.equal(openFields(key, device, 42, s).get("hr"), 70);
});

test("bad input is refused with what was wrong, never opened", () => {
  const s = sealFields(key, device, 1, 1, { a: 1 });
  refused(() => openFields(key.subarray(0, 31), device, 1, s), "malformed", "the stream key is 31 bytes, not 32");
  refused(() => openFields("zz", device, 1, s), "malformed", "the stream key is not hex");
  refused(() => openFields(key, device, 1, { ...s, nonce: s.nonce.subarray(1) }), "malformed", "sealed.nonce is 23 bytes, not 24");
  refused(() => openFields(key, device, 1, { ...s, ciphertext: new Uint8Array(15) }), "malformed", "shorter than the 16-byte tag");
  refused(() => openFields(key, device, 1, { ...s, epoch: 0 }), "malformed", "sealed.epoch 0 is out of range: 1 to 2^64-1");
  refused(() => openFields(key, device, 2 ** 60, s), "malformed", "beyond 2^53");
  refused(() => openFields(key, device, -1, s), "malformed", "seq -1 is out of range: 0 to 2^64-1");
  refused(() => openFields(key, device, 1.5, s), "malformed", "seq is not an unsigned integer");
  refused(() => openFields(key, "", 1, s), "malformed", "device id");
  refused(() => sealFields(key, device, 1, 1, {}), "malformed", "no sealed fields");
  refused(() => sealFields(key, device, 1, 1, { a: NaN }), "malformed", `"a" is NaN`);
  refused(() => sealFields(key, device, 1, 1, { a: null }), "malformed", `"a" is null; values are numbers, text or bool`);
  refused(() => sealFields(key, device, 1, 1, { ["k".repeat(65)]: 1 }), "malformed", "1 to 64 bytes");
  refused(() => sealFields(key, device, 1, 1, { a: 2n ** 64n }), "malformed", "outside -2^63 to 2^64-1");
  refused(() => sealFields(key, device, 1, 1, Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, i]))), "malformed", "65 sealed fields, at most 64");
  refused(() => sealFields(key, device, 1, 1, { a: 1 }, new Uint8Array(12)), "malformed", "the nonce is 12 bytes, not 24");
});

test("opened plaintext that is not a fields map is refused", () => {
  refused(() => decodeFields(fromHex("a0")), "malformed", "no sealed fields");
  refused(() => decodeFields(fromHex("80")), "malformed", "not a CBOR map");
  refused(() => decodeFields(fromHex("a1016161")), "malformed", "not text"); // {1: "a"}
  refused(() => decodeFields(fromHex("a2616101616102")), "malformed", "not valid CBOR"); // {"a": 1, "a": 2}
  refused(() => decodeFields(fromHex("a16161f6")), "malformed", `"a" is null`); // {"a": null}
  refused(() => decodeFields(fromHex("a16161c11a00000000")), "malformed", "not valid CBOR"); // a tag
  refused(() => decodeFields(fromHex("bf616101ff")), "malformed", "not valid CBOR"); // indefinite length
  assert.deepEqual(decodeFields(fromHex("a1616101")), new Map([["a", 1]]));
});
