// Package receipt is the format and the offline verification of an iotledger
// receipt: a versioned JSON bundle that holds everything needed to check, with
// no node and no network, that one reading was produced by a device key, was
// not altered, and was committed by a quorum of the chain's validators.
//
// # What a receipt proves
//
// A receipt that verifies against a genesis proves that validators holding
// more than two thirds of the voting power of that chain's validator set
// signed a block whose application hash commits to a Merkle log that holds, at
// leaf LeafIndex, the pair (device key, reading bytes), and that the reading
// carries a valid signature by that key. It proves nothing about the reading's
// content beyond the device's own claim (its clock, its values), and it trusts
// the quorum: if more than a third of the voting power is dishonest, it can
// sign anything.
//
// # What the caller supplies
//
// The genesis document of the chain (its genesis.json, read for example with
// types.GenesisDocFromJSON or types.GenesisDocFromFile) from a source the
// caller trusts, the same way a light client trusts its first header. Its
// chain id and its validators are the root of trust: everything else comes
// from the receipt and is checked. A receipt read from a file or the network
// goes through [Parse] first, which bounds its size ([MaxSize]) and checks its
// version.
//
// # The checks, in order
//
// [Verify] makes five checks and stops at the first that fails. It returns the
// checks it made, each with a detail a person can read; on failure the last
// one has OK false and the error is a *[CheckError] naming it.
//
//  1. "device signature": the reading decodes (package reading) and its
//     COSE_Sign1 signature verifies with DeviceKey under ZIP 215, the rules
//     every validator applies.
//  2. "device id matches key": the device id derived from DeviceKey is the
//     reading's device id. If it is not, the device's key was rotated: a
//     device keeps the id of the key it was registered with. The check then
//     still passes, with the detail "key was rotated; the ledger's leaf binds
//     this key to the device", because the verifier does not need to follow
//     the rotation itself. The log leaf is Leaf(key, reading), the ledger
//     appends it only after checking that key is the device's current key,
//     and check 3 ties exactly that leaf to the committed root. A key that the
//     ledger never bound to the device therefore fails check 3, never this one.
//  3. "inclusion in the log": the RFC 6962 inclusion proof, checked with
//     github.com/transparency-dev/merkle/proof.VerifyInclusion, leads from
//     LeafHash(Leaf(DeviceKey, Reading)) at LeafIndex in a tree of TreeSize
//     leaves to LogRoot.
//  4. "root committed by block's app hash": SignedHeader is the header of
//     block Height+1 and its app hash equals AppHash(TreeSize, LogRoot,
//     StateDigest). In CometBFT the app hash that results from executing
//     block H is carried by the header of block H+1, so a reading committed
//     in block H is proven by header H+1. The app hash also binds TreeSize:
//     an inclusion proof can be valid for several tree sizes, but only one
//     size is committed.
//  5. "block signed by validators": the header's chain id, the receipt's and
//     the genesis' are the same; the validator set in the receipt hashes to
//     the header's ValidatorsHash and is the genesis validator set; and
//     CometBFT's own light-client code accepts the header and its commit:
//     SignedHeader.ValidateBasic and
//     ValidatorSet.VerifyCommitLightAllSignatures with the set built from the
//     genesis, which checks every signature in the commit and requires the
//     signers of the block to hold more than two thirds of the voting power.
//
// Validator set changes are not followed yet: a receipt whose validator set is
// not the genesis set fails check 5 with [ErrNotGenesisSet]. When they are,
// the receipt will carry the chain of headers that CometBFT's light client
// (package light) verifies from the genesis set to the receipt's block; the
// light package is not used today because its entry points start from a
// trusted header and a trusting period measured against the wall clock,
// while a receipt starts from a genesis and must verify the same forever.
//
// # Encoding
//
// A receipt is a JSON object (see [Receipt] for the fields); [Parse] refuses
// fields it does not know, so a new field needs a new [Version]. Byte strings are
// standard base64 with padding, as Go's encoding/json writes []byte. The
// signed header and the validator set are embedded as JSON values in
// CometBFT's own encoding (github.com/cometbft/cometbft/libs/json, as the
// node's RPC writes them: 64-bit integers as strings, hashes and addresses as
// upper-case hex, times in RFC 3339 UTC, keys as {"type", "value"} objects).
// The validator set is a types.ValidatorSet with its proposer, whose
// validators are in the set's canonical order (by voting power, then
// address), the order the header's ValidatorsHash and the commit's
// signatures use.
package receipt
