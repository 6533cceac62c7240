// The genesis document the caller trusts (genesis.json as CometBFT writes
// it): its chain id and the validator set the chain starts with, built as
// CometBFT's GenesisDoc.ValidateAndComplete and types.NewValidatorSet do.
import { sha256 } from "@noble/hashes/sha2.js";
import { equal, fromGoBase64, hexUpper, utf8Bytes } from "./bytes.js";
import { hex, int64, keyAddress, MalformedError, member, obj, parseTime, str, validatorSetHash, type ValidatorSet, type Validator } from "./cometbft.js";
import { asString, JObject, JSONError, parseJSON, type JValue } from "./json.js";

/** GenesisError: the genesis cannot be the root of trust (receipt.ErrGenesis). */
export class GenesisError extends Error {}

export interface Genesis {
  chainId: string;
  /** The genesis validator set, in CometBFT's order (power descending, then address). */
  validators: ValidatorSet;
  /** Hash of the validator set (the header's ValidatorsHash while it signs). */
  validatorsHash: Uint8Array;
  /** SHA-256 of the genesis file's bytes, for a person to compare. */
  fileHash: Uint8Array;
}

const maxTotalVotingPower = ((1n << 63n) - 1n) / 8n;
const bad = (why: string) => new GenesisError("receipt: invalid genesis: " + why);

// Limits of CometBFT's consensus parameters (types/params.go).
const maxBlockSizeBytes = 100n * 1024n * 1024n;
const maxMessageDelay = 24n * 3600n * 1_000_000_000n;
const maxPrecision = 30n * 1_000_000_000n;
const pubKeyTypes = new Set(["ed25519", "secp256k1"]);

/** validateParams is types.ConsensusParams.ValidateBasic on the JSON of the genesis' consensus_params. */
function validateParams(o: JObject): string | null {
  const sub = (name: string) => obj(o.get(name), "consensus_params." + name);
  const block = sub("block");
  const evidence = sub("evidence");
  const validator = sub("validator");
  const version = sub("version");
  const synchrony = sub("synchrony");
  const feature = sub("feature");
  const i64 = (x: JObject | null, name: string) => int64(x?.get(name), name);
  const maxBytes = i64(block, "max_bytes");
  const maxGas = i64(block, "max_gas");
  const maxAgeNumBlocks = i64(evidence, "max_age_num_blocks");
  const maxAgeDuration = i64(evidence, "max_age_duration");
  const evidenceMaxBytes = i64(evidence, "max_bytes");
  int64(version?.get("app"), "version.app", true);
  const precision = i64(synchrony, "precision");
  const messageDelay = i64(synchrony, "message_delay");
  const voteExtensions = i64(feature, "vote_extensions_enable_height");
  const pbts = i64(feature, "pbts_enable_height");
  const typesJ = validator?.get("pub_key_types");
  if (typesJ !== undefined && typesJ !== null && !Array.isArray(typesJ)) return "validator.pub_key_types is not a list";
  const types = (typesJ ?? []).map((t, i) => str(t, `validator.pub_key_types[${i}]`));
  if (maxBytes === 0n) return "block.MaxBytes cannot be 0";
  if (maxBytes < -1n) return `block.MaxBytes must be -1 or greater than 0. Got ${maxBytes}`;
  if (maxBytes > maxBlockSizeBytes) return `block.MaxBytes is too big. ${maxBytes} > ${maxBlockSizeBytes}`;
  if (maxGas < -1n) return `block.MaxGas must be greater or equal to -1. Got ${maxGas}`;
  if (maxAgeNumBlocks <= 0n) return `evidence.MaxAgeNumBlocks must be greater than 0. Got ${maxAgeNumBlocks}`;
  if (maxAgeDuration <= 0n) return `evidence.MaxAgeDuration must be greater than 0 if provided, Got ${maxAgeDuration}`;
  if (evidenceMaxBytes > (maxBytes === -1n ? maxBlockSizeBytes : maxBytes)) return "evidence.MaxBytesEvidence is greater than upper bound";
  if (evidenceMaxBytes < 0n) return `evidence.MaxBytes must be non negative. Got: ${evidenceMaxBytes}`;
  if (voteExtensions < 0n) return "Feature.VoteExtensionsEnabledHeight cannot be negative";
  if (pbts < 0n) return "Feature.PbtsEnableHeight cannot be negative";
  if (pbts > 0n) {
    if (messageDelay <= 0n) return "synchrony.MessageDelay must be greater than 0";
    if (precision <= 0n) return "synchrony.Precision must be greater than 0";
    if (messageDelay > maxMessageDelay) return "synchrony.MessageDelay is too big";
    if (precision > maxPrecision) return "synchrony.Precision is too big";
  }
  if (types.length === 0) return "len(Validator.PubKeyTypes) must be greater than 0";
  for (let i = 0; i < types.length; i++) {
    if (!pubKeyTypes.has(types[i]!)) return `params.Validator.PubKeyTypes[${i}], ${types[i]}, is an unknown pubkey type`;
  }
  return null;
}

/**
 * parseGenesis reads genesis.json as CometBFT does (GenesisDocFromJSON:
 * its JSON rules, ValidateAndComplete) and builds the validator set a
 * receipt is checked against, as receipt.Verify does.
 */
export function parseGenesis(input: string | Uint8Array): Genesis {
  try {
    return parse(input);
  } catch (e) {
    if (e instanceof MalformedError) throw bad(e.message.replace(/^receipt: malformed: /, ""));
    throw e;
  }
}

function parse(input: string | Uint8Array): Genesis {
  const bytes = typeof input === "string" ? utf8Bytes(input) : input;
  const text = typeof input === "string" ? input : new TextDecoder().decode(input);
  let v: JValue;
  try {
    v = parseJSON(text);
  } catch (e) {
    if (e instanceof JSONError) throw bad(e.message);
    throw e;
  }
  if (!(v instanceof JObject)) throw bad("not a JSON object");
  parseTime(v.get("genesis_time"), "genesis_time");
  const chainId = str(v.get("chain_id"), "chain_id");
  const initialHeight = int64(v.get("initial_height"), "initial_height");
  hex(v.get("app_hash"), "app_hash");
  const params = obj(v.get("consensus_params"), "consensus_params");
  const list = v.get("validators");
  if (list !== undefined && list !== null && !Array.isArray(list)) throw bad("validators is not a list");
  const given = (list ?? []).map((x, i) => {
    const o = obj(x, `validator ${i}`);
    const pk = obj(o?.get("pub_key"), `validator ${i}: pub_key`);
    let key: Uint8Array | null = null;
    if (pk) {
      const type = asString(member(pk, "type") ?? null);
      if (type !== "tendermint/PubKeyEd25519") throw bad(`validator ${i}: key type ${JSON.stringify(type)}; this verifier reads tendermint/PubKeyEd25519 keys`);
      const value = asString(member(pk, "value") ?? null);
      key = value !== null ? fromGoBase64(value) : null;
      if (!key) throw bad(`validator ${i}: the key is not base64`);
    }
    str(o?.get("name"), `validator ${i}: name`);
    return { address: hex(o?.get("address"), `validator ${i}: address`), key, power: int64(o?.get("power"), `validator ${i}: power`) };
  });

  // GenesisDoc.ValidateAndComplete
  if (chainId === "") throw bad("no chain id");
  if (utf8Bytes(chainId).length > 50) throw bad("chain_id in genesis doc is too long (max: 50)");
  if (initialHeight < 0n) throw bad(`initial_height cannot be negative (got ${initialHeight})`);
  if (params) {
    const e = validateParams(params);
    if (e) throw bad(e);
  }
  given.forEach((g, i) => {
    if (g.power === 0n) throw bad(`the genesis file cannot contain validators with no voting power: validator ${i}`);
    if (!g.key) throw bad(`validator ${i}: no public key`);
    if (g.key.length !== 32) throw bad(`validator ${i}: ed25519 public key of ${g.key.length} bytes, want 32`);
    if (g.address.length > 0 && !equal(g.address, keyAddress(g.key))) {
      throw bad(`incorrect address for validator ${i} in the genesis file, should be ${hexUpper(keyAddress(g.key))}`);
    }
  });

  // receipt.genesisSet
  if (given.length === 0) throw bad("it lists no validators");
  const vals: Validator[] = [];
  let total = 0n;
  given.forEach((g, i) => {
    const { key, power } = g;
    if (power <= 0n || power > maxTotalVotingPower - total) {
      throw bad(`validator ${i}: voting power ${power} is not positive or makes the total exceed ${maxTotalVotingPower}`);
    }
    total += power;
    const address = keyAddress(key!);
    if (vals.some((o) => equal(o.address, address))) throw bad(`validator ${i}: key ${hexUpper(key!)} listed twice`);
    vals.push({ address, pubKey: key, power });
  });
  vals.sort((a, b) => {
    if (a.power !== b.power) return a.power > b.power ? -1 : 1;
    for (let i = 0; i < 20; i++) if (a.address[i] !== b.address[i]) return a.address[i]! - b.address[i]!;
    return 0;
  });
  const validators: ValidatorSet = { validators: vals, proposer: vals[0]! };
  return { chainId, validators, validatorsHash: validatorSetHash(validators), fileHash: sha256(bytes) };
}
