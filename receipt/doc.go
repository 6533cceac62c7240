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
// sign anything. When the validator set changed before the reading's block,
// "that chain's validator set" is the set that signed the block, reached
// from the genesis set by changes each signed by more than two thirds of
// the set before it; a receipt is then only as good as the least honest
// of those sets while it was current.
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
// [Verify] makes six checks and stops at the first that fails. It returns the
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
//  5. "validator set followed from genesis": without a trace, nothing to
//     follow: the block must be signed by the genesis set (check 6), and
//     the receipt is version 1 (a version 2 receipt of a block the genesis
//     set signed is refused). With one, see below: the trace leads, one
//     change of the set at a time, from the genesis set to the set that
//     signed the receipt's block.
//  6. "block signed by validators": the header's chain id, the receipt's and
//     the genesis' are the same; the validator set in the receipt hashes to
//     the header's ValidatorsHash and is the genesis validator set, or the
//     set the trace leads to (the last step of the trace, from its last
//     block to this header, is taken here); CometBFT accepts the header and
//     its commit (SignedHeader.ValidateBasic); and every signature of the
//     commit is checked: each one that is not absent must name, as its
//     validator_address, the validator at its position in the set, and
//     must verify, whether it is for the block or for nil
//     (ValidatorSet.VerifyCommit, the check a full node makes); those for
//     the block must hold more than two thirds of the voting power.
//     CometBFT's light-client checks (VerifyCommitLight*) match signatures
//     to validators by position without comparing the address, skip
//     signatures for nil, and may stop at two thirds: a receipt that passed
//     them could still carry bytes nobody checked.
//
// # Validator set changes
//
// The validators can change their set on a running chain (package
// internal/app: a change approved by more than two thirds of the voting
// power). CometBFT applies a change decided in block H from block H+2 on,
// and every header names the set that signs it (ValidatorsHash) and the set
// that signs the next block (NextValidatorsHash). A receipt of a block
// signed by another set than the genesis one (version [VersionTrace])
// carries a trace ([Receipt].Trace): for each change, at block C, the
// blocks C-1 and C with their commits and validator sets, as CometBFT's
// LightBlock. Verify follows it with CometBFT's light client:
//
//   - every block of the trace has every signature checked by the set
//     that signed it, as in check 6;
//   - the first block of the trace must be signed by more than two thirds
//     of the genesis set (ValidatorSet.VerifyCommitLight), as a receipt
//     without trace is;
//   - every next block, and at last the receipt's own header, is checked
//     from the one before with light.Verify: an adjacent block
//     (light.VerifyAdjacent) must be signed by more than two thirds of the
//     set the block before names as next; a later block
//     (light.VerifyNonAdjacent) must be signed by the same set as the block
//     before, and Verify refuses a skip across a change of the set. So each
//     set vouches for the next with more than two thirds of its power, as a
//     light client that verifies every block would see it, without carrying
//     the blocks between changes.
//
// CometBFT's skipping verification would accept a jump to a block signed
// by a set that holds only a third of the trusted set's power; such a
// jump is refused here, because a receipt is checked offline years after
// the fact, when validators that have left the set (and hold no stake in
// it) can sign whatever they like. For the same reason the light
// client's trusting period cannot apply: its entry points take the current
// time and a trusting period, and a receipt must verify the same on any
// day. Verify passes, for each step, the time of the block it verifies as
// the current time and a trusting period of about 146 years, so those
// arguments check only that the trace's times go forward. What is trusted
// instead is said in "What a receipt proves" above: the genesis set, and
// every set after it while it was the chain's.
//
// # Encoding
//
// A receipt is a JSON object (see [Receipt] for the fields); [Parse] refuses
// fields it does not know, so a new field needs a new version: the trace
// came with version 2 ([VersionTrace]), and a receipt without one is still
// written as version 1, which verifiers that know only version 1 read.
// Field names are matched exactly, letter case included ("Reading" is an
// unknown field, not "reading"), and a field given twice is refused, in the
// receipt and in each block of its trace; Receipt and LightBlock decode so
// with json.Unmarshal too. Byte strings are standard base64 with padding, as
// Go's encoding/json writes []byte, in that one spelling: a line break or a
// padding bit set is refused. What may differ between two receipts that
// verify the same is only what does not change a value: white space
// between tokens, the order of fields, escapes in strings (\u0072 for r),
// null or [] for an empty list; inside the CometBFT values, whatever
// CometBFT's JSON decoder reads as the same value or ignores (hex in either
// case, fields it does not know, all but the last of a field given twice), the
// validators' proposer_priority and the set's proposer, which no hash or
// signature covers and verification does not use; and a commit signature
// may be left out (absent), which weakens the proof but fails it only if
// the rest no longer hold more than two thirds of the power. The
// signed header and the validator set are embedded as JSON values in
// CometBFT's own encoding (github.com/cometbft/cometbft/libs/json, as the
// node's RPC writes them: 64-bit integers as strings, hashes and addresses as
// upper-case hex, times in RFC 3339 UTC, keys as {"type", "value"} objects).
// The validator set is a types.ValidatorSet with its proposer, whose
// validators are in the set's canonical order (by voting power, then
// address), the order the header's ValidatorsHash and the commit's
// signatures use. Each block of the trace is an object with the same two
// fields, "signed_header" and "validator_set" (CometBFT's LightBlock).
package receipt
