package query

import (
	"bytes"
	"errors"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/state"
)

// Committed is committed state as a state.KV: the store as the last Commit
// left it. Device, progress and account records, which every reading and
// transaction looks up, are served from a cache that Commit keeps equal to
// the store (Written): block execution reads through it (CheckTx, and
// under a block's stage), and so do queries. It is safe for concurrent use.
// Set panics: only Commit writes the store, in one batch, then tells
// Committed what it wrote.
type Committed struct {
	db      *pebble.DB
	records *recordCache
	devices deviceIndex // what device searches scan (devices.go)
}

// NewCommitted returns committed state of db, with an empty cache.
func NewCommitted(db *pebble.DB) *Committed {
	return &Committed{db: db, records: newRecordCache(1 << 18)}
}

// DB returns the store.
func (c *Committed) DB() *pebble.DB { return c.db }

// Get returns the committed value of key; nil, nil when absent.
func (c *Committed) Get(key []byte) ([]byte, error) {
	if !cached(key) {
		return dbGet(c.db, key)
	}
	v, ok, gen := c.records.get(key)
	if ok {
		return v, nil
	}
	v, err := dbGet(c.db, key)
	if err == nil && v != nil {
		c.records.put(string(key), v, gen)
	}
	return v, err
}

// Stored returns the value of key in the store, passing by the cache (for
// audit, which checks the store's bytes); nil, nil when absent.
func (c *Committed) Stored(key []byte) ([]byte, error) { return dbGet(c.db, key) }

// Set panics: committed state is written by Commit's batch only.
func (*Committed) Set(key, _ []byte) { panic("query: write to committed state: " + string(key)) }

// SharedDevice returns a committed device record, decoded once and shared:
// the caller must not modify it. Nil if no such device is registered.
func (c *Committed) SharedDevice(id string) (*state.Device, error) {
	return decoded(c.records, devices, id, c, state.GetDevice)
}

// SharedProgress returns a device's committed progress, decoded once and
// shared: the caller must not modify it.
func (c *Committed) SharedProgress(id string) (*state.Progress, error) {
	return decoded(c.records, progresses, id, c, state.GetProgress)
}

// Written puts the records a committed block wrote in the cache, as they
// now are in the store. Commit calls it after its batch is committed, with
// the block's writes (nil values deleted) and its decoded progress records
// (nil: none), which become the cache's shared copies; other decoded
// records the block wrote are forgotten. A block writes the progress
// record of every device that sent a reading, and forgetting them would
// send the next block's reads of the same devices to the store.
func (c *Committed) Written(writes map[string][]byte, progs map[string]*state.Progress) {
	c.devices.written(c.records.committedWrites(writes, progs))
}

// Reset forgets every cached record and the device index (the store was
// replaced).
func (c *Committed) Reset() {
	c.records.reset()
	c.devices.forget()
}

// Each calls fn with every committed key and value under prefix, in key
// order, from the store (not the cache).
func (c *Committed) Each(prefix string, fn func(k, v []byte) error) error {
	it, err := c.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: state.PrefixEnd(prefix)})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// cached reports whether a key's record is kept in the record cache: the
// device, progress and account records every reading and transaction looks up.
func cached(key []byte) bool {
	return bytes.HasPrefix(key, []byte(state.PrefixDevice)) || bytes.HasPrefix(key, []byte(state.PrefixProgress)) ||
		bytes.HasPrefix(key, []byte(state.PrefixAccount))
}

// recordCache holds committed device and account records. It is bounded:
// when full it starts over. Values are never modified in place. gen counts
// committed blocks: a value read from the store is cached only if no block
// was committed since the read began, so a read racing with Commit cannot
// leave an old value behind.
type recordCache struct {
	mu    sync.Mutex // guards m, devs, progs and gen
	max   int
	m     map[string][]byte
	devs  map[string]*state.Device   // decoded device records, shared: never modify one
	progs map[string]*state.Progress // decoded progress records, shared: never modify one
	gen   uint64
}

func newRecordCache(max int) *recordCache {
	return &recordCache{max: max, m: map[string][]byte{}, devs: map[string]*state.Device{}, progs: map[string]*state.Progress{}}
}

func (c *recordCache) get(key []byte) ([]byte, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[string(key)]
	return v, ok, c.gen
}

func (c *recordCache) put(key string, v []byte, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[key] = v
}

// committedWrites is Committed.Written; it returns the block's device
// writes, by id, for the device index.
func (c *recordCache) committedWrites(writes map[string][]byte, progs map[string]*state.Progress) (devs map[string][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range writes {
		if !cached([]byte(k)) {
			continue // most of a block's writes: log, index and history records
		}
		if v == nil {
			delete(c.m, k)
		} else {
			if len(c.m) >= c.max {
				clear(c.m)
			}
			c.m[k] = v
		}
		if id, ok := strings.CutPrefix(k, state.PrefixDevice); ok {
			delete(c.devs, id)
			if devs == nil {
				devs = map[string][]byte{}
			}
			devs[id] = v
		}
		if id, ok := strings.CutPrefix(k, state.PrefixProgress); ok {
			if p := progs[id]; p != nil && v != nil {
				if len(c.progs) >= c.max {
					clear(c.progs)
				}
				c.progs[id] = p
			} else {
				delete(c.progs, id)
			}
		}
	}
	c.gen++
	return devs
}

// reset forgets every cached record.
func (c *recordCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	clear(c.devs)
	clear(c.progs)
	c.gen++
}

func devices(c *recordCache) map[string]*state.Device      { return c.devs }
func progresses(c *recordCache) map[string]*state.Progress { return c.progs }

// decoded returns the record of id from one of c's decoded maps, loading
// and keeping it when absent (unless a block was committed meanwhile).
func decoded[T any](c *recordCache, m func(*recordCache) map[string]*T, id string, kv state.KV, load func(state.KV, string) (*T, error)) (*T, error) {
	c.mu.Lock()
	v, ok := m(c)[id]
	gen := c.gen
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := load(kv, id)
	if err != nil || v == nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		if len(m(c)) >= c.max {
			clear(m(c))
		}
		m(c)[id] = v
	}
	return v, nil
}

func dbGet(db *pebble.DB, key []byte) ([]byte, error) {
	v, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	return out, closer.Close()
}
