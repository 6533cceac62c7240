package node_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

// startNode initialises a home in a temp dir and starts a node on free
// loopback ports.
func startNode(t testing.TB) (*node.Node, string) {
	t.Helper()
	home := t.TempDir()
	if _, err := node.Init(home, node.InitOptions{ChainID: "test-chain", Moniker: "t"}); err != nil {
		t.Fatal(err)
	}
	cfg := node.Default()
	cfg.API.Addr = "127.0.0.1:0"
	cfg.RPCAddr = "127.0.0.1:0"
	cfg.P2PAddr = "127.0.0.1:0"
	cfg.MQTT.Addr = "127.0.0.1:0"
	n, err := node.Start(t.Context(), home, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, home
}

func TestNodeCommitsReadingsWithReceipts(t *testing.T) {
	n, _ := startNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	owner := ed25519.NewKeyFromSeed(make([]byte, 32))
	devSeed := make([]byte, 32)
	devSeed[0] = 1
	dev := ed25519.NewKeyFromSeed(devSeed)
	devPub := dev.Public().(ed25519.PublicKey)
	reg := &tx.RegisterDevice{Key: devPub, DeviceSig: ed25519.Sign(dev, tx.RegistrationMessage("test-chain", address.Account(owner.Public().(ed25519.PublicKey)), devPub))}
	raw, err := tx.Sign(owner, tx.TypeRegisterDevice, "test-chain", 0, reg)
	if err != nil {
		t.Fatal(err)
	}
	// A search before the registration builds the device index: the
	// registration then reaches it through the commit (query.Committed.Written).
	if c, err := n.App().Reader().DeviceCounts(); err != nil || c.Total() != 0 {
		t.Fatalf("devices before the registration: %+v, %v; want none", c, err)
	}
	res, err := n.RPC().BroadcastTxCommit(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
		t.Fatalf("register: check %d %q, exec %d %q", res.CheckTx.Code, res.CheckTx.Log, res.TxResult.Code, res.TxResult.Log)
	}

	var raws [][]byte
	for seq := uint64(1); seq <= 10; seq++ {
		r, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 20.5}}, dev)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, r)
	}
	results, err := n.Submit(ctx, raws, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Status != "accepted" || !r.Located() {
			t.Fatalf("reading %d: got %+v, want accepted with an index", i, r)
		}
	}
	again, err := n.Submit(ctx, raws[:1], true)
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Status != "duplicate" || again[0].Index != results[0].Index {
		t.Fatalf("resend: got %+v, want duplicate of index %d", again[0], results[0].Index)
	}
	id := address.Device(devPub)
	sub := n.Subscribe()
	defer sub.Cancel()
	waitForHeight(t, ctx, n, sub.Events, results[2].Height+1)
	rc, err := n.Receipt(ctx, id, 3)
	if err != nil {
		t.Fatal(err)
	}
	if rc.LeafIndex != results[2].Index || rc.Height != results[2].Height {
		t.Errorf("receipt at index %d height %d, want %d and %d", rc.LeafIndex, rc.Height, results[2].Index, results[2].Height)
	}

	// The registration's block lists it by its hash, type and signer; a
	// reading's block lists its batch.
	b, err := n.Block(ctx, res.Height)
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256(raw)
	wantReg := apiwire.BlockTx{Hash: hash[:], Type: "register_device", Bytes: len(raw), Signer: address.Account(owner.Public().(ed25519.PublicKey))}
	if len(b.Txs) != 1 || !reflect.DeepEqual(b.Txs[0], wantReg) {
		t.Errorf("block %d's transactions %+v, want %+v", res.Height, b.Txs, wantReg)
	}
	if b, err = n.Block(ctx, results[0].Height); err != nil || len(b.Txs) == 0 || b.Txs[0].Type != "readings" || b.Txs[0].Readings == 0 {
		t.Errorf("block %d of the first reading: transactions %+v, %v; want a batch of readings", results[0].Height, b.Txs, err)
	}
	// The device index knew of the registration from its commit on.
	found, err := n.App().Reader().SearchDevices(query.DeviceFilter{Status: "active", Search: id[5:20]}, "", 10)
	if err != nil || len(found) != 1 || found[0].ID != id {
		t.Errorf("search for the device: %+v, %v; want it", found, err)
	}
	if c, err := n.App().Reader().DeviceCounts(); err != nil || c != (query.DeviceCounts{Active: 1}) {
		t.Errorf("devices after the registration: %+v, %v; want one active", c, err)
	}
}

// waitForHeight waits until block h is committed, by the node's events.
func waitForHeight(t *testing.T, ctx context.Context, n *node.Node, events <-chan api.Event, h int64) {
	t.Helper()
	if n.App().Meta().Height >= h {
		return
	}
	for {
		select {
		case <-ctx.Done():
			t.Fatalf("block %d not committed: %v", h, ctx.Err())
		case e := <-events:
			if b, ok := e.Data.(apiwire.BlockEvent); ok && b.Height >= h {
				return
			}
		}
	}
}
