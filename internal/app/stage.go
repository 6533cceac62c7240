package app

import (
	"crypto/sha256"
	"errors"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/registry"
	"github.com/iotledger/iotledger/reading"
)

// committed reads committed state straight from Pebble (CheckTx, queries).
type committed struct{ db *pebble.DB }

func (c committed) Get(key []byte) ([]byte, error) { return dbGet(c.db, key) }
func (committed) Set(key, _ []byte)                { panic("app: write to committed state: " + string(key)) }

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
// depend on map order.
type stage struct {
	db     *pebble.DB
	writes map[string][]byte
}

func newStage(db *pebble.DB) *stage { return &stage{db: db, writes: map[string][]byte{}} }

func (s *stage) Get(key []byte) ([]byte, error) {
	if v, ok := s.writes[string(key)]; ok {
		return v, nil
	}
	return dbGet(s.db, key)
}

func (s *stage) Set(key, value []byte) { s.writes[string(key)] = value }

func (s *stage) sortedKeys() []string {
	keys := make([]string, 0, len(s.writes))
	for k := range s.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// covered reports whether a key is part of the state digest: accounts and
// devices. The (device, seq) index and progress records are derived from the
// reading log, which the app hash covers through the log root.
func covered(key string) bool {
	return strings.HasPrefix(key, registry.PrefixAccount) || strings.HasPrefix(key, registry.PrefixDevice)
}

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
	b, err := reading.EncMode.Marshal([]any{"iotledger/state/v1", prev, height, changes})
	if err != nil {
		panic("app: encode digest: " + err.Error())
	}
	h := sha256.Sum256(b)
	return h[:]
}

// GenesisDigest is the state digest before block 1.
func GenesisDigest(chainID string, appState []byte) []byte {
	b, err := reading.EncMode.Marshal([]any{"iotledger/genesis/v1", chainID, appState})
	if err != nil {
		panic("app: encode genesis digest: " + err.Error())
	}
	h := sha256.Sum256(b)
	return h[:]
}
