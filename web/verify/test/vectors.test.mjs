// The JavaScript verifier over every vector of the Go receipt package
// (receipt/testdata): each must get the verdict Go's receipt.Parse and
// receipt.Verify reach, recorded in receipt/testdata/verdicts.json by
// go test ./receipt -run TestVerdictVectors -update.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { verify, parseGenesis, checkNames } from "../dist/verify.js";

const testdata = fileURLToPath(new URL("../../../receipt/testdata/", import.meta.url));
const verdicts = JSON.parse(readFileSync(testdata + "verdicts.json", "utf8"));
const genesis = parseGenesis(readFileSync(testdata + verdicts.genesis));

// A result is consistent: the checks before the failed one passed, in order.
function assertShape(r, name) {
  r.checks.forEach((c, i) => {
    assert.equal(c.name, checkNames[i], `${name}: check ${i}`);
    assert.equal(c.ok, i < r.checks.length - 1 || r.ok, `${name}: check ${c.name} ok`);
    assert.ok(c.detail.length > 0, `${name}: check ${c.name} has no detail`);
  });
  if (r.ok) assert.equal(r.checks.length, checkNames.length, `${name}: all checks made`);
}

test("every receipt file has a verdict", () => {
  const files = ["receipt.json", "receipt-trace.json"];
  for (const dir of ["mutated", "forged"]) {
    for (const f of readdirSync(testdata + dir)) if (f.endsWith(".json")) files.push(`${dir}/${f}`);
  }
  assert.deepEqual(files.sort(), Object.keys(verdicts.files).sort());
  assert.ok(files.length >= 2 + 24, `only ${files.length} receipt files`);
});

test("same verdict as Go on every receipt file", async (t) => {
  for (const [file, want] of Object.entries(verdicts.files)) {
    await t.test(file, () => {
      const r = verify(readFileSync(testdata + file), genesis);
      assertShape(r, file);
      assert.equal(r.verdict, want, `${file}: ${r.error ?? "ok"}`);
      assert.equal(r.ok, want === "ok");
    });
  }
});

test("same verdict as Go on every field mutation", () => {
  const base = readFileSync(testdata + verdicts.base, "utf8");
  const mismatches = [];
  for (const m of verdicts.field_mutations) {
    const obj = JSON.parse(base);
    assert.ok(m.field in obj, m.field);
    obj[m.field] = "@@patch@@";
    const text = JSON.stringify(obj).replace('"@@patch@@"', () => m.value);
    const r = verify(text, genesis);
    assertShape(r, m.name);
    if (r.verdict !== m.verdict) mismatches.push(`${m.name}: got ${r.verdict} (${r.error}), want ${m.verdict}`);
  }
  assert.deepEqual(mismatches, []);
  assert.ok(verdicts.field_mutations.length > 1000, `only ${verdicts.field_mutations.length} field mutations`);
});

test("the standard receipts pass with Go's details", () => {
  const r = verify(readFileSync(testdata + "receipt.json"), readFileSync(testdata + "genesis.json"));
  assert.deepEqual(
    r.checks.map((c) => c.detail),
    [
      "device dev1sghjqgc5hqg4e5n5quy5jegp3g2dgwwswzgm8s seq 105",
      "the key derives device id dev1sghjqgc5hqg4e5n5quy5jegp3g2dgwwswzgm8s",
      "leaf 5 of a log of size 7",
      "block 41 app hash",
      "the genesis set of 4 validators (no change before block 42)",
      "validators holding 40 of 40 voting power signed block 42",
    ],
  );
  const tr = verify(readFileSync(testdata + "receipt-trace.json"), readFileSync(testdata + "genesis.json"));
  assert.equal(tr.checks[4].detail, "3 changes (at blocks 20, 30, 35) followed from the genesis set by CometBFT light-client verification of 6 blocks");
  assert.equal(tr.checks[5].detail, "validators holding 45 of 45 voting power signed block 42");
});

test("bad input is refused with a reason, never thrown", () => {
  const g = readFileSync(testdata + "genesis.json", "utf8");
  for (const [input, want] of [["", "malformed"], ["[]", "malformed"], ["null", "malformed"], ['{"version": 3}', "malformed"]]) {
    const r = verify(input, g);
    assert.equal(r.verdict, want, input);
    assert.match(r.error, /^receipt: /);
  }
  const r = verify(readFileSync(testdata + "receipt.json"), '{"chain_id": "x", "validators": []}');
  assert.equal(r.verdict, "invalid genesis");
  assert.match(r.error, /lists no validators/);
});

test("same verdict as Go against every changed genesis", async (t) => {
  const base = readFileSync(testdata + verdicts.base);
  const files = readdirSync(testdata + "genesis").map((f) => `genesis/${f}`);
  assert.deepEqual(files.sort(), Object.keys(verdicts.genesis_files).sort());
  for (const [file, want] of Object.entries(verdicts.genesis_files)) {
    await t.test(file, () => {
      const r = verify(base, readFileSync(testdata + file));
      assert.equal(r.verdict, want, `${file}: ${r.error ?? "ok"}`);
    });
  }
});

// applyEdits applies [offset, bytes deleted, hex of bytes inserted] edits in order.
function applyEdits(b, edits) {
  for (const [at, del, ins] of edits) {
    const insert = Uint8Array.from((ins.match(/../g) ?? []).map((h) => parseInt(h, 16)));
    const next = new Uint8Array(b.length - del + insert.length);
    next.set(b.subarray(0, at), 0);
    next.set(insert, at);
    next.set(b.subarray(at + del), at + insert.length);
    b = next;
  }
  return b;
}

test("same verdict as Go on random edits of genesis.json", () => {
  const base = readFileSync(testdata + verdicts.base);
  const g = readFileSync(testdata + "genesis.json");
  const mismatches = [];
  for (const m of verdicts.genesis_text_mutations) {
    const r = verify(base, applyEdits(g, m.edits));
    if (r.verdict !== m.verdict) mismatches.push(`${JSON.stringify(m.edits)}: got ${r.verdict} (${r.error}), want ${m.verdict}`);
  }
  assert.deepEqual(mismatches, []);
  assert.ok(verdicts.genesis_text_mutations.length >= 300);
});

test("same verdict as Go on random edits of the receipts' text", () => {
  const bases = {};
  const mismatches = [];
  for (const m of verdicts.text_mutations) {
    bases[m.base] ??= readFileSync(testdata + m.base);
    const b = applyEdits(bases[m.base], m.edits);
    const r = verify(b, genesis);
    assertShape(r, JSON.stringify(m.edits));
    if (r.verdict !== m.verdict) mismatches.push(`${m.base} ${JSON.stringify(m.edits)}: got ${r.verdict} (${r.error}), want ${m.verdict}`);
  }
  assert.deepEqual(mismatches, []);
  assert.ok(verdicts.text_mutations.length >= 500);
});
