package app

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/registry"
)

// committed reads committed state (CheckTx, queries, and under a block's
// stage). Device and account records are served from a cache that Commit
// keeps equal to the store.
type committed struct {
	db      *pebble.DB
	records *recordCache
}

func (c *committed) Get(key []byte) ([]byte, error) {
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

func (*committed) Set(key, _ []byte) { panic("app: write to committed state: " + string(key)) }

// cached reports whether a key's record is kept in the record cache: the
// device, progress and account records every reading and transaction looks up.
func cached(key []byte) bool {
	return bytes.HasPrefix(key, []byte(registry.PrefixDevice)) || bytes.HasPrefix(key, []byte(registry.PrefixProgress)) ||
		bytes.HasPrefix(key, []byte(registry.PrefixAccount))
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
	devs  map[string]*registry.Device   // decoded device records, shared: never modify one
	progs map[string]*registry.Progress // decoded progress records, shared: never modify one
	gen   uint64
}

func newRecordCache(max int) *recordCache {
	return &recordCache{max: max, m: map[string][]byte{}, devs: map[string]*registry.Device{}, progs: map[string]*registry.Progress{}}
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

// committedWrites puts the records a committed block wrote in the cache,
// as they now are in the store: a block writes the progress record of
// every device that sent a reading, and forgetting them would send the
// next block's reads of the same devices to the store. progs holds the
// block's decoded progress records (nil: none), which become the cache's
// shared copies; other decoded records the block wrote are forgotten.
func (c *recordCache) committedWrites(writes map[string][]byte, progs map[string]*registry.Progress) {
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
		if id, ok := strings.CutPrefix(k, registry.PrefixDevice); ok {
			delete(c.devs, id)
		}
		if id, ok := strings.CutPrefix(k, registry.PrefixProgress); ok {
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

// stage holds one block's writes over committed state. Writes are applied
// to the Pebble batch in key order, so the batch, and the digest, do not
// depend on map order. A nil value deletes the key. Between begin and
// rollback or release, every write is journaled so that a contract run
// whose effects fail can be undone whole.
type stage struct {
	base    *committed
	writes  map[string][]byte
	journal []undo
	depth   int  // open savepoints
	devices bool // a device record was written (device() must look in writes)
}

type undo struct {
	key string
	old []byte
	had bool
}

// begin opens a savepoint; savepoints nest. The mark it returns is for
// rollback.
func (s *stage) begin() int {
	s.depth++
	return len(s.journal)
}

// rollback undoes every write since the savepoint at mark and closes it.
func (s *stage) rollback(mark int) {
	for i := len(s.journal) - 1; i >= mark; i-- {
		u := s.journal[i]
		if u.had {
			s.writes[u.key] = u.old
		} else {
			delete(s.writes, u.key)
		}
	}
	s.journal = s.journal[:mark]
	s.release()
}

// release keeps the writes since the last savepoint and closes it.
func (s *stage) release() {
	s.depth--
	if s.depth == 0 {
		s.journal = s.journal[:0]
	}
}

// Delete removes key at commit.
func (s *stage) Delete(key []byte) { s.Set(key, nil) }

func newStage(base *committed) *stage { return &stage{base: base, writes: map[string][]byte{}} }

func (s *stage) Get(key []byte) ([]byte, error) {
	if v, ok := s.writes[string(key)]; ok {
		return v, nil
	}
	return s.base.Get(key)
}

func (s *stage) Set(key, value []byte) {
	if s.depth > 0 {
		old, had := s.writes[string(key)]
		s.journal = append(s.journal, undo{string(key), old, had})
	}
	s.writes[string(key)] = value
	if bytes.HasPrefix(key, []byte(registry.PrefixDevice)) {
		s.devices = true
	}
}

func (s *stage) sortedKeys() []string {
	keys := make([]string, 0, len(s.writes))
	for k := range s.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// covered reports whether a key is part of the state digest: accounts,
// devices, device twins, contracts, and the validator set with its
// proposals. The (device, seq) index and progress records are derived from the
// reading log, which the app hash covers through the log root.
func covered(key string) bool {
	for _, p := range coveredPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// coveredPrefixes are the key prefixes of the records the state digest covers.
var coveredPrefixes = []string{registry.PrefixAccount, registry.PrefixDevice, registry.PrefixTwin, registry.PrefixContract,
	prefixValidators, prefixProposal, prefixValidatorSets}

// Change is one covered write of a block, as kept for audit.
type Change struct {
	_     struct{} `cbor:",toarray"`
	Key   []byte
	Value []byte
}

// changes returns the block's covered writes in key order.
func (s *stage) changes() []Change {
	var cs []Change
	for _, k := range s.sortedKeys() {
		if covered(k) {
			cs = append(cs, Change{Key: []byte(k), Value: s.writes[k]})
		}
	}
	return cs
}

// NextDigest chains a block's covered changes onto the previous state digest.
// A block without changes keeps the digest.
func NextDigest(prev []byte, height int64, changes []Change) []byte {
	if len(changes) == 0 {
		return prev
	}
	b, err := dcbor.EncMode.Marshal([]any{"iotledger/state/v1", prev, height, changes})
	if err != nil {
		panic("app: encode digest: " + err.Error())
	}
	h := sha256.Sum256(b)
	return h[:]
}

// GenesisDigest is the state digest before block 1.
func GenesisDigest(chainID string, appState []byte) []byte {
	b, err := dcbor.EncMode.Marshal([]any{"iotledger/genesis/v1", chainID, appState})
	if err != nil {
		panic("app: encode genesis digest: " + err.Error())
	}
	h := sha256.Sum256(b)
	return h[:]
}

// device returns a committed device record, decoded once and shared: the
// caller must not modify it. Block execution reads through its stage, so a
// device the block itself changed is decoded from the stage.
func (a *App) device(kv registry.KV, id string) (*registry.Device, error) {
	if st, ok := kv.(*stage); ok && st.devices {
		if _, written := st.writes[string(registry.DeviceKey(id))]; written {
			return registry.GetDevice(kv, id)
		}
	}
	return decoded(a.records, devices, id, a.kv, registry.GetDevice)
}

func devices(c *recordCache) map[string]*registry.Device      { return c.devs }
func progresses(c *recordCache) map[string]*registry.Progress { return c.progs }

// committedProgress returns a device's committed progress, decoded once and
// shared: the caller must not modify it.
func (a *App) committedProgress(id string) (*registry.Progress, error) {
	return decoded(a.records, progresses, id, a.kv, registry.GetProgress)
}

// decoded returns the record of id from one of c's decoded maps, loading
// and keeping it when absent (unless a block was committed meanwhile).
func decoded[T any](c *recordCache, m func(*recordCache) map[string]*T, id string, kv registry.KV, load func(registry.KV, string) (*T, error)) (*T, error) {
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

// seen looks (device id, seq) up in the (device, seq) index, asking the
// device's progress p first: for a new reading, the usual case, that
// answers without a store read.
func seen(kv registry.KV, p *registry.Progress, id string, seq uint64) (*registry.SeqEntry, error) {
	if was, known := p.Seen(seq); known && !was {
		return nil, nil
	}
	return registry.GetSeq(kv, id, seq)
}
