package node_test

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

// registerDevices registers n devices owned by one account and returns their keys.
func registerDevices(tb testing.TB, ctx context.Context, n *node.Node, count int) []ed25519.PrivateKey {
	tb.Helper()
	owner := ed25519.NewKeyFromSeed(make([]byte, 32))
	ownerAddr := address.Account(owner.Public().(ed25519.PublicKey))
	keys := make([]ed25519.PrivateKey, count)
	var last []byte
	for i := range keys {
		seed := make([]byte, 32)
		binary.BigEndian.PutUint64(seed, uint64(i+1))
		keys[i] = ed25519.NewKeyFromSeed(seed)
		pub := keys[i].Public().(ed25519.PublicKey)
		reg := &tx.RegisterDevice{Key: pub, DeviceSig: ed25519.Sign(keys[i], tx.RegistrationMessage(n.ChainID(), ownerAddr, pub))}
		raw, err := tx.Sign(owner, tx.TypeRegisterDevice, n.ChainID(), uint64(i), reg)
		if err != nil {
			tb.Fatal(err)
		}
		if i < count-1 {
			r, err := n.RPC().BroadcastTxSync(ctx, raw)
			if err != nil || r.Code != 0 {
				tb.Fatalf("register %d: %v %+v", i, err, r)
			}
			continue
		}
		last = raw
	}
	r, err := n.RPC().BroadcastTxCommit(ctx, last)
	if err != nil || r.TxResult.Code != 0 {
		tb.Fatalf("register last: %v %+v", err, r)
	}
	return keys
}

// BenchmarkNodeIngest drives one in-process node as hard as the HTTP path's
// Submit allows: readings are signed before the timer starts, then sent in
// batches of 500 by 8 concurrent submitters that wait for commit. It
// reports committed readings per second and the bytes every store of the
// node holds per reading.
func BenchmarkNodeIngest(b *testing.B) {
	n, home := startNode(b)
	ctx := context.Background()
	const devices = 1000
	keys := registerDevices(b, ctx, n, devices)
	now := time.Now().UnixMilli()
	raws := make([][]byte, b.N)
	for i := range raws {
		k := keys[i%devices]
		r, err := reading.Sign(reading.Reading{Seq: uint64(i/devices + 1), Time: now, Data: map[string]any{"temp": 21.5, "humidity": 40.1, "door": "closed"}}, k)
		if err != nil {
			b.Fatal(err)
		}
		raws[i] = r
	}
	stores := []string{"iotledger.db", "blockstore.db", "cs.wal", "state.db"}
	before := map[string]int64{}
	for _, st := range stores {
		before[st] = dirSize(b, filepath.Join(home, "data", st))
	}
	total := dirSize(b, filepath.Join(home, "data"))
	b.ResetTimer()
	start := time.Now()
	const chunk, workers = 500, 8
	var next sync.Mutex
	pos := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				lo := pos
				pos = min(pos+chunk, len(raws))
				hi := pos
				next.Unlock()
				if lo >= hi {
					return
				}
				// 8 submitters of 500 readings waiting for commit never fill
				// the 200,000-reading queue, so busy is an error here.
				rs, err := n.Submit(ctx, raws[lo:hi], true)
				if err != nil {
					b.Errorf("submit: %v", err)
					return
				}
				for _, r := range rs {
					if r.Status != "accepted" {
						b.Errorf("reading %s/%d: %s %s %s", r.Device, r.Seq, r.Status, r.Code, r.Detail)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "readings/s")
	b.ReportMetric(float64(len(raws[0])), "reading_bytes")
	if b.N >= 10000 {
		n.Close()
		after := dirSize(b, filepath.Join(home, "data"))
		b.ReportMetric(float64(after-total)/float64(b.N), "disk_bytes/reading")
		for _, st := range stores {
			d := dirSize(b, filepath.Join(home, "data", st)) - before[st]
			b.ReportMetric(float64(d)/float64(b.N), strings.TrimSuffix(st, ".db")+"_bytes/reading")
		}
	}
}

func dirSize(tb testing.TB, dir string) int64 {
	tb.Helper()
	var total int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return total
}
