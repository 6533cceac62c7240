package sim

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotledger/iotledger/internal/zip215"
	"github.com/iotledger/iotledger/reading"
)

// Sizes of the verification ceiling's measurement.
const (
	// CeilingBatch is the signatures per zip215 batch: large batches are
	// the fastest way the node's rules allow.
	CeilingBatch = 1024
	// ceilingSample bounds the readings decoded for the measurement.
	ceilingSample = 1 << 15
)

// Ceiling is how fast this machine verifies readings' signatures.
type Ceiling struct {
	PerSecond float64       // signatures verified per second, all cores together
	Cores     int           // goroutines verifying, one per core (GOMAXPROCS)
	Batch     int           // signatures per batch
	Verified  int           // signatures verified in the measurement
	Elapsed   time.Duration // its length
}

// VerifyCeiling measures, for about d, how many readings per second all
// cores verify doing nothing else: the Ed25519 (ZIP 215) signatures of raws,
// device i mod f.Len()'s readings, in zip215 batches of CeilingBatch with
// every device key expanded in a cache beforehand, as a node holds them.
// Messages (the COSE Sig_structure) are built before the clock starts.
// Every signature must verify: one that does not is an error.
func VerifyCeiling(ctx context.Context, f *Fleet, raws [][]byte, d time.Duration) (Ceiling, error) {
	n := min(len(raws), max(f.Len(), 4096), ceilingSample)
	if n == 0 {
		return Ceiling{}, errors.New("sim: no readings to verify")
	}
	type item struct{ pub, msg, sig []byte }
	items := make([]item, n)
	for i := range items {
		s, err := reading.Decode(raws[i])
		if err != nil {
			return Ceiling{}, fmt.Errorf("sim: reading %d: %w", i, err)
		}
		items[i] = item{pub: f.Public(i % f.Len()), msg: s.Message(), sig: s.Signature}
	}
	cache := zip215.NewKeyCache(f.Len())
	warm := cache.NewBatch(f.Len())
	for i := range f.Len() {
		warm.Add(f.Public(i), nil, make([]byte, zip215.SignatureSize)) // Add expands the key into the cache
	}

	// Collect the garbage of what ran before (signing, decoding) now, not
	// during the measurement.
	runtime.GC()
	cores := runtime.GOMAXPROCS(0)
	var (
		verified atomic.Int64
		bad      atomic.Int64
		next     atomic.Int64 // the next item to take, modulo n
		wg       sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range cores {
		wg.Go(func() {
			b := cache.NewBatch(CeilingBatch)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				lo := next.Add(CeilingBatch) - CeilingBatch
				b.Reset()
				for k := range int64(CeilingBatch) {
					it := items[(lo+k)%int64(n)]
					b.Add(it.pub, it.msg, it.sig)
				}
				for _, ok := range b.Verify() {
					if !ok {
						bad.Add(1)
					}
				}
				verified.Add(CeilingBatch)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return Ceiling{}, err
	}
	if bad.Load() > 0 {
		return Ceiling{}, fmt.Errorf("sim: %d of the fleet's signatures did not verify; the readings or the keys are wrong", bad.Load())
	}
	v := int(verified.Load())
	return Ceiling{PerSecond: float64(v) / elapsed.Seconds(), Cores: cores, Batch: CeilingBatch, Verified: v, Elapsed: elapsed}, nil
}
