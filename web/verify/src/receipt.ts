// The receipt's JSON form, read as receipt/format.Parse reads it: strictly
// (exact field names, each at most once, canonical base64 byte strings,
// nothing after the receipt), with its limits and versions.
import { fromCanonicalBase64, utf8Bytes } from "./bytes.js";
import { asString, JNumber, JObject, JSONError, parseJSON, type JValue } from "./json.js";
import { maxReadingSize } from "./reading.js";

export const version = 1;
export const versionTrace = 2;
export const maxSize = 4 << 20;
export const maxProof = 64;
export const maxTrace = 256;

/** A receipt, as Parse returns it. Byte strings given as null are null. */
export interface Receipt {
  version: number;
  chainId: string;
  reading: Uint8Array | null;
  deviceKey: Uint8Array | null;
  leafIndex: bigint;
  treeSize: bigint;
  proof: (Uint8Array | null)[];
  logRoot: Uint8Array | null;
  stateDigest: Uint8Array | null;
  height: bigint;
  /** CometBFT's JSON of the header of block height+1 and its commit; undefined when absent. */
  signedHeader: JValue | undefined;
  /** CometBFT's JSON of the validator set that signed it; undefined when absent. */
  validatorSet: JValue | undefined;
  trace: { signedHeader: JValue | undefined; validatorSet: JValue | undefined }[];
}

/** ParseError: Parse refuses the receipt (receipt.ErrMalformed, ErrVersion or ErrTooLarge on the Go side). */
export class ParseError extends Error {}

type Kind = "any" | "bytes" | "bytesList";
const receiptFields: Record<string, Kind> = {
  version: "any",
  chain_id: "any",
  reading: "bytes",
  device_key: "bytes",
  leaf_index: "any",
  tree_size: "any",
  inclusion_proof: "bytesList",
  log_root: "bytes",
  state_digest: "bytes",
  height: "any",
  signed_header: "any",
  validator_set: "any",
  validator_trace: "any",
};
const lightBlockFields: Record<string, Kind> = { signed_header: "any", validator_set: "any" };

const malformed = (why: string) => new ParseError("receipt: malformed: " + why);

function bytesOf(v: JValue, what: string): Uint8Array | null {
  if (v === null) return null;
  const text = asString(v);
  const b = text !== null ? fromCanonicalBase64(text) : null;
  if (!b) throw malformed(`${what}: not a byte string in canonical standard base64 (RFC 4648 section 4: with padding, no line breaks, padding bits zero)`);
  return b;
}

/** checkObject is format.checkObject: exact names, each once; returns the members by name. */
function checkObject(v: JValue, what: string, fields: Record<string, Kind>): Map<string, JValue> {
  if (!(v instanceof JObject)) throw malformed(`a ${what} is a JSON object`);
  const out = new Map<string, JValue>();
  for (const [name, value] of v.members) {
    if (!Object.hasOwn(fields, name)) {
      const meant = Object.keys(fields).find((f) => f.toLowerCase() === name.toLowerCase());
      if (meant) throw malformed(`${what} field ${JSON.stringify(name)} is unknown: field names are case-sensitive; write ${JSON.stringify(meant)}`);
      throw malformed(`${what} field ${JSON.stringify(name)} is unknown; the fields are ${Object.keys(fields).sort().join(", ")}`);
    }
    if (out.has(name)) throw malformed(`${what} field ${JSON.stringify(name)} appears twice; a field appears once`);
    out.set(name, value);
  }
  return out;
}

function integer(v: JValue | undefined, what: string, min: bigint, max: bigint): bigint {
  if (v === undefined || v === null) return 0n;
  if (!(v instanceof JNumber)) throw malformed(`${what}: not a number`);
  if (!/^-?(0|[1-9][0-9]*)$/.test(v.text)) throw malformed(`${what}: cannot unmarshal number ${v.text} into an integer`);
  const n = BigInt(v.text);
  if (n < min || n > max) throw malformed(`${what}: number ${v.text} overflows`);
  return n;
}

const int64Min = -(1n << 63n);
const int64Max = (1n << 63n) - 1n;
const uint64Max = (1n << 64n) - 1n;

/** parseReceipt is format.Parse: a receipt from its JSON text (or its bytes). */
export function parseReceipt(input: string | Uint8Array): Receipt {
  const size = typeof input === "string" ? utf8Bytes(input).length : input.length;
  if (size > maxSize) throw new ParseError(`receipt: too large: ${size} bytes, at most ${maxSize}`);
  const text = typeof input === "string" ? input : new TextDecoder().decode(input);
  let v: JValue;
  try {
    v = parseJSON(text);
  } catch (e) {
    if (e instanceof JSONError) throw malformed(e.message);
    throw e;
  }
  if (v === null) throw new ParseError("receipt: unsupported version: version 0, this verifier reads versions 1 and 2");
  const m = checkObject(v, "receipt", receiptFields);
  const bytes = (name: string) => {
    const x = m.get(name);
    return x === undefined ? null : bytesOf(x, `receipt field ${JSON.stringify(name)}`);
  };
  const chain = m.get("chain_id");
  if (chain !== undefined && chain !== null && asString(chain) === null) throw malformed("chain_id: not a string");
  const proofJ = m.get("inclusion_proof");
  if (proofJ !== undefined && proofJ !== null && !Array.isArray(proofJ)) throw malformed(`receipt field "inclusion_proof" is not an array of base64 strings`);
  const proof = (proofJ ?? []).map((p, i) => bytesOf(p, `receipt field "inclusion_proof", item ${i}`));
  const traceJ = m.get("validator_trace");
  if (traceJ !== undefined && traceJ !== null && !Array.isArray(traceJ)) throw malformed("validator_trace: not an array");
  const trace = (traceJ ?? []).map((b) => {
    if (b === null) return { signedHeader: undefined, validatorSet: undefined };
    const lb = checkObject(b, "validator trace block", lightBlockFields);
    return { signedHeader: lb.get("signed_header") ?? undefined, validatorSet: lb.get("validator_set") ?? undefined };
  });
  const r: Receipt = {
    version: Number(integer(m.get("version"), "version", int64Min, int64Max)),
    chainId: asString(chain ?? null) ?? "",
    reading: bytes("reading"),
    deviceKey: bytes("device_key"),
    leafIndex: integer(m.get("leaf_index"), "leaf_index", 0n, uint64Max),
    treeSize: integer(m.get("tree_size"), "tree_size", 0n, uint64Max),
    proof,
    logRoot: bytes("log_root"),
    stateDigest: bytes("state_digest"),
    height: integer(m.get("height"), "height", int64Min, int64Max),
    signedHeader: m.get("signed_header"),
    validatorSet: m.get("validator_set"),
    trace,
  };
  if (r.version !== version && r.version !== versionTrace) {
    throw new ParseError(`receipt: unsupported version: version ${r.version}, this verifier reads versions ${version} and ${versionTrace}`);
  }
  if (r.version === version && r.trace.length > 0) {
    throw malformed(`a version ${version} receipt carries a validator trace; a trace needs version ${versionTrace}`);
  }
  if (r.reading && r.reading.length > maxReadingSize) throw new ParseError(`receipt: too large: reading of ${r.reading.length} bytes, at most ${maxReadingSize}`);
  if (r.proof.length > maxProof) throw new ParseError(`receipt: too large: inclusion proof of ${r.proof.length} hashes, at most ${maxProof}`);
  if (r.trace.length > maxTrace) throw new ParseError(`receipt: too large: validator trace of ${r.trace.length} blocks, at most ${maxTrace}`);
  return r;
}
