// Package receiptfix builds real, deterministic receipts for tests: device
// readings signed with keys from fixed seeds, an RFC 6962 log of them, a
// CometBFT header whose app hash commits to the log, a commit signed by
// validators from fixed seeds, and the genesis document of their chain.
//
// The same Options always give the same bytes, so receipts built here can be
// checked in as golden files. Only tests import this package.
package receiptfix

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

// Defaults of Options.
const (
	ChainID       = "iotledger-test"
	ValidatorSeed = "iotledger-test validator"
	Validators    = 4
	Power         = 10
	Leaves        = 7
	Index         = 5
	Height        = 41
)

// GenesisTime is the genesis time of every fixture chain; block times follow it.
var GenesisTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// Options describe a fixture. The zero value is the standard one: 4
// validators of power 10 that all sign block 42 of chain "iotledger-test",
// whose header commits to a log of 7 readings; the receipt is for leaf 5.
type Options struct {
	ChainID       string              // chain the header is signed for and the genesis is of
	ValidatorSeed string              // validator i's key is derived from ValidatorSeed and i
	Validators    int                 // number of validators
	Votes         []types.BlockIDFlag // vote of validator i, in validator set order; missing: BlockIDFlagCommit
	Leaves        int                 // readings in the log
	Index         uint64              // the leaf the receipt is for; 0 means leaf 5 or, in a shorter log, the last
	Height        int64               // the block that committed the readings
	RotatedKey    bool                // the reading's device id is that of the device's first key, not of the key that signs it
	// Changes are changes of the validator set before the receipt's
	// block, in height order; the receipt then carries a validator trace.
	Changes []Change
}

// Change is a change of a fixture chain's validator set: from block At on
// (the first block the new set signs; 3 or later, as CometBFT applies a
// change decided at H from H+2), validator i (its key derived from
// ValidatorSeed and i, as in the genesis) holds voting power Powers[i], and
// is no validator where that is 0 or beyond Powers.
type Change struct {
	At     int64
	Powers []int64
}

func (o *Options) defaults() {
	if o.ChainID == "" {
		o.ChainID = ChainID
	}
	if o.ValidatorSeed == "" {
		o.ValidatorSeed = ValidatorSeed
	}
	if o.Validators == 0 {
		o.Validators = Validators
	}
	if o.Leaves == 0 {
		o.Leaves = Leaves
	}
	if o.Index == 0 {
		o.Index = min(Index, uint64(o.Leaves-1))
	}
	if o.Height == 0 {
		o.Height = Height
	}
}

// Fixture is a receipt and everything it was built from.
type Fixture struct {
	Options  Options
	Receipt  *receipt.Receipt
	Genesis  *types.GenesisDoc
	Header   *types.SignedHeader   // block Height+1 and its commit
	ValSet   *types.ValidatorSet   // the validators of block Height+1, in set order
	Signers  []types.PrivValidator // Signers[i] holds the key of ValSet.Validators[i]
	Trace    []*types.LightBlock   // the receipt's validator trace, with Changes
	Tree     *testonly.Tree        // the log, leaf hashes of Leaves
	Leaves   [][]byte              // receipt.Leaf(key, reading) of each reading
	Readings [][]byte              // the COSE_Sign1 readings, in log order
	Keys     []ed25519.PrivateKey  // the key that signed each reading
}

// MustNew is New for tests: it fails tb on error.
func MustNew(tb testing.TB, opts Options) *Fixture {
	tb.Helper()
	f, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// New builds a fixture.
func New(opts Options) (*Fixture, error) {
	opts.defaults()
	if opts.Index >= uint64(opts.Leaves) {
		return nil, fmt.Errorf("receiptfix: index %d of %d leaves", opts.Index, opts.Leaves)
	}
	f := &Fixture{Options: opts, Tree: testonly.New(rfc6962.DefaultHasher)}

	// The log: readings of three devices, round robin.
	for i := range opts.Leaves {
		dev := i % 3
		key := DeviceKey(fmt.Sprintf("device %d", dev))
		r := reading.Reading{
			Seq:  uint64(100 + i),
			Time: GenesisTime.Add(time.Duration(opts.Height)*time.Second - time.Duration(opts.Leaves-i)*time.Millisecond).UnixMilli(),
			Data: map[string]any{"temp_c": 20.5 + float64(i)/4, "door": i%2 == 0, "site": "hall-b"},
		}
		if opts.RotatedKey && uint64(i) == opts.Index {
			first := DeviceKey(fmt.Sprintf("device %d", dev))
			r.Device = address.Device(first.Public().(ed25519.PublicKey))
			key = DeviceKey(fmt.Sprintf("device %d, second key", dev))
		}
		raw, err := reading.Sign(r, key)
		if err != nil {
			return nil, err
		}
		leaf := receipt.Leaf(key.Public().(ed25519.PublicKey), raw)
		f.Readings = append(f.Readings, raw)
		f.Keys = append(f.Keys, key)
		f.Leaves = append(f.Leaves, leaf)
		f.Tree.AppendData(leaf)
	}
	size := f.Tree.Size()
	root := f.Tree.Hash()
	proof, err := f.Tree.InclusionProof(opts.Index, size)
	if err != nil {
		return nil, err
	}
	digest := Hash(fmt.Sprintf("state digest of block %d", opts.Height))

	// The validators and the genesis.
	f.Genesis, f.ValSet, f.Signers = genesis(opts)
	sets, err := newSets(opts, f.ValSet, f.Signers)
	if err != nil {
		return nil, err
	}
	f.ValSet, f.Signers = sets.at(opts.Height + 1)

	// The trace: for each change at C, blocks C-1 and C (but not the
	// receipt's own block), each signed by its set.
	var trace []receipt.LightBlock
	for _, c := range opts.Changes {
		for _, h := range []int64{c.At - 1, c.At} {
			if h > opts.Height || (len(f.Trace) > 0 && f.Trace[len(f.Trace)-1].Height == h) {
				continue
			}
			vals, signers := sets.at(h)
			hdr := Header(opts.ChainID, h, vals)
			next, _ := sets.at(h + 1)
			hdr.NextValidatorsHash = next.Hash()
			sh, err := SignWith(hdr, opts.ChainID, signers, nil)
			if err != nil {
				return nil, err
			}
			f.Trace = append(f.Trace, &types.LightBlock{SignedHeader: sh, ValidatorSet: vals})
			trace = append(trace, receipt.LightBlock{SignedHeader: JSON(sh), Validators: JSON(vals)})
		}
	}

	// Block Height+1, whose header carries the app hash of block Height.
	h := Header(opts.ChainID, opts.Height+1, f.ValSet)
	h.AppHash = receipt.AppHash(size, root, digest)
	f.Header, err = f.Sign(h, opts.ChainID, opts.Votes)
	if err != nil {
		return nil, err
	}

	f.Receipt = &receipt.Receipt{
		Version:      receipt.Version,
		ChainID:      opts.ChainID,
		Reading:      f.Readings[opts.Index],
		DeviceKey:    f.Keys[opts.Index].Public().(ed25519.PublicKey),
		LeafIndex:    opts.Index,
		TreeSize:     size,
		Proof:        proof,
		LogRoot:      root,
		StateDigest:  digest,
		Height:       opts.Height,
		SignedHeader: JSON(f.Header),
		Validators:   JSON(f.ValSet),
		Trace:        trace,
	}
	if len(trace) > 0 {
		f.Receipt.Version = receipt.VersionTrace
	}
	return f, nil
}

// sets are the validator sets of a fixture chain: the genesis set, then
// one per change.
type sets struct {
	from    []int64 // from[i]: the first block of set i
	vals    []*types.ValidatorSet
	signers [][]types.PrivValidator
}

func newSets(opts Options, genesis *types.ValidatorSet, signers []types.PrivValidator) (*sets, error) {
	s := &sets{from: []int64{1}, vals: []*types.ValidatorSet{genesis}, signers: [][]types.PrivValidator{signers}}
	for _, c := range opts.Changes {
		if c.At < 3 || c.At <= s.from[len(s.from)-1] || c.At > opts.Height+1 {
			return nil, fmt.Errorf("receiptfix: change at block %d: want 3 or later, after the previous change, at most %d", c.At, opts.Height+1)
		}
		pvs := map[string]types.PrivValidator{}
		var vals []*types.Validator
		for i, p := range c.Powers {
			if p == 0 {
				continue
			}
			pv := validatorKey(opts.ValidatorSeed, i)
			pub := pv.PrivKey.PubKey()
			pvs[string(pub.Address())] = pv
			vals = append(vals, types.NewValidator(pub, p))
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("receiptfix: change at block %d leaves no validator", c.At)
		}
		set := types.NewValidatorSet(vals)
		ordered := make([]types.PrivValidator, len(set.Validators))
		for i, v := range set.Validators {
			ordered[i] = pvs[string(v.Address)]
		}
		s.from = append(s.from, c.At)
		s.vals = append(s.vals, set)
		s.signers = append(s.signers, ordered)
	}
	return s, nil
}

// at returns the set that signs block h and its signers, in set order.
func (s *sets) at(h int64) (*types.ValidatorSet, []types.PrivValidator) {
	i := len(s.from) - 1
	for s.from[i] > h {
		i--
	}
	return s.vals[i], s.signers[i]
}

func validatorKey(seed string, i int) types.MockPV {
	return types.NewMockPVWithParams(cmted25519.GenPrivKeyFromSecret([]byte(fmt.Sprintf("%s %d", seed, i))), false, false)
}

// DeviceKey returns the Ed25519 key derived from a seed text.
func DeviceKey(seed string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("iotledger-test device key " + seed))
	return ed25519.NewKeyFromSeed(s[:])
}

// Hash returns the SHA-256 of a text: a stand-in for hashes a test does not
// compute for real.
func Hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func genesis(opts Options) (*types.GenesisDoc, *types.ValidatorSet, []types.PrivValidator) {
	pvs := make(map[string]types.PrivValidator, opts.Validators)
	g := &types.GenesisDoc{
		GenesisTime:     GenesisTime,
		ChainID:         opts.ChainID,
		InitialHeight:   1,
		ConsensusParams: types.DefaultConsensusParams(),
		AppHash:         []byte{},
	}
	vals := make([]*types.Validator, 0, opts.Validators)
	for i := range opts.Validators {
		pv := validatorKey(opts.ValidatorSeed, i)
		pub := pv.PrivKey.PubKey()
		pvs[string(pub.Address())] = pv
		g.Validators = append(g.Validators, types.GenesisValidator{
			Address: pub.Address(),
			PubKey:  pub,
			Power:   Power,
			Name:    fmt.Sprintf("validator-%d", i),
		})
		vals = append(vals, types.NewValidator(pub, Power))
	}
	set := types.NewValidatorSet(vals)
	signers := make([]types.PrivValidator, len(set.Validators))
	for i, v := range set.Validators {
		signers[i] = pvs[string(v.Address)]
	}
	return g, set, signers
}

// Header returns a well-formed header of a block of chain chainID at height,
// validated by vals then and next. Its hashes other than the validators' are
// stand-ins; tests set AppHash.
func Header(chainID string, height int64, vals *types.ValidatorSet) *types.Header {
	h := &types.Header{
		ChainID: chainID,
		Height:  height,
		Time:    GenesisTime.Add(time.Duration(height) * time.Second),
		LastBlockID: types.BlockID{
			Hash:          Hash(fmt.Sprintf("block %d", height-1)),
			PartSetHeader: types.PartSetHeader{Total: 1, Hash: Hash(fmt.Sprintf("parts of block %d", height-1))},
		},
		LastCommitHash:     Hash(fmt.Sprintf("commit of block %d", height-1)),
		DataHash:           Hash(fmt.Sprintf("data of block %d", height)),
		ValidatorsHash:     vals.Hash(),
		NextValidatorsHash: vals.Hash(),
		ConsensusHash:      types.DefaultConsensusParams().Hash(),
		LastResultsHash:    Hash(fmt.Sprintf("results of block %d", height-1)),
		EvidenceHash:       Hash("no evidence"),
		ProposerAddress:    vals.GetProposer().Address,
	}
	h.Version.Block = version.BlockProtocol
	h.Version.App = 1
	return h
}

// Sign returns h with a commit signed, for chain chainID, by f's validators.
// votes[i] is the vote of f.ValSet.Validators[i]: BlockIDFlagCommit (the
// default for a missing entry) signs for the block, BlockIDFlagNil signs for
// nil, BlockIDFlagAbsent does not sign.
func (f *Fixture) Sign(h *types.Header, chainID string, votes []types.BlockIDFlag) (*types.SignedHeader, error) {
	return SignWith(h, chainID, f.Signers, votes)
}

// SignWith returns h with a commit signed, for chain chainID, by signers,
// who hold the keys of h's validator set in set order; votes are as in
// Fixture.Sign.
func SignWith(h *types.Header, chainID string, signers []types.PrivValidator, votes []types.BlockIDFlag) (*types.SignedHeader, error) {
	blockID := types.BlockID{
		Hash:          h.Hash(),
		PartSetHeader: types.PartSetHeader{Total: 1, Hash: Hash(fmt.Sprintf("parts of block %X", h.Hash()))},
	}
	commit := &types.Commit{Height: h.Height, Round: 0, BlockID: blockID}
	for i, pv := range signers {
		flag := types.BlockIDFlagCommit
		if i < len(votes) {
			flag = votes[i]
		}
		if flag == types.BlockIDFlagAbsent {
			commit.Signatures = append(commit.Signatures, types.NewCommitSigAbsent())
			continue
		}
		pub, err := pv.GetPubKey()
		if err != nil {
			return nil, err
		}
		vote := &types.Vote{
			Type:             types.PrecommitType,
			Height:           h.Height,
			Round:            0,
			Timestamp:        h.Time.Add(time.Second + time.Duration(i)*time.Millisecond),
			ValidatorAddress: pub.Address(),
			ValidatorIndex:   int32(i),
		}
		if flag == types.BlockIDFlagCommit {
			vote.BlockID = blockID
		}
		pb := vote.ToProto()
		if err := pv.SignVote(chainID, pb, false); err != nil {
			return nil, err
		}
		vote.Signature = pb.Signature
		commit.Signatures = append(commit.Signatures, vote.CommitSig())
	}
	return &types.SignedHeader{Header: h, Commit: commit}, nil
}

// JSON encodes a CometBFT value as the node does, with cmtjson.
func JSON(v any) json.RawMessage {
	b, err := cmtjson.Marshal(v)
	if err != nil {
		panic("receiptfix: " + err.Error())
	}
	return b
}

// GenesisJSON returns the genesis document as genesis.json holds it.
func (f *Fixture) GenesisJSON() ([]byte, error) {
	b, err := cmtjson.MarshalIndent(f.Genesis, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ShuffledGenesis returns a copy of the genesis with its validators listed in
// reverse address order: the same chain, since CometBFT sorts the set.
func (f *Fixture) ShuffledGenesis() *types.GenesisDoc {
	g := *f.Genesis
	g.Validators = append([]types.GenesisValidator(nil), g.Validators...)
	sort.Slice(g.Validators, func(i, j int) bool {
		return string(g.Validators[i].Address) > string(g.Validators[j].Address)
	})
	return &g
}
