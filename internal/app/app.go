package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/iotledger/iotledger/internal/contract"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/tlog"
	"github.com/iotledger/iotledger/internal/zip215"
	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/verdict"
)

// Observer receives what the app does, for metrics and live events. Its
// methods are called from ABCI methods and must not block. Timing lives in
// the observer (ObserveVerify wraps the work) so the app never reads a clock.
type Observer interface {
	ObserveVerify(n int, verify func())
	Committed(b *state.Block, outcomes []Outcome, devices []DeviceChange)
}

// Outcome is the fate of one reading in a block: its verdict (accepted,
// duplicate or rejected; Height is the block's, Index the original's for a
// duplicate or seq_reused), and the SHA-256 of its bytes, by which ingest
// and MQTT match it to the reading they hold.
type Outcome struct {
	verdict.Verdict
	Hash [32]byte `json:"-"`
}

// DeviceChange is a committed change of a device record: Action is
// registered, revoked, rotated, quarantined, reactivated, or one of
// private readings' (state.ActionGranted, ...), which Access says more
// of.
type DeviceChange struct {
	Action string
	Device *state.Device
	Height int64
	Access *state.AccessChange
}

type nopObserver struct{}

func (nopObserver) ObserveVerify(_ int, f func())                     { f() }
func (nopObserver) Committed(*state.Block, []Outcome, []DeviceChange) {}

// App is the iotledger ABCI application.
type App struct {
	abci.BaseApplication

	db  *pebble.DB
	log *tlog.Log
	obs Observer

	readings *readingCache    // decoded readings and the key each verified under
	keys     *zip215.KeyCache // expanded device keys
	txs      *txCache         // batches this node built, decoded
	kv       *query.Committed // committed state, with its cache of device, progress and account records
	reader   *query.Reader    // the read side, on kv
	// genesisBalances are credited by the first block (set by InitChain,
	// guarded by mu).
	genesisBalances []Allocation

	mu   sync.RWMutex // guards meta and active
	meta state.Meta
	// active lists the committed running contracts in deployment order.
	active []string

	progMu   sync.Mutex                     // guards programs
	programs map[[32]byte]*contract.Checked // checked contract documents by SHA-256 of their source

	// gate lets Close wait for ABCI calls in flight and refuse later ones,
	// so nothing touches the store once the node closes it.
	gate   sync.RWMutex
	closed bool // guarded by gate

	// Staged by FinalizeBlock, written by Commit. Only the consensus
	// connection touches these; CometBFT calls FinalizeBlock and Commit in order.
	pending *pendingBlock

	snap *snapshots // nil until SetSnapshots (snapshot.go)

	quietMu  sync.Mutex
	quietIdx *quietIndex // nil until a block runs a silence trigger (quiet.go)
}

type pendingBlock struct {
	stage    *stage
	log      *tlog.Stage
	meta     state.Meta
	block    state.Block
	outcomes []Outcome
	devices  []DeviceChange
	twins    []TwinChange
	events   []*state.Event
	active   []string
	progress map[string]*state.Progress // the devices' progress after the block (decoded; not to be changed)
	quiet    bool                       // the block ran silence triggers: keep the quiet index
}

// feed is what observers are told of the block besides its record and
// readings, as the store keeps it (state.Feed): the node's event stream is
// replayed from it.
func (p *pendingBlock) feed() *state.Feed {
	f := &state.Feed{}
	for _, c := range p.devices {
		f.Devices = append(f.Devices, state.DeviceChange{Action: c.Action, Device: *c.Device, Access: c.Access})
	}
	for _, c := range p.twins {
		f.Twins = append(f.Twins, state.TwinRef{Device: c.Device, Side: c.Side})
	}
	for _, e := range p.events {
		f.Events = append(f.Events, state.EventRef{Contract: e.Contract, N: e.N})
	}
	return f
}

// TwinObserver is implemented by observers that want committed twin
// changes too (the MQTT twin/desired topic).
type TwinObserver interface {
	CommittedTwins(changes []TwinChange)
}

// EventObserver is implemented by observers that want the events contracts
// emitted in a committed block, in execution order.
type EventObserver interface {
	CommittedEvents(events []*state.Event)
}

// Open opens the app on a Pebble database it will own from now on.
func Open(db *pebble.DB, obs Observer) (*App, error) {
	if obs == nil {
		obs = nopObserver{}
	}
	l, err := tlog.Open(db)
	if err != nil {
		return nil, err
	}
	a := &App{db: db, log: l, obs: obs, readings: newReadingCache(1 << 17), keys: zip215.NewKeyCache(1 << 15), txs: newTxCache(),
		kv: query.NewCommitted(db), programs: map[[32]byte]*contract.Checked{}}
	a.reader = query.New(a.kv, l, a.Meta)
	m, err := state.GetMeta(a.kv)
	if err != nil {
		return nil, fmt.Errorf("app: read meta: %w", err)
	}
	if m != nil {
		a.meta = *m
	}
	if a.active, err = a.loadActive(); err != nil {
		return nil, fmt.Errorf("app: read contracts: %w", err)
	}
	return a, nil
}

// committed reads committed state. A pointer, so passing it as a
// state.KV (per reading) allocates nothing.
func (a *App) committed() *query.Committed { return a.kv }

// ErrClosed is returned by ABCI methods called after Close.
var ErrClosed = errors.New("app: closed")

// enter admits an ABCI call; it returns false once the app is closed. A
// true return must be followed by leave.
func (a *App) enter() bool {
	a.gate.RLock()
	if a.closed {
		a.gate.RUnlock()
		return false
	}
	return true
}

func (a *App) leave() { a.gate.RUnlock() }

// Close waits for ABCI calls in flight and refuses later ones (CometBFT may
// still recheck its mempool while it stops). The caller closes the store
// afterwards.
func (a *App) Close() {
	a.gate.Lock()
	defer a.gate.Unlock()
	a.closed = true
	a.stopSnapshots()
}

// DB returns the app's database.
func (a *App) DB() *pebble.DB { return a.db }

// Log returns the reading log.
func (a *App) Log() *tlog.Log { return a.log }

// Reader returns the read side of the app's committed state: the API's
// queries, receipts' proofs, audit.
func (a *App) Reader() *query.Reader { return a.reader }

// activeContracts returns the committed running contracts, in deployment order.
func (a *App) activeContracts() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return append([]string(nil), a.active...)
}

// Meta returns the state after the last committed block.
func (a *App) Meta() state.Meta {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.meta
}

// Info tells CometBFT where the app is, so it replays only missing blocks.
func (a *App) Info(context.Context, *abci.InfoRequest) (*abci.InfoResponse, error) {
	m := a.Meta()
	return &abci.InfoResponse{
		Data:             "iotledger",
		Version:          "1",
		AppVersion:       1,
		LastBlockHeight:  m.Height,
		LastBlockAppHash: m.AppHash,
	}, nil
}

// InitChain reads the genesis app_state. The initial state is staged and
// written with block 1.
func (a *App) InitChain(_ context.Context, req *abci.InitChainRequest) (*abci.InitChainResponse, error) {
	g, err := ParseGenesis(req.AppStateBytes)
	if err != nil {
		return nil, err
	}
	vals, err := GenesisValidators(req.Validators)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.genesisBalances = g.Balances
	a.meta = state.Meta{ChainID: req.ChainId, Height: req.InitialHeight - 1, Digest: state.GenesisDigest(req.ChainId, req.AppStateBytes), Params: g.Params, Token: g.Token,
		Validators: vals}
	a.meta.AppHash = receipt.AppHash(0, a.log.Root(), a.meta.Digest)
	a.mu.Unlock()
	return &abci.InitChainResponse{AppHash: a.meta.AppHash}, nil
}

// Commit writes the staged block in one synced Pebble batch.
func (a *App) Commit(context.Context, *abci.CommitRequest) (*abci.CommitResponse, error) {
	if !a.enter() {
		return nil, ErrClosed
	}
	defer a.leave()
	p := a.pending
	if p == nil {
		return nil, errors.New("app: Commit without FinalizeBlock")
	}
	size := p.log.WriteBytes() + 4096
	for k, v := range p.stage.writes {
		size += len(k) + len(v) + 16
	}
	b := a.db.NewBatchWithSize(size) // one allocation instead of doubling
	defer b.Close()
	for _, k := range p.stage.sortedKeys() {
		var err error
		if v := p.stage.writes[k]; v == nil {
			err = b.Delete([]byte(k), nil)
		} else {
			err = b.Set([]byte(k), v, nil)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := p.log.Write(b); err != nil {
		return nil, err
	}
	if cs := p.stage.changes(); len(cs) > 0 {
		if err := b.Set(state.ChangesKey(p.block.Height), mustEncode(cs), nil); err != nil {
			return nil, err
		}
	}
	if err := b.Set(state.BlockKey(p.block.Height), mustEncode(&p.block), nil); err != nil {
		return nil, err
	}
	if err := b.Set(state.FeedKey(p.block.Height), state.EncodeFeed(p.feed()), nil); err != nil {
		return nil, err
	}
	if err := b.Set([]byte(state.KeyMeta), mustEncode(&p.meta), nil); err != nil {
		return nil, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("app: commit block %d: %w", p.block.Height, err)
	}
	a.kv.Written(p.stage.writes, p.progress)
	a.quietCommitted(p.block.Height, p.quiet, p.progress)
	if err := a.log.Apply(p.log); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.meta = p.meta
	a.active = p.active
	a.genesisBalances = nil // credited by this block, the first
	a.mu.Unlock()
	a.pending = nil
	a.snapshotCommitted(&p.meta)
	a.obs.Committed(&p.block, p.outcomes, p.devices)
	if o, ok := a.obs.(TwinObserver); ok && len(p.twins) > 0 {
		o.CommittedTwins(p.twins)
	}
	if o, ok := a.obs.(EventObserver); ok && len(p.events) > 0 {
		o.CommittedEvents(p.events)
	}
	return &abci.CommitResponse{}, nil
}

func mustEncode(v any) []byte {
	b, err := dcbor.EncMode.Marshal(v)
	if err != nil {
		panic("app: encode: " + err.Error())
	}
	return b
}
