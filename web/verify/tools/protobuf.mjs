// Prints, for each case of the JSON file named on the command line (the
// signed header and validator set as CometBFT JSON text), the
// header hash, validator set hash and vote sign bytes this package
// computes, for web/verify/verify_test.go to compare with CometBFT's.
import { readFileSync } from "node:fs";
import { decodeSignedHeader, decodeValidators, headerHash, validatorSetHash, voteSignBytes, hexUpper, parseJSON } from "../dist/verify.js";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = cases.map((c) => {
  const sh = decodeSignedHeader(parseJSON(c.signed_header));
  return {
    name: c.name,
    header_hash: hexUpper(headerHash(sh.header)),
    validators_hash: c.validator_set ? hexUpper(validatorSetHash(decodeValidators(parseJSON(c.validator_set)))) : "",
    sign_bytes: c.sign_indexes.map((i) => hexUpper(voteSignBytes(c.chain_id, sh.commit, i))),
  };
});
process.stdout.write(JSON.stringify(out));
