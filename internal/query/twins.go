package query

import (
	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/state"
)

// Twin returns a device's twin as of block height (0: the committed state).
func (r *Reader) Twin(id string, height int64) (*state.Twin, error) {
	if height <= 0 {
		return state.GetTwin(r.c, id)
	}
	t := &state.Twin{}
	for _, side := range []string{state.SideDesired, state.SideReported} {
		prefix := state.TwinLogPrefix(id, side)
		it, err := r.c.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: state.TwinLogKey(id, side, height+1, 0)})
		if err != nil {
			return nil, err
		}
		if it.Last() {
			c, err := state.DecodeTwinChange(it.Value())
			if err != nil {
				it.Close()
				return nil, err
			}
			st := state.TwinState{Version: c.Version, Height: c.Height, State: c.State}
			if side == state.SideDesired {
				t.Desired = st
			} else {
				t.Reported = st
			}
		}
		if err := it.Close(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// TwinHistory returns up to limit versions of one side of a device's twin,
// newest first, below the cursor before (nil: from the newest), and the
// cursor of the next page, if any.
func (r *Reader) TwinHistory(id, side string, before []byte, limit int) ([]*state.TwinChange, []byte, error) {
	return newestFirst(r.c.db, state.TwinLogPrefix(id, side), before, limit, state.DecodeTwinChange)
}
