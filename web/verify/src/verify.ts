// verify makes the six checks of the Go receipt package (receipt.Verify),
// in its order, stopping at the first that fails.
import { encode } from "cborg";
import { sha256 } from "@noble/hashes/sha2.js";
import { deviceId } from "./address.js";
import { equal, hexUpper } from "./bytes.js";
import {
  checkSignatures,
  decodeSignedHeader,
  decodeValidators,
  MalformedError,
  signedPower,
  step,
  totalPower,
  validateLightBlock,
  validateSignedHeader,
  validatorSetHash,
  verifyCommitPower,
  type LightBlock,
  type SignedHeader,
  type ValidatorSet,
} from "./cometbft.js";
import { GenesisError, parseGenesis, type Genesis } from "./genesis.js";
import type { JValue } from "./json.js";
import { leafHash, rootFromInclusionProof } from "./merkle.js";
import { decodeReading, verifyReading, type SignedReading } from "./reading.js";
import { ParseError, parseReceipt, versionTrace, type Receipt } from "./receipt.js";

/** Names of the checks, in the order they are made (the Go receipt.Check* constants). */
export const CheckDeviceSignature = "device signature";
export const CheckDeviceID = "device id matches key";
export const CheckInclusion = "inclusion in the log";
export const CheckAppHash = "root committed by block's app hash";
export const CheckValidatorSet = "validator set followed from genesis";
export const CheckCommit = "block signed by validators";
export const checkNames = [CheckDeviceSignature, CheckDeviceID, CheckInclusion, CheckAppHash, CheckValidatorSet, CheckCommit] as const;

/** RotatedKey is the detail of a passed device id check when the key was rotated. */
export const RotatedKey = "key was rotated; the ledger's leaf binds this key to the device";

/** One check made: its name, whether it passed, and what was found (or why it failed). */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * The outcome of verify: ok only if every check passed. verdict is "ok",
 * the name of the check that failed, "malformed" when the receipt does not
 * parse, or "invalid genesis".
 */
export interface Result {
  ok: boolean;
  verdict: string;
  checks: Check[];
  error?: string;
}

class CheckFailure extends Error {}
const fail = (why: string): never => {
  throw new CheckFailure(why);
};
const errMalformed = "receipt: malformed: ";

function appHash(size: bigint, root: Uint8Array | null, digest: Uint8Array | null): Uint8Array {
  const n = size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : size;
  return sha256(encode(["iotledger/app/v1", n, root, digest]));
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

class Verifier {
  signed!: SignedReading;
  header!: SignedHeader;
  last: LightBlock | null = null;
  constructor(
    readonly r: Receipt,
    readonly g: Genesis,
  ) {}

  deviceSignature(): string {
    const s = decodeReading(this.r.reading ?? new Uint8Array(0));
    verifyReading(s, this.r.deviceKey ?? new Uint8Array(0));
    this.signed = s;
    return `device ${s.device} seq ${s.seq}`;
  }

  deviceID(): string {
    if (deviceId(this.r.deviceKey ?? new Uint8Array(0)) !== this.signed.device) return RotatedKey;
    return `the key derives device id ${this.signed.device}`;
  }

  inclusion(): string {
    const r = this.r;
    const proof = r.proof.map((h, i) => {
      const b = h ?? new Uint8Array(0);
      if (b.length !== 32) fail(`receipt: the inclusion proof does not lead to the log root: proof hash ${i} has ${b.length} bytes, want 32`);
      return b;
    });
    const root = r.logRoot ?? new Uint8Array(0);
    if (root.length !== 32) fail(`receipt: the inclusion proof does not lead to the log root: log root has ${root.length} bytes, want 32`);
    const leaf = leafHash(encode([r.deviceKey ?? new Uint8Array(0), r.reading ?? new Uint8Array(0)]));
    let got: Uint8Array;
    try {
      got = rootFromInclusionProof(r.leafIndex, r.treeSize, leaf, proof);
    } catch (e) {
      return fail(`receipt: the inclusion proof does not lead to the log root: leaf ${r.leafIndex} of a log of size ${r.treeSize}: ${(e as Error).message}`);
    }
    if (!equal(got, root)) fail(`receipt: the inclusion proof does not lead to the log root: computed ${hexUpper(got)}, want ${hexUpper(root)}`);
    return `leaf ${r.leafIndex} of a log of size ${r.treeSize}`;
  }

  appHash(): string {
    const r = this.r;
    if (r.height < 1n || r.height === (1n << 63n) - 1n) fail(`receipt: the header is not of the block after the receipt's height: height ${r.height} is out of range`);
    if (r.signedHeader === undefined) fail(errMalformed + "no signed header");
    const sh = decodeSignedHeader(r.signedHeader as JValue);
    if (!sh.header || !sh.commit) fail(errMalformed + "signed header without header or commit");
    const h = sh.header!;
    if (h.height !== r.height + 1n) {
      fail(`receipt: the header is not of the block after the receipt's height: header of block ${h.height}, want block ${r.height + 1n} (the app hash of block ${r.height} is in the next header)`);
    }
    const got = appHash(r.treeSize, r.logRoot, r.stateDigest);
    if (!equal(got, h.appHash)) {
      fail(`receipt: the block's app hash does not commit to the log root, size and state digest: computed ${hexUpper(got)}, want ${hexUpper(h.appHash)}`);
    }
    this.header = sh;
    return `block ${r.height} app hash`;
  }

  trace(): string {
    const { r, g } = this;
    const sh = this.header.header!;
    const errTrace = "receipt: the validator trace does not lead from the genesis validator set to the receipt's block: ";
    if (r.trace.length === 0) {
      if (r.version === versionTrace && equal(sh.validatorsHash, g.validatorsHash)) {
        fail(errMalformed + `a version ${versionTrace} receipt without a validator trace, of a block the genesis set signed; such a receipt is version 1`);
      }
      const n = g.validators.validators.length;
      return `the genesis set of ${n} ${plural(n, "validator", "validators")} (no change before block ${sh.height})`;
    }
    if (r.chainId !== g.chainId) fail(`receipt: chain id differs from the genesis: receipt of chain ${JSON.stringify(r.chainId)}, genesis of chain ${JSON.stringify(g.chainId)}`);
    const changes: string[] = [];
    let prev: LightBlock | null = null;
    r.trace.forEach((raw, i) => {
      const where = `trace entry ${i + 1} of ${r.trace.length}`;
      let lb: LightBlock;
      try {
        lb = decodeLightBlock(raw, g.chainId);
      } catch (e) {
        return fail(errTrace + `${where}: ${(e as Error).message}`);
      }
      const h = lb.sh.header!;
      if (h.height >= sh.height) fail(errTrace + `${where} is block ${h.height}, not below the receipt's block ${sh.height}`);
      if (!prev) {
        const got = validatorSetHash(lb.vals);
        if (!equal(got, g.validatorsHash)) {
          fail(errTrace + `block ${h.height}, the first of the trace, is not signed by the genesis validator set: computed ${hexUpper(got)}, want ${hexUpper(g.validatorsHash)}`);
        }
        const e = verifyCommitPower(g.validators, h.height, lb.sh.commit!.blockId, lb.sh.commit!);
        if (e) fail(errTrace + `block ${h.height}, the first of the trace: ${e}`);
      } else {
        const e = step(prev, lb);
        if (e) fail(errTrace + `from block ${prev.sh.header!.height} to block ${h.height}: ${e}`);
        if (!equal(prev.sh.header!.validatorsHash, h.validatorsHash)) changes.push(String(h.height));
      }
      prev = lb;
    });
    const last = prev as LightBlock | null;
    this.last = last;
    const lh = last!.sh.header!;
    if (!equal(lh.nextValidatorsHash, lh.validatorsHash)) changes.push(String(lh.height + 1n));
    return `${changes.length} ${plural(changes.length, "change", "changes")} (at ${plural(changes.length, "block", "blocks")} ${changes.join(", ")}) followed from the genesis set by CometBFT light-client verification of ${r.trace.length} ${plural(r.trace.length, "block", "blocks")}`;
  }

  commit(): string {
    const { r, g } = this;
    const sh = this.header;
    const h = sh.header!;
    if (h.chainId !== g.chainId || r.chainId !== g.chainId) {
      fail(`receipt: chain id differs from the genesis: header of chain ${JSON.stringify(h.chainId)}, receipt of chain ${JSON.stringify(r.chainId)}, genesis of chain ${JSON.stringify(g.chainId)}`);
    }
    const vals = decodeValidators(r.validatorSet);
    const hash = validatorSetHash(vals);
    if (!equal(hash, h.validatorsHash)) {
      fail(`receipt: the validator set is not the one the header commits to: computed ${hexUpper(hash)}, want ${hexUpper(h.validatorsHash)}`);
    }
    if (!this.last && !equal(hash, g.validatorsHash)) {
      fail(`receipt: the validator set is not the genesis validator set, and the receipt carries no validator trace to it: computed ${hexUpper(hash)}, want ${hexUpper(g.validatorsHash)}`);
    }
    const errCommit = "receipt: the commit does not prove the block was signed by more than two thirds of the voting power: ";
    let e = validateSignedHeader(sh, g.chainId);
    if (e) fail(errCommit + e);
    let trusted: ValidatorSet = g.validators;
    if (this.last) {
      e = step(this.last, { sh, vals });
      if (e) {
        fail(`receipt: the validator trace does not lead from the genesis validator set to the receipt's block: from block ${this.last.sh.header!.height} of the trace to the receipt's block ${h.height}: ${e}`);
      }
      trusted = vals;
    }
    e = checkSignatures(g.chainId, trusted, sh);
    if (e) fail(errCommit + e);
    return `validators holding ${signedPower(trusted, sh.commit!)} of ${totalPower(trusted)} voting power signed block ${h.height}`;
  }
}

function decodeLightBlock(raw: { signedHeader: JValue | undefined; validatorSet: JValue | undefined }, chainId: string): LightBlock {
  if (raw.signedHeader === undefined) throw new MalformedError(errMalformed + "no signed header");
  const sh = decodeSignedHeader(raw.signedHeader);
  if (!sh.header || !sh.commit) throw new MalformedError(errMalformed + "signed header without header or commit");
  const vals = decodeValidators(raw.validatorSet);
  const lb = { sh, vals };
  const e = validateLightBlock(lb, chainId);
  if (e) throw new Error(e);
  const s = checkSignatures(chainId, vals, sh);
  if (s) throw new Error(`block ${sh.header.height}: ${s}`);
  return lb;
}

function message(e: unknown): string {
  if (e instanceof MalformedError && !e.message.startsWith(errMalformed)) return errMalformed + e.message;
  if (e instanceof Error) return e.message;
  return "receipt: internal error while checking: " + String(e);
}

/**
 * verify checks a receipt against the genesis of the chain it claims to
 * come from, as `iotledger verify` does: the receipt's JSON (text or
 * bytes, as the API and the CLI write it) and genesis.json (text, bytes or
 * an already parsed Genesis). It never throws for bad input: the result
 * says which check failed and why.
 */
export function verify(receiptJSON: string | Uint8Array, genesisJSON: string | Uint8Array | Genesis): Result {
  let g: Genesis;
  try {
    g = typeof genesisJSON === "string" || genesisJSON instanceof Uint8Array ? parseGenesis(genesisJSON) : genesisJSON;
  } catch (e) {
    if (e instanceof GenesisError) return { ok: false, verdict: "invalid genesis", checks: [], error: e.message };
    throw e;
  }
  let r: Receipt;
  try {
    r = parseReceipt(receiptJSON);
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, verdict: "malformed", checks: [], error: e.message };
    throw e;
  }
  return verifyParsed(r, g);
}

/** verifyParsed makes the checks on a receipt parseReceipt returned. */
export function verifyParsed(r: Receipt, g: Genesis): Result {
  const v = new Verifier(r, g);
  const steps: [string, () => string][] = [
    [CheckDeviceSignature, () => v.deviceSignature()],
    [CheckDeviceID, () => v.deviceID()],
    [CheckInclusion, () => v.inclusion()],
    [CheckAppHash, () => v.appHash()],
    [CheckValidatorSet, () => v.trace()],
    [CheckCommit, () => v.commit()],
  ];
  const checks: Check[] = [];
  for (const [name, run] of steps) {
    let detail: string;
    try {
      detail = run();
    } catch (e) {
      const why = message(e);
      checks.push({ name, ok: false, detail: why });
      return { ok: false, verdict: name, checks, error: `${name}: ${why}` };
    }
    checks.push({ name, ok: true, detail });
  }
  return { ok: true, verdict: "ok", checks };
}
