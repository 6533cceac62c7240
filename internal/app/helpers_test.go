package app_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

const testChainID = "iotledger-test"

// genesisTime is the time of block 1. Blocks follow one second apart unless
// a test sets testChain.next. The app never reads a clock: every time it
// sees comes from here.
var genesisTime = time.Date(2025, time.March, 14, 9, 26, 53, 0, time.UTC)

// key returns the Ed25519 key of a fixed seed, so runs are reproducible.
func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func pub(k ed25519.PrivateKey) []byte { return k.Public().(ed25519.PublicKey) }

func deviceID(k ed25519.PrivateKey) string  { return address.Device(pub(k)) }
func accountID(k ed25519.PrivateKey) string { return address.Account(pub(k)) }

// recorder is an app.Observer that keeps what Commit reports.
type recorder struct {
	mu       sync.Mutex
	blocks   []state.Block
	outcomes map[int64][]app.Outcome
	devices  map[int64][]app.DeviceChange
	verifies int // signatures verified (ObserveVerify)
}

func newRecorder() *recorder {
	return &recorder{outcomes: map[int64][]app.Outcome{}, devices: map[int64][]app.DeviceChange{}}
}

func (r *recorder) ObserveVerify(n int, verify func()) {
	verify()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verifies += n
}

func (r *recorder) verified() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.verifies
}

func (r *recorder) Committed(b *state.Block, outcomes []app.Outcome, devices []app.DeviceChange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blocks = append(r.blocks, *b)
	r.outcomes[b.Height] = append([]app.Outcome(nil), outcomes...)
	r.devices[b.Height] = append([]app.DeviceChange(nil), devices...)
}

func (r *recorder) outcomesAt(h int64) []app.Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcomes[h]
}

// testChain drives an app through its ABCI methods the way CometBFT does:
// InitChain once, then FinalizeBlock and Commit per block.
type testChain struct {
	t       testing.TB
	dir     string
	db      *pebble.DB
	app     *app.App
	obs     *recorder
	chainID string
	genesis []byte // app_state bytes

	height int64     // last committed height
	next   time.Time // time of the next block; zero means last + 1s
	last   time.Time // time of the last block

	// appHashes[h] is the app hash FinalizeBlock returned for block h.
	appHashes map[int64][]byte
}

type chainOption func(*state.Params)

// newChain starts a chain with DefaultGenesis, changed by opts.
func newChain(t testing.TB, opts ...chainOption) *testChain {
	t.Helper()
	g := app.DefaultGenesis()
	for _, o := range opts {
		o(&g.Params)
	}
	return newChainGenesis(t, g)
}

// newChainGenesis starts a chain with app_state g.
func newChainGenesis(t testing.TB, g app.Genesis) *testChain {
	t.Helper()
	appState, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	c := &testChain{t: t, dir: t.TempDir(), chainID: testChainID, genesis: appState, appHashes: map[int64][]byte{}}
	c.open()
	t.Cleanup(c.close)
	res, err := c.app.InitChain(t.Context(), &abci.InitChainRequest{
		ChainId: c.chainID, InitialHeight: 1, Time: genesisTime, AppStateBytes: appState,
	})
	if err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	if len(res.AppHash) != 32 {
		t.Fatalf("InitChain app hash is %d bytes, want 32", len(res.AppHash))
	}
	c.appHashes[0] = res.AppHash
	c.last = genesisTime.Add(-time.Second)
	return c
}

// open opens the db and the app on it, with a fresh recorder.
func (c *testChain) open() {
	c.t.Helper()
	db, err := pebble.Open(c.dir, &pebble.Options{})
	if err != nil {
		c.t.Fatalf("pebble.Open: %v", err)
	}
	c.db = db
	c.obs = newRecorder()
	a, err := app.Open(db, c.obs)
	if err != nil {
		c.t.Fatalf("app.Open: %v", err)
	}
	c.app = a
}

func (c *testChain) close() {
	if c.db == nil {
		return
	}
	if err := c.db.Close(); err != nil {
		c.t.Errorf("close db: %v", err)
	}
	c.db, c.app = nil, nil
}

// reopen closes the app's db and opens both again, like a node restart.
func (c *testChain) reopen() {
	c.t.Helper()
	c.close()
	c.open()
}

// blockTime is the time the next block will carry.
func (c *testChain) blockTime() time.Time {
	if !c.next.IsZero() {
		return c.next
	}
	return c.last.Add(time.Second)
}

// nowMs is the next block's time in unix ms: a reading time that is always in the window.
func (c *testChain) nowMs() int64 { return c.blockTime().UnixMilli() }

// finalize runs FinalizeBlock for the next height without committing.
func (c *testChain) finalize(txs ...[]byte) *abci.FinalizeBlockResponse {
	c.t.Helper()
	res, err := c.app.FinalizeBlock(c.t.Context(), &abci.FinalizeBlockRequest{
		Height: c.height + 1, Time: c.blockTime(), Txs: txs,
	})
	if err != nil {
		c.t.Fatalf("FinalizeBlock %d: %v", c.height+1, err)
	}
	if got, want := len(res.TxResults), len(txs); got != want {
		c.t.Fatalf("FinalizeBlock %d: %d tx results for %d txs", c.height+1, got, want)
	}
	return res
}

// block finalizes and commits the next block.
func (c *testChain) block(txs ...[]byte) *abci.FinalizeBlockResponse {
	c.t.Helper()
	res := c.finalize(txs...)
	if _, err := c.app.Commit(c.t.Context(), &abci.CommitRequest{}); err != nil {
		c.t.Fatalf("Commit %d: %v", c.height+1, err)
	}
	c.height++
	c.last = c.blockTime()
	c.next = time.Time{}
	c.appHashes[c.height] = res.AppHash
	return res
}

// checkTx runs CheckTx.
func (c *testChain) checkTx(raw []byte) *abci.CheckTxResponse {
	c.t.Helper()
	res, err := c.app.CheckTx(c.t.Context(), &abci.CheckTxRequest{Tx: raw, Type: abci.CHECK_TX_TYPE_CHECK})
	if err != nil {
		c.t.Fatalf("CheckTx: %v", err)
	}
	return res
}

// nonce is the committed nonce of an account: the one its next transaction needs.
func (c *testChain) nonce(owner ed25519.PrivateKey) uint64 {
	c.t.Helper()
	a, err := c.app.Reader().Account(accountID(owner))
	if err != nil {
		c.t.Fatal(err)
	}
	if a == nil {
		return 0
	}
	return a.Nonce
}

func (c *testChain) sign(owner ed25519.PrivateKey, nonce uint64, typ tx.Type, fields any) []byte {
	c.t.Helper()
	raw, err := tx.Sign(owner, typ, c.chainID, nonce, fields)
	if err != nil {
		c.t.Fatalf("tx.Sign: %v", err)
	}
	return raw
}

// registerTx is owner's registration of dev, with dev's consent signature.
func (c *testChain) registerTx(owner, dev ed25519.PrivateKey, nonce uint64) []byte {
	c.t.Helper()
	msg := tx.RegistrationMessage(c.chainID, accountID(owner), pub(dev))
	return c.sign(owner, nonce, tx.TypeRegisterDevice, &tx.RegisterDevice{
		Key: pub(dev), Labels: map[string]string{"site": "lab"}, DeviceSig: ed25519.Sign(dev, msg),
	})
}

func (c *testChain) revokeTx(owner ed25519.PrivateKey, id string, nonce uint64) []byte {
	c.t.Helper()
	return c.sign(owner, nonce, tx.TypeRevokeDevice, &tx.RevokeDevice{Device: id})
}

func (c *testChain) rotateTx(owner ed25519.PrivateKey, id string, newKey ed25519.PrivateKey, nonce uint64) []byte {
	c.t.Helper()
	msg := tx.RotationMessage(c.chainID, id, pub(newKey))
	return c.sign(owner, nonce, tx.TypeRotateDevice, &tx.RotateDevice{
		Device: id, Key: pub(newKey), DeviceSig: ed25519.Sign(newKey, msg),
	})
}

// mustOK runs a block of txs and fails unless every one succeeded.
func (c *testChain) mustOK(txs ...[]byte) *abci.FinalizeBlockResponse {
	c.t.Helper()
	res := c.block(txs...)
	for i, r := range res.TxResults {
		if r.Code != 0 {
			c.t.Fatalf("block %d tx %d: code %d (%s) %q, want ok", c.height, i, r.Code, app.Code(r.Code), r.Log)
		}
	}
	return res
}

// register registers dev under owner in a block of its own and returns its id.
func (c *testChain) register(owner, dev ed25519.PrivateKey) string {
	c.t.Helper()
	c.mustOK(c.registerTx(owner, dev, c.nonce(owner)))
	return deviceID(dev)
}

// reading signs a reading of device id (empty: dev's own id) with key dev.
func (c *testChain) reading(dev ed25519.PrivateKey, id string, seq uint64, timeMs int64) []byte {
	c.t.Helper()
	raw, err := reading.Sign(reading.Reading{
		Device: id, Seq: seq, Time: timeMs, Data: map[string]any{"temp": 21.5, "door": "closed"},
	}, dev)
	if err != nil {
		c.t.Fatalf("reading.Sign: %v", err)
	}
	return raw
}

// send commits one block holding one batch of readings and returns, per
// reading, the outcome the observer saw. It checks that the tx's Data agrees.
func (c *testChain) send(readings ...[]byte) []app.Outcome {
	c.t.Helper()
	res := c.block(tx.NewBatch(readings))
	r := res.TxResults[0]
	if r.Code != 0 {
		c.t.Fatalf("batch tx: code %d %q, want 0 (rejections are per reading)", r.Code, r.Log)
	}
	per := batchData(c.t, r.Data)
	outs := c.obs.outcomesAt(c.height)
	if len(per) != len(readings) || len(outs) != len(readings) {
		c.t.Fatalf("batch of %d readings: Data has %d entries, observer saw %d outcomes", len(readings), len(per), len(outs))
	}
	for i, o := range outs {
		if got, want := per[i], [2]uint64{uint64(o.Code), o.Index}; got != want {
			c.t.Errorf("reading %d: Data says [code, index] %v, observer says %v", i, got, want)
		}
		if o.Height != c.height {
			c.t.Errorf("reading %d: outcome height %d, want %d", i, o.Height, c.height)
		}
	}
	return outs
}

// sendOne sends a single reading in a block and returns its outcome.
func (c *testChain) sendOne(raw []byte) app.Outcome {
	c.t.Helper()
	return c.send(raw)[0]
}

func batchData(t testing.TB, data []byte) [][2]uint64 {
	t.Helper()
	var per [][2]uint64
	if err := dcbor.DecMode.Unmarshal(data, &per); err != nil {
		t.Fatalf("batch result Data is not CBOR [][2]uint64: %v", err)
	}
	return per
}

// wantCode fails unless got is want and msg holds every one of hints, which
// are what a person needs to act on the refusal (the device id, the
// expected nonce...).
func wantCode(t *testing.T, what string, got uint32, msg string, want app.Code, hints ...string) {
	t.Helper()
	if app.Code(got) != want {
		t.Errorf("%s: code %d (%s) %q, want %d (%s)", what, got, app.Code(got), msg, want, want)
		return
	}
	for _, h := range hints {
		if !strings.Contains(msg, h) {
			t.Errorf("%s: message %q does not mention %q", what, msg, h)
		}
	}
}

// wantOutcome checks a reading's outcome like wantCode, and its status.
func wantOutcome(t *testing.T, what string, o app.Outcome, want app.Code, hints ...string) {
	t.Helper()
	wantCode(t, what, uint32(o.Code), o.Detail, want, hints...)
	status := verdict.Rejected // seq_reused too: the reading's data is refused
	switch want {
	case app.CodeOK:
		status = verdict.Accepted
	case app.CodeDuplicate:
		status = verdict.Duplicate
	}
	if o.Status != status || o.Code != want {
		t.Errorf("%s: status %q reason %q, want %q %q", what, o.Status, o.Code, status, want)
	}
}
