package node

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/mempool"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/rpc/client/local"
	rpccore "github.com/cometbft/cometbft/rpc/core"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/buildinfo"
	"github.com/iotledger/iotledger/internal/explorer"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/keybox"
	"github.com/iotledger/iotledger/internal/mqtt"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/verdict"
)

// Version is the node software version, as `iotledger version` prints it
// (package buildinfo): the module version Go recorded at build, or the one
// the build set at link time, else "(devel)".
var Version = buildinfo.Read().Version

// AppDBDir is where the app's Pebble store lives inside a home.
func AppDBDir(home string) string { return filepath.Join(home, "data", "iotledger.db") }

// Node is one running iotledger node: CometBFT, the app, ingest and the API.
type Node struct {
	home    string
	cfg     Config
	cmtCfg  *cmtcfg.Config
	log     *slog.Logger
	db      *pebble.DB
	app     *app.App
	cmt     *nm.Node
	rpc     *local.Local
	ingest  *ingest.Ingest
	hub     *hub
	seq     eventSeq // numbers the events of the block being published (Commit's goroutine only)
	metrics *metrics
	http    *http.Server
	apiAddr net.Addr
	httpErr chan error
	cmtLog  *cometLogger
	mqtt    *mqtt.Broker
	wal     *walTrimmer
	faults  *storeFaults // the stores' faults that stop the node (storefault.go)
	halt    *haltWatch   // whether consensus has halted (halt.go)
	// the key box of wrapped stream keys and its reactor (keybox.go)
	keys       *keybox.Box
	keyReactor *keybox.Reactor

	closeOnce  sync.Once
	unlockHome func() // lets go of the home's lock (lockHome)
}

// Start opens the home and starts every part of the node. Call Close to stop.
// A home another process holds (a node, or audit) is refused with
// ErrHomeInUse before anything is opened.
func Start(ctx context.Context, home string, cfg Config, log *slog.Logger) (*Node, error) {
	unlock, err := lockHome(home)
	if err != nil {
		return nil, err
	}
	n, err := start(ctx, home, cfg, log)
	if err != nil {
		unlock()
		return nil, err
	}
	n.unlockHome = unlock
	return n, nil
}

func start(ctx context.Context, home string, cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cc, err := LoadCometConfig(home)
	if err != nil {
		return nil, err
	}
	if cfg.RPCAddr != "" {
		cc.RPC.ListenAddress = "tcp://" + cfg.RPCAddr
	}
	if cfg.P2PAddr != "" {
		cc.P2P.ListenAddress = "tcp://" + cfg.P2PAddr
	}
	cc.Instrumentation.Prometheus = false // the node serves CometBFT's metrics on its /metrics (metrics.go)
	if err := checkKeyFiles(cc, cfg); err != nil {
		return nil, err
	}
	apiTLS, err := loadAPITLS(home, cfg.API)
	if err != nil {
		return nil, err
	}
	cfg.MQTT.TLSCert = homePath(home, cfg.MQTT.TLSCert)
	cfg.MQTT.TLSKey = homePath(home, cfg.MQTT.TLSKey)
	cfg.MQTT.ClientCA = homePath(home, cfg.MQTT.ClientCA)
	n := &Node{home: home, cfg: cfg, cmtCfg: cc, log: log, hub: newHub(), httpErr: make(chan error, 1)}
	n.cmtLog = newCometLogger(log, cfg.Log.CometBFTLevel)
	n.metrics = newMetrics(n)
	n.halt = newHaltWatch(n.metrics.reg, StallWindow(cc.Consensus), filepath.Join(home, "data"), log, time.Now)
	n.halt.committed = func() int64 { return n.app.Meta().Height }
	n.cmtLog.onFailure = n.halt.fail

	// Opening the stores: every slow step ends at once on a cancelled ctx
	// (SIGINT, SIGTERM) or on a store fault (storefault.go).
	n.faults = newStoreFaults(home)
	n.faults.onFault = func() { n.cmtLog.stopping.Store(true) } // CometBFT's report of it (with its stack) is then debug
	if err := checkDiskSpace(home); err != nil {
		return nil, err
	}
	n.db, err = openAppDB(ctx, home, log, false, n.faults, nil)
	if err != nil {
		return nil, err
	}
	n.app, err = app.Open(n.db, n)
	if err != nil {
		n.closeStores()
		return nil, n.storeErr(ctx, "opening the app", err)
	}
	n.faults.reader.Store(n.app.Reader())
	gen, err := types.GenesisDocFromFile(cc.GenesisFile())
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("node: %w", err)
	}
	n.app.SetGenesisValidators(genesisValidators(gen)) // for a store from before validator set changes
	var behind int64
	err = startStep(ctx, n.faults, "checking the store", func() (err error) {
		behind, err = checkStore(ctx, home, cc, n.app, cfg.StoreCheck, log, n.faults)
		return err
	})
	if err != nil {
		n.closeStores()
		return nil, err
	}
	newStoreMetrics(n.metrics.reg).replayed.Set(float64(behind))
	if err := setupSnapshots(home, cc, cfg.Snapshots, n.app, log); err != nil {
		n.closeStores()
		return nil, err
	}
	if err := n.openKeybox(log); err != nil {
		n.closeStores()
		return nil, err
	}
	// The device index (query.Reader's, for device search and the
	// explorer's counts) is built now, before blocks commit, rather than
	// by the first search: 100,000 devices take about half a second, and
	// a search waiting for that, or a block's commit waiting for the
	// search, is what an operator would notice. A failure here is left to
	// the first search, which tries again and reports it.
	began := time.Now()
	if c, err := n.app.Reader().DeviceCounts(); err != nil {
		log.Warn("device index: not built at start; the first device search builds it", "err", err)
	} else {
		log.Info("device index built", "devices", c.Total(), "took", time.Since(began).Round(time.Millisecond))
	}
	pv := privval.LoadFilePV(cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile())
	nodeKey, err := p2p.LoadNodeKey(cc.NodeKeyFile())
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("node: %w", err)
	}
	// The broker exists before CometBFT starts, so Committed never sees it
	// unset; it starts listening once ingest runs.
	n.mqtt, err = mqtt.New(cfg.MQTT, mqtt.Deps{
		Submit: func(ctx context.Context, raws [][]byte, wait bool) ([]verdict.Verdict, error) {
			return n.ingest.Submit(ctx, raws, wait)
		},
		Device: n.app.Reader().Device,
	}, log.With("component", "mqtt"))
	if err != nil {
		n.closeStores()
		return nil, err
	}
	// One lock per ABCI connection rather than one for all: CheckTx of
	// ingest's batches runs while a block executes, instead of waiting for
	// it (a goroutine dump under overload showed the batcher blocked on the
	// shared lock during every FinalizeBlock, so blocks shrank as load
	// grew). The app reads only committed state outside block execution.
	err = startStep(ctx, n.faults, "starting CometBFT", func() (err error) {
		n.cmt, err = nm.NewNode(ctx, cc, pv, nodeKey,
			proxy.NewConnSyncLocalClientCreator(n.app),
			nm.DefaultGenesisDocProviderFunc(cc),
			cometDBProvider(ctx, home, log, n.faults, false),
			n.metrics.cometMetrics(),
			n.cmtLog,
			nm.CustomReactors(map[string]p2p.Reactor{KeyboxReactorName: n.keyReactor}),
		)
		return err
	})
	if err != nil {
		n.closeKeybox()
		n.closeStores()
		return nil, n.storeErr(ctx, "starting CometBFT (it replays the blocks the app store lacks)", fmt.Errorf("node: start CometBFT: %w", err))
	}
	if err := startStep(ctx, n.faults, "starting CometBFT", n.cmt.Start); err != nil {
		n.closeKeybox()
		n.closeStores()
		return nil, n.storeErr(ctx, "starting CometBFT", fmt.Errorf("node: start CometBFT: %w", err))
	}
	n.faults.running()
	n.rpc = local.New(n.cmt)
	if keep := cfg.Store.ConsensusWALBytes; keep > 0 {
		n.wal = startWALTrimmer(cc.Consensus.WalFile(), keep, func(err error) { log.Error("consensus WAL", "err", err) })
	}
	n.ingest = ingest.New(n.app, n.broadcast, cfg.ingest(), log)
	n.ingest.WatchMempool(func() int64 { return n.cmt.Mempool().SizeBytes() })
	n.ingest.OnAnswered(n.metrics.answered)
	n.ingest.WatchHalt(n.halt.Halted)
	n.ingest.Start()
	n.halt.start(haltTick, n.haltSample)
	if err := n.mqtt.Start(ctx); err != nil {
		n.Close()
		return nil, fmt.Errorf("node: MQTT: %w; pick another address with --mqtt-addr, or --mqtt-addr off", err)
	}

	genesisFile, err := os.ReadFile(cc.GenesisFile()) // read once already, by CometBFT: served as is
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	srv := api.New(n, n.app.Reader(), api.Options{MaxBodyBytes: cfg.API.MaxBodyBytes, Registry: n.metrics.reg, Gatherer: n.metrics.gatherer(), Logger: log, WaitTimeout: cfg.API.WaitTimeout.Duration,
		RatePerIP: cfg.API.RatePerIP, BurstPerIP: cfg.API.BurstPerIP, MaxIPs: cfg.API.MaxIPs, LimitLoopback: cfg.API.LimitLoopback,
		EventReplayBlocks: cfg.API.EventReplayBlocks, Explorer: explorer.New(), Genesis: genesisFile})
	ln, err := net.Listen("tcp", cfg.API.Addr)
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("node: API address %s: %w; pick another with --api-addr", cfg.API.Addr, err)
	}
	n.apiAddr = ln.Addr()
	n.http = srv.HTTPServer(cfg.API.Addr)
	if apiTLS != nil {
		n.http.TLSConfig = apiTLS
		go func() { n.httpErr <- n.http.ServeTLS(ln, "", "") }()
	} else {
		go func() { n.httpErr <- n.http.Serve(ln) }()
	}
	if err := n.faults.Err(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// APIAddr is the address the API listens on.
func (n *Node) APIAddr() string { return n.apiAddr.String() }

// APIURL is the API's base URL: https://ADDR when it serves TLS.
func (n *Node) APIURL() string {
	c := n.cfg.API
	c.Addr = n.apiAddr.String()
	return c.URL()
}

// MQTTAddr is the embedded MQTT broker's address, or "" when it is off.
func (n *Node) MQTTAddr() string {
	if !n.cfg.MQTT.Enabled {
		return ""
	}
	return n.mqtt.Addr()
}

// MQTTTLS reports whether the embedded broker speaks MQTT over TLS.
func (n *Node) MQTTTLS() bool { return n.cfg.MQTT.TLSCert != "" }

// RPCAddr is CometBFT's RPC address.
func (n *Node) RPCAddr() string { return strings.TrimPrefix(n.cmtCfg.RPC.ListenAddress, "tcp://") }

// App is the node's ABCI application.
func (n *Node) App() *app.App { return n.app }

// ChainID is the chain's id.
func (n *Node) ChainID() string { return n.cmt.GenesisDoc().ChainID }

// Err reports a fatal error of the API server.
func (n *Node) Err() <-chan error { return n.httpErr }

// Close stops the API, ingest and CometBFT, then closes the store.
func (n *Node) Close() error {
	var errs []error
	n.closeOnce.Do(func() {
		if n.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2e9)
			n.http.Shutdown(ctx)
			cancel()
		}
		n.hub.close()
		if n.halt != nil {
			n.halt.stop()
		}
		if n.mqtt != nil {
			if err := n.mqtt.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if n.ingest != nil {
			n.ingest.Close()
		}
		// CometBFT reports its listeners closing as errors: expected now.
		n.cmtLog.stopping.Store(true)
		if n.cmt != nil && n.cmt.IsRunning() {
			if err := n.cmt.Stop(); err != nil {
				errs = append(errs, err)
			}
			n.cmt.Wait()
		}
		if n.wal != nil {
			n.wal.stop()
			n.wal.trim()
		}
		n.closeKeybox() // after CometBFT: no block commits any more
		if n.app != nil {
			n.app.Close() // CometBFT may still be rechecking its mempool
		}
		if n.db != nil {
			errs = append(errs, n.db.Close())
		}
		if n.unlockHome != nil {
			n.unlockHome()
		}
	})
	return errors.Join(errs...)
}

func (n *Node) broadcast(ctx context.Context, tx []byte) (uint32, string, error) {
	r, err := n.broadcastSync(ctx, tx)
	if err != nil {
		if notNow(err) {
			return 0, "", fmt.Errorf("%w: %v", ingest.ErrNotNow, err)
		}
		return 0, "", err
	}
	return r.Code, r.Log, nil
}

// broadcastSync is BroadcastTxSync that returns when ctx ends. CometBFT's
// CheckTx waits for the mempool's lock whatever the context, and a
// consensus failure during a block's Commit (a full disk: the app's
// Commit panics inside CometBFT's BlockExecutor.Commit, which locked the
// mempool and unlocks it only on return) leaves that lock held for good: a plain call would never return, and ingest, and with it
// Close, would wait forever. The call's goroutine then stays blocked until
// the process exits; it holds no lock of the node's.
func (n *Node) broadcastSync(ctx context.Context, tx []byte) (*coretypes.ResultBroadcastTx, error) {
	type answer struct {
		r   *coretypes.ResultBroadcastTx
		err error
	}
	if err := ctx.Err(); err != nil {
		return nil, err // no goroutine that could block for good
	}
	ch := make(chan answer, 1)
	go func() {
		r, err := n.rpc.BroadcastTxSync(ctx, tx)
		ch <- answer{r, err}
	}()
	select {
	case a := <-ch:
		return a.r, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// notNow reports whether a broadcast failed because the mempool takes
// nothing for now: the node is catching up with the chain, or its mempool
// is full. CometBFT flattens some of these errors to text
// (broadcast_tx_commit formats the mempool's error with %v), so they are
// known by their text too.
func notNow(err error) bool {
	var full mempool.ErrMempoolIsFull
	if errors.As(err, &full) || errors.Is(err, rpccore.ErrEndpointClosedCatchingUp) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "mempool is full") || strings.Contains(msg, rpccore.ErrEndpointClosedCatchingUp.Error())
}

// ObserveVerify times signature checks for /metrics (app.Observer).
func (n *Node) ObserveVerify(count int, verify func()) { n.metrics.observeVerify(count, verify) }

// Committed fans a committed block out to ingest, metrics and subscribers
// (app.Observer). It never blocks on a subscriber.
func (n *Node) Committed(b *state.Block, outcomes []app.Outcome, devices []app.DeviceChange) {
	n.metrics.committed(b, outcomes)
	n.keyboxCommitted(b.Height, devices)
	if n.ingest != nil {
		n.ingest.Committed(outcomes)
	}
	if n.mqtt != nil {
		n.mqtt.Committed(outcomes)
		n.mqtt.DevicesChanged(devices)
	}
	n.seq = eventSeq{height: b.Height}
	n.hub.publish(n.seq.block(b))
	for i := range outcomes {
		if outcomes[i].Status == verdict.Accepted {
			n.hub.publish(n.seq.reading(outcomes[i].Verdict))
		}
	}
	for i := range devices {
		n.hub.publish(n.seq.device(devices[i]))
	}
}

// CommittedTwins publishes committed twin changes (app.TwinObserver): a
// desired state to the device's MQTT twin/desired topic, and every change
// as a "twin" event.
func (n *Node) CommittedTwins(changes []app.TwinChange) {
	if n.mqtt != nil {
		n.mqtt.TwinsChanged(changes)
	}
	for i := range changes {
		n.hub.publish(n.seq.twin(changes[i]))
	}
}

// CommittedEvents publishes the events contracts emitted in a committed
// block as "contract_event" events (app.EventObserver).
func (n *Node) CommittedEvents(events []*state.Event) {
	for _, e := range events {
		n.hub.publish(n.seq.contractEvent(e))
	}
}

var (
	_ app.EventObserver   = (*Node)(nil)
	_ api.Ledger          = (*Node)(nil)
	_ api.Reader          = (*query.Reader)(nil)
	_ api.ValidatorReader = (*query.Reader)(nil)
)

// Status implements api.Ledger.
func (n *Node) Status(ctx context.Context) (*apiwire.Status, error) {
	st, err := n.rpc.Status(ctx)
	if err != nil {
		return nil, err
	}
	m := n.app.Meta()
	var validators int
	if vals, err := n.rpc.Validators(ctx, nil, nil, nil); err == nil {
		validators = vals.Total // the set that signs the latest block
	} else if st.SyncInfo.LatestBlockHeight == 0 {
		validators = len(n.cmt.GenesisDoc().Validators) // no block yet: CometBFT has no set to give
	} else {
		return nil, err
	}
	return &apiwire.Status{
		ChainID:      n.ChainID(),
		Height:       m.Height,
		AppHash:      m.AppHash,
		LogSize:      n.app.Log().Size(),
		LogRoot:      n.app.Log().Root(),
		Validators:   validators,
		NodeID:       string(st.NodeInfo.ID()),
		LatestTimeMs: st.SyncInfo.LatestBlockTime.UnixMilli(),
		CatchingUp:   st.SyncInfo.CatchingUp,
		Version:      Version,
		Halted:       n.halt.status(),
	}, nil
}

// BroadcastTx implements api.Ledger.
func (n *Node) BroadcastTx(ctx context.Context, raw []byte) (*apiwire.TxCommit, error) {
	out, err := n.broadcastTx(ctx, raw)
	n.metrics.tx(raw, out, err)
	return out, err
}

func (n *Node) broadcastTx(ctx context.Context, raw []byte) (*apiwire.TxCommit, error) {
	if h := n.halt.Halted(); h != nil {
		return nil, h // it would wait for a block that does not come
	}
	h := sha256.Sum256(raw)
	out := &apiwire.TxCommit{Hash: h[:]}
	r, err := n.rpc.BroadcastTxCommit(ctx, raw)
	var invalid mempool.ErrInvalidTx
	if errors.As(err, &invalid) { // CheckTx refused it
		out.TxResult = apiwire.TxResult{Code: invalid.Code, Name: app.Code(invalid.Code).String(), Log: invalid.Log}
		return out, nil
	}
	if err != nil && notNow(err) {
		return nil, api.ErrBusy
	}
	// CometBFT's broadcast_tx_commit flattens the mempool's error with
	// %v, so ErrTxInCache is found by its text.
	if err != nil && strings.Contains(err.Error(), mempool.ErrTxInCache.Error()) {
		// The same bytes came before: a replay of a committed transaction
		// (CheckTx names why it no longer passes: wrong_nonce), or one
		// still waiting in the mempool.
		out.TxResult = apiwire.TxResult{Code: uint32(app.CodeDuplicate), Name: app.CodeDuplicate.String(),
			Log: "this transaction was received already and waits for its block; do not send it again"}
		if c, cerr := n.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: raw, Type: abci.CHECK_TX_TYPE_CHECK}); cerr == nil && c.Code != 0 {
			out.TxResult = apiwire.TxResult{Code: c.Code, Name: app.Code(c.Code).String(), Log: c.Log}
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if r.CheckTx.Code != 0 {
		out.TxResult = apiwire.TxResult{Code: r.CheckTx.Code, Name: app.Code(r.CheckTx.Code).String(), Log: r.CheckTx.Log}
		return out, nil
	}
	out.Committed, out.Height = true, r.Height
	out.TxResult = apiwire.TxResult{Code: r.TxResult.Code, Name: app.Code(r.TxResult.Code).String(), Log: r.TxResult.Log}
	return out, nil
}

// Block implements api.Ledger.
func (n *Node) Block(ctx context.Context, h int64) (*api.BlockInfo, error) {
	b, err := n.app.Reader().Block(h)
	if err != nil || b == nil {
		return nil, err
	}
	info := &api.BlockInfo{Block: *b}
	if meta := n.cmt.BlockStore().LoadBlockMeta(h); meta != nil {
		info.Hash = meta.BlockID.Hash
		info.Proposer = meta.Header.ProposerAddress.String()
		info.NumTxs = meta.NumTxs
	}
	if blk, _ := n.cmt.BlockStore().LoadBlock(h); blk != nil {
		raws := make([][]byte, len(blk.Txs))
		for i, t := range blk.Txs {
			raws[i] = t
		}
		info.Txs = api.BlockTxs(raws)
	}
	return info, nil
}

// Receipt implements api.Ledger: the app's proof, the header of the next
// block (which carries the app hash) and its commit and validator set, and
// the validator trace from the genesis set to that set when it changed.
func (n *Node) Receipt(ctx context.Context, id string, seq uint64) (*receipt.Receipt, error) {
	p, err := n.app.Reader().Proof(id, seq)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, api.ErrNotFound
	}
	h := p.Block.Height + 1
	if n.cmt.BlockStore().Height() < h {
		return nil, api.ErrNotYet
	}
	if base := n.cmt.BlockStore().Base(); h < base {
		return nil, &api.BlockNotOnNodeError{Height: h, First: base}
	}
	lb, err := n.lightBlock(ctx, h)
	if err != nil {
		return nil, err
	}
	trace, err := n.trace(ctx, h)
	if err != nil {
		return nil, err
	}
	version := receipt.Version
	if len(trace) > 0 {
		version = receipt.VersionTrace
	}
	return &receipt.Receipt{
		Version:      version,
		ChainID:      n.ChainID(),
		Reading:      p.Stored.Raw,
		DeviceKey:    p.Stored.Key,
		LeafIndex:    p.Stored.Index,
		TreeSize:     p.Block.LogSize,
		Proof:        p.Path,
		LogRoot:      p.Block.LogRoot,
		StateDigest:  p.Block.StateDigest,
		Height:       p.Block.Height,
		SignedHeader: lb.SignedHeader,
		Validators:   lb.Validators,
		Trace:        trace,
	}, nil
}

// lightBlock is block h's signed header (with its commit) and validator
// set, from CometBFT's stores, as a receipt carries them.
func (n *Node) lightBlock(ctx context.Context, h int64) (receipt.LightBlock, error) {
	c, err := n.rpc.Commit(ctx, &h)
	if err != nil {
		return receipt.LightBlock{}, fmt.Errorf("node: commit of block %d: %w", h, err)
	}
	vals, err := n.validators(ctx, h)
	if err != nil {
		return receipt.LightBlock{}, err
	}
	sh, err := cmtjson.Marshal(c.SignedHeader)
	if err != nil {
		return receipt.LightBlock{}, err
	}
	vs, err := cmtjson.Marshal(vals)
	if err != nil {
		return receipt.LightBlock{}, err
	}
	return receipt.LightBlock{SignedHeader: sh, Validators: vs}, nil
}

func (n *Node) validators(ctx context.Context, h int64) (*types.ValidatorSet, error) {
	var all []*types.Validator
	perPage := 100
	for page := 1; ; page++ {
		r, err := n.rpc.Validators(ctx, &h, &page, &perPage)
		if err != nil {
			return nil, fmt.Errorf("node: validators of block %d: %w", h, err)
		}
		all = append(all, r.Validators...)
		if len(all) >= r.Total || len(r.Validators) == 0 {
			break
		}
	}
	return types.NewValidatorSet(all), nil
}

// Submit implements api.Ledger.
func (n *Node) Submit(ctx context.Context, raws [][]byte, wait bool) ([]verdict.Verdict, error) {
	vs, err := n.ingest.Submit(ctx, raws, wait)
	if errors.Is(err, ingest.ErrBusy) {
		n.metrics.busy.Inc()
		return nil, api.ErrBusy
	}
	return vs, err
}

// Subscribe implements api.Ledger.
func (n *Node) Subscribe() api.Subscription { return n.hub.subscribe() }

// RPC is an in-process CometBFT RPC client of this node.
func (n *Node) RPC() *local.Local { return n.rpc }
