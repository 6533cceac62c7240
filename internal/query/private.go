package query

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/state"
)

// The read side of private readings (docs/PRIVATE.md): accounts'
// encryption keys, a device's epochs (their recipients, the commitments of
// their wrapped keys, when each was announced and erased) and its grants
// (each consumer's history). The wrapped keys themselves are not in the
// store: the node's key box serves them.

// EncryptionKey returns an account's published encryption key, or nil if
// it published none.
func (r *Reader) EncryptionKey(addr string) (*state.EncryptionKey, error) {
	return state.GetEncryptionKey(r.c, addr)
}

// Epoch returns epoch n of device id, or nil.
func (r *Reader) Epoch(id string, n uint64) (*state.Epoch, error) {
	return state.GetEpoch(r.c, id, n)
}

// Epochs returns up to limit epochs of device id, newest first, from epoch
// from down (0: from the newest), and the epoch to continue from (0: no
// more).
func (r *Reader) Epochs(id string, from uint64, limit int) ([]*state.Epoch, uint64, error) {
	prefix := state.EpochPrefix(id)
	upper := state.PrefixEnd(string(prefix))
	if from > 0 {
		upper = state.EpochKey(id, from+1)
		if from == ^uint64(0) {
			upper = state.PrefixEnd(string(prefix))
		}
	}
	it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, 0, err
	}
	defer it.Close()
	var out []*state.Epoch
	for ok := it.Last(); ok; ok = it.Prev() {
		k := it.Key()
		if len(k) != len(prefix)+8 {
			return nil, 0, fmt.Errorf("%w: epoch key %q", state.ErrCorrupt, k)
		}
		n := binary.BigEndian.Uint64(k[len(prefix):])
		if len(out) == limit {
			return out, n, nil
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, err
		}
		e, err := state.DecodeEpoch(k, v)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, 0, it.Error()
}

// Grants returns up to limit grant histories of device id, in consumer
// (account) order, after the account after ("": from the first), and
// whether more follow.
func (r *Reader) Grants(id, after string, limit int) ([]*state.Grant, bool, error) {
	prefix := state.GrantPrefix(id)
	lower := prefix
	if after != "" {
		lower = append(state.GrantKey(id, after), 0)
	}
	it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: state.PrefixEnd(string(prefix))})
	if err != nil {
		return nil, false, err
	}
	defer it.Close()
	var out []*state.Grant
	for ok := it.First(); ok; ok = it.Next() {
		if len(out) == limit {
			return out, true, nil
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, false, err
		}
		g, err := state.DecodeGrant(it.Key(), v)
		if err != nil {
			return nil, false, err
		}
		out = append(out, g)
	}
	return out, false, it.Error()
}
