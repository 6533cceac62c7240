package app_test

import (
	"crypto/ed25519"
	"encoding/binary"
	"os"
	"syscall"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

// BenchmarkPipeline is the app's share of a reading's way through a node,
// without CometBFT and the HTTP API: ingest's bulk decode and verification
// (Precheck), the batch transaction (Batch), CheckTx, FinalizeBlock and Commit,
// in blocks of 20 batches of 1,000 readings from 1,000 devices. Readings are
// signed before the timer starts. Per op is per reading. In coldchain, the
// devices carry the label examples/coldchain/contract.yaml selects and that
// contract runs on every reading (all of them "hot", as in `iotledger bench
// --contract`).
//
//	go test ./internal/app -run '^$' -bench Pipeline -benchtime 100000x -count 5
func BenchmarkPipeline(b *testing.B) {
	doc, err := os.ReadFile("../../examples/coldchain/contract.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("plain", func(b *testing.B) { benchPipeline(b, nil) })
	b.Run("coldchain", func(b *testing.B) { benchPipeline(b, doc) })
}

func benchPipeline(b *testing.B, contract []byte) {
	const devices, perBatch, batchesPerBlock = 1000, 1000, 20
	g := app.DefaultGenesis()
	g.Balances = []app.Allocation{{Address: accountID(alice), Amount: 1_000_000}}
	c := newChainGenesis(b, g)
	c.mustOK() // credits the genesis balance
	keys := make([]ed25519.PrivateKey, devices)
	for i := range keys {
		var seed [32]byte
		binary.BigEndian.PutUint32(seed[:], uint32(i)+1000)
		keys[i] = ed25519.NewKeyFromSeed(seed[:])
	}
	var regs [][]byte
	nonce := c.nonce(alice)
	for _, k := range keys {
		msg := tx.RegistrationMessage(c.chainID, accountID(alice), pub(k))
		regs = append(regs, c.sign(alice, nonce, tx.TypeRegisterDevice, &tx.RegisterDevice{
			Key: pub(k), Labels: map[string]string{"shipment": "S-42"}, DeviceSig: ed25519.Sign(k, msg),
		}))
		nonce++
	}
	c.mustOK(regs...)
	if contract != nil {
		c.deploy(alice, string(contract), 100_000)
	}
	// Readings carry times around the blocks they land in; blocks are one
	// second apart and the window is wide enough for the whole run.
	n := b.N
	raws := make([][]byte, n)
	start := c.nowMs()
	for i := range raws {
		k := keys[i%devices]
		r, err := reading.Sign(reading.Reading{
			Seq: uint64(i/devices) + 1, Time: start + int64(i/(perBatch*batchesPerBlock))*1000,
			Data: map[string]any{"temp": 21.5, "door": "closed", "battery": 87},
		}, k)
		if err != nil {
			b.Fatal(err)
		}
		raws[i] = r
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	var block [][]byte
	flush := func() {
		c.block(block...)
		block = block[:0]
	}
	for lo := 0; lo < n; lo += perBatch {
		rs := raws[lo:min(lo+perBatch, n)]
		batch := c.app.Batch(c.app.Precheck(rs, make([]verdict.Verdict, len(rs))).Readings)
		if r, err := c.app.CheckTx(b.Context(), &abci.CheckTxRequest{Tx: batch, Type: abci.CHECK_TX_TYPE_CHECK}); err != nil || r.Code != 0 {
			b.Fatalf("CheckTx: %v %+v", err, r)
		}
		if block = append(block, batch); len(block) == batchesPerBlock {
			flush()
		}
	}
	if len(block) > 0 {
		flush()
	}
	b.StopTimer()
	// CPU time of the process (all goroutines, GC, Pebble's compactions):
	// steadier than wall time on a machine that runs other work too.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
	if got := c.app.Log().Size(); got != uint64(n) {
		b.Fatalf("log holds %d readings, want %d", got, n)
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
