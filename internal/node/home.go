package node

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmtcrypto "github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/viper"

	"github.com/iotledger/iotledger/internal/app"
)

// ErrNoHome means the home was never initialised.
var ErrNoHome = errors.New("node: home not initialised")

// InitOptions set up a new home.
type InitOptions struct {
	ChainID string // default: iotledger-<random>
	Moniker string // default: the host name
	Config  Config // iotledger.toml; zero value means Default()
	// Token names the chain's token (default state.DefaultToken); Balances
	// are its genesis allocations.
	Token    string
	Balances []app.Allocation
}

// Initialized reports whether home holds a genesis file.
func Initialized(home string) bool {
	_, err := os.Stat(filepath.Join(home, "config", "genesis.json"))
	return err == nil
}

// GenesisFile is the path of a home's genesis file.
func GenesisFile(home string) string { return filepath.Join(home, "config", "genesis.json") }

// Init creates a single-validator home: CometBFT's config.toml (tuned for
// iotledger), genesis.json, the validator and node keys, and iotledger.toml.
// It refuses a home that already has a genesis file.
func Init(home string, o InitOptions) (*types.GenesisDoc, error) {
	if Initialized(home) {
		return nil, fmt.Errorf("node: %s is already initialised (it has %s); use another --home or remove it", home, GenesisFile(home))
	}
	chainID, err := chainIDOrRandom(o.ChainID)
	if err != nil {
		return nil, err
	}
	if o.Moniker == "" {
		o.Moniker, _ = os.Hostname()
	}
	if o.Config == (Config{}) {
		o.Config = Default()
	}
	appState, err := genesisAppState(o.Token, o.Balances)
	if err != nil {
		return nil, err
	}
	cfg := CometConfig(home)
	cfg.Moniker = o.Moniker
	if err := writeConfigs(cfg, o.Config, ""); err != nil {
		return nil, err
	}
	val, _, err := createKeys(cfg)
	if err != nil {
		return nil, err
	}
	gen, err := newGenesis(chainID, []types.GenesisValidator{val}, appState)
	if err != nil {
		return nil, err
	}
	if err := gen.SaveAs(cfg.GenesisFile()); err != nil {
		return nil, err
	}
	return gen, nil
}

// chainIDOrRandom returns id, or iotledger-<6 random hex digits> if it is empty.
func chainIDOrRandom(id string) (string, error) {
	if id != "" {
		return id, nil
	}
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "iotledger-" + hex.EncodeToString(b), nil
}

// genesisAppState is the app_state of a new chain: the default params, the
// token (default state.DefaultToken) and its allocations.
func genesisAppState(token string, balances []app.Allocation) (json.RawMessage, error) {
	g := app.DefaultGenesis()
	if token != "" {
		g.Token = token
	}
	g.Balances = balances
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(g)
}

// writeConfigs creates the folders of cfg's home and writes config.toml
// (after the explanation of iotledger's tuning, then extra, a comment) and
// iotledger.toml.
func writeConfigs(cfg *cmtcfg.Config, c Config, extra string) error {
	cmtcfg.EnsureRoot(cfg.RootDir)
	if err := writeCometConfig(filepath.Join(cfg.RootDir, "config", "config.toml"), cfg, extra); err != nil {
		return err
	}
	return WriteConfig(filepath.Join(cfg.RootDir, "config", ConfigFile), c)
}

// createKeys creates the validator key (named cfg.Moniker, power 10 in
// genesis) and the node key of cfg's home.
func createKeys(cfg *cmtcfg.Config) (types.GenesisValidator, p2p.ID, error) {
	pv, err := privval.LoadOrGenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile(), func() (cmtcrypto.PrivKey, error) { return ed25519.GenPrivKey(), nil })
	if err != nil {
		return types.GenesisValidator{}, "", err
	}
	nk, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return types.GenesisValidator{}, "", err
	}
	pub, err := pv.GetPubKey()
	if err != nil {
		return types.GenesisValidator{}, "", err
	}
	return types.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: 10, Name: cfg.Moniker}, nk.ID(), nil
}

// newGenesis is the genesis of a new chain with these validators.
func newGenesis(chainID string, vals []types.GenesisValidator, appState json.RawMessage) (*types.GenesisDoc, error) {
	params := types.DefaultConsensusParams()
	// Blocks carry batches of readings: 8 MiB blocks (the default is 4 MiB)
	// hold about 35,000 readings, more than a second of a saturated node;
	// larger blocks only make each block's latency longer.
	params.Block.MaxBytes = 8 << 20
	gen := &types.GenesisDoc{
		GenesisTime:     time.Now().UTC().Truncate(time.Millisecond),
		ChainID:         chainID,
		InitialHeight:   1,
		ConsensusParams: params,
		Validators:      vals,
		AppState:        appState,
	}
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, err
	}
	return gen, nil
}

// CometConfig is CometBFT's configuration as iotledger sets it for a new
// home. Each departure from CometBFT's defaults says why.
func CometConfig(home string) *cmtcfg.Config {
	cfg := cmtcfg.DefaultConfig()
	cfg.SetRoot(home)
	// Pebble for CometBFT's own stores too, like the app.
	cfg.DBBackend = "pebbledb"
	// Loopback by default: an operator opens ports on purpose.
	cfg.RPC.ListenAddress = "tcp://127.0.0.1:26657"
	cfg.P2P.ListenAddress = "tcp://127.0.0.1:26656"
	// Local testnets run several nodes on one address.
	cfg.P2P.AllowDuplicateIP = true
	cfg.P2P.AddrBookStrict = false
	// Batches are large: raise the 5 MB/s per-connection default so a
	// multi-validator network gossips blocks as fast as ingest fills them.
	cfg.P2P.SendRate = 50 << 20
	cfg.P2P.RecvRate = 50 << 20
	// Under load a block is as large as block.max_bytes allows (8 MiB,
	// some 37,000 readings) and takes about a second to make, execute and
	// write; the wait after each commit adds to every reading's latency and
	// leaves the serial path idle. 100 ms measured best on two cores
	// (`iotledger bench --devices 10000 --rate 34000`: p99 1.3 s at
	// 34,000/s; 300 ms: 2.8 s at 32,000/s; 0 and 50 ms made blocks too
	// small to keep up). Empty blocks only every 10 s. A block after a
	// block that changed the app hash is made at once anyway (its header
	// carries the receipt's app hash).
	cfg.Consensus.TimeoutCommit = 100 * time.Millisecond
	cfg.Consensus.CreateEmptyBlocksInterval = 10 * time.Second
	// Batches of up to 4 MiB (app params.max_tx_bytes); the mempool counts
	// batches, not readings.
	cfg.Mempool.MaxTxBytes = 4 << 20
	cfg.Mempool.MaxTxsBytes = 64 << 20
	cfg.Mempool.Size = 10000
	// The app answers readings itself: CometBFT's tx indexer would store
	// every batch a second time.
	cfg.TxIndex.Indexer = "null"
	cfg.Storage.DiscardABCIResponses = true
	cfg.Instrumentation.Prometheus = false
	return cfg
}

// cometConfigHeader explains, at the top of config.toml, where iotledger
// departs from CometBFT's defaults and why.
const cometConfigHeader = `# CometBFT configuration of an iotledger node. iotledger departs from
# CometBFT's defaults where its load asks for it:
#
#   db_backend = "pebbledb"            Pebble for CometBFT's stores, like the app's.
#   rpc.laddr, p2p.laddr on 127.0.0.1  nothing is exposed until the operator opens it.
#   p2p.allow_duplicate_ip = true      local testnets run several nodes on one address.
#   p2p.send_rate, recv_rate = 50 MB/s readings travel in batches of hundreds of KB;
#                                      the 5 MB/s default would cap a validator set
#                                      well below one node's ingest.
#   consensus.timeout_commit = 100ms   the next block starts soon after a commit: a full
#                                      block takes about a second to make and execute, and
#                                      this wait adds to every reading's latency (measured:
#                                      p99 1.3 s at 34,000/s, 2.8 s with 300ms); use more on a WAN.
#   consensus.create_empty_blocks_interval = 10s
#                                      no empty block storm; after a block that changed
#                                      the app hash CometBFT makes the next one at once,
#                                      and its header completes the readings' receipts.
#   mempool.max_tx_bytes = 4 MiB       a batch transaction holds up to 4,096 readings.
#   mempool.max_txs_bytes = 64 MiB, size = 10000
#                                      the mempool counts batches, not readings.
#   tx_index.indexer = "null"          the app indexes readings itself; CometBFT's
#                                      index would store every batch again.
#   storage.discard_abci_responses     per-reading results are answered by the app.
#   instrumentation.prometheus = false the node serves /metrics on its API address.
#
# Recheck stays on: it is cheap, because every node keeps a cache of the
# readings it has verified, so a recheck decodes and verifies nothing again.

`

func writeCometConfig(path string, cfg *cmtcfg.Config, extra string) error {
	cmtcfg.WriteConfigFile(path, cfg)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(cometConfigHeader+extra), b...), 0o644)
}

// LoadCometConfig reads HOME/config/config.toml as CometBFT does.
func LoadCometConfig(home string) (*cmtcfg.Config, error) {
	p := filepath.Join(home, "config", "config.toml")
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("%w: %s is missing; run `iotledger init --home %s` first", ErrNoHome, p, home)
	}
	v := viper.New()
	v.SetConfigFile(p)
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("node: read %s: %w", p, err)
	}
	cfg := cmtcfg.DefaultConfig()
	if err := v.Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("node: parse %s: %w", p, err)
	}
	cfg.SetRoot(home)
	if err := cfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("node: %s: %w", p, err)
	}
	return cfg, nil
}
