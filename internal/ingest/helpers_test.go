package ingest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

const chainID = "iotledger-test"

// genesisTime is the time of block 1; blocks follow one second apart. Every
// reading is taken at genesisTime, well inside the app's time window.
var genesisTime = time.Date(2025, time.March, 14, 9, 26, 53, 0, time.UTC)

// key returns the Ed25519 key of a fixed seed.
func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func deviceID(k ed25519.PrivateKey) string { return address.Device(pub(k)) }

var (
	owner   = key(1) // the account that registers the devices
	sensor  = key(2) // a registered device
	retired = key(3) // a registered device, then revoked
	spare   = key(4) // a device never registered
)

// testLogger keeps Pebble's informational lines out of the test output.
type testLogger struct{ t *testing.T }

func (testLogger) Infof(string, ...any)                {}
func (l testLogger) Errorf(format string, args ...any) { l.t.Logf("pebble: "+format, args...) }
func (l testLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

// observer passes the app's committed outcomes to ingest, as the node does.
type observer struct {
	mu sync.Mutex // guards in
	in *ingest.Ingest
}

func (o *observer) ObserveVerify(_ int, verify func()) { verify() }

func (o *observer) Committed(_ *state.Block, outcomes []app.Outcome, _ []app.DeviceChange) {
	o.mu.Lock()
	in := o.in
	o.mu.Unlock()
	if in != nil {
		in.Committed(outcomes)
	}
}

// ledger is a one-validator chain for ingest to feed: a real app on Pebble,
// and a Broadcast that stands in for CometBFT by running CheckTx and then
// committing each admitted transaction in a block of its own.
type ledger struct {
	t   *testing.T
	app *app.App
	obs *observer

	// sent receives the size of each batch Broadcast saw, after it was
	// committed or refused.
	sent chan int

	mu      sync.Mutex // serialises blocks, as consensus does; guards the fields below
	height  int64      // last committed block
	nonce   uint64     // owner's next nonce
	batches []int      // readings per broadcast transaction, in order
	// refuse, if set, is asked first for CheckTx's verdict on a batch;
	// code 0 leaves it to the app.
	refuse func(readings [][]byte) (code uint32, log string)
	// notNow, when set, is asked first on each broadcast: an error it
	// returns is the broadcast's, as if the mempool took nothing.
	notNow func() error
}

// newLedger starts a chain on which sensor and retired are registered and
// retired is revoked.
func newLedger(t *testing.T, params ...func(*state.Params)) *ledger {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), &pebble.Options{Logger: testLogger{t}})
	if err != nil {
		t.Fatalf("pebble.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close db: %v", err)
		}
	})
	l := &ledger{t: t, obs: &observer{}, sent: make(chan int, 1000)}
	l.app, err = app.Open(db, l.obs)
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	g := app.DefaultGenesis()
	for _, f := range params {
		f(&g.Params)
	}
	appState, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.app.InitChain(t.Context(), &abci.InitChainRequest{
		ChainId: chainID, InitialHeight: 1, Time: genesisTime, AppStateBytes: appState,
	}); err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	l.mustOK(l.registerTx(sensor), l.registerTx(retired))
	l.mustOK(l.signTx(tx.TypeRevokeDevice, &tx.RevokeDevice{Device: deviceID(retired)}))
	return l
}

func (l *ledger) signTx(typ tx.Type, fields any) []byte {
	l.t.Helper()
	raw, err := tx.Sign(owner, typ, chainID, l.nonce, fields)
	if err != nil {
		l.t.Fatalf("tx.Sign: %v", err)
	}
	l.nonce++
	return raw
}

func (l *ledger) registerTx(dev ed25519.PrivateKey) []byte {
	l.t.Helper()
	msg := tx.RegistrationMessage(chainID, address.Account(pub(owner)), pub(dev))
	return l.signTx(tx.TypeRegisterDevice, &tx.RegisterDevice{Key: pub(dev), DeviceSig: ed25519.Sign(dev, msg)})
}

// block finalizes and commits the next block. The caller holds l.mu or is
// the only goroutine using l.
func (l *ledger) block(ctx context.Context, txs ...[]byte) ([]*abci.ExecTxResult, error) {
	res, err := l.app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{
		Height: l.height + 1, Time: genesisTime.Add(time.Duration(l.height) * time.Second), Txs: txs,
	})
	if err != nil {
		return nil, fmt.Errorf("FinalizeBlock %d: %w", l.height+1, err)
	}
	if _, err := l.app.Commit(ctx, &abci.CommitRequest{}); err != nil {
		return nil, fmt.Errorf("Commit %d: %w", l.height+1, err)
	}
	l.height++
	return res.TxResults, nil
}

// mustOK commits a block and fails unless every transaction succeeded.
func (l *ledger) mustOK(txs ...[]byte) {
	l.t.Helper()
	res, err := l.block(l.t.Context(), txs...)
	if err != nil {
		l.t.Fatal(err)
	}
	for i, r := range res {
		if r.Code != 0 {
			l.t.Fatalf("block %d tx %d: code %d %q, want ok", l.height, i, r.Code, r.Log)
		}
	}
}

// broadcast is ingest's Broadcast: CheckTx, then a block holding the batch.
func (l *ledger) broadcast(ctx context.Context, raw []byte) (uint32, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.notNow != nil {
		if err := l.notNow(); err != nil {
			return 0, "", err
		}
	}
	t, err := tx.Decode(raw)
	if err != nil {
		l.t.Errorf("ingest broadcast a transaction that does not decode: %v", err)
		return 0, "", err
	}
	l.batches = append(l.batches, len(t.Readings))
	defer func() { l.sent <- len(t.Readings) }()
	if l.refuse != nil {
		if code, msg := l.refuse(t.Readings); code != 0 {
			return code, msg, nil
		}
	}
	chk, err := l.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: raw, Type: abci.CHECK_TX_TYPE_CHECK})
	if err != nil {
		l.t.Errorf("CheckTx: %v", err)
		return 0, "", err
	}
	if chk.Code != 0 {
		return chk.Code, chk.Log, nil
	}
	res, err := l.block(ctx, raw)
	if err != nil {
		l.t.Errorf("broadcast: %v", err)
		return 0, "", err
	}
	if res[0].Code != 0 {
		l.t.Errorf("batch tx: code %d %q, want 0", res[0].Code, res[0].Log)
	}
	return 0, "", nil
}

// lastHeight is the last committed block.
func (l *ledger) lastHeight() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.height
}

// batchSizes is the number of readings of each transaction broadcast so far.
func (l *ledger) batchSizes() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.batches...)
}

// waitReadings waits until broadcast transactions hold n readings in all.
// The timeout only turns a hang into a failure.
func (l *ledger) waitReadings(n int) {
	l.t.Helper()
	timeout := time.After(10 * time.Second)
	for got := 0; got < n; {
		select {
		case size := <-l.sent:
			got += size
		case <-timeout:
			l.t.Fatalf("broadcast saw %d readings (batches %v), want %d", got, l.batchSizes(), n)
		}
	}
}

// ingest makes an ingest pipeline on the ledger; the caller starts it.
func (l *ledger) ingest(cfg ingest.Config) *ingest.Ingest {
	in := ingest.New(l.app, l.broadcast, cfg, slog.New(slog.DiscardHandler))
	l.obs.mu.Lock()
	l.obs.in = in
	l.obs.mu.Unlock()
	l.t.Cleanup(in.Close)
	return in
}

// reading signs reading seq of dev, taken at genesis time.
func (l *ledger) reading(dev ed25519.PrivateKey, seq uint64) []byte {
	l.t.Helper()
	return l.readingData(dev, seq, map[string]any{"temp": 21.5})
}

func (l *ledger) readingData(dev ed25519.PrivateKey, seq uint64, data map[string]any) []byte {
	l.t.Helper()
	raw, err := reading.Sign(reading.Reading{Seq: seq, Time: genesisTime.UnixMilli(), Data: data}, dev)
	if err != nil {
		l.t.Fatalf("reading.Sign: %v", err)
	}
	return raw
}

// accepted is the result of sensor's reading seq committed at index in block height.
func accepted(seq, index uint64, height int64) verdict.Verdict {
	return verdict.Verdict{Device: deviceID(sensor), Seq: seq, Status: "accepted", Code: app.CodeOK, Index: index, Height: height}
}

// pending is the result of sensor's reading seq not known to be committed.
func pending(seq uint64) verdict.Verdict {
	return verdict.Verdict{Device: deviceID(sensor), Seq: seq, Status: "pending"}
}

// wantCommitted fails unless the app holds sensor's reading seq at index in block height.
func (l *ledger) wantCommitted(seq, index uint64, height int64) {
	l.t.Helper()
	st, err := l.app.Reader().Reading(deviceID(sensor), seq)
	if err != nil {
		l.t.Fatal(err)
	}
	if st == nil {
		l.t.Errorf("reading seq %d is not committed", seq)
		return
	}
	if st.Index != index || st.Height != height {
		l.t.Errorf("reading seq %d is committed at index %d in block %d, want %d in %d", seq, st.Index, st.Height, index, height)
	}
}

// cancelled is a context that has ended.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
