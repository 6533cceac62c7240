// The CometBFT values a receipt carries (a signed header, validator sets),
// read from CometBFT's JSON (libs/json: 64-bit integers as strings, hashes
// in hex, times in RFC 3339 UTC, keys as {"type", "value"}), hashed and
// checked as CometBFT v1.0 does: the header hash is the Merkle root of its
// protobuf-encoded fields, a vote's sign bytes are a length-delimited
// protobuf CanonicalVote, and ValidateBasic, VerifyCommit,
// VerifyCommitLight and light.Verify are repeated here for what a receipt
// needs. Protobuf is written with @bufbuild/protobuf's BinaryWriter; a Go
// test (web/verify/verify_test.go) compares the bytes with CometBFT's own.
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { sha256 } from "@noble/hashes/sha2.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { equal, fromGoBase64, fromHex, hexUpper } from "./bytes.js";
import { asString, JNumber, JObject, JString, type JValue } from "./json.js";
import { hashFromByteSlices } from "./merkle.js";

/** MalformedError: a value does not decode (receipt.ErrMalformed on the Go side). */
export class MalformedError extends Error {}

export interface Time {
  seconds: bigint; // since the Unix epoch
  nanos: number;
}
export interface BlockID {
  hash: Uint8Array;
  total: number;
  partsHash: Uint8Array;
}
export interface Header {
  versionBlock: bigint;
  versionApp: bigint;
  chainId: string;
  height: bigint;
  time: Time;
  lastBlockId: BlockID;
  lastCommitHash: Uint8Array;
  dataHash: Uint8Array;
  validatorsHash: Uint8Array;
  nextValidatorsHash: Uint8Array;
  consensusHash: Uint8Array;
  appHash: Uint8Array;
  lastResultsHash: Uint8Array;
  evidenceHash: Uint8Array;
  proposerAddress: Uint8Array;
}
export interface CommitSig {
  flag: number;
  address: Uint8Array;
  time: Time;
  signature: Uint8Array;
}
export interface Commit {
  height: bigint;
  round: number;
  blockId: BlockID;
  signatures: CommitSig[];
}
export interface SignedHeader {
  header: Header | null;
  commit: Commit | null;
}
export interface Validator {
  address: Uint8Array;
  pubKey: Uint8Array | null; // Ed25519
  power: bigint;
}
export interface ValidatorSet {
  validators: (Validator | null)[];
  proposer: Validator | null;
}

export const flagAbsent = 1;
export const flagCommit = 2;
export const flagNil = 3;
const blockProtocol = 11n;
const maxChainIdLen = 50;
const maxSignatureSize = 64;
const maxTotalVotingPower = ((1n << 63n) - 1n) / 8n; // math.MaxInt64 / 8
const zeroTime: Time = { seconds: -62135596800n, nanos: 0 };
const ed25519Type = "tendermint/PubKeyEd25519";

// ---- Decoding CometBFT's JSON ----

export function obj(v: JValue | undefined, what: string): JObject | null {
  if (v === undefined || v === null) return null;
  if (!(v instanceof JObject)) throw new MalformedError(`${what}: not a JSON object`);
  return v;
}

// CometBFT reads hex, 64-bit integers and times from the raw text between
// the quotes, so a string written with an escape is an error there.
function noEscape(v: JValue | undefined, what: string): void {
  if (v instanceof JString) throw new MalformedError(`${what}: ${JSON.stringify(v.raw)} holds an escape (\\), which CometBFT does not read here`);
}

export function int64(v: JValue | undefined, what: string, unsigned = false): bigint {
  if (v === undefined || v === null) return 0n;
  noEscape(v, what);
  if (typeof v !== "string") throw new MalformedError(`${what}: invalid 64-bit integer encoding, expected string`);
  // The text between the quotes is read as JSON: white space around the
  // number is allowed, and null is zero.
  const t = v.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, "");
  if (t === "null") return 0n;
  if (!/^-?(0|[1-9][0-9]*)$/.test(t)) throw new MalformedError(`${what}: ${JSON.stringify(v)} is not an integer`);
  const n = BigInt(t);
  if (unsigned ? n < 0n || n >= 1n << 64n : n < -(1n << 63n) || n >= 1n << 63n) throw new MalformedError(`${what}: ${v} is out of range`);
  return n;
}

function int32(v: JValue | undefined, what: string, min: number, max: number): number {
  if (v === undefined || v === null) return 0;
  if (!(v instanceof JNumber) || !/^-?(0|[1-9][0-9]*)$/.test(v.text)) throw new MalformedError(`${what}: not an integer`);
  const n = Number(v.text);
  if (n < min || n > max) throw new MalformedError(`${what}: ${v.text} is out of range`);
  return n;
}

export function str(v: JValue | undefined, what: string): string {
  if (v === undefined || v === null) return "";
  const s = asString(v);
  if (s === null) throw new MalformedError(`${what}: not a string`);
  return s;
}

export function hex(v: JValue | undefined, what: string): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array(0);
  noEscape(v, what);
  const b = typeof v === "string" ? fromHex(v) : null;
  if (!b) throw new MalformedError(`${what}: invalid hex string`);
  return b;
}

function b64(v: JValue | undefined, what: string): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array(0);
  const text = asString(v);
  const b = text !== null ? fromGoBase64(text) : null;
  if (!b) throw new MalformedError(`${what}: illegal base64 data`);
  return b;
}

const daysBefore = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}
function daysFromCivil(y: number, m: number, d: number): bigint {
  // days since 1970-01-01 of the proleptic Gregorian date y-m-d
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return BigInt(era * 146097 + doe - 719468);
}

/** parseTime reads an RFC 3339 time in UTC ending in Z, as CometBFT's JSON requires. */
export function parseTime(v: JValue | undefined, what: string): Time {
  if (v === undefined || v === null) return zeroTime;
  noEscape(v, what);
  if (typeof v !== "string") throw new MalformedError(`${what}: JSON time must be an RFC3339 string`);
  // Go's time.Parse with layout RFC 3339, as CometBFT's JSON reads a time:
  // the hour may have one digit, the fraction any number (past the ninth
  // ignored) after a period or a comma.
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?Z$/.exec(v);
  if (!m) throw new MalformedError(`${what}: ${JSON.stringify(v)} is not an RFC 3339 time in UTC ending in Z`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const dim = [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1]! || h > 23 || mi > 59 || s > 59) {
    throw new MalformedError(`${what}: ${JSON.stringify(v)} is out of range`);
  }
  void daysBefore;
  const seconds = daysFromCivil(y, mo, d) * 86400n + BigInt(h * 3600 + mi * 60 + s);
  const nanos = m[7] ? Number(m[7].slice(0, 9).padEnd(9, "0")) : 0;
  return { seconds, nanos };
}

function blockId(v: JValue | undefined, what: string): BlockID {
  const o = obj(v, what);
  const parts = obj(o?.get("parts"), what + ".parts");
  return {
    hash: hex(o?.get("hash"), what + ".hash"),
    total: int32(parts?.get("total"), what + ".parts.total", 0, 0xffffffff),
    partsHash: hex(parts?.get("hash"), what + ".parts.hash"),
  };
}

function header(o: JObject): Header {
  const version = obj(o.get("version"), "header.version");
  const h = (name: string) => hex(o.get(name), "header." + name);
  return {
    versionBlock: int64(version?.get("block"), "header.version.block", true),
    versionApp: int64(version?.get("app"), "header.version.app", true),
    chainId: str(o.get("chain_id"), "header.chain_id"),
    height: int64(o.get("height"), "header.height"),
    time: parseTime(o.get("time"), "header.time"),
    lastBlockId: blockId(o.get("last_block_id"), "header.last_block_id"),
    lastCommitHash: h("last_commit_hash"),
    dataHash: h("data_hash"),
    validatorsHash: h("validators_hash"),
    nextValidatorsHash: h("next_validators_hash"),
    consensusHash: h("consensus_hash"),
    appHash: h("app_hash"),
    lastResultsHash: h("last_results_hash"),
    evidenceHash: h("evidence_hash"),
    proposerAddress: h("proposer_address"),
  };
}

function commit(o: JObject): Commit {
  const sigs = o.get("signatures");
  if (sigs !== undefined && sigs !== null && !Array.isArray(sigs)) throw new MalformedError("commit.signatures: not an array");
  return {
    height: int64(o.get("height"), "commit.height"),
    round: int32(o.get("round"), "commit.round", -(2 ** 31), 2 ** 31 - 1),
    blockId: blockId(o.get("block_id"), "commit.block_id"),
    signatures: (sigs ?? []).map((s, i) => {
      const so = obj(s, `commit.signatures[${i}]`);
      return {
        flag: int32(so?.get("block_id_flag"), `commit.signatures[${i}].block_id_flag`, 0, 255),
        address: hex(so?.get("validator_address"), `commit.signatures[${i}].validator_address`),
        time: parseTime(so?.get("timestamp"), `commit.signatures[${i}].timestamp`),
        signature: b64(so?.get("signature"), `commit.signatures[${i}].signature`),
      };
    }),
  };
}

/** decodeSignedHeader reads a types.SignedHeader from CometBFT's JSON. */
export function decodeSignedHeader(v: JValue): SignedHeader {
  const o = obj(v, "signed header");
  const h = obj(o?.get("header"), "header");
  const c = obj(o?.get("commit"), "commit");
  return { header: h && header(h), commit: c && commit(c) };
}

// foldEqual is how Go's encoding/json matches a member name to a field
// name: an exact match, or one that differs in letter case only (with
// the Kelvin sign for k and the long s for s).
function foldEqual(name: string, field: string): boolean {
  return name.replace(/\u212A/g, "k").replace(/\u017F/g, "s").toLowerCase() === field;
}

// member is the value of the last member whose name folds to field: how
// Go's encoding/json fills a struct field (CometBFT reads a key's
// {"type", "value"} wrapper with it).
export function member(o: JObject, field: string): JValue | undefined {
  let v: JValue | undefined;
  for (const [k, x] of o.members) if (foldEqual(k, field)) v = x;
  return v;
}

function pubKey(v: JValue | undefined, what: string): Uint8Array | null {
  const o = obj(v, what);
  if (!o) return null;
  const type = asString(member(o, "type") ?? null);
  if (type !== ed25519Type) {
    throw new MalformedError(`${what}: key type ${JSON.stringify(type)}; this verifier reads ${ed25519Type} keys`);
  }
  return b64(member(o, "value"), what + ".value");
}

function validator(v: JValue | undefined, what: string): Validator | null {
  const o = obj(v, what);
  if (!o) return null;
  int64(o.get("proposer_priority"), what + ".proposer_priority");
  return {
    address: hex(o.get("address"), what + ".address"),
    pubKey: pubKey(o.get("pub_key"), what + ".pub_key"),
    power: int64(o.get("voting_power"), what + ".voting_power"),
  };
}

/** decodeValidators reads a types.ValidatorSet from CometBFT's JSON and checks it as receipt.decodeValidators does. */
export function decodeValidators(v: JValue | undefined): ValidatorSet {
  if (v === undefined) throw new MalformedError("no validator set");
  const o = obj(v, "validator set");
  const list = o?.get("validators");
  if (list !== undefined && list !== null && !Array.isArray(list)) throw new MalformedError("validator set: validators is not an array");
  const set: ValidatorSet = {
    validators: (list ?? []).map((x, i) => validator(x, `validator ${i}`)),
    proposer: validator(o?.get("proposer"), "proposer"),
  };
  set.validators.forEach((val, i) => {
    if (val) checkKey(val.pubKey, `validator set: validator ${i}`);
  });
  if (set.proposer) checkKey(set.proposer.pubKey, "validator set: proposer");
  const err = validateValidatorSet(set);
  if (err) throw new MalformedError("validator set: " + err);
  return set;
}

function checkKey(k: Uint8Array | null, what: string): void {
  if (!k) throw new MalformedError(`${what}: no public key`);
  if (k.length !== 32) throw new MalformedError(`${what}: ed25519 public key of ${k.length} bytes, want 32`);
}

/** The address of an Ed25519 key: the first 20 bytes of its SHA-256. */
export function keyAddress(k: Uint8Array): Uint8Array {
  return sha256(k).subarray(0, 20);
}

function validateValidator(v: Validator | null): string | null {
  if (!v) return "nil validator";
  if (!v.pubKey) return "validator does not have a public key";
  if (v.power < 0n) return "validator has negative voting power";
  const addr = keyAddress(v.pubKey);
  if (!equal(v.address, addr)) return `validator address is incorrectly derived from pubkey. Exp: ${hexUpper(addr)}, got ${hexUpper(v.address)}`;
  return null;
}

function validateValidatorSet(s: ValidatorSet): string | null {
  if (s.validators.length === 0) return "validator set is nil or empty";
  for (let i = 0; i < s.validators.length; i++) {
    const e = validateValidator(s.validators[i]!);
    if (e) return `invalid validator #${i}: ${e}`;
  }
  const e = validateValidator(s.proposer);
  if (e) return `proposer failed validate basic, error: ${e}`;
  if (!s.validators.some((v) => equal(v!.address, s.proposer!.address))) return "proposer not in validator set";
  return null;
}

// ---- Hashes and sign bytes ----

function writeTimestamp(w: BinaryWriter, t: Time): void {
  if (t.seconds !== 0n) w.tag(1, WireType.Varint).int64(t.seconds);
  if (t.nanos !== 0) w.tag(2, WireType.Varint).int32(t.nanos);
}

function timestampBytes(t: Time): Uint8Array {
  const w = new BinaryWriter();
  writeTimestamp(w, t);
  return w.finish();
}

function blockIdBytes(b: BlockID): Uint8Array {
  const w = new BinaryWriter();
  if (b.hash.length) w.tag(1, WireType.LengthDelimited).bytes(b.hash);
  w.tag(2, WireType.LengthDelimited).fork();
  if (b.total) w.tag(1, WireType.Varint).uint32(b.total);
  if (b.partsHash.length) w.tag(2, WireType.LengthDelimited).bytes(b.partsHash);
  w.join();
  return w.finish();
}

function bytesValue(b: Uint8Array): Uint8Array {
  const w = new BinaryWriter();
  if (b.length) w.tag(1, WireType.LengthDelimited).bytes(b);
  return w.finish();
}

/** headerHash is types.Header.Hash: empty when the header names no validators hash. */
export function headerHash(h: Header): Uint8Array {
  if (h.validatorsHash.length === 0) return new Uint8Array(0);
  const version = new BinaryWriter();
  if (h.versionBlock) version.tag(1, WireType.Varint).uint64(h.versionBlock);
  if (h.versionApp) version.tag(2, WireType.Varint).uint64(h.versionApp);
  const chainId = new BinaryWriter();
  if (h.chainId) chainId.tag(1, WireType.LengthDelimited).string(h.chainId);
  const height = new BinaryWriter();
  if (h.height) height.tag(1, WireType.Varint).int64(h.height);
  return hashFromByteSlices([
    version.finish(),
    chainId.finish(),
    height.finish(),
    timestampBytes(h.time),
    blockIdBytes(h.lastBlockId),
    bytesValue(h.lastCommitHash),
    bytesValue(h.dataHash),
    bytesValue(h.validatorsHash),
    bytesValue(h.nextValidatorsHash),
    bytesValue(h.consensusHash),
    bytesValue(h.appHash),
    bytesValue(h.lastResultsHash),
    bytesValue(h.evidenceHash),
    bytesValue(h.proposerAddress),
  ]);
}

/** validatorSetHash is types.ValidatorSet.Hash: the Merkle root of each validator's SimpleValidator bytes. */
export function validatorSetHash(s: ValidatorSet): Uint8Array {
  return hashFromByteSlices(
    s.validators.map((v) => {
      const w = new BinaryWriter();
      w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).bytes(v!.pubKey!).join();
      if (v!.power) w.tag(2, WireType.Varint).int64(v!.power);
      return w.finish();
    }),
  );
}

function isNilBlockId(b: BlockID): boolean {
  return b.hash.length === 0 && b.total === 0 && b.partsHash.length === 0;
}

/** voteSignBytes is types.Commit.VoteSignBytes: the length-delimited CanonicalVote validator idx signed. */
export function voteSignBytes(chainId: string, c: Commit, idx: number): Uint8Array {
  const cs = c.signatures[idx]!;
  const bid = cs.flag === flagCommit ? c.blockId : { hash: new Uint8Array(0), total: 0, partsHash: new Uint8Array(0) };
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).int32(2); // PrecommitType
  if (c.height) w.tag(2, WireType.Bit64).sfixed64(c.height);
  if (c.round) w.tag(3, WireType.Bit64).sfixed64(c.round);
  if (!isNilBlockId(bid)) {
    w.tag(4, WireType.LengthDelimited).fork();
    if (bid.hash.length) w.tag(1, WireType.LengthDelimited).bytes(bid.hash);
    w.tag(2, WireType.LengthDelimited).fork();
    if (bid.total) w.tag(1, WireType.Varint).uint32(bid.total);
    if (bid.partsHash.length) w.tag(2, WireType.LengthDelimited).bytes(bid.partsHash);
    w.join().join();
  }
  w.tag(5, WireType.LengthDelimited).fork();
  writeTimestamp(w, cs.time);
  w.join();
  if (chainId) w.tag(6, WireType.LengthDelimited).string(chainId);
  const body = w.finish();
  return new BinaryWriter().bytes(body).finish(); // uvarint length, then the message
}

// ---- Checks ----

function validateHash(b: Uint8Array, what: string): string | null {
  return b.length !== 0 && b.length !== 32 ? `wrong ${what}: expected size to be 32 bytes, got ${b.length} bytes` : null;
}

function validateHeader(h: Header): string | null {
  if (h.versionBlock !== blockProtocol) return `block protocol is incorrect: got: ${h.versionBlock}, want: ${blockProtocol}`;
  if (new TextEncoder().encode(h.chainId).length > maxChainIdLen) return "chainID is too long";
  if (h.height < 0n) return "negative Height";
  if (h.height === 0n) return "zero Height";
  const e =
    validateHash(h.lastBlockId.hash, "LastBlockID: wrong Hash") ??
    validateHash(h.lastBlockId.partsHash, "LastBlockID: wrong PartSetHeader: wrong Hash") ??
    validateHash(h.lastCommitHash, "LastCommitHash") ??
    validateHash(h.dataHash, "DataHash") ??
    validateHash(h.evidenceHash, "EvidenceHash");
  if (e) return e;
  if (h.proposerAddress.length !== 20) return `invalid ProposerAddress length; got: ${h.proposerAddress.length}, expected: 20`;
  return (
    validateHash(h.validatorsHash, "ValidatorsHash") ??
    validateHash(h.nextValidatorsHash, "NextValidatorsHash") ??
    validateHash(h.consensusHash, "ConsensusHash") ??
    validateHash(h.lastResultsHash, "LastResultsHash")
  );
}

function validateCommitSig(cs: CommitSig): string | null {
  switch (cs.flag) {
    case flagAbsent:
      if (cs.address.length) return "validator address is present";
      if (cs.time.seconds !== zeroTime.seconds || cs.time.nanos !== 0) return "time is present";
      if (cs.signature.length) return "signature is present";
      return null;
    case flagCommit:
    case flagNil:
      if (cs.address.length !== 20) return `expected ValidatorAddress size to be 20 bytes, got ${cs.address.length} bytes`;
      if (cs.signature.length === 0) return "signature is missing";
      if (cs.signature.length > maxSignatureSize) return `signature is too big (max: ${maxSignatureSize})`;
      return null;
    default:
      return `unknown BlockIDFlag: ${cs.flag}`;
  }
}

function validateCommit(c: Commit): string | null {
  if (c.height < 0n) return "negative Height";
  if (c.round < 0) return "negative Round";
  if (c.height >= 1n) {
    if (isNilBlockId(c.blockId)) return "commit cannot be for nil block";
    if (c.signatures.length === 0) return "no signatures in commit";
    for (let i = 0; i < c.signatures.length; i++) {
      const e = validateCommitSig(c.signatures[i]!);
      if (e) return `wrong CommitSig #${i}: ${e}`;
    }
  }
  return null;
}

/** validateSignedHeader is types.SignedHeader.ValidateBasic; it returns the reason it fails, or null. */
export function validateSignedHeader(sh: SignedHeader, chainId: string): string | null {
  if (!sh.header) return "missing header";
  if (!sh.commit) return "missing commit";
  let e = validateHeader(sh.header);
  if (e) return "invalid header: " + e;
  e = validateCommit(sh.commit);
  if (e) return "invalid commit: " + e;
  if (sh.header.chainId !== chainId) return `header belongs to another chain ${JSON.stringify(sh.header.chainId)}, not ${JSON.stringify(chainId)}`;
  if (sh.commit.height !== sh.header.height) return `header and commit height mismatch: ${sh.header.height} vs ${sh.commit.height}`;
  const hh = headerHash(sh.header);
  if (!equal(hh, sh.commit.blockId.hash)) return `commit signs block ${hexUpper(sh.commit.blockId.hash)}, header is block ${hexUpper(hh)}`;
  return null;
}

export function totalPower(s: ValidatorSet): bigint {
  let t = 0n;
  for (const v of s.validators) t += v!.power;
  if (t > maxTotalVotingPower) throw new Error(`total voting power should be guarded to not exceed ${maxTotalVotingPower}; got: ${t}`);
  return t;
}

/** verifySignature checks an Ed25519 signature under ZIP 215, the node's rule. */
export function verifyEd25519(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (pub.length !== 32 || sig.length !== 64) return false;
  try {
    return ed25519.verify(sig, msg, pub, { zip215: true });
  } catch {
    return false;
  }
}

function blockIdEqual(a: BlockID, b: BlockID): boolean {
  return equal(a.hash, b.hash) && a.total === b.total && equal(a.partsHash, b.partsHash);
}

/**
 * checkSignatures is receipt.checkSignatures: every signature of the
 * commit that is not absent names the validator at its position and
 * verifies (for the block or for nil); then VerifyCommit's count.
 */
export function checkSignatures(chainId: string, vals: ValidatorSet, sh: SignedHeader): string | null {
  const c = sh.commit!;
  if (c.signatures.length !== vals.validators.length) {
    return `the commit holds ${c.signatures.length} signatures for a set of ${vals.validators.length} validators`;
  }
  for (let i = 0; i < c.signatures.length; i++) {
    const cs = c.signatures[i]!;
    if (cs.flag === flagAbsent) continue;
    if (cs.flag !== flagCommit && cs.flag !== flagNil) {
      return `signature ${i} has block_id_flag ${cs.flag}, which is not absent (1), commit (2) or nil (3)`;
    }
    const val = vals.validators[i]!;
    if (!equal(cs.address, val.address)) {
      return `signature ${i} names validator ${hexUpper(cs.address)}, but validator ${i} of the set is ${hexUpper(val.address)} (a commit lists signatures in the set's order)`;
    }
    if (!verifyEd25519(val.pubKey!, voteSignBytes(chainId, c, i), cs.signature)) {
      if (cs.flag === flagNil) {
        return `signature ${i}, by validator ${hexUpper(val.address)} for nil (no block), does not verify: a signature marked nil must be that validator's vote for nil`;
      }
      return `signature ${i}, by validator ${hexUpper(val.address)} for block ${hexUpper(c.blockId.hash)}, does not verify`;
    }
  }
  return verifyCommitPower(vals, sh.header!.height, c.blockId, c);
}

/**
 * verifyCommitPower is what VerifyCommit and VerifyCommitLight check once
 * every signature is known to verify: the commit is for this height and
 * block, holds one entry per validator, and those for the block hold more
 * than two thirds of the power.
 */
export function verifyCommitPower(vals: ValidatorSet, height: bigint, bid: BlockID, c: Commit): string | null {
  if (c.signatures.length !== vals.validators.length) {
    return `invalid commit -- wrong set size: ${vals.validators.length} vs ${c.signatures.length}`;
  }
  if (height !== c.height) return `invalid commit -- wrong height: ${height} vs ${c.height}`;
  if (!blockIdEqual(bid, c.blockId)) return `invalid commit -- wrong block ID: want ${hexUpper(bid.hash)}, got ${hexUpper(c.blockId.hash)}`;
  const needed = (totalPower(vals) * 2n) / 3n;
  const got = signedPower(vals, c);
  if (got <= needed) return `invalid commit -- insufficient voting power: got ${got}, needed more than ${needed}`;
  return null;
}

export function signedPower(vals: ValidatorSet, c: Commit): bigint {
  let got = 0n;
  c.signatures.forEach((cs, i) => {
    if (cs.flag === flagCommit) got += vals.validators[i]!.power;
  });
  return got;
}

export interface LightBlock {
  sh: SignedHeader;
  vals: ValidatorSet;
}

function after(a: Time, b: Time): boolean {
  return a.seconds > b.seconds || (a.seconds === b.seconds && a.nanos > b.nanos);
}

/** validateLightBlock is types.LightBlock.ValidateBasic. */
export function validateLightBlock(lb: LightBlock, chainId: string): string | null {
  const e = validateSignedHeader(lb.sh, chainId);
  if (e) return "invalid signed header: " + e;
  const h = validatorSetHash(lb.vals);
  if (!equal(lb.sh.header!.validatorsHash, h)) {
    return `expected validator hash of header to match validator set hash (${hexUpper(lb.sh.header!.validatorsHash)} != ${hexUpper(h)})`;
  }
  return null;
}

/**
 * step is receipt.step: next verified from prev, a block already trusted,
 * as light.Verify does with the receipt's parameters (now is next's time,
 * the trusting period never ends, trust level 1/3), every signature of
 * both blocks having been verified already.
 */
export function step(prev: LightBlock, next: LightBlock): string | null {
  const ph = prev.sh.header!;
  const nh = next.sh.header!;
  const adjacent = nh.height === ph.height + 1n;
  if (!adjacent && !equal(nh.validatorsHash, ph.validatorsHash)) {
    return `blocks ${ph.height} and ${nh.height} are signed by different validator sets and the trace holds no block between them: a change of the set is skipped`;
  }
  // verifyNewHeaderAndVals
  let e = validateSignedHeader(next.sh, ph.chainId);
  if (e) return "invalid header: untrustedHeader.ValidateBasic failed: " + e;
  if (nh.height <= ph.height) return `invalid header: expected new header height ${nh.height} to be greater than one of old header ${ph.height}`;
  if (!after(nh.time, ph.time)) return "invalid header: expected new header time to be after old header time";
  if (!equal(nh.validatorsHash, validatorSetHash(next.vals))) return "invalid header: expected new header validators to match those that were supplied";
  if (adjacent) {
    if (!equal(nh.validatorsHash, ph.nextValidatorsHash)) {
      return `expected old header next validators (${hexUpper(ph.nextValidatorsHash)}) to match those from new header (${hexUpper(nh.validatorsHash)})`;
    }
  } else {
    // VerifyCommitLightTrusting: more than a third of the trusted set's
    // power, validators looked up by address, each counted once.
    const c = next.sh.commit!;
    const seen = new Set<string>();
    let got = 0n;
    for (const cs of c.signatures) {
      if (cs.flag !== flagCommit) continue;
      const key = hexUpper(cs.address);
      const val = prev.vals.validators.find((v) => equal(v!.address, cs.address));
      if (!val) continue;
      if (seen.has(key)) return `double vote from validator ${key}`;
      seen.add(key);
      got += val.power;
    }
    const needed = totalPower(prev.vals) / 3n;
    if (got <= needed) return `cannot trust new validator set: insufficient voting power: got ${got}, needed more than ${needed}`;
  }
  e = verifyCommitPower(next.vals, nh.height, next.sh.commit!.blockId, next.sh.commit!);
  return e && "invalid header: " + e;
}
