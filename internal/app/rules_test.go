package app_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/google/go-cmp/cmp"
	cose "github.com/veraison/go-cose"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

// Seeds of the keys the tests use.
var (
	alice  = key(1) // an owner
	bob    = key(2) // another owner
	sensor = key(10)
	meter  = key(11)
	spare  = key(12) // never registered
)

func TestUnregisteredDevice(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	stranger := deviceID(spare)
	batch := tx.NewBatch([][]byte{c.reading(sensor, "", 1, c.nowMs()), c.reading(spare, "", 1, c.nowMs())})

	t.Run("CheckTx refuses the whole batch", func(t *testing.T) {
		res := c.checkTx(batch)
		wantCode(t, "CheckTx", res.Code, res.Log, app.CodeUnregisteredDevice, "reading 1", stranger, "register")
	})
	t.Run("FinalizeBlock refuses the reading", func(t *testing.T) {
		outs := c.send(c.reading(sensor, "", 1, c.nowMs()), c.reading(spare, "", 1, c.nowMs()))
		wantOutcome(t, "registered device", outs[0], app.CodeOK)
		wantOutcome(t, "unregistered device", outs[1], app.CodeUnregisteredDevice, stranger, "register")
		if outs[0].Device != id || outs[1].Device != stranger {
			t.Errorf("outcome devices %q, %q; want %q, %q", outs[0].Device, outs[1].Device, id, stranger)
		}
	})
}

func TestRevokedDevice(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	if o := c.sendOne(c.reading(sensor, "", 1, c.nowMs())); o.Code != app.CodeOK {
		t.Fatalf("reading before revocation: %s %q", o.Code, o.Detail)
	}
	c.mustOK(c.revokeTx(alice, id, c.nonce(alice)))
	if d, err := c.app.Reader().Device(id); err != nil || d.Status != state.StatusRevoked {
		t.Fatalf("Device(%s) = %+v, %v; want status revoked", id, d, err)
	}

	res := c.checkTx(tx.NewBatch([][]byte{c.reading(sensor, "", 2, c.nowMs())}))
	wantCode(t, "CheckTx", res.Code, res.Log, app.CodeRevokedDevice, id, "revoked")
	o := c.sendOne(c.reading(sensor, "", 2, c.nowMs()))
	wantOutcome(t, "FinalizeBlock", o, app.CodeRevokedDevice, id, "revoked")

	// Revoking twice says so.
	r := c.block(c.revokeTx(alice, id, c.nonce(alice))).TxResults[0]
	wantCode(t, "revoke again", r.Code, r.Log, app.CodeRevokedDevice, id, "already revoked")
}

func TestBadSignature(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	raw := c.reading(sensor, "", 7, c.nowMs())
	raw[len(raw)-1] ^= 0x01 // the signature is the last byte string of the COSE_Sign1

	res := c.checkTx(tx.NewBatch([][]byte{raw}))
	wantCode(t, "CheckTx", res.Code, res.Log, app.CodeBadSignature, id, "seq 7", "signature")
	o := c.sendOne(raw)
	wantOutcome(t, "FinalizeBlock", o, app.CodeBadSignature, id, "seq 7", "signature")

	// A reading of this device signed by another key is a bad signature too.
	forged := c.reading(meter, id, 8, c.nowMs())
	wantOutcome(t, "signed by a stranger's key", c.sendOne(forged), app.CodeBadSignature, id, "seq 8")
}

func TestBadTxSignature(t *testing.T) {
	c := newChain(t)
	raw := c.registerTx(alice, sensor, 0)
	raw[len(raw)-1] ^= 0x01 // the account's signature ends the transaction

	res := c.checkTx(raw)
	wantCode(t, "CheckTx", res.Code, res.Log, app.CodeBadTxSignature, accountID(alice))
	r := c.block(raw).TxResults[0]
	wantCode(t, "FinalizeBlock", r.Code, r.Log, app.CodeBadTxSignature, accountID(alice))
	if got := c.nonce(alice); got != 0 {
		t.Errorf("a badly signed tx spent a nonce: account at %d, want 0", got)
	}
}

func TestKeyRotated(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	c.mustOK(c.rotateTx(alice, id, meter, c.nonce(alice)))
	rotatedAt := fmt.Sprintf("height %d", c.height)

	old := c.reading(sensor, id, 1, c.nowMs())
	res := c.checkTx(tx.NewBatch([][]byte{old}))
	wantCode(t, "CheckTx", res.Code, res.Log, app.CodeKeyRotated, id, "seq 1", rotatedAt, "current key")

	outs := c.send(old, c.reading(meter, id, 2, c.nowMs()))
	wantOutcome(t, "signed by the old key", outs[0], app.CodeKeyRotated, id, "seq 1", rotatedAt)
	wantOutcome(t, "signed by the new key", outs[1], app.CodeOK)

	d, err := c.app.Reader().Device(id)
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Key) != string(pub(meter)) || len(d.OldKeys) != 1 || string(d.OldKeys[0].Key) != string(pub(sensor)) {
		t.Errorf("device after rotation: key %x, old keys %+v; want key %x, old key %x", d.Key, d.OldKeys, pub(meter), pub(sensor))
	}
}

func TestDuplicate(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	first := c.reading(sensor, "", 1, c.nowMs())
	orig := c.sendOne(first)
	wantOutcome(t, "original", orig, app.CodeOK)

	t.Run("in a later block", func(t *testing.T) {
		// A duplicate passes CheckTx: whether it is one depends on the block.
		if res := c.checkTx(tx.NewBatch([][]byte{first})); res.Code != 0 {
			t.Errorf("CheckTx of a resend: code %d %q, want 0", res.Code, res.Log)
		}
		o := c.sendOne(first)
		wantOutcome(t, "resend", o, app.CodeDuplicate, id, "seq 1",
			fmt.Sprintf("/v1/devices/%s/readings/1/receipt", id))
		if o.Index != orig.Index {
			t.Errorf("duplicate outcome index %d, want the original's %d", o.Index, orig.Index)
		}
	})
	t.Run("twice in one block", func(t *testing.T) {
		r := c.reading(sensor, "", 2, c.nowMs())
		outs := c.send(r, r)
		wantOutcome(t, "first copy", outs[0], app.CodeOK)
		wantOutcome(t, "second copy", outs[1], app.CodeDuplicate, id, "seq 2",
			fmt.Sprintf("/v1/devices/%s/readings/2/receipt", id))
		if outs[1].Index != outs[0].Index {
			t.Errorf("duplicate outcome index %d, want the first copy's %d", outs[1].Index, outs[0].Index)
		}
	})
	if p, err := c.app.Reader().Progress(id); err != nil || p.Count != 2 {
		t.Errorf("Progress(%s) = %+v, %v; want count 2 (duplicates are not counted)", id, p, err)
	}
	if got := c.app.Log().Size(); got != 2 {
		t.Errorf("log size %d, want 2: duplicates are not appended", got)
	}
}

// TestSeqReused: new data under a sequence number already committed is not
// a duplicate: its data cannot be stored, and the device must learn it, so
// it is answered seq_reused (a rejection) with the original's location,
// wherever the original is (an earlier block, earlier in the same batch, an
// earlier batch of the same block), and only once the device rules show the
// device signed it.
func TestSeqReused(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	first := c.reading(sensor, "", 1, c.nowMs())
	orig := c.sendOne(first)
	wantOutcome(t, "original", orig, app.CodeOK)
	receiptPath := fmt.Sprintf("/v1/devices/%s/readings/1/receipt", id)

	t.Run("in a later block", func(t *testing.T) {
		other := c.reading(sensor, "", 1, c.nowMs()-1)
		// It passes CheckTx, as a duplicate does: the block answers it.
		if res := c.checkTx(tx.NewBatch([][]byte{other})); res.Code != 0 {
			t.Errorf("CheckTx: code %d %q, want 0", res.Code, res.Log)
		}
		o := c.sendOne(other)
		wantOutcome(t, "same seq, other data", o, app.CodeSeqReused, id, "seq 1", "other data",
			fmt.Sprintf("log index %d", orig.Index), receiptPath, "is not stored", "next seq")
		if o.Index != orig.Index {
			t.Errorf("index %d, want the original's %d", o.Index, orig.Index)
		}
	})
	t.Run("twice in one batch", func(t *testing.T) {
		a, b := c.reading(sensor, "", 2, c.nowMs()), c.reading(sensor, "", 2, c.nowMs()-1)
		outs := c.send(a, b, a)
		wantOutcome(t, "first", outs[0], app.CodeOK)
		wantOutcome(t, "other data, same seq", outs[1], app.CodeSeqReused, id, "seq 2")
		wantOutcome(t, "the first again", outs[2], app.CodeDuplicate, id, "seq 2")
		if outs[1].Index != outs[0].Index || outs[2].Index != outs[0].Index {
			t.Errorf("indexes %d, %d, want the first's %d", outs[1].Index, outs[2].Index, outs[0].Index)
		}
	})
	t.Run("in two batches of one block", func(t *testing.T) {
		a, b := c.reading(sensor, "", 3, c.nowMs()), c.reading(sensor, "", 3, c.nowMs()-1)
		res := c.block(tx.NewBatch([][]byte{a}), tx.NewBatch([][]byte{b}))
		got := [][2]uint64{batchData(t, res.TxResults[0].Data)[0], batchData(t, res.TxResults[1].Data)[0]}
		idx := got[0][1]
		if want := [][2]uint64{{uint64(app.CodeOK), idx}, {uint64(app.CodeSeqReused), idx}}; got[0] != want[0] || got[1] != want[1] {
			t.Errorf("[code, index] of the two batches %v, want %v", got, want)
		}
	})
	t.Run("forged, under a committed seq", func(t *testing.T) {
		// Signed by another key: not the device's, so nobody can make the
		// ledger tell (or count) a device seq_reused.
		forged := c.reading(meter, id, 1, c.nowMs())
		if res := c.checkTx(tx.NewBatch([][]byte{forged})); res.Code != uint32(app.CodeBadSignature) {
			t.Errorf("CheckTx: code %d %q, want bad_signature", res.Code, res.Log)
		}
		wantOutcome(t, "forged", c.sendOne(forged), app.CodeBadSignature, id)
	})
	if p, err := c.app.Reader().Progress(id); err != nil || p.Count != 3 {
		t.Errorf("Progress(%s) = %+v, %v; want count 3 (refused readings are not counted)", id, p, err)
	}
	if got := c.app.Log().Size(); got != 3 {
		t.Errorf("log size %d, want 3: readings under a used seq are not appended", got)
	}
	st, err := c.app.Reader().Reading(id, 1)
	if err != nil || st == nil || !bytes.Equal(st.Raw, first) {
		t.Errorf("Reading(%s, 1) = %v, %v; want the original", id, st, err)
	}
}

func TestMalformed(t *testing.T) {
	c := newChain(t)
	c.register(alice, sensor)
	garbage := []byte("this is not CBOR")

	t.Run("garbage tx", func(t *testing.T) {
		res := c.checkTx(garbage)
		wantCode(t, "CheckTx", res.Code, res.Log, app.CodeMalformedTx, "[kind, content]")
		r := c.block(garbage).TxResults[0]
		wantCode(t, "FinalizeBlock", r.Code, r.Log, app.CodeMalformedTx, "[kind, content]")
		pp, err := c.app.ProcessProposal(t.Context(), &abci.ProcessProposalRequest{Txs: [][]byte{garbage}, Height: c.height + 1, Time: c.blockTime()})
		if err != nil || pp.Status != abci.PROCESS_PROPOSAL_STATUS_REJECT {
			t.Errorf("ProcessProposal with a garbage tx: %v, %v; want reject", pp, err)
		}
	})
	t.Run("empty batch", func(t *testing.T) {
		res := c.checkTx(tx.NewBatch(nil))
		wantCode(t, "CheckTx", res.Code, res.Log, app.CodeMalformedTx, "empty")
	})
	t.Run("garbage reading in a batch", func(t *testing.T) {
		good := c.reading(sensor, "", 1, c.nowMs())
		res := c.checkTx(tx.NewBatch([][]byte{good, garbage}))
		wantCode(t, "CheckTx", res.Code, res.Log, app.CodeMalformedReading, "reading 1", "COSE_Sign1")
		outs := c.send(good, garbage)
		wantOutcome(t, "good reading", outs[0], app.CodeOK)
		wantOutcome(t, "garbage reading", outs[1], app.CodeMalformedReading, "COSE_Sign1")
	})
}

// bigReading is a validly signed COSE_Sign1 reading over reading.MaxSize,
// which reading.Sign refuses to build.
func bigReading(t *testing.T, dev ed25519.PrivateKey, seq uint64, timeMs int64) []byte {
	t.Helper()
	id := deviceID(dev)
	payload, err := dcbor.EncMode.Marshal(map[int]any{1: id, 2: seq, 3: timeMs, 4: map[string]any{"blob": strings.Repeat("x", reading.MaxSize)}})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, dev)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cose.Sign1(nil, signer, cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA,
		cose.HeaderLabelKeyID:     []byte(id),
	}}, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) <= reading.MaxSize {
		t.Fatalf("big reading is only %d bytes", len(raw))
	}
	return raw
}

func TestSizeLimits(t *testing.T) {
	t.Run("reading over 4 KiB", func(t *testing.T) {
		c := newChain(t)
		c.register(alice, sensor)
		big := bigReading(t, sensor, 1, c.nowMs())
		size := fmt.Sprint(len(big))
		res := c.checkTx(tx.NewBatch([][]byte{big}))
		wantCode(t, "CheckTx", res.Code, res.Log, app.CodeReadingTooLarge, "reading 0", size)
		outs := c.send(c.reading(sensor, "", 2, c.nowMs()), big)
		wantOutcome(t, "small reading", outs[0], app.CodeOK)
		wantOutcome(t, "big reading", outs[1], app.CodeReadingTooLarge, size, "4096")
	})
	t.Run("batch over max_batch_readings", func(t *testing.T) {
		c := newChain(t, func(p *state.Params) { p.MaxBatchReadings = 2 })
		c.register(alice, sensor)
		three := tx.NewBatch([][]byte{
			c.reading(sensor, "", 1, c.nowMs()), c.reading(sensor, "", 2, c.nowMs()), c.reading(sensor, "", 3, c.nowMs()),
		})
		res := c.checkTx(three)
		wantCode(t, "CheckTx", res.Code, res.Log, app.CodeBatchTooLarge, "3 readings", "at most 2")
		r := c.block(three).TxResults[0]
		wantCode(t, "FinalizeBlock", r.Code, r.Log, app.CodeBatchTooLarge, "3 readings", "at most 2")
		if got := c.app.Log().Size(); got != 0 {
			t.Errorf("log size %d after a refused batch, want 0", got)
		}
		outs := c.send(c.reading(sensor, "", 1, c.nowMs()), c.reading(sensor, "", 2, c.nowMs()))
		for i, o := range outs {
			wantOutcome(t, fmt.Sprintf("batch at the limit, reading %d", i), o, app.CodeOK)
		}
	})
	t.Run("tx over max_tx_bytes", func(t *testing.T) {
		const maxTx = 8192
		c := newChain(t, func(p *state.Params) { p.MaxTxBytes = maxTx })
		c.register(alice, sensor)
		var rs [][]byte
		batch := tx.NewBatch(rs)
		for seq := uint64(1); len(batch) <= maxTx; seq++ {
			rs = append(rs, c.reading(sensor, "", seq, c.nowMs()))
			batch = tx.NewBatch(rs)
		}
		size := fmt.Sprint(len(batch))
		res := c.checkTx(batch)
		wantCode(t, "CheckTx", res.Code, res.Log, app.CodeTxTooLarge, size, "8192")
		r := c.block(batch).TxResults[0]
		wantCode(t, "FinalizeBlock", r.Code, r.Log, app.CodeTxTooLarge, size, "8192")
		if fits := tx.NewBatch(rs[:len(rs)-1]); len(fits) <= maxTx {
			if res := c.checkTx(fits); res.Code != 0 {
				t.Errorf("CheckTx of a %d-byte batch: code %d %q, want 0", len(fits), res.Code, res.Log)
			}
		}
	})
}

func TestTimeWindow(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	blockTime := time.Date(2025, time.March, 15, 12, 0, 0, 0, time.UTC)
	c.next = blockTime
	bt := blockTime.UnixMilli()
	back, ahead := int64(24*time.Hour/time.Millisecond), int64(5*time.Minute/time.Millisecond)

	outs := c.send(
		c.reading(sensor, "", 1, bt-back-1),
		c.reading(sensor, "", 2, bt-back),
		c.reading(sensor, "", 3, bt+ahead),
		c.reading(sensor, "", 4, bt+ahead+1),
	)
	wantOutcome(t, "24h+1ms back", outs[0], app.CodeTimeOutOfWindow, fmt.Sprint(-back-1), "check the device clock")
	wantOutcome(t, "exactly 24h back", outs[1], app.CodeOK)
	wantOutcome(t, "exactly 5min ahead", outs[2], app.CodeOK)
	wantOutcome(t, "5min+1ms ahead", outs[3], app.CodeTimeOutOfWindow, fmt.Sprintf("+%d", ahead+1), "check the device clock")
	if outs[0].Device != id {
		t.Errorf("outcome device %q, want %q", outs[0].Device, id)
	}
}

func TestWrongChainID(t *testing.T) {
	c := newChain(t)
	msg := tx.RegistrationMessage("other-chain", accountID(alice), pub(sensor))
	raw, err := tx.Sign(alice, tx.TypeRegisterDevice, "other-chain", 0, &tx.RegisterDevice{Key: pub(sensor), DeviceSig: ed25519.Sign(sensor, msg)})
	if err != nil {
		t.Fatal(err)
	}
	res := c.checkTx(raw)
	wantCode(t, "CheckTx", res.Code, res.Log, app.CodeWrongChainID, "other-chain", testChainID)
	r := c.block(raw).TxResults[0]
	wantCode(t, "FinalizeBlock", r.Code, r.Log, app.CodeWrongChainID, "other-chain", testChainID)
	if d, _ := c.app.Reader().Device(deviceID(sensor)); d != nil {
		t.Errorf("device registered by a tx for another chain: %+v", d)
	}
}

func TestWrongNonce(t *testing.T) {
	c := newChain(t)
	acct := accountID(alice)
	reg := c.registerTx(alice, sensor, 0)
	c.mustOK(reg)

	res := c.checkTx(reg)
	wantCode(t, "CheckTx of a replay", res.Code, res.Log, app.CodeWrongNonce, acct, "nonce 0", "nonce 1")
	r := c.block(reg).TxResults[0]
	wantCode(t, "FinalizeBlock of a replay", r.Code, r.Log, app.CodeWrongNonce, acct, "expects 1")

	future := c.registerTx(alice, meter, 5)
	if res := c.checkTx(future); res.Code != 0 {
		t.Errorf("CheckTx of a future nonce: code %d %q, want 0 (the mempool may hold it)", res.Code, res.Log)
	}
	r = c.block(future).TxResults[0]
	wantCode(t, "FinalizeBlock of a future nonce", r.Code, r.Log, app.CodeWrongNonce, acct, "nonce 5", "expects 1")
	if got := c.nonce(alice); got != 1 {
		t.Errorf("account nonce %d, want 1", got)
	}
}

func TestNotOwner(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	owner := accountID(alice)

	r := c.block(c.revokeTx(bob, id, 0)).TxResults[0]
	wantCode(t, "revoke by another account", r.Code, r.Log, app.CodeNotOwner, id, owner)
	r = c.block(c.rotateTx(bob, id, meter, 1)).TxResults[0]
	wantCode(t, "rotate by another account", r.Code, r.Log, app.CodeNotOwner, id, owner)

	d, err := c.app.Reader().Device(id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != state.StatusActive || string(d.Key) != string(pub(sensor)) {
		t.Errorf("device after refused changes: status %s key %x, want active with its first key", d.Status, d.Key)
	}
	if got := c.nonce(bob); got != 2 {
		t.Errorf("bob's nonce %d, want 2: a refused operation still spends its nonce", got)
	}
	r = c.block(c.revokeTx(bob, deviceID(spare), 2)).TxResults[0]
	wantCode(t, "revoke of an unknown device", r.Code, r.Log, app.CodeUnregisteredDevice, deviceID(spare))
}

func TestRegistration(t *testing.T) {
	c := newChain(t)
	owner := accountID(alice)

	t.Run("device signature by another key", func(t *testing.T) {
		msg := tx.RegistrationMessage(testChainID, owner, pub(sensor))
		raw := c.sign(alice, c.nonce(alice), tx.TypeRegisterDevice, &tx.RegisterDevice{Key: pub(sensor), DeviceSig: ed25519.Sign(spare, msg)})
		r := c.block(raw).TxResults[0]
		wantCode(t, "FinalizeBlock", r.Code, r.Log, app.CodeBadDeviceSignature, testChainID, owner, "device key")
	})
	t.Run("device signature for another owner", func(t *testing.T) {
		msg := tx.RegistrationMessage(testChainID, accountID(bob), pub(sensor))
		raw := c.sign(alice, c.nonce(alice), tx.TypeRegisterDevice, &tx.RegisterDevice{Key: pub(sensor), DeviceSig: ed25519.Sign(sensor, msg)})
		r := c.block(raw).TxResults[0]
		wantCode(t, "FinalizeBlock", r.Code, r.Log, app.CodeBadDeviceSignature, owner)
	})
	if d, _ := c.app.Reader().Device(deviceID(sensor)); d != nil {
		t.Fatalf("device registered without its consent: %+v", d)
	}
	id := c.register(alice, sensor)
	t.Run("registered twice", func(t *testing.T) {
		r := c.block(c.registerTx(alice, sensor, c.nonce(alice))).TxResults[0]
		wantCode(t, "same owner", r.Code, r.Log, app.CodeDeviceExists, id, owner)
		r = c.block(c.registerTx(bob, sensor, c.nonce(bob))).TxResults[0]
		wantCode(t, "other owner", r.Code, r.Log, app.CodeDeviceExists, id, owner)
	})
	t.Run("twice in one block", func(t *testing.T) {
		n := c.nonce(alice)
		res := c.block(c.registerTx(alice, meter, n), c.registerTx(alice, meter, n+1))
		wantCode(t, "first", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeOK)
		wantCode(t, "second", res.TxResults[1].Code, res.TxResults[1].Log, app.CodeDeviceExists, deviceID(meter))
	})
	t.Run("observer sees registrations", func(t *testing.T) {
		var got []string
		for h := int64(1); h <= c.height; h++ {
			for _, d := range c.obs.devices[h] {
				got = append(got, d.Action+" "+d.Device.ID)
			}
		}
		want := []string{"registered " + id, "registered " + deviceID(meter)}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("device changes (-got +want):\n%s", diff)
		}
	})
}

func TestLateReadingClosesGap(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	progress := func() *state.Progress {
		t.Helper()
		p, err := c.app.Reader().Progress(id)
		if err != nil {
			t.Fatal(err)
		}
		p.Allowance, p.AllowanceMs = 0, 0 // the rate limit's bucket: TestRateLimit
		if h := c.app.Meta().Height; p.LastHeight != h {
			t.Errorf("last height %d, want %d: each step's reading is in the last block", p.LastHeight, h)
		}
		p.LastHeight = 0
		return p
	}
	for _, o := range c.send(c.reading(sensor, "", 1, c.nowMs()), c.reading(sensor, "", 2, c.nowMs()), c.reading(sensor, "", 5, c.nowMs())) {
		wantOutcome(t, fmt.Sprintf("seq %d", o.Seq), o, app.CodeOK)
	}
	if diff := cmp.Diff(progress(), &state.Progress{Count: 3, MinSeq: 1, MaxSeq: 5, Gaps: []state.Range{{From: 3, To: 4}}}); diff != "" {
		t.Errorf("progress after 1, 2, 5 (-got +want):\n%s", diff)
	}
	wantOutcome(t, "late seq 3", c.sendOne(c.reading(sensor, "", 3, c.nowMs())), app.CodeOK)
	if diff := cmp.Diff(progress(), &state.Progress{Count: 4, MinSeq: 1, MaxSeq: 5, Gaps: []state.Range{{From: 4, To: 4}}}); diff != "" {
		t.Errorf("progress after late 3 (-got +want):\n%s", diff)
	}
	wantOutcome(t, "late seq 4", c.sendOne(c.reading(sensor, "", 4, c.nowMs())), app.CodeOK)
	if diff := cmp.Diff(progress(), &state.Progress{Count: 5, MinSeq: 1, MaxSeq: 5}); diff != "" {
		t.Errorf("progress after late 4 (-got +want):\n%s", diff)
	}
}

// A device that resends a committed reading gets "duplicate" and the
// original's location even after its key was rotated or the reading aged
// out of the time window: resending is always safe.
func TestDuplicateAfterRotationAndAge(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	first := c.reading(sensor, id, 1, c.nowMs())
	orig := c.sendOne(first)
	wantOutcome(t, "original", orig, app.CodeOK)
	c.mustOK(c.rotateTx(alice, id, meter, c.nonce(alice)))

	if res := c.checkTx(tx.NewBatch([][]byte{first})); res.Code != 0 {
		t.Errorf("CheckTx of a resend after rotation: code %d %q, want 0", res.Code, res.Log)
	}
	o := c.sendOne(first)
	wantOutcome(t, "resend after rotation", o, app.CodeDuplicate, id, "seq 1")
	if o.Index != orig.Index {
		t.Errorf("duplicate index %d, want the original's %d", o.Index, orig.Index)
	}
	// A new reading signed by the old key is still refused.
	wantOutcome(t, "new reading, old key", c.sendOne(c.reading(sensor, id, 2, c.nowMs())), app.CodeKeyRotated, id)
}

// A device that sends faster than params.device_rate_per_s is refused with
// its own code once its burst is spent, and may send again as block time
// refills the bucket. Other devices are not affected.
func TestRateLimit(t *testing.T) {
	c := newChain(t, func(p *state.Params) { p.DeviceRatePerS, p.DeviceBurst = 2, 3 })
	id := c.register(alice, sensor)
	c.register(alice, meter)
	var raws [][]byte
	for seq := uint64(1); seq <= 5; seq++ {
		raws = append(raws, c.reading(sensor, id, seq, c.nowMs()))
	}
	raws = append(raws, c.reading(meter, "", 1, c.nowMs()))
	outs := c.send(raws...)
	for i, o := range outs[:3] {
		wantOutcome(t, fmt.Sprintf("reading %d within the burst", i+1), o, app.CodeOK)
	}
	for i, o := range outs[3:5] {
		wantOutcome(t, fmt.Sprintf("reading %d past the burst", i+4), o, app.CodeRateLimited, id, "2 readings a second", "burst 3")
	}
	wantOutcome(t, "another device", outs[5], app.CodeOK)
	// Blocks are a second apart here: one second refills two readings.
	outs = c.send(c.reading(sensor, id, 4, c.nowMs()), c.reading(sensor, id, 5, c.nowMs()), c.reading(sensor, id, 6, c.nowMs()))
	wantOutcome(t, "after refill", outs[0], app.CodeOK)
	wantOutcome(t, "after refill", outs[1], app.CodeOK)
	wantOutcome(t, "past the refill", outs[2], app.CodeRateLimited)
}
