// @iotledger/verify: check an iotledger receipt offline, in a browser or
// in Node, exactly as the Go receipt package (and `iotledger verify`) does.
export {
  verify,
  verifyParsed,
  checkNames,
  CheckDeviceSignature,
  CheckDeviceID,
  CheckInclusion,
  CheckAppHash,
  CheckValidatorSet,
  CheckCommit,
  RotatedKey,
  type Check,
  type Result,
} from "./verify.js";
export { parseReceipt, ParseError, version, versionTrace, maxSize, type Receipt } from "./receipt.js";
export { parseGenesis, GenesisError, type Genesis } from "./genesis.js";
export { deviceId, parseDevice } from "./address.js";
export { decodeReading, verifyReading, ReadingError, type SignedReading } from "./reading.js";
export { headerHash, voteSignBytes, validatorSetHash, decodeSignedHeader, decodeValidators, verifyEd25519 } from "./cometbft.js";
export { toBase64, hexUpper } from "./bytes.js";
export { parseJSON, JObject, JNumber, type JValue } from "./json.js";
