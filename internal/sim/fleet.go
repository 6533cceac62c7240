package sim

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/cometbft/cometbft/libs/bytes"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

// Fleet is a set of simulated devices with keys derived from a seed.
type Fleet struct {
	keys []ed25519.PrivateKey
	pubs []ed25519.PublicKey
	ids  []string
	// Labels are given to the devices Register registers, beside
	// source=sim.
	Labels map[string]string
}

// NewFleet derives n device keys from seed: key i is the Ed25519 key whose
// seed is SHA-256("iotledger-sim/v1", seed, i). The same seed gives the
// same fleet.
func NewFleet(seed string, n int) *Fleet {
	f := &Fleet{keys: make([]ed25519.PrivateKey, n), pubs: make([]ed25519.PublicKey, n), ids: make([]string, n)}
	for i := range n {
		h := sha256.New()
		h.Write([]byte("iotledger-sim/v1\x00"))
		h.Write([]byte(seed))
		h.Write([]byte{0})
		h.Write([]byte(strconv.Itoa(i)))
		f.keys[i] = ed25519.NewKeyFromSeed(h.Sum(nil))
		f.pubs[i] = f.keys[i].Public().(ed25519.PublicKey)
		f.ids[i] = address.Device(f.pubs[i])
	}
	return f
}

// Len is the number of devices.
func (f *Fleet) Len() int { return len(f.keys) }

// ID is device i's id.
func (f *Fleet) ID(i int) string { return f.ids[i] }

// Public is device i's public key.
func (f *Fleet) Public(i int) ed25519.PublicKey { return f.pubs[i] }

// Chain is the part of a CometBFT RPC client that registration uses. The
// node's in-process client and rpc/client/http both have it.
type Chain interface {
	Status(ctx context.Context) (*ctypes.ResultStatus, error)
	ABCIQuery(ctx context.Context, path string, data bytes.HexBytes) (*ctypes.ResultABCIQuery, error)
	BroadcastTxSync(ctx context.Context, tx types.Tx) (*ctypes.ResultBroadcastTx, error)
	BroadcastTxCommit(ctx context.Context, tx types.Tx) (*ctypes.ResultBroadcastTxCommit, error)
}

// DeviceState is what the ledger holds of a device.
type DeviceState struct {
	Registered bool
	MaxSeq     uint64 // its highest committed sequence number; 0 if none
}

// Lookup tells what the ledger holds of a device.
type Lookup func(ctx context.Context, id string) (DeviceState, error)

// APILookup looks devices up through a node's API.
func APILookup(c *client.Client) Lookup {
	return func(ctx context.Context, id string) (DeviceState, error) {
		g, err := c.Gaps(ctx, id)
		if errors.Is(err, client.ErrNotFound) {
			return DeviceState{}, nil
		}
		if err != nil {
			return DeviceState{}, err
		}
		return DeviceState{Registered: true, MaxSeq: g.MaxSeq}, nil
	}
}

// APILogSize reads the number of committed readings (the log size) of a
// node through its API, for Schedule.Committed.
func APILogSize(c *client.Client) func(ctx context.Context) (uint64, error) {
	return func(ctx context.Context) (uint64, error) {
		st, err := c.Status(ctx)
		if err != nil {
			return 0, err
		}
		return st.LogSize, nil
	}
}

// Registration sizes.
const (
	lookupWorkers = 16
	// registerChunk is how many registrations go to the mempool before the
	// wait for the last one's commit (the mempool holds 10,000).
	registerChunk = 1000
)

// Registered is the outcome of Register.
type Registered struct {
	New     int    // devices registered now
	NextSeq uint64 // the first sequence number no device of the fleet has used
}

// Register registers the devices of the fleet that the ledger does not know,
// owned by a key made in memory for the purpose, and returns the first
// sequence number that is free for every device of the fleet.
func (f *Fleet) Register(ctx context.Context, chain Chain, lookup Lookup) (Registered, error) {
	states := make([]DeviceState, f.Len())
	if err := forEach(ctx, f.Len(), lookupWorkers, func(i int) error {
		st, err := lookup(ctx, f.ids[i])
		if err != nil {
			return fmt.Errorf("sim: look up device %s: %w", f.ids[i], err)
		}
		states[i] = st
		return nil
	}); err != nil {
		return Registered{}, err
	}
	var out Registered
	var missing []int
	for i, st := range states {
		out.NextSeq = max(out.NextSeq, st.MaxSeq)
		if !st.Registered {
			missing = append(missing, i)
		}
	}
	out.NextSeq++
	if len(missing) == 0 {
		return out, nil
	}
	st, err := chain.Status(ctx)
	if err != nil {
		return out, fmt.Errorf("sim: reach the node's CometBFT RPC: %w", err)
	}
	chainID := st.NodeInfo.Network
	_, owner, err := ed25519.GenerateKey(nil)
	if err != nil {
		return out, err
	}
	ownerAddr := address.Account(owner.Public().(ed25519.PublicKey))
	nonce, err := accountNonce(ctx, chain, ownerAddr)
	if err != nil {
		return out, err
	}
	for lo := 0; lo < len(missing); lo += registerChunk {
		chunk := missing[lo:min(lo+registerChunk, len(missing))]
		for j, i := range chunk {
			reg := &tx.RegisterDevice{
				Key:       f.pubs[i],
				Labels:    f.labels(),
				DeviceSig: ed25519.Sign(f.keys[i], tx.RegistrationMessage(chainID, ownerAddr, f.pubs[i])),
			}
			raw, err := tx.Sign(owner, tx.TypeRegisterDevice, chainID, nonce, reg)
			if err != nil {
				return out, err
			}
			nonce++
			if j < len(chunk)-1 {
				r, err := chain.BroadcastTxSync(ctx, raw)
				if err != nil {
					return out, fmt.Errorf("sim: register device %s: %w", f.ids[i], err)
				}
				if r.Code != 0 {
					return out, fmt.Errorf("sim: register device %s: refused (%s): %s", f.ids[i], app.Code(r.Code), r.Log)
				}
				continue
			}
			r, err := chain.BroadcastTxCommit(ctx, raw)
			if err != nil {
				return out, fmt.Errorf("sim: register device %s and wait for its block: %w", f.ids[i], err)
			}
			if r.CheckTx.Code != 0 {
				return out, fmt.Errorf("sim: register device %s: refused (%s): %s", f.ids[i], app.Code(r.CheckTx.Code), r.CheckTx.Log)
			}
			if r.TxResult.Code != 0 {
				return out, fmt.Errorf("sim: register device %s: refused in block %d (%s): %s", f.ids[i], r.Height, app.Code(r.TxResult.Code), r.TxResult.Log)
			}
		}
		out.New += len(chunk)
	}
	return out, nil
}

func (f *Fleet) labels() map[string]string {
	l := map[string]string{"source": "sim"}
	maps.Copy(l, f.Labels)
	return l
}

func accountNonce(ctx context.Context, chain Chain, addr string) (uint64, error) {
	q, err := chain.ABCIQuery(ctx, "/accounts/"+addr, nil)
	if err != nil {
		return 0, fmt.Errorf("sim: query account %s: %w", addr, err)
	}
	var acct state.Account
	if q.Response.Code != 0 || json.Unmarshal(q.Response.Value, &acct) != nil {
		return 0, fmt.Errorf("sim: query account %s: %s", addr, q.Response.Log)
	}
	return acct.Nonce, nil
}

// readingData is every simulated reading's data: three fields, as in the
// node's BenchmarkNodeIngest.
func readingData() map[string]any {
	return map[string]any{"temp": 21.5, "humidity": 40.1, "door": "closed"}
}

// Presign signs count readings, on all cores. Reading i is device i mod
// Len's reading number i/Len: its sequence number is seq + i/Len, its time
// now (unix milliseconds).
func (f *Fleet) Presign(ctx context.Context, count int, seq uint64, now time.Time) ([][]byte, error) {
	if f.Len() == 0 {
		return nil, errors.New("sim: the fleet has no devices")
	}
	raws := make([][]byte, count)
	ms := now.UnixMilli()
	n := f.Len()
	workers := runtime.GOMAXPROCS(0)
	per := (count + workers - 1) / workers
	return raws, forEach(ctx, workers, workers, func(w int) error {
		for i := w * per; i < min((w+1)*per, count); i++ {
			if i%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			r := reading.Reading{Device: f.ids[i%n], Seq: seq + uint64(i/n), Time: ms, Data: readingData()}
			raw, err := reading.Sign(r, f.keys[i%n])
			if err != nil {
				return fmt.Errorf("sim: sign reading %d: %w", i, err)
			}
			raws[i] = raw
		}
		return nil
	})
}

// forEach runs fn(0) ... fn(n-1) on up to workers goroutines and returns
// the first error; after an error the remaining calls are skipped. It
// returns when every goroutine has finished.
func forEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	var (
		mu    sync.Mutex // guards next and first
		next  int
		first error
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if first != nil || next >= n {
			return 0, false
		}
		if err := ctx.Err(); err != nil {
			first = err
			return 0, false
		}
		next++
		return next - 1, true
	}
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i, ok := take()
				if !ok {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
