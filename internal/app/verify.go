package app

import (
	"bytes"
	"crypto/sha256"
	"runtime"
	"sync"

	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/zip215"
	"github.com/iotledger/iotledger/reading"
)

// A node decodes and verifies each reading once: ingest, CheckTx,
// ProcessProposal and FinalizeBlock all go through the reading cache,
// keyed by the SHA-256 of the reading's bytes. An entry holds the decoded
// reading and the device key its signature verified under. A hit only skips
// work whose result is known (decoding is a pure function of the bytes, and
// an entry records a signature only as valid under exactly that key), so the
// cache changes speed, never a result.
//
// Verification in bulk (warm) runs in batches over all cores and only fills
// the cache; block execution then reads the cache in transaction order, so
// the parallel part cannot change what a block does.

type checkedReading struct {
	s   *reading.Signed
	key []byte // the key the signature verified under; nil if not verified
}

// readingCache is bounded by two generations: when the current one is full
// it becomes the old one and the previous old one is dropped.
type readingCache struct {
	mu       sync.Mutex // guards cur and old
	max      int
	cur, old map[[32]byte]*checkedReading
}

func newReadingCache(max int) *readingCache {
	return &readingCache{max: max, cur: map[[32]byte]*checkedReading{}, old: map[[32]byte]*checkedReading{}}
}

func (c *readingCache) get(h [32]byte) *checkedReading {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cur[h]; ok {
		return e
	}
	if e, ok := c.old[h]; ok {
		c.putLocked(h, e)
		return e
	}
	return nil
}

func (c *readingCache) put(h [32]byte, e *checkedReading) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(h, e)
}

func (c *readingCache) putLocked(h [32]byte, e *checkedReading) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[[32]byte]*checkedReading, c.max)
	}
	c.cur[h] = e
}

// decode returns the decoded reading, from the cache when it is there.
func (a *App) decode(raw []byte) (*reading.Signed, [32]byte, error) {
	h := sha256.Sum256(raw)
	if e := a.readings.get(h); e != nil {
		return e.s, h, nil
	}
	s, err := reading.Decode(raw)
	if err != nil {
		return nil, h, err
	}
	a.readings.put(h, &checkedReading{s: s})
	return s, h, nil
}

// verified reports whether the reading with hash h is known to be signed
// by key.
func (a *App) verified(h [32]byte, key []byte) bool {
	e := a.readings.get(h)
	return e != nil && e.key != nil && bytes.Equal(e.key, key)
}

// verify checks one reading's signature under key, through the caches;
// known is a key the reading is known to verify under (nil: none).
func (a *App) verify(s *reading.Signed, h [32]byte, known, key []byte) bool {
	if known != nil && bytes.Equal(known, key) || a.verified(h, key) {
		return true
	}
	var ok bool
	a.obs.ObserveVerify(1, func() { ok = a.keys.Verify(key, s.Message(), s.Signature) })
	if ok {
		a.readings.put(h, &checkedReading{s: s, key: key})
	}
	return ok
}

// verifyAll verifies, in batches over all cores, every decoded reading of a
// known device whose signature is not yet known to be valid under the
// device's current key in kv. It fills the cache and the key of each
// reading that verifies, and returns dec.
func (a *App) verifyAll(kv state.KV, dec []Decoded) []Decoded {
	a.verifyDevices(kv, dec)
	return dec
}

// deviceRead is a device record read from kv, or the error reading it.
type deviceRead struct {
	dev *state.Device // nil: not registered, or err
	err error
}

// verifyDevices is verifyAll, and returns the device records it read, by
// id, for a caller that checks the readings next (Precheck); block
// execution reads them again through its stage, where a read error
// surfaces.
func (a *App) verifyDevices(kv state.KV, dec []Decoded) map[string]deviceRead {
	var work []int
	var items []zip215.Item
	devices := map[string]deviceRead{}
	for i, d := range dec {
		s := d.s
		if s == nil {
			continue
		}
		r, seen := devices[s.Device]
		if !seen {
			r.dev, r.err = a.device(kv, s.Device)
			devices[s.Device] = r
		}
		dev := r.dev
		if dev == nil || (d.key != nil && bytes.Equal(d.key, dev.Key)) {
			continue
		}
		work = append(work, i)
		items = append(items, zip215.Item{Pub: dev.Key, Msg: s.Message(), Sig: s.Signature})
	}
	if len(items) == 0 {
		return devices
	}
	var ok []bool
	a.obs.ObserveVerify(len(items), func() { ok = a.keys.VerifyAll(items) })
	for j, i := range work {
		if ok[j] {
			dec[i].key = items[j].Pub
			a.readings.put(dec[i].h, &checkedReading{s: dec[i].s, key: items[j].Pub})
		}
	}
	return devices
}

// Decoded is a reading as the node decoded it: its bytes, the reading (or
// why it does not decode), the SHA-256 of its bytes and the key its
// signature is known to verify under. Precheck gives ingest one per
// reading, and Batch takes them back to build a batch transaction.
type Decoded struct {
	raw []byte
	s   *reading.Signed // nil if the reading does not decode
	err error           // why, when s is nil
	h   [32]byte
	key []byte // the key the signature is known to verify under, if any
}

// Hash is the SHA-256 of the reading's bytes: what a committed block's
// Outcome carries, to match it to the reading.
func (d *Decoded) Hash() [32]byte { return d.h }

// decodeAll decodes raws through the cache. The cache is probed first, in
// this goroutine; only the misses are decoded, spread over all cores when
// there are many. A batch that ingest checked already (CheckTx of the
// node's own batches) so costs one hash and lookup per reading and starts
// no goroutine to wait behind others' work.
func (a *App) decodeAll(raws [][]byte) []Decoded {
	out := make([]Decoded, len(raws))
	var miss []int
	for i, raw := range raws {
		out[i].raw = raw
		out[i].h = sha256.Sum256(raw)
		if e := a.readings.get(out[i].h); e != nil {
			out[i].s, out[i].key = e.s, e.key
			continue
		}
		miss = append(miss, i)
	}
	one := func(lo, hi int) {
		for _, i := range miss[lo:hi] {
			s, err := reading.Decode(raws[i])
			if err != nil {
				out[i].err = err
				continue
			}
			out[i].s = s
			a.readings.put(out[i].h, &checkedReading{s: s})
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if len(miss) < 64 || workers == 1 {
		one(0, len(miss))
		return out
	}
	var wg sync.WaitGroup
	step := (len(miss) + workers - 1) / workers
	for lo := 0; lo < len(miss); lo += step {
		wg.Go(func() { one(lo, min(lo+step, len(miss))) })
	}
	wg.Wait()
	return out
}
