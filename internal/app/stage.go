package app

import (
	"bytes"
	"sort"

	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
)

// stage holds one block's writes over committed state. Writes are applied
// to the Pebble batch in key order, so the batch, and the digest, do not
// depend on map order. A nil value deletes the key. Between begin and
// rollback or release, every write is journaled so that a contract run
// whose effects fail can be undone whole.
type stage struct {
	base    *query.Committed
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

func newStage(base *query.Committed) *stage { return &stage{base: base, writes: map[string][]byte{}} }

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
	if bytes.HasPrefix(key, []byte(state.PrefixDevice)) {
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

// changes returns the block's covered writes in key order.
func (s *stage) changes() []state.Change {
	var cs []state.Change
	for _, k := range s.sortedKeys() {
		if state.Covered(k) {
			cs = append(cs, state.Change{Key: []byte(k), Value: s.writes[k]})
		}
	}
	return cs
}

// device returns a committed device record, decoded once and shared: the
// caller must not modify it. Block execution reads through its stage, so a
// device the block itself changed is decoded from the stage.
func (a *App) device(kv state.KV, id string) (*state.Device, error) {
	if st, ok := kv.(*stage); ok && st.devices {
		if _, written := st.writes[string(state.DeviceKey(id))]; written {
			return state.GetDevice(kv, id)
		}
	}
	return a.kv.SharedDevice(id)
}
