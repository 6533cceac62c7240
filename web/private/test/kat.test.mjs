// Known answers: the HPKE suites this library wraps stream keys with
// reproduce RFC 9180's test vectors (X25519 suite: the published A.2.1 and
// the CFRG's accumulated form Go ships), draft-ietf-hpke-pq's
// (X-Wing suite) and the X-Wing draft's KEM vectors, through the very
// code of the bundle (hpkeSuite is the CipherSuite wrapStreamKey and
// unwrapStreamKey use). The vectors and their sources: test/vectors/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { shake128 } from "@noble/hashes/sha3.js";
import { hpkeSuite, kemX25519, kemXWing, publicKey, recipientKeys, toHex, fromHex } from "../dist/private.js";

const load = (name) => JSON.parse(readFileSync(new URL(`vectors/${name}`, import.meta.url), "utf8"));
const hex = (s) => fromHex(s);
const u8 = (b) => new Uint8Array(b);

test("RFC 9180: base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305", async () => {
  const { vectors } = load("rfc9180-x25519.json");
  assert.equal(vectors.length, 1);
  const v = vectors[0];
  assert.deepEqual([v.mode, v.kem_id, v.kdf_id, v.aead_id], [0, 0x20, 1, 3]);
  const s = hpkeSuite(kemX25519);

  // The recipient's key pair: from skRm, and derived from ikmR.
  assert.equal(toHex((await publicKey(recipientKeys(v.skRm))).x25519), v.pkRm);
  const derived = await s.kem.deriveKeyPair(hex(v.ikmR));
  assert.equal(toHex(u8(await s.kem.serializePublicKey(derived.publicKey))), v.pkRm);

  // The sender, its ephemeral key pair fixed by ikmE, makes enc.
  const pk = await s.kem.deserializePublicKey(hex(v.pkRm));
  const sender = await s.createSenderContext({ recipientPublicKey: pk, info: hex(v.info), ekm: hex(v.ikmE) });
  assert.equal(toHex(u8(sender.enc)), v.enc);
  const recipient = await s.createRecipientContext({ recipientKey: await s.kem.deserializePrivateKey(hex(v.skRm)), enc: hex(v.enc), info: hex(v.info) });

  // 1,000 sealings of (aad, plaintext) drawn from SHAKE128; the
  // ciphertexts, into SHAKE128, give encryptions_accumulated. Each opens.
  const source = shake128.create();
  const sink = shake128.create();
  const draw = () => source.xof(source.xof(1)[0]);
  for (let i = 0; i < 1000; i++) {
    const aad = draw();
    const pt = draw();
    const ct = u8(await sender.seal(pt, aad));
    sink.update(ct);
    assert.deepEqual(u8(await recipient.open(ct, aad)), pt, `encryption ${i}`);
  }
  assert.equal(toHex(sink.xof(16)), v.encryptions_accumulated);
});

test("RFC 9180 A.2.1: the same suite, its published encryptions and exports", async () => {
  const { vectors } = load("rfc9180-a2-1.json");
  assert.equal(vectors.length, 1);
  const v = vectors[0];
  assert.deepEqual([v.mode, v.kem_id, v.kdf_id, v.aead_id], [0, 0x20, 1, 3]);
  const s = hpkeSuite(kemX25519);
  const eph = await s.kem.deriveKeyPair(hex(v.ikmE));
  assert.equal(toHex(u8(await s.kem.serializePublicKey(eph.publicKey))), v.pkEm);
  assert.equal(toHex(u8(await s.kem.serializePrivateKey(eph.privateKey))), v.skEm);
  const pk = await s.kem.deserializePublicKey(hex(v.pkRm));
  const sender = await s.createSenderContext({ recipientPublicKey: pk, info: hex(v.info), ekm: hex(v.ikmE) });
  assert.equal(toHex(u8(sender.enc)), v.enc);
  const recipient = await s.createRecipientContext({ recipientKey: await s.kem.deserializePrivateKey(hex(v.skRm)), enc: hex(v.enc), info: hex(v.info) });
  // The listed sequence numbers (0, 1, 2, 4, 255, 256): the contexts seal
  // and open other messages in between.
  const bySeq = new Map(v.encryptions.map((e) => [e.sequence_number, e]));
  assert.equal(bySeq.size, 6);
  const last = Math.max(...bySeq.keys());
  for (let seq = 0; seq <= last; seq++) {
    const e = bySeq.get(seq);
    if (e === undefined) {
      const ct = await sender.seal(new Uint8Array([seq & 0xff]));
      await recipient.open(ct);
      continue;
    }
    assert.equal(toHex(u8(await sender.seal(hex(e.pt), hex(e.aad)))), e.ct, `sequence number ${seq}: seal`);
    assert.equal(toHex(u8(await recipient.open(hex(e.ct), hex(e.aad)))), e.pt, `sequence number ${seq}: open`);
  }
  assert.equal(v.exports.length, 3);
  for (const x of v.exports) {
    assert.equal(toHex(u8(await sender.export(hex(x.exporter_context), x.L))), x.exported_value, `export ${x.exporter_context}`);
    assert.equal(toHex(u8(await recipient.export(hex(x.exporter_context), x.L))), x.exported_value, `export ${x.exporter_context}`);
  }
});

test("RFC 9180: a changed vector does not reproduce", async () => {
  const v = load("rfc9180-x25519.json").vectors[0];
  const s = hpkeSuite(kemX25519);
  const pk = await s.kem.deserializePublicKey(hex(v.pkRm));
  const ikmE = hex(v.ikmE);
  ikmE[0] ^= 1;
  const sender = await s.createSenderContext({ recipientPublicKey: pk, info: hex(v.info), ekm: ikmE });
  assert.notEqual(toHex(u8(sender.enc)), v.enc);
  const info = hex(v.info);
  info[0] ^= 1;
  const recipient = await s.createRecipientContext({ recipientKey: await s.kem.deserializePrivateKey(hex(v.skRm)), enc: hex(v.enc), info });
  const good = await s.createSenderContext({ recipientPublicKey: pk, info: hex(v.info), ekm: hex(v.ikmE) });
  const ct = await good.seal(new Uint8Array([1, 2, 3]));
  await assert.rejects(recipient.open(ct), /invalid tag/);
});

test("draft-ietf-hpke-pq: base mode, X-Wing (MLKEM768-X25519), HKDF-SHA256, ChaCha20-Poly1305", async () => {
  const { vectors } = load("hpke-pq-xwing.json");
  assert.equal(vectors.length, 1);
  const v = vectors[0];
  assert.deepEqual([v.mode, v.kem_id, v.kdf_id, v.aead_id], [0, 0x647a, 1, 3]);
  assert.equal(v.suite_id, "48504b45647a00010003");
  const s = hpkeSuite(kemXWing);

  // skRm is the X-Wing seed the key file holds; the public key derives from it.
  const keys = recipientKeys(hex(v.skRm).fill(0), v.skRm);
  assert.equal(toHex((await publicKey(keys)).xwing), v.pkRm);

  const pk = await s.kem.deserializePublicKey(hex(v.pkRm));
  const sender = await s.createSenderContext({ recipientPublicKey: pk, info: hex(v.info), ekm: hex(v.ikmE) });
  assert.equal(toHex(u8(sender.enc)), v.enc);
  const recipient = await s.createRecipientContext({ recipientKey: await s.kem.deserializePrivateKey(hex(v.skRm)), enc: hex(v.enc), info: hex(v.info) });
  assert.ok(v.encryptions.length >= 1);
  for (const [i, e] of v.encryptions.entries()) {
    assert.equal(toHex(u8(await sender.seal(hex(e.pt), hex(e.aad)))), e.ct, `encryption ${i}: seal`);
    assert.equal(toHex(u8(await recipient.open(hex(e.ct), hex(e.aad)))), e.pt, `encryption ${i}: open`);
  }
  for (const [i, x] of v.exports.entries()) {
    assert.equal(toHex(u8(await sender.export(hex(x.exporter_context), x.L))), x.exported_value, `export ${i}`);
  }
});

test("X-Wing draft: key generation, derandomized encapsulation and decapsulation", async () => {
  const { vectors } = load("xwing-kem.json");
  assert.equal(vectors.length, 3);
  const kem = hpkeSuite(kemXWing).kem;
  for (const [i, v] of vectors.entries()) {
    assert.equal(v.sk, v.seed, `vector ${i}: the decapsulation key is the seed`);
    assert.equal(toHex((await publicKey(recipientKeys(new Uint8Array(32), v.seed))).xwing), v.pk, `vector ${i}: pk`);
    const pk = await kem.deserializePublicKey(hex(v.pk));
    const { sharedSecret, enc } = await kem.encap({ recipientPublicKey: pk, ekm: hex(v.eseed) });
    assert.equal(toHex(u8(enc)), v.ct, `vector ${i}: ct`);
    assert.equal(toHex(u8(sharedSecret)), v.ss, `vector ${i}: ss from encapsulation`);
    const ss = await kem.decap({ recipientKey: await kem.deserializePrivateKey(hex(v.sk)), enc: hex(v.ct) });
    assert.equal(toHex(u8(ss)), v.ss, `vector ${i}: ss from decapsulation`);
    // A changed ciphertext gives another secret (ML-KEM's implicit rejection).
    const ct = hex(v.ct);
    ct[0] ^= 1;
    const bad = await kem.decap({ recipientKey: await kem.deserializePrivateKey(hex(v.sk)), enc: ct });
    assert.notEqual(toHex(u8(bad)), v.ss, `vector ${i}: a changed ct`);
  }
});
