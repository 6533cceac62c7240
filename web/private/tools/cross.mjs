// The JavaScript half of the Go tests that check this library against Go
// (cross_test.go, with crypto/hpke and internal/dcbor; package_test.go,
// with package private): reads a JSON file of cases Go made and prints, as
// JSON, what the library makes of them:
//
//   - public_keys: the encryption key derived from each recipient's
//     private key material (Go compares it with its own);
//   - unwrapped: each wrapped key Go made, opened with the recipient's
//     keys for the case's context (or open_as): the stream key in hex, or
//     "error <code>: <message>";
//   - wrapped, commitments: each case's stream_key_js wrapped here to the
//     recipient's encryption key (base64; Go opens it) and its commitment;
//   - aads, fields: the CBOR of sealed additional data and of fields
//     (hex; Go compares them with its own);
//   - opened: each sealed part Go made (opens), opened here: its fields as
//     [{name, type, value}], or "error <code>: <message>";
//   - sealed: each case of seals sealed here ({epoch, nonce, ciphertext},
//     base64; Go opens them).
//
// Fields travel as lists of {name, type, value}, value a string: type int
// or uint (a bigint here), float, text or bool; what this tool prints has
// type number, bigint, text or bool.
//
// Usage: node tools/cross.mjs cases.json
import { readFileSync } from "node:fs";
import {
  commitment,
  encodeFields,
  publicKey,
  recipientKeys,
  sealedAAD,
  toBase64,
  toHex,
  unwrapStreamKey,
  wrapStreamKey,
  fromBase64,
  openFields,
  sealFields,
} from "../dist/private.js";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));

function fieldsOf(list) {
  const m = new Map();
  for (const v of list) {
    m.set(v.name, v.type === "int" || v.type === "uint" ? BigInt(v.value) : v.type === "float" ? Number(v.value) : v.type === "bool" ? v.value === "true" : v.value);
  }
  return m;
}

function listOf(fields) {
  return [...fields].map(([name, v]) => ({ name, type: typeof v === "string" ? "text" : typeof v === "boolean" ? "bool" : typeof v, value: String(v) }));
}

const failed = (e) => `error ${e.code}: ${e.message}`;

const keys = (cases.recipients ?? []).map((r) => recipientKeys(r.x25519_private, r.xwing_seed || undefined));
const pubs = await Promise.all(keys.map((k) => publicKey(k)));
const out = {
  public_keys: pubs.map((p) => ({ x25519: toHex(p.x25519), xwing: p.xwing ? toHex(p.xwing) : "" })),
  unwrapped: [],
  wrapped: [],
  commitments: [],
  aads: (cases.aads ?? []).map((a) => toHex(sealedAAD(a.device, a.seq, a.epoch))),
  fields: (cases.fields ?? []).map((f) => toHex(encodeFields(fieldsOf(f)))),
  opened: [],
  sealed: [],
};
for (const w of cases.wraps ?? []) {
  const ctx = { chainID: w.chain_id, device: w.device, epoch: w.epoch, recipient: w.account };
  try {
    out.unwrapped.push(toHex(await unwrapStreamKey(fromBase64(w.wrapped), keys[w.recipient], w.open_as ?? ctx)));
  } catch (e) {
    out.unwrapped.push(failed(e));
  }
  const wrapped = await wrapStreamKey(w.stream_key_js, pubs[w.recipient], ctx);
  out.wrapped.push(toBase64(wrapped));
  out.commitments.push(toHex(commitment(wrapped)));
}
for (const o of cases.opens ?? []) {
  try {
    out.opened.push(listOf(openFields(o.stream_key, o.device, o.seq, o.sealed)));
  } catch (e) {
    out.opened.push(failed(e));
  }
}
for (const s of cases.seals ?? []) {
  const sealed = sealFields(s.stream_key, s.device, s.seq, s.epoch, fieldsOf(s.fields));
  out.sealed.push({ epoch: String(sealed.epoch), nonce: toBase64(sealed.nonce), ciphertext: toBase64(sealed.ciphertext) });
}
process.stdout.write(JSON.stringify(out));
