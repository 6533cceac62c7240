package app_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenTracePath holds the results of the golden trace, one entry a block.
var goldenTracePath = filepath.Join("testdata", "golden_trace.json")

// traceFile is what testdata/golden_trace.json holds: what each block of
// the trace gave, as CometBFT and a receipt see it.
type traceFile struct {
	Note        string       `json:"note"`
	ChainID     string       `json:"chain_id"`
	InitAppHash string       `json:"init_app_hash"`
	Blocks      []traceBlock `json:"blocks"`
}

type traceBlock struct {
	Height      int64  `json:"height"`
	Time        string `json:"time"`
	AppHash     string `json:"app_hash"`
	LogSize     uint64 `json:"log_size"`
	LogRoot     string `json:"log_root"`
	StateDigest string `json:"state_digest"`
	// Txs are the block's transactions: what each is (the trace's own
	// words) and its result as CometBFT hashes it into the next header
	// (code and data; a batch's data is its readings' [code, index]).
	Txs              []traceTx        `json:"txs"`
	ValidatorUpdates []traceValidator `json:"validator_updates,omitempty"`
}

type traceTx struct {
	What string `json:"what"`
	Code uint32 `json:"code"`
	Data string `json:"data,omitempty"`
}

type traceValidator struct {
	Key   string `json:"key"`
	Power int64  `json:"power"`
}

// step is one transaction of the trace with the result it is there to
// show: want for the transaction, and for a batch, wantReadings for its
// readings in order.
type step struct {
	what         string
	raw          []byte
	want         app.Code
	wantReadings []app.Code
}

// TestGoldenTrace runs a fixed sequence of transactions through the app's
// ABCI methods (InitChain, FinalizeBlock, Commit, and a restart midway),
// with fixed keys and block times, and compares what every block gave (app
// hash, log size and root, state digest, each transaction's code and data,
// validator updates) with testdata/golden_trace.json. Any change of
// execution results fails it and names the first block that differs:
// such a change forks a running chain, so it must be deliberate, shown in
// review by the golden file's diff (go test -run '^TestGoldenTrace$'
// -update rewrites it).
//
// The trace covers registrations, readings in batches (accepted, a
// duplicate, a seq_reused, a gap filled late, an unregistered device, a
// reading out of the time window, a malformed one), a key rotation with
// readings of the old and new key in its block, transfers (account,
// device, refused), a twin's desired and reported state, a contract
// deployed, triggered by readings and called, a validator added by
// proposal and approval, a revocation, a wrong nonce, an empty block, and
// private readings (encryption keys, private fields, stream keys, a grant,
// a revocation, erasures, sealed readings taken and refused).
func TestGoldenTrace(t *testing.T) {
	got := runTrace(t)
	if *updateGolden {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenTracePath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(goldenTracePath)
	if err != nil {
		t.Fatalf("%v (write it with go test -run '^TestGoldenTrace$' -update)", err)
	}
	var want traceFile
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", goldenTracePath, err)
	}
	if msg := traceDiff(got, &want); msg != "" {
		t.Errorf("%s\nIf the change of execution results is deliberate (it forks a running chain), rewrite the file with go test -run '^TestGoldenTrace$' -update ./internal/app and explain it in the commit.", msg)
	}
}

// traceDiff names the first block whose results differ, with the diff.
func traceDiff(got, want *traceFile) string {
	if got.ChainID != want.ChainID || got.InitAppHash != want.InitAppHash {
		return fmt.Sprintf("InitChain differs: chain %s app hash %s, want chain %s app hash %s", got.ChainID, got.InitAppHash, want.ChainID, want.InitAppHash)
	}
	for i := range min(len(got.Blocks), len(want.Blocks)) {
		if d := cmp.Diff(got.Blocks[i], want.Blocks[i]); d != "" {
			return fmt.Sprintf("block %d is the first that differs from %s (-got +want):\n%s", got.Blocks[i].Height, goldenTracePath, d)
		}
	}
	if len(got.Blocks) != len(want.Blocks) {
		return fmt.Sprintf("the trace ran %d blocks, %s holds %d", len(got.Blocks), goldenTracePath, len(want.Blocks))
	}
	return ""
}

func TestTraceDiffNamesFirstBlock(t *testing.T) {
	base := func() *traceFile {
		return &traceFile{ChainID: "c", InitAppHash: "00", Blocks: []traceBlock{
			{Height: 1, AppHash: "aa"}, {Height: 2, AppHash: "bb", Txs: []traceTx{{What: "x", Code: 0}}}, {Height: 3, AppHash: "cc"},
		}}
	}
	if msg := traceDiff(base(), base()); msg != "" {
		t.Errorf("equal traces: %q, want no difference", msg)
	}
	for _, tc := range []struct {
		name   string
		change func(*traceFile)
		want   string
	}{
		{"app hash", func(f *traceFile) { f.Blocks[2].AppHash = "dd" }, "block 3 is the first"},
		{"tx code", func(f *traceFile) { f.Blocks[1].Txs[0].Code = 4; f.Blocks[2].AppHash = "dd" }, "block 2 is the first"},
		{"fewer blocks", func(f *traceFile) { f.Blocks = f.Blocks[:2] }, "ran 2 blocks"},
		{"genesis", func(f *traceFile) { f.InitAppHash = "01" }, "InitChain differs"},
	} {
		got := base()
		tc.change(got)
		if msg := traceDiff(got, base()); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q, want it to say %q", tc.name, msg, tc.want)
		}
	}
}

// runTrace runs the trace and returns its results, failing if a step does
// not give the result it is there to show.
func runTrace(t *testing.T) *traceFile {
	var (
		alice, bob, carol = key(1), key(2), key(3)
		sensorA, sensorB  = key(20), key(21)
		sensorC, sensorB2 = key(22), key(23) // sensorB2 is sensorB's key after rotation
		stranger          = key(30)          // a device nobody registered
		v0, v1, v2        = validatorKey(0), validatorKey(1), validatorKey(2)
	)
	idA, idB, idC := deviceID(sensorA), deviceID(sensorB), deviceID(sensorC)

	g := app.DefaultGenesis()
	g.Balances = []app.Allocation{
		{Address: accountID(alice), Amount: 1000},
		{Address: accountID(bob), Amount: 500},
		{Address: idA, Amount: 50},
	}
	state, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	c := &testChain{t: t, dir: t.TempDir(), chainID: testChainID, genesis: state, appHashes: map[int64][]byte{}}
	c.open()
	t.Cleanup(c.close)
	var vals []abci.ValidatorUpdate
	for _, v := range []ed25519.PrivateKey{v0, v1} {
		vals = append(vals, abci.ValidatorUpdate{Power: 10, PubKeyType: cmted25519.KeyType, PubKeyBytes: pub(v)})
	}
	res, err := c.app.InitChain(t.Context(), &abci.InitChainRequest{
		ChainId: c.chainID, InitialHeight: 1, Time: genesisTime, AppStateBytes: state, Validators: vals,
	})
	if err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	c.last = genesisTime.Add(-time.Second)
	out := &traceFile{
		Note:        "written by go test -run '^TestGoldenTrace$' -update ./internal/app; a change here is a change of execution results",
		ChainID:     c.chainID,
		InitAppHash: hex.EncodeToString(res.AppHash),
	}

	signed := func(what string, signer ed25519.PrivateKey, typ tx.Type, fields any, want app.Code) step {
		return step{what: what, raw: c.sign(signer, c.nextNonce(signer), typ, fields), want: want}
	}
	read := func(dev ed25519.PrivateKey, id string, seq uint64, timeMs int64, data map[string]any) []byte {
		raw, err := reading.Sign(reading.Reading{Device: id, Seq: seq, Time: timeMs, Data: data}, dev)
		if err != nil {
			t.Fatalf("reading.Sign: %v", err)
		}
		return raw
	}
	temp := func(v float64) map[string]any { return map[string]any{"temp": v, "door": "closed"} }
	batch := func(what string, rs ...struct {
		raw  []byte
		want app.Code
	}) step {
		s := step{what: what, want: app.CodeOK}
		var raws [][]byte
		for _, r := range rs {
			raws = append(raws, r.raw)
			s.wantReadings = append(s.wantReadings, r.want)
		}
		s.raw = tx.NewBatch(raws)
		return s
	}
	type r = struct {
		raw  []byte
		want app.Code
	}
	ok := app.CodeOK

	run := func(steps ...step) {
		t.Helper()
		var txs [][]byte
		for _, s := range steps {
			txs = append(txs, s.raw)
		}
		res := c.block(txs...)
		b := traceBlock{Height: c.height, Time: c.last.Format(time.RFC3339Nano), AppHash: hex.EncodeToString(res.AppHash), Txs: []traceTx{}}
		committed := c.obs.blocks[len(c.obs.blocks)-1]
		if committed.Height != c.height || !bytes.Equal(committed.AppHash, res.AppHash) {
			t.Fatalf("block %d: the observer saw block %d with app hash %x, FinalizeBlock gave %x", c.height, committed.Height, committed.AppHash, res.AppHash)
		}
		b.LogSize, b.LogRoot, b.StateDigest = committed.LogSize, hex.EncodeToString(committed.LogRoot), hex.EncodeToString(committed.StateDigest)
		for i, s := range steps {
			tr := res.TxResults[i]
			b.Txs = append(b.Txs, traceTx{What: s.what, Code: tr.Code, Data: hex.EncodeToString(tr.Data)})
			if app.Code(tr.Code) != s.want {
				t.Errorf("block %d tx %d (%s): code %d (%s) %q, want %d (%s)", c.height, i, s.what, tr.Code, app.Code(tr.Code), tr.Log, s.want, s.want)
			}
			if s.wantReadings == nil {
				continue
			}
			per := batchData(t, tr.Data)
			if len(per) != len(s.wantReadings) {
				t.Fatalf("block %d tx %d (%s): %d reading results, want %d", c.height, i, s.what, len(per), len(s.wantReadings))
			}
			for j, p := range per {
				if app.Code(p[0]) != s.wantReadings[j] {
					t.Errorf("block %d tx %d (%s) reading %d: code %d (%s), want %d (%s)", c.height, i, s.what, j, p[0], app.Code(p[0]), s.wantReadings[j], s.wantReadings[j])
				}
			}
		}
		for _, u := range res.ValidatorUpdates {
			b.ValidatorUpdates = append(b.ValidatorUpdates, traceValidator{Key: hex.EncodeToString(u.PubKeyBytes), Power: u.Power})
		}
		out.Blocks = append(out.Blocks, b)
	}

	// 1: three devices registered, two by alice (nonces 0 and 1 in one block).
	run(
		step{what: "alice registers sensor A", raw: c.registerTx(alice, sensorA, c.nextNonce(alice)), want: ok},
		step{what: "alice registers sensor B", raw: c.registerTx(alice, sensorB, c.nextNonce(alice)), want: ok},
		step{what: "bob registers sensor C", raw: c.registerTx(bob, sensorC, c.nextNonce(bob)), want: ok},
	)
	// 2: two batches of readings, all accepted.
	now := c.nowMs()
	run(
		batch("A seq 1-5, B seq 1-2, C seq 1",
			r{read(sensorA, "", 1, now, temp(4)), ok}, r{read(sensorA, "", 2, now, temp(5)), ok},
			r{read(sensorA, "", 3, now-1000, temp(6)), ok}, r{read(sensorA, "", 4, now, nil), ok},
			r{read(sensorA, "", 5, now, map[string]any{"on": true, "n": int64(-7), "big": uint64(1 << 63), "s": "ü"}), ok},
			r{read(sensorB, "", 1, now, temp(3)), ok}, r{read(sensorB, "", 2, now, temp(3.5)), ok},
			r{read(sensorC, "", 1, now, temp(2)), ok}),
		batch("A seq 6-7", r{read(sensorA, "", 6, now, temp(7)), ok}, r{read(sensorA, "", 7, now, temp(7.5)), ok}),
	)
	// 3: a duplicate, a seq_reused, a gap and its late filling, refusals.
	now = c.nowMs()
	run(batch("duplicate, seq_reused, gap, late, refusals",
		r{read(sensorA, "", 3, now-2000, temp(6)), app.CodeDuplicate}, // block 2's bytes again
		r{read(sensorA, "", 2, now, temp(99)), app.CodeSeqReused},
		r{read(sensorA, "", 10, now, temp(5)), ok},
		r{read(sensorA, "", 8, now, temp(5)), ok},
		r{read(sensorB, "", 3, now, temp(4)), ok},
		r{read(stranger, "", 1, now, temp(4)), app.CodeUnregisteredDevice},
		r{read(sensorC, "", 2, now-25*3600*1000, temp(4)), app.CodeTimeOutOfWindow},
		r{[]byte{0xd2, 0x84, 0x40}, app.CodeMalformedReading},
	))
	// 4: B's key rotated; in the same block its old key is refused, the new taken.
	now = c.nowMs()
	run(
		step{what: "alice rotates sensor B's key", raw: c.rotateTx(alice, idB, sensorB2, c.nextNonce(alice)), want: ok},
		batch("B seq 4 by the old key, seq 5 by the new",
			r{read(sensorB, "", 4, now, temp(4)), app.CodeKeyRotated},
			r{read(sensorB2, idB, 5, now, temp(4)), ok}),
	)
	// 5: transfers.
	run(
		signed("alice pays bob 100", alice, tx.TypeTransfer, &tx.Transfer{To: accountID(bob), Amount: 100, Memo: "rent"}, ok),
		signed("sensor A pays sensor C 20 with its own key", sensorA, tx.TypeTransfer, &tx.Transfer{From: idA, To: idC, Amount: 20, Memo: "kWh"}, ok),
		signed("bob pays sensor C 30", bob, tx.TypeTransfer, &tx.Transfer{To: idC, Amount: 30}, ok),
		signed("carol, with nothing, pays bob 1", carol, tx.TypeTransfer, &tx.Transfer{To: accountID(bob), Amount: 1}, app.CodeInsufficientFunds),
	)
	// 6: a twin's desired state by its owner, its reported state by the device.
	run(
		signed("alice sets A's desired state", alice, tx.TypeSetDesired, &tx.TwinPatch{Device: idA, Set: map[string]any{"firmware": "1.2.0", "interval_s": int64(60)}}, ok),
		signed("sensor A reports its state", sensorA, tx.TypeReportState, &tx.TwinPatch{Device: idA, Set: map[string]any{"firmware": "1.1.0", "battery": 0.93}}, ok),
		signed("bob sets A's desired state", bob, tx.TypeSetDesired, &tx.TwinPatch{Device: idA, Set: map[string]any{"x": true}}, app.CodeNotOwner),
	)
	// The node restarts: what follows runs on state read back from the store.
	c.reopen()
	// 7: a contract deployed with 200 in escrow.
	run(signed("alice deploys a contract", alice, tx.TypeDeployContract, &tx.DeployContract{Source: []byte(traceContract(accountID(bob))), Fund: 200}, ok))
	// 8: readings trigger it; bob's call pays him from escrow, carol's is refused.
	now = c.nowMs()
	run(
		batch("A seq 11-13, hot and cool", r{read(sensorA, "", 11, now, temp(9)), ok}, r{read(sensorA, "", 12, now, temp(10.5)), ok}, r{read(sensorA, "", 13, now, temp(3)), ok}),
		signed("bob calls refund", bob, tx.TypeCallContract, &tx.CallContract{Contract: "ctr-1", Trigger: "refund", Args: map[string]string{"note": "late"}}, ok),
		signed("carol calls refund", carol, tx.TypeCallContract, &tx.CallContract{Contract: "ctr-1", Trigger: "refund", Args: map[string]string{"note": "me"}}, app.CodeConditionFalse),
	)
	// 9, 10: validator 2 proposed by validator 0 (half the power: not yet),
	// approved by validator 1 (all of it): the set changes.
	addV2 := tx.ValidatorChange{Action: tx.ValidatorAdd, Key: pub(v2), Power: 5}
	run(signed("validator 0 proposes adding validator 2", v0, tx.TypeProposeValidator, &tx.ProposeValidator{ValidatorChange: addV2, Consent: c.consent(v2)}, ok))
	run(signed("validator 1 approves", v1, tx.TypeApproveValidator, &tx.ApproveValidator{Proposal: 1, ValidatorChange: addV2}, ok))
	// 11: a revocation, a reading of the revoked device, a wrong nonce.
	now = c.nowMs()
	wrong := c.sign(alice, c.nextNonce(alice)+5, tx.TypeTransfer, &tx.Transfer{To: accountID(bob), Amount: 1})
	run(
		signed("bob revokes sensor C", bob, tx.TypeRevokeDevice, &tx.RevokeDevice{Device: idC}, ok),
		batch("C seq 3", r{read(sensorC, "", 3, now, temp(4)), app.CodeRevokedDevice}),
		step{what: "alice pays with a nonce 5 ahead", raw: wrong, want: app.CodeWrongNonce},
	)
	// 12: an empty block.
	run()

	// Private readings (docs/PRIVATE.md), on sensor A.
	// 13: encryption keys (alice X25519, carol X-Wing); A's field hr private: epoch 1.
	run(
		signed("alice publishes an X25519 key", alice, tx.TypeSetEncryptionKey, &tx.SetEncryptionKey{X25519: bytes.Repeat([]byte{1}, tx.X25519KeySize)}, ok),
		signed("carol publishes an X-Wing key", carol, tx.TypeSetEncryptionKey, &tx.SetEncryptionKey{X25519: bytes.Repeat([]byte{3}, tx.X25519KeySize), XWing: bytes.Repeat([]byte{3}, tx.XWingKeySize)}, ok),
		signed("alice makes A's hr private", alice, tx.TypeSetPrivateFields, &tx.SetPrivateFields{Device: idA, Fields: []string{"hr"}}, ok),
	)
	commit := func(what string) []byte { h := sha256.Sum256([]byte(what)); return h[:] }
	wrap := func(to ed25519.PrivateKey, kem uint64, what string) tx.KeyWrap {
		return tx.KeyWrap{Recipient: accountID(to), KEM: kem, Commitment: commit(what)}
	}
	sealed := func(seq, epoch uint64, timeMs int64) []byte {
		raw, err := reading.Sign(reading.Reading{Seq: seq, Time: timeMs, Data: map[string]any{"temp": 5.5},
			Sealed: &reading.Sealed{Epoch: epoch, Nonce: bytes.Repeat([]byte{byte(seq)}, reading.NonceSize), Ciphertext: bytes.Repeat([]byte{byte(epoch)}, 30)}}, sensorA)
		if err != nil {
			t.Fatalf("reading.Sign: %v", err)
		}
		return raw
	}
	// 14: A announces epoch 1, wrapped to alice; a sealed reading before
	// the announcement in block order waits for none: signed transactions
	// come first in a block.
	now = c.nowMs()
	run(
		signed("A announces epoch 1 to alice", sensorA, tx.TypeStreamKey, &tx.StreamKey{Device: idA, Epoch: 1, Wraps: []tx.KeyWrap{wrap(alice, tx.KEMX25519, "A 1 alice")}}, ok),
		signed("A announces epoch 1 again", sensorA, tx.TypeStreamKey, &tx.StreamKey{Device: idA, Epoch: 1, Wraps: []tx.KeyWrap{wrap(alice, tx.KEMX25519, "A 1 alice")}}, app.CodeEpochAnnounced),
		batch("A seq 14 sealed, seq 15 with hr in clear",
			r{sealed(14, 1, now), ok},
			r{read(sensorA, "", 15, now, map[string]any{"hr": int64(70)}), app.CodePrivateInClear}),
	)
	// 15: alice grants carol epoch 1 with her X-Wing wrap; a grant to bob,
	// who has no key, is refused.
	run(
		signed("alice grants carol from epoch 1", alice, tx.TypeGrantAccess, &tx.GrantAccess{Device: idA, To: accountID(carol), Wraps: []tx.EpochWrap{{Epoch: 1, KEM: tx.KEMXWing, Commitment: commit("A 1 carol")}}}, ok),
		signed("alice grants bob", alice, tx.TypeGrantAccess, &tx.GrantAccess{Device: idA, To: accountID(bob)}, app.CodeNoEncryptionKey),
	)
	// 16: alice revokes carol: epoch 2; a reading of epoch 1 is stale, one
	// of epoch 2 has no key yet.
	now = c.nowMs()
	run(
		signed("alice revokes carol", alice, tx.TypeRevokeAccess, &tx.RevokeAccess{Device: idA, From: accountID(carol)}, ok),
		batch("A seq 16 of epoch 1, seq 17 of epoch 2", r{sealed(16, 1, now), app.CodeStaleEpoch}, r{sealed(17, 2, now), app.CodeNoStreamKey}),
	)
	// 17: A announces epoch 2 (carol is no recipient); alice erases epoch
	// 1, then the current epoch 2 (the device moves to 3); erasing 1 again
	// erases nothing.
	now = c.nowMs()
	run(
		signed("A announces epoch 2 with carol's wrap", sensorA, tx.TypeStreamKey, &tx.StreamKey{Device: idA, Epoch: 2, Wraps: []tx.KeyWrap{wrap(alice, tx.KEMX25519, "A 2 alice"), wrap(carol, tx.KEMXWing, "A 2 carol")}}, app.CodeBadWraps),
		signed("A announces epoch 2", sensorA, tx.TypeStreamKey, &tx.StreamKey{Device: idA, Epoch: 2, Wraps: []tx.KeyWrap{wrap(alice, tx.KEMX25519, "A 2 alice")}}, ok),
		signed("alice erases epoch 1", alice, tx.TypeEraseEpochs, &tx.EraseEpochs{Device: idA, Epochs: []tx.EpochRange{{From: 1, To: 1}}}, ok),
		signed("alice erases epoch 2, the current one", alice, tx.TypeEraseEpochs, &tx.EraseEpochs{Device: idA, Epochs: []tx.EpochRange{{From: 2, To: 2}}}, ok),
		signed("alice erases epoch 1 again", alice, tx.TypeEraseEpochs, &tx.EraseEpochs{Device: idA, Epochs: []tx.EpochRange{{From: 1, To: 1}}}, app.CodeEpochErased),
		batch("A seq 18 of epoch 2", r{sealed(18, 2, now), app.CodeStaleEpoch}),
	)
	return out
}

// traceContract counts hot readings of lab devices and lets the buyer
// take 10 from escrow once.
func traceContract(buyer string) string {
	return `name: trace
state:
  hot: {type: int, initial: 0}
  buyer: {type: string, initial: "` + buyer + `"}
  refunded: {type: int, initial: 0}
triggers:
  - name: hot
    on: reading
    devices: {labels: {site: lab}}
    when: "reading.data.temp > 8.0"
    do:
      - set: {hot: "state.hot + 1"}
      - emit: {event: hot, fields: {temp: "reading.data.temp", device: "device.id", seq: "reading.seq"}}
  - name: refund
    on: call
    args: {note: string}
    when: "caller == state.buyer && state.refunded == 0"
    do:
      - transfer: {to: "state.buyer", amount: "10"}
      - set: {refunded: "1"}
      - emit: {event: refunded, fields: {note: "args.note"}}
`
}
