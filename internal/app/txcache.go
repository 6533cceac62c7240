package app

import (
	"bytes"
	"hash/crc32"
	"sync"

	"github.com/iotledger/iotledger/tx"
)

// The verified-transaction cache. Ingest builds each batch transaction from
// readings it has just decoded and verified (Precheck); Batch encodes the
// transaction and remembers it with those readings. CheckTx, ProcessProposal
// and FinalizeBlock of the same bytes then take the readings, their hashes and
// the keys they verified under from the entry, instead of decoding the
// transaction and hashing and looking up each reading again. An entry only
// records what is known of those bytes (a hit compares them whole), so, like
// the reading cache, it changes speed and never a result.
//
// FinalizeBlock forgets the entries it uses: a committed transaction is not
// checked again. Entries of transactions that never reach a block (the
// mempool dropped them) leave in order once maxBatches newer ones came.

// maxBatches bounds the entries: well over the batches the mempool may hold
// (ingest.Config.MaxMempoolBytes, 24 MiB, is about a hundred 1,000-reading
// batches).
const maxBatches = 512

type batchEntry struct {
	raw []byte    // the transaction
	dec []Decoded // its readings, in order
}

type txCache struct {
	mu    sync.Mutex // guards byKey and order
	byKey map[uint32][]*batchEntry
	order []*batchEntry // oldest first
}

func newTxCache() *txCache { return &txCache{byKey: map[uint32][]*batchEntry{}} }

var castagnoli = crc32.MakeTable(crc32.Castagnoli) // in hardware on amd64 and arm64

func txKey(raw []byte) uint32 { return crc32.Checksum(raw, castagnoli) }

func (c *txCache) put(e *batchEntry) {
	k := txKey(e.raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.order) >= maxBatches {
		c.removeLocked(c.order[0])
	}
	c.byKey[k] = append(c.byKey[k], e)
	c.order = append(c.order, e)
}

// get returns the entry of raw, or nil. With forget, the entry is removed.
func (c *txCache) get(raw []byte, forget bool) *batchEntry {
	k := txKey(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.byKey[k] {
		if bytes.Equal(e.raw, raw) {
			if forget {
				c.removeLocked(e)
			}
			return e
		}
	}
	return nil
}

func (c *txCache) removeLocked(e *batchEntry) {
	k := txKey(e.raw)
	same := c.byKey[k]
	for i, o := range same {
		if o == e {
			same = append(same[:i], same[i+1:]...)
			break
		}
	}
	if len(same) == 0 {
		delete(c.byKey, k)
	} else {
		c.byKey[k] = same
	}
	for i, o := range c.order {
		if o == e {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
}

func (c *txCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.order)
}

// Batch encodes readings that Precheck decoded as one batch transaction
// and remembers it with them (see txCache). Readings that did not decode
// must not be in ds; ds stays the caller's.
func (a *App) Batch(ds []Decoded) []byte {
	raws := make([][]byte, len(ds))
	for i := range ds {
		raws[i] = ds[i].raw
	}
	raw := tx.NewBatch(raws)
	a.txs.put(&batchEntry{raw: raw, dec: append([]Decoded(nil), ds...)})
	return raw
}

// cachedBatch returns the decoded readings of raw if this node built it
// (Batch), as a copy the caller may change; with forget, the entry goes.
func (a *App) cachedBatch(raw []byte, forget bool) []Decoded {
	e := a.txs.get(raw, forget)
	if e == nil {
		return nil
	}
	return append([]Decoded(nil), e.dec...)
}
