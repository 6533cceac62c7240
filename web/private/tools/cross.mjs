// The JavaScript half of the Go tests that check this library against Go
// (cross_test.go): reads a JSON file of cases Go made and prints, as JSON,
// what the library makes of them:
//
//   - public_keys: the encryption key derived from each recipient's
//     private key material (Go compares it with crypto/hpke's);
//   - unwrapped: each wrapped key Go made (crypto/hpke), opened with the
//     recipient's keys for the case's context: the stream key in hex, or
//     "error <code>: <message>";
//   - wrapped, commitments: each case's stream_key_js wrapped here to the
//     recipient's encryption key (base64; Go opens it) and its commitment;
//   - aads, fields: the CBOR of sealed additional data and of fields
//     (hex; Go compares them with internal/dcbor's).
//
// Usage: node tools/cross.mjs cases.json
import { readFileSync } from "node:fs";
import { commitment, encodeFields, publicKey, recipientKeys, sealedAAD, toBase64, toHex, unwrapStreamKey, wrapStreamKey, fromBase64 } from "../dist/private.js";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const keys = cases.recipients.map((r) => recipientKeys(r.x25519_private, r.xwing_seed || undefined));
const pubs = await Promise.all(keys.map((k) => publicKey(k)));
const out = {
  public_keys: pubs.map((p) => ({ x25519: toHex(p.x25519), xwing: p.xwing ? toHex(p.xwing) : "" })),
  unwrapped: [],
  wrapped: [],
  commitments: [],
  aads: cases.aads.map((a) => toHex(sealedAAD(a.device, a.seq, a.epoch))),
  fields: cases.fields.map((f) => {
    const m = new Map();
    for (const v of f) {
      m.set(v.name, v.type === "int" || v.type === "uint" ? BigInt(v.value) : v.type === "float" ? Number(v.value) : v.type === "bool" ? v.value === "true" : v.value);
    }
    return toHex(encodeFields(m));
  }),
};
for (const w of cases.wraps) {
  const ctx = { chainID: w.chain_id, device: w.device, epoch: w.epoch, recipient: w.account };
  try {
    out.unwrapped.push(toHex(await unwrapStreamKey(fromBase64(w.wrapped), keys[w.recipient], w.open_as ?? ctx)));
  } catch (e) {
    out.unwrapped.push(`error ${e.code}: ${e.message}`);
  }
  const wrapped = await wrapStreamKey(w.stream_key_js, pubs[w.recipient], ctx);
  out.wrapped.push(toBase64(wrapped));
  out.commitments.push(toHex(commitment(wrapped)));
}
process.stdout.write(JSON.stringify(out));
