// Signatures follow the node's rule, ZIP 215: the 196 vectors of
// internal/zip215/testdata (small-order keys and R, canonical and not,
// S = 0) all verify, as they do in package zip215. The browser's own
// WebCrypto Ed25519 is stricter; this test counts how many it refuses,
// the figure web/verify/README.md gives.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { verifyEd25519 } from "../dist/verify.js";

const vectors = JSON.parse(readFileSync(fileURLToPath(new URL("../../../internal/zip215/testdata/zip215.json", import.meta.url)), "utf8"));
const hex = (s) => Uint8Array.from(s.match(/../g), (b) => parseInt(b, 16));
const msg = new TextEncoder().encode("Zcash");

test("every ZIP 215 vector verifies", () => {
  assert.equal(vectors.length, 196);
  const refused = vectors.map(([pub, sig], i) => (verifyEd25519(hex(pub), msg, hex(sig)) ? null : i)).filter((i) => i !== null);
  assert.deepEqual(refused, []);
});

test("a signature over another message does not verify", () => {
  const [pub, sig] = vectors[0];
  // S = 0 and a small-order R verify for any message with a small-order
  // key; a flipped S byte does not.
  const s = hex(sig);
  s[32] ^= 1;
  assert.equal(verifyEd25519(hex(pub), msg, s), false);
});

test("WebCrypto's Ed25519 on the ZIP 215 vectors (informative)", async (t) => {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return t.skip("no WebCrypto");
  let accepted = 0;
  let refused = 0;
  for (const [pub, sig] of vectors) {
    let ok = false;
    try {
      const key = await subtle.importKey("raw", hex(pub), { name: "Ed25519" }, false, ["verify"]);
      ok = await subtle.verify({ name: "Ed25519" }, key, hex(sig), msg);
    } catch {
      ok = false;
    }
    if (ok) accepted++;
    else refused++;
  }
  t.diagnostic(`WebCrypto (Node ${process.version}) accepts ${accepted} and refuses ${refused} of the ${vectors.length} ZIP 215 vectors`);
  assert.equal(accepted + refused, vectors.length);
});
