package format

import (
	"crypto/sha256"
	"encoding/json"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// Versions of the format. A receipt has the lowest version that can hold
// it: Version (1) when the validator set that signed its block is the
// genesis set, VersionTrace (2) when it carries a validator trace. Parse
// reads both, so receipts of a chain whose set never changed stay readable
// by verifiers that know only version 1.
const (
	Version      = 1
	VersionTrace = 2
)

// Receipt holds everything needed to check one reading offline.
//
// The reading was committed in block Height; the log then had TreeSize leaves
// with root LogRoot. The application hash of that block, AppHash(TreeSize,
// LogRoot, StateDigest), appears in the header of block Height+1, which
// SignedHeader carries with the commit signatures for it; Validators is the
// validator set that signed it. When that set is not the genesis set, Trace
// holds the blocks a verifier needs to get from the genesis set to it.
type Receipt struct {
	Version     int      `json:"version"`
	ChainID     string   `json:"chain_id"`
	Reading     []byte   `json:"reading"`    // the COSE_Sign1 reading, as stored
	DeviceKey   []byte   `json:"device_key"` // the Ed25519 key the ledger verified it with
	LeafIndex   uint64   `json:"leaf_index"`
	TreeSize    uint64   `json:"tree_size"`
	Proof       [][]byte `json:"inclusion_proof"`
	LogRoot     []byte   `json:"log_root"`
	StateDigest []byte   `json:"state_digest"`
	Height      int64    `json:"height"` // the block that committed the reading
	// SignedHeader is the CometBFT header of block Height+1 and its commit,
	// in CometBFT's JSON encoding (types.SignedHeader).
	SignedHeader json.RawMessage `json:"signed_header"`
	// Validators is the validator set of block Height+1, in CometBFT's JSON
	// encoding (types.ValidatorSet).
	Validators json.RawMessage `json:"validator_set"`
	// Trace leads from the genesis validator set to Validators: for each
	// change of the set up to block Height+1, at height C, the last block
	// signed by the old set (C-1) and the first signed by the new one (C),
	// in height order (a block is listed once where changes follow each
	// other; a change at Height+1 lists only C-1, the receipt's own header
	// being C). Empty when Validators is the genesis set; then Version is 1.
	Trace []LightBlock `json:"validator_trace,omitempty"`
}

// LightBlock is one block of a validator trace: a signed header and the
// validator set that signed it, in CometBFT's JSON encoding, the shape of
// CometBFT's types.LightBlock.
type LightBlock struct {
	SignedHeader json.RawMessage `json:"signed_header"`
	Validators   json.RawMessage `json:"validator_set"`
}

// Leaf returns the log leaf of a reading verified with key: the deterministic
// CBOR array [key, reading]. The leaf binds the key the ledger used, so a
// receipt stays checkable after the device's key is rotated.
func Leaf(key, raw []byte) []byte {
	b := make([]byte, 1, 1+9+len(key)+9+len(raw))
	b[0] = 0x82 // an array of 2
	return dcbor.AppendBytes(dcbor.AppendBytes(b, key), raw)
}

// LeafHash is the RFC 6962 leaf hash of a leaf.
func LeafHash(leaf []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(leaf) }

// AppHash is the application hash a block commits to: SHA-256 of the
// deterministic CBOR array ["iotledger/app/v1", size, root, digest], where
// size and root describe the reading log after the block and digest chains
// every other state change up to and including the block.
func AppHash(size uint64, root, digest []byte) []byte {
	b, err := dcbor.EncMode.Marshal([]any{"iotledger/app/v1", size, root, digest})
	if err != nil {
		panic("receipt: encode app hash: " + err.Error())
	}
	h := sha256.Sum256(b)
	return h[:]
}
