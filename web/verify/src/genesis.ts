// The genesis document the caller trusts (genesis.json as CometBFT writes
// it): its chain id and the validator set the chain starts with, built as
// CometBFT's GenesisDoc.ValidateAndComplete and types.NewValidatorSet do.
import { sha256 } from "@noble/hashes/sha2.js";
import { equal, fromGoBase64, fromHex, hexUpper, utf8Bytes } from "./bytes.js";
import { int64, keyAddress, MalformedError, member, validatorSetHash, type ValidatorSet, type Validator } from "./cometbft.js";
import { asString, JObject, JSONError, JString, parseJSON, type JValue } from "./json.js";

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

function field(o: JObject, name: string): JValue | undefined {
  return o.get(name);
}

/** parseGenesis reads genesis.json and builds the validator set a receipt is checked against. */
export function parseGenesis(input: string | Uint8Array): Genesis {
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
  const chainId = asString(field(v, "chain_id") ?? null);
  if (chainId === null || chainId === "") throw bad("no chain id");
  if (utf8Bytes(chainId).length > 50) throw bad("chain_id in genesis doc is too long (max: 50)");
  const list = field(v, "validators");
  if (!Array.isArray(list) || list.length === 0) throw bad("it lists no validators");
  const vals: Validator[] = [];
  let total = 0n;
  list.forEach((x, i) => {
    if (!(x instanceof JObject)) throw bad(`validator ${i}: not a JSON object`);
    const pk = field(x, "pub_key");
    if (!(pk instanceof JObject)) throw bad(`validator ${i}: no public key`);
    const type = asString(member(pk, "type") ?? null);
    if (type !== "tendermint/PubKeyEd25519") throw bad(`validator ${i}: key type ${JSON.stringify(type)}; this verifier reads tendermint/PubKeyEd25519 keys`);
    const value = asString(member(pk, "value") ?? null);
    const key = value !== null ? fromGoBase64(value) : null;
    if (!key) throw bad(`validator ${i}: the key is not base64`);
    if (key.length !== 32) throw bad(`validator ${i}: ed25519 public key of ${key.length} bytes, want 32`);
    let power: bigint;
    try {
      power = int64(field(x, "power"), `validator ${i}: power`);
    } catch (e) {
      if (e instanceof MalformedError) throw bad(e.message);
      throw e;
    }
    if (power === 0n) throw bad(`the genesis file cannot contain validators with no voting power: validator ${i}`);
    if (power < 0n || power > maxTotalVotingPower - total) {
      throw bad(`validator ${i}: voting power ${power} is not positive or makes the total exceed ${maxTotalVotingPower}`);
    }
    total += power;
    const address = keyAddress(key);
    const given = field(x, "address");
    if (given instanceof JString) throw bad(`validator ${i}: address ${JSON.stringify(given.raw)} holds an escape, which CometBFT does not read in hex`);
    if (typeof given === "string" && given !== "") {
      const a = fromHex(given);
      if (!a || !equal(a, address)) throw bad(`incorrect address for validator ${i} in the genesis file, should be ${hexUpper(address)}`);
    }
    if (vals.some((o) => equal(o.address, address))) throw bad(`validator ${i}: key ${hexUpper(key)} listed twice`);
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
