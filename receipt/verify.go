package receipt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cometbft/cometbft/crypto"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/secp256k1"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/light"
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
	CheckValidatorSet    = "validator set followed from genesis"
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
	ErrNotGenesisSet = errors.New("receipt: the validator set is not the genesis validator set, and the receipt carries no validator trace to it")
	ErrTrace         = errors.New("receipt: the validator trace does not lead from the genesis validator set to the receipt's block")
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
	Err  error  // ErrInclusion, ErrAppHash, ErrValidators, ErrNotGenesisSet or ErrTrace
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
	if r.Version != Version && r.Version != VersionTrace {
		return nil, fmt.Errorf("%w: version %d, this verifier reads versions %d and %d", ErrVersion, r.Version, Version, VersionTrace)
	}
	if r.Version == Version && len(r.Trace) > 0 {
		return nil, fmt.Errorf("%w: a version %d receipt carries a validator trace; a trace needs version %d", ErrMalformed, Version, VersionTrace)
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
		{CheckValidatorSet, v.trace},
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
	last    *types.LightBlock   // after trace: the trace's last block, nil without a trace
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
	if v.last == nil {
		if want := trusted.Hash(); !bytes.Equal(hash, want) {
			return "", &MismatchError{Err: ErrNotGenesisSet, Got: hash, Want: want}
		}
	}
	if err := sh.ValidateBasic(chainID); err != nil {
		return "", fmt.Errorf("%w: %w", ErrCommit, err)
	}
	if v.last != nil {
		// The last step of the trace: from its last block to this one.
		if err := step(v.last, &types.LightBlock{SignedHeader: sh, ValidatorSet: vals}); err != nil {
			return "", fmt.Errorf("%w: from block %d of the trace to the receipt's block %d: %w", ErrTrace, v.last.Height, sh.Height, err)
		}
		// The set the trace leads to, which step checked against the
		// trace, signs; decoded from JSON like every set of the trace.
		trusted = vals
	}
	// Without a trace, the set from the genesis, not the decoded one: they
	// hash the same, so they hold the same keys and powers in the same
	// order, and the genesis set was built by CometBFT's constructor, not
	// by a JSON decoder.
	c := sh.Commit
	if err := checkSignatures(chainID, trusted, sh); err != nil {
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

// checkSignatures checks every signature of sh's commit against vals, the
// set that signed it, and that those for the block hold more than two
// thirds of its voting power. The light client's checks leave parts of a
// commit unread: signatures are matched to validators by position, and
// the address each one names is never compared; a signature for nil is
// never verified (VerifyCommitLight*); past two thirds of the power, the
// rest are not verified at all (VerifyCommitLight). Every byte of a commit
// that is not absent is checked here instead: the address a signature
// names must be the validator's at its position, and each signature, for
// the block or for nil, must verify (CometBFT's VerifyCommit, the full
// node's check). What remains free is what a commit may leave out: a
// signature marked absent carries nothing (ValidateBasic refuses an
// address, a time or a signature in it).
func checkSignatures(chainID string, vals *types.ValidatorSet, sh *types.SignedHeader) error {
	c := sh.Commit
	if len(c.Signatures) != vals.Size() {
		return fmt.Errorf("the commit holds %d signatures for a set of %d validators", len(c.Signatures), vals.Size())
	}
	for i, cs := range c.Signatures {
		switch cs.BlockIDFlag {
		case types.BlockIDFlagAbsent:
			continue
		case types.BlockIDFlagCommit, types.BlockIDFlagNil:
		default:
			return fmt.Errorf("signature %d has block_id_flag %d, which is not absent (1), commit (2) or nil (3)", i, cs.BlockIDFlag)
		}
		val := vals.Validators[i]
		if !bytes.Equal(cs.ValidatorAddress, val.Address) {
			return fmt.Errorf("signature %d names validator %X, but validator %d of the set is %X (a commit lists signatures in the set's order)",
				i, []byte(cs.ValidatorAddress), i, []byte(val.Address))
		}
		if !val.PubKey.VerifySignature(c.VoteSignBytes(chainID, int32(i)), cs.Signature) {
			if cs.BlockIDFlag == types.BlockIDFlagNil {
				return fmt.Errorf("signature %d, by validator %X for nil (no block), does not verify: a signature marked nil must be that validator's vote for nil", i, []byte(val.Address))
			}
			return fmt.Errorf("signature %d, by validator %X for block %X, does not verify", i, []byte(val.Address), []byte(c.BlockID.Hash))
		}
	}
	// Every signature verified; CometBFT's full-node check counts the power
	// for the block (and checks them again, with its own code).
	return vals.VerifyCommit(chainID, c.BlockID, sh.Height, c)
}

// Parameters of CometBFT's light-client verification for a receipt, which
// must verify the same whenever it is checked, so reads no clock. Each step
// is verified as of the time of the header it reaches: now is that time,
// and the clock drift of one nanosecond is what CometBFT needs to accept a
// header from "now". The trusting period, about 146 years, never ends: a
// trace instead follows every change of the validator set, so each set
// vouches for the next with more than two thirds of its power (see the
// package documentation).
const (
	traceTrustingPeriod = time.Duration(1 << 62)
	traceClockDrift     = time.Nanosecond
)

// trace follows the receipt's validator trace from the genesis set: its
// first block must be signed by more than two thirds of the genesis set,
// and every next block is verified from the one before by step. The
// commit check takes the last step, to the receipt's own block.
func (v *verifier) trace() (string, error) {
	sh := v.header
	if len(v.r.Trace) == 0 {
		// Version 2 says the set changed: a receipt of a block the
		// genesis set signed is version 1, so that no byte of a receipt
		// (its version included) can change while it still verifies. A
		// version 2 receipt whose block another set signed fails the
		// commit check, which names the missing trace.
		if v.r.Version == VersionTrace && bytes.Equal(sh.ValidatorsHash, v.trusted.Hash()) {
			return "", fmt.Errorf("%w: a version %d receipt without a validator trace, of a block the genesis set signed; such a receipt is version %d", ErrMalformed, VersionTrace, Version)
		}
		n := v.trusted.Size()
		return fmt.Sprintf("the genesis set of %d %s (no change before block %d)", n, plural(n, "validator", "validators"), sh.Height), nil
	}
	if v.r.ChainID != v.chainID {
		return "", fmt.Errorf("%w: receipt of chain %q, genesis of chain %q", ErrChainID, v.r.ChainID, v.chainID)
	}
	var changes []string
	var prev *types.LightBlock
	for i, raw := range v.r.Trace {
		lb, err := decodeLightBlock(raw, v.chainID)
		if err != nil {
			return "", fmt.Errorf("%w: trace entry %d of %d: %w", ErrTrace, i+1, len(v.r.Trace), err)
		}
		if lb.Height >= sh.Height {
			return "", fmt.Errorf("%w: trace entry %d of %d is block %d, not below the receipt's block %d", ErrTrace, i+1, len(v.r.Trace), lb.Height, sh.Height)
		}
		if prev == nil {
			if got, want := lb.ValidatorSet.Hash(), v.trusted.Hash(); !bytes.Equal(got, want) {
				return "", &MismatchError{Err: fmt.Errorf("%w: block %d, the first of the trace, is not signed by the genesis validator set", ErrTrace, lb.Height), Got: got, Want: want}
			}
			if err := v.trusted.VerifyCommitLight(v.chainID, lb.Commit.BlockID, lb.Height, lb.Commit); err != nil {
				return "", fmt.Errorf("%w: block %d, the first of the trace: %w", ErrTrace, lb.Height, err)
			}
		} else {
			if err := step(prev, lb); err != nil {
				return "", fmt.Errorf("%w: from block %d to block %d: %w", ErrTrace, prev.Height, lb.Height, err)
			}
			if !bytes.Equal(prev.ValidatorsHash, lb.ValidatorsHash) {
				changes = append(changes, strconv.FormatInt(lb.Height, 10))
			}
		}
		prev = lb
	}
	v.last = prev
	if !bytes.Equal(prev.NextValidatorsHash, prev.ValidatorsHash) {
		changes = append(changes, strconv.FormatInt(prev.Height+1, 10))
	}
	return fmt.Sprintf("%d %s (at %s %s) followed from the genesis set by CometBFT light-client verification of %d %s",
		len(changes), plural(len(changes), "change", "changes"), plural(len(changes), "block", "blocks"), strings.Join(changes, ", "),
		len(v.r.Trace), plural(len(v.r.Trace), "block", "blocks")), nil
}

// step verifies next from prev, a block already trusted, with CometBFT's
// light client (light.Verify): an adjacent block must be signed by more
// than two thirds of the set prev names as next; a later one must be
// signed by the same set as prev, and by more than two thirds of it, so a
// trace can skip blocks but never a change of the set.
func step(prev, next *types.LightBlock) error {
	if next.Height > prev.Height+1 && !bytes.Equal(next.ValidatorsHash, prev.ValidatorsHash) {
		return fmt.Errorf("blocks %d and %d are signed by different validator sets and the trace holds no block between them: a change of the set is skipped", prev.Height, next.Height)
	}
	return light.Verify(prev.SignedHeader, prev.ValidatorSet, next.SignedHeader, next.ValidatorSet,
		traceTrustingPeriod, next.Time, traceClockDrift, light.DefaultTrustLevel)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// decodeLightBlock decodes and checks one block of a trace: a signed header
// of chainID and the validator set its header names.
func decodeLightBlock(raw LightBlock, chainID string) (*types.LightBlock, error) {
	if len(raw.SignedHeader) == 0 {
		return nil, fmt.Errorf("%w: no signed header", ErrMalformed)
	}
	var sh types.SignedHeader
	if err := cmtjson.Unmarshal(raw.SignedHeader, &sh); err != nil {
		return nil, fmt.Errorf("%w: signed header: %v", ErrMalformed, err)
	}
	if sh.Header == nil || sh.Commit == nil {
		return nil, fmt.Errorf("%w: signed header without header or commit", ErrMalformed)
	}
	vals, err := decodeValidators(raw.Validators)
	if err != nil {
		return nil, err
	}
	lb := &types.LightBlock{SignedHeader: &sh, ValidatorSet: vals}
	if err := lb.ValidateBasic(chainID); err != nil {
		return nil, err
	}
	// Every signature of the block, by the set it names (whose hash
	// ValidateBasic compared with the header's); light.Verify then checks
	// that this set follows from the trusted one.
	if err := checkSignatures(chainID, vals, &sh); err != nil {
		return nil, fmt.Errorf("block %d: %w", sh.Height, err)
	}
	return lb, nil
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
