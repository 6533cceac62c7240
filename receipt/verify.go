package receipt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"

	"github.com/cometbft/cometbft/crypto"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/secp256k1"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/reading"
)

// Names of the checks Verify makes, in the order it makes them.
const (
	CheckDeviceSignature = "device signature"
	CheckDeviceID        = "device id matches key"
	CheckInclusion       = "inclusion in the log"
	CheckAppHash         = "root committed by block's app hash"
	CheckCommit          = "block signed by validators"
)

// RotatedKey is the detail of a passed CheckDeviceID when the key is not the
// one the device id was derived from.
const RotatedKey = "key was rotated; the ledger's leaf binds this key to the device"

// Errors that Verify wraps in a *CheckError; callers branch on them with
// errors.Is. Errors of package reading (reading.ErrSignature and others) come
// from the device signature check.
var (
	ErrInclusion     = errors.New("receipt: the inclusion proof does not lead to the log root")
	ErrHeight        = errors.New("receipt: the header is not of the block after the receipt's height")
	ErrAppHash       = errors.New("receipt: the block's app hash does not commit to the log root, size and state digest")
	ErrChainID       = errors.New("receipt: chain id differs from the genesis")
	ErrValidators    = errors.New("receipt: the validator set is not the one the header commits to")
	ErrNotGenesisSet = errors.New("receipt: the validator set is not the genesis validator set; validator set changes are not supported yet")
	ErrCommit        = errors.New("receipt: the commit does not prove the block was signed by more than two thirds of the voting power")
	ErrGenesis       = errors.New("receipt: invalid genesis")

	// errPanic marks a panic inside a check, caught and turned into a failed
	// check. It is a bug to fix (in iotledger or a dependency), never a pass.
	errPanic = errors.New("receipt: internal error while checking")
)

// Check is one check that Verify made.
type Check struct {
	Name   string // one of the Check* constants
	OK     bool
	Detail string // what was found, for a person; the error's text if the check failed
}

// CheckError is the error Verify returns when a check fails.
type CheckError struct {
	Check string // the name of the failed check
	Err   error
}

func (e *CheckError) Error() string { return e.Check + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *CheckError) Unwrap() error { return e.Err }

// MismatchError is the evidence of a failed comparison: the value a check
// computed from the receipt and the value it had to equal.
type MismatchError struct {
	Err  error  // ErrInclusion, ErrAppHash, ErrValidators or ErrNotGenesisSet
	Got  []byte // computed from the receipt
	Want []byte // committed to (the log root, the header) or trusted (the genesis)
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%v: computed %X, want %X", e.Err, e.Got, e.Want)
}

// Unwrap returns the sentinel.
func (e *MismatchError) Unwrap() error { return e.Err }

// Verify checks a receipt against the genesis of the chain it claims to come
// from. It returns the checks made, in order; if one fails, it is the last,
// and the error is a *CheckError naming it. A receipt verifies only if the
// error is nil. See the package documentation for what each check proves.
//
// A genesis without a chain id or a valid validator set is refused with
// ErrGenesis, and a receipt of another version with ErrVersion, before any
// check is made.
func Verify(r *Receipt, genesis *types.GenesisDoc) ([]Check, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil receipt", ErrMalformed)
	}
	if genesis == nil {
		return nil, fmt.Errorf("%w: nil genesis", ErrGenesis)
	}
	trusted, err := genesisSet(genesis)
	if err != nil {
		return nil, err
	}
	if r.Version != Version {
		return nil, fmt.Errorf("%w: version %d, this verifier reads version %d", ErrVersion, r.Version, Version)
	}
	v := &verifier{r: r, chainID: genesis.ChainID, trusted: trusted}
	steps := []struct {
		name string
		run  func() (string, error)
	}{
		{CheckDeviceSignature, v.deviceSignature},
		{CheckDeviceID, v.deviceID},
		{CheckInclusion, v.inclusion},
		{CheckAppHash, v.appHash},
		{CheckCommit, v.commit},
	}
	checks := make([]Check, 0, len(steps))
	for _, s := range steps {
		detail, err := guard(s.run)
		if err != nil {
			checks = append(checks, Check{Name: s.name, Detail: err.Error()})
			return checks, &CheckError{Check: s.name, Err: err}
		}
		checks = append(checks, Check{Name: s.name, OK: true, Detail: detail})
	}
	return checks, nil
}

// guard runs a check and turns a panic into a failure. Checks hand untrusted
// values to CometBFT code, some of which panics on malformed ones (keys of
// the wrong length, which are checked for first); whatever else panics must
// fail the check, and must not take the caller down.
func guard(run func() (string, error)) (detail string, err error) {
	defer func() {
		if p := recover(); p != nil {
			detail, err = "", fmt.Errorf("%w: %v", errPanic, p)
		}
	}()
	return run()
}

// verifier holds what one check found for the next ones.
type verifier struct {
	r       *Receipt
	chainID string              // of the genesis
	trusted *types.ValidatorSet // built from the genesis
	signed  *reading.Signed     // after deviceSignature
	header  *types.SignedHeader // after appHash
}

func (v *verifier) deviceSignature() (string, error) {
	s, err := reading.Decode(v.r.Reading)
	if err != nil {
		return "", err
	}
	if err := s.Verify(v.r.DeviceKey); err != nil {
		return "", err
	}
	v.signed = s
	return fmt.Sprintf("device %s seq %d", s.Device, s.Seq), nil
}

func (v *verifier) deviceID() (string, error) {
	if address.Device(v.r.DeviceKey) != v.signed.Device {
		return RotatedKey, nil
	}
	return fmt.Sprintf("the key derives device id %s", v.signed.Device), nil
}

func (v *verifier) inclusion() (string, error) {
	r := v.r
	// merkle hashes proof elements of any length; a SHA-256 log has only
	// 32-byte hashes, and a receipt with others is malformed.
	for i, h := range r.Proof {
		if len(h) != sha256.Size {
			return "", fmt.Errorf("%w: proof hash %d has %d bytes, want %d", ErrInclusion, i, len(h), sha256.Size)
		}
	}
	if len(r.LogRoot) != sha256.Size {
		return "", fmt.Errorf("%w: log root has %d bytes, want %d", ErrInclusion, len(r.LogRoot), sha256.Size)
	}
	leaf := LeafHash(Leaf(r.DeviceKey, r.Reading))
	err := proof.VerifyInclusion(rfc6962.DefaultHasher, r.LeafIndex, r.TreeSize, leaf, r.Proof, r.LogRoot)
	if mm := (proof.RootMismatchError{}); errors.As(err, &mm) {
		return "", &MismatchError{Err: ErrInclusion, Got: mm.CalculatedRoot, Want: mm.ExpectedRoot}
	}
	if err != nil {
		return "", fmt.Errorf("%w: leaf %d of a log of size %d: %v", ErrInclusion, r.LeafIndex, r.TreeSize, err)
	}
	return fmt.Sprintf("leaf %d of a log of size %d", r.LeafIndex, r.TreeSize), nil
}

func (v *verifier) appHash() (string, error) {
	r := v.r
	if r.Height < 1 || r.Height == math.MaxInt64 {
		return "", fmt.Errorf("%w: height %d is out of range", ErrHeight, r.Height)
	}
	var sh types.SignedHeader
	if len(r.SignedHeader) == 0 {
		return "", fmt.Errorf("%w: no signed header", ErrMalformed)
	}
	if err := cmtjson.Unmarshal(r.SignedHeader, &sh); err != nil {
		return "", fmt.Errorf("%w: signed header: %v", ErrMalformed, err)
	}
	if sh.Header == nil || sh.Commit == nil {
		return "", fmt.Errorf("%w: signed header without header or commit", ErrMalformed)
	}
	if sh.Height != r.Height+1 {
		return "", fmt.Errorf("%w: header of block %d, want block %d (the app hash of block %d is in the next header)",
			ErrHeight, sh.Height, r.Height+1, r.Height)
	}
	if got := AppHash(r.TreeSize, r.LogRoot, r.StateDigest); !bytes.Equal(got, sh.AppHash) {
		return "", &MismatchError{Err: ErrAppHash, Got: got, Want: sh.AppHash}
	}
	v.header = &sh
	return fmt.Sprintf("block %d app hash", r.Height), nil
}

func (v *verifier) commit() (string, error) {
	chainID, sh, trusted := v.chainID, v.header, v.trusted
	if sh.ChainID != chainID || v.r.ChainID != chainID {
		return "", fmt.Errorf("%w: header of chain %q, receipt of chain %q, genesis of chain %q",
			ErrChainID, sh.ChainID, v.r.ChainID, chainID)
	}
	vals, err := decodeValidators(v.r.Validators)
	if err != nil {
		return "", err
	}
	hash := vals.Hash()
	if !bytes.Equal(hash, sh.ValidatorsHash) {
		return "", &MismatchError{Err: ErrValidators, Got: hash, Want: sh.ValidatorsHash}
	}
	if want := trusted.Hash(); !bytes.Equal(hash, want) {
		return "", &MismatchError{Err: ErrNotGenesisSet, Got: hash, Want: want}
	}
	if err := sh.ValidateBasic(chainID); err != nil {
		return "", fmt.Errorf("%w: %w", ErrCommit, err)
	}
	// The set from the genesis, not the decoded one: they hash the same, so
	// they hold the same keys and powers in the same order, and the genesis
	// set was built by CometBFT's constructor, not by a JSON decoder.
	c := sh.Commit
	if err := trusted.VerifyCommitLightAllSignatures(chainID, c.BlockID, sh.Height, c); err != nil {
		return "", fmt.Errorf("%w: %w", ErrCommit, err)
	}
	// Every signature is verified now; count the power of those for the block.
	var signed int64
	for i, cs := range c.Signatures {
		if cs.BlockIDFlag == types.BlockIDFlagCommit {
			signed += trusted.Validators[i].VotingPower
		}
	}
	return fmt.Sprintf("validators holding %d of %d voting power signed block %d",
		signed, trusted.TotalVotingPower(), sh.Height), nil
}

// decodeValidators decodes and checks a validator set from a receipt.
func decodeValidators(raw []byte) (*types.ValidatorSet, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: no validator set", ErrMalformed)
	}
	var vals types.ValidatorSet
	if err := cmtjson.Unmarshal(raw, &vals); err != nil {
		return nil, fmt.Errorf("%w: validator set: %v", ErrMalformed, err)
	}
	// ValidateBasic derives addresses from keys, which panics on a key of
	// the wrong length: check the keys first.
	for i, val := range vals.Validators {
		if val == nil {
			continue // ValidateBasic reports it
		}
		if err := checkKey(val.PubKey); err != nil {
			return nil, fmt.Errorf("%w: validator set: validator %d: %v", ErrMalformed, i, err)
		}
	}
	if vals.Proposer != nil {
		if err := checkKey(vals.Proposer.PubKey); err != nil {
			return nil, fmt.Errorf("%w: validator set: proposer: %v", ErrMalformed, err)
		}
	}
	if err := vals.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%w: validator set: %v", ErrMalformed, err)
	}
	return &vals, nil
}

// genesisSet builds the validator set a chain starts with, as CometBFT does,
// after checking what would make types.NewValidatorSet panic.
func genesisSet(g *types.GenesisDoc) (set *types.ValidatorSet, err error) {
	defer func() {
		if p := recover(); p != nil {
			set, err = nil, fmt.Errorf("%w: %v", ErrGenesis, p)
		}
	}()
	if g.ChainID == "" {
		return nil, fmt.Errorf("%w: no chain id", ErrGenesis)
	}
	if len(g.Validators) == 0 {
		return nil, fmt.Errorf("%w: it lists no validators", ErrGenesis)
	}
	vals := make([]*types.Validator, len(g.Validators))
	seen := make(map[string]bool, len(g.Validators))
	var total int64
	for i, gv := range g.Validators {
		if err := checkKey(gv.PubKey); err != nil {
			return nil, fmt.Errorf("%w: validator %d: %v", ErrGenesis, i, err)
		}
		if gv.Power <= 0 || gv.Power > types.MaxTotalVotingPower-total {
			return nil, fmt.Errorf("%w: validator %d: voting power %d is not positive or makes the total exceed %d",
				ErrGenesis, i, gv.Power, types.MaxTotalVotingPower)
		}
		total += gv.Power
		val := types.NewValidator(gv.PubKey, gv.Power)
		if seen[string(val.Address)] {
			return nil, fmt.Errorf("%w: validator %d: key %X listed twice", ErrGenesis, i, gv.PubKey.Bytes())
		}
		seen[string(val.Address)] = true
		vals[i] = val
	}
	return types.NewValidatorSet(vals), nil
}

// checkKey rejects a missing key and a key of a known type with the wrong
// length.
func checkKey(k crypto.PubKey) error {
	size := -1
	switch k.(type) {
	case nil:
		return errors.New("no public key")
	case cmted25519.PubKey:
		size = cmted25519.PubKeySize
	case secp256k1.PubKey:
		size = secp256k1.PubKeySize
	}
	if size >= 0 && len(k.Bytes()) != size {
		return fmt.Errorf("%s public key of %d bytes, want %d", k.Type(), len(k.Bytes()), size)
	}
	return nil
}
