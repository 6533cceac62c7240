// The vectors of the Go package private (private/testdata/vectors.json,
// written by go test ./private -run TestVectors -update; its README says
// what each field means): this library makes every sealed vector's
// additional data, plaintext and ciphertext byte for byte, opens every
// signed reading and every wrapped key to what Go says, and refuses every
// refusal with the error class Go gives.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  sealedAAD,
  encodeFields,
  sealFields,
  openFields,
  openReading,
  sealedReading,
  recipientKeys,
  publicKey,
  encodeEncryptionKey,
  decodeEncryptionKey,
  streamKeyInfo,
  decodeWrapped,
  commitment,
  unwrapStreamKey,
  wrapStreamKey,
  toHex,
  fromHex,
  PrivateError,
} from "../dist/private.js";

const file = fileURLToPath(new URL("../../../private/testdata/vectors.json", import.meta.url));
if (!existsSync(file)) {
  throw new Error(
    `${file} is missing: the Go package private writes it (go test ./private -run TestVectors -update, branch priv-crypto); ` +
      "web/private is tested against it, so merge that package first",
  );
}
const vectors = JSON.parse(readFileSync(file, "utf8"));

// Go's error classes and this library's codes.
const codes = { ErrOpen: "open_failed", ErrUnwrap: "unwrap_failed", ErrKEM: "no_hybrid_key", ErrMalformed: "malformed" };

const fieldsOf = (o) => new Map(Object.entries(o).sort());
const sorted = (m) => new Map([...m].sort());

test("the vectors hold every kind of case", () => {
  assert.ok(vectors.sealed.length >= 3, `${vectors.sealed.length} sealed vectors`);
  assert.deepEqual([...new Set(vectors.wrapped.map((w) => w.kem))].sort((a, b) => a - b), [0x20, 0x647a]);
  assert.deepEqual([...new Set(vectors.refusals.map((r) => r.error))].sort(), Object.keys(codes).sort());
  assert.ok(vectors.refusals.length >= 15, `${vectors.refusals.length} refusals`);
});

test("sealed: the same additional data, plaintext and ciphertext, and the signed reading opens", async (t) => {
  for (const v of vectors.sealed) {
    await t.test(v.name, () => {
      assert.equal(toHex(sealedAAD(v.device, v.seq, v.epoch)), v.aad, "aad");
      assert.equal(toHex(encodeFields(v.private)), v.plaintext, "plaintext");
      const s = sealFields(v.stream_key, v.device, v.seq, v.epoch, v.private, fromHex(v.nonce));
      assert.equal(toHex(s.ciphertext), v.ciphertext, "ciphertext");
      assert.deepEqual(sorted(openFields(v.stream_key, v.device, v.seq, { epoch: v.epoch, nonce: fromHex(v.nonce), ciphertext: fromHex(v.ciphertext) })), fieldsOf(v.private));
      // From the signed reading's bytes, as a receipt holds it.
      const raw = fromHex(v.reading);
      const r = sealedReading(raw);
      assert.deepEqual([r.device, r.seq, r.sealed.epoch, toHex(r.sealed.nonce), toHex(r.sealed.ciphertext)], [v.device, BigInt(v.seq), BigInt(v.epoch), v.nonce, v.ciphertext]);
      assert.deepEqual(r.data, v.public);
      const opened = openReading(raw, v.stream_key);
      assert.deepEqual(sorted(opened.fields), fieldsOf(v.private));
      assert.equal(opened.epoch, BigInt(v.epoch));
    });
  }
});

test("wrapped: the same keys, info and commitment, and every wrapped key unwraps", async (t) => {
  for (const v of vectors.wrapped) {
    await t.test(v.name, async () => {
      const rcpt = v.recipient;
      const keys = recipientKeys(rcpt.x25519_private, rcpt.xwing_seed);
      const pub = await publicKey(keys);
      assert.equal(toHex(pub.x25519), rcpt.x25519_public, "x25519 public key");
      assert.equal(pub.xwing ? toHex(pub.xwing) : undefined, rcpt.xwing_public, "x-wing public key");
      assert.equal(toHex(encodeEncryptionKey(pub)), rcpt.public_key, "encryption key");
      assert.deepEqual(decodeEncryptionKey(fromHex(rcpt.public_key)), pub);
      const ctx = { chainID: v.chain_id, device: v.device, epoch: v.epoch, recipient: rcpt.account };
      assert.equal(toHex(streamKeyInfo(ctx)), v.info, "info");
      const w = decodeWrapped(fromHex(v.wrapped));
      assert.deepEqual([w.kem, toHex(w.enc), toHex(w.ct)], [v.kem, v.enc, v.ct]);
      assert.equal(toHex(commitment(fromHex(v.wrapped))), v.commitment, "commitment");
      assert.equal(toHex(await unwrapStreamKey(fromHex(v.wrapped), keys, ctx)), v.stream_key, "unwrapped");
      // What this library wraps to the same recipient uses the same KEM
      // and opens (Go opens it: package_test.go).
      const mine = await wrapStreamKey(v.stream_key, pub, ctx);
      assert.equal(decodeWrapped(mine).kem, v.kem);
      assert.equal(toHex(await unwrapStreamKey(mine, keys, ctx)), v.stream_key);
    });
  }
});

test("refusals: each is refused with Go's error class", async (t) => {
  for (const v of vectors.refusals) {
    await t.test(v.name, async () => {
      const want = codes[v.error];
      assert.ok(want, `unknown error class ${v.error}`);
      let run;
      if (v.op === "open") {
        run = async () => openFields(v.stream_key, v.device, v.seq, { epoch: v.epoch, nonce: fromHex(v.nonce), ciphertext: fromHex(v.ciphertext) });
      } else if (v.op === "unwrap") {
        run = async () => unwrapStreamKey(fromHex(v.wrapped), recipientKeys(v.key.x25519_private, v.key.xwing_seed), { chainID: v.chain_id, device: v.device, epoch: v.epoch, recipient: v.recipient });
      } else assert.fail(`unknown op ${v.op}`);
      await assert.rejects(run(), (e) => {
        assert.ok(e instanceof PrivateError, `not a PrivateError: ${e}`);
        assert.equal(e.code, want, `${e.message} (Go: ${v.message})`);
        assert.ok(e.message.length > 40, e.message);
        return true;
      });
    });
  }
});
