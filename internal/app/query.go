package app

import (
	"context"
	"encoding/json"
	"strings"

	"encoding/binary"
	"fmt"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
)

// Queries read committed state. They are safe to call from any goroutine
// while blocks are being executed.

// Device returns a device record, or nil if none is registered under id.
func (a *App) Device(id string) (*state.Device, error) {
	return state.GetDevice(a.committed(), id)
}

// Progress returns what the ledger knows of a device's sequence numbers.
func (a *App) Progress(id string) (*state.Progress, error) {
	return state.GetProgress(a.committed(), id)
}

// Account returns an account, or nil.
func (a *App) Account(addr string) (*state.Account, error) {
	return state.GetAccount(a.committed(), addr)
}

// Devices lists devices in id order, starting after the id `after`.
func (a *App) Devices(after string, limit int) ([]*state.Device, error) {
	lower := state.DeviceKey(after)
	if after != "" {
		lower = append(lower, 0)
	}
	it, err := a.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: state.PrefixEnd(state.PrefixDevice)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*state.Device
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		d := new(state.Device)
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		if err := reading.DecMode.Unmarshal(v, d); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", state.ErrCorrupt, it.Key(), err)
		}
		out = append(out, d)
	}
	return out, it.Error()
}

// Stored is a committed reading as the ledger holds it.
type Stored struct {
	Index  uint64
	Height int64
	Key    []byte // the device key it was verified with
	Raw    []byte // the COSE_Sign1 reading
	*reading.Signed
}

// Reading returns a committed reading, or nil if (device, seq) was never committed.
func (a *App) Reading(id string, seq uint64) (*Stored, error) {
	p, err := a.committedProgress(id)
	if err != nil {
		return nil, err
	}
	e, err := seen(a.committed(), p, id, seq)
	if err != nil || e == nil {
		return nil, err
	}
	return a.stored(*e)
}

func (a *App) stored(e state.SeqEntry) (*Stored, error) {
	leaf, err := a.log.Leaf(e.Index)
	if err != nil {
		return nil, err
	}
	key, raw, err := state.SplitLeaf(leaf)
	if err != nil {
		return nil, fmt.Errorf("app: leaf %d: %w", e.Index, err)
	}
	s, err := reading.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("app: leaf %d holds an undecodable reading: %w", e.Index, err)
	}
	return &Stored{Index: e.Index, Height: e.Height, Key: key, Raw: raw, Signed: s}, nil
}

// ReadingQuery selects a device's readings: by sequence number (From, To
// inclusive) or, when ByTime, by device time in unix ms (From, To
// inclusive). Results come in sequence order.
type ReadingQuery struct {
	ByTime   bool
	From, To uint64 // seq range, or time range as unix ms when ByTime
	// StartSeq, when ByTime, skips readings below this seq: a time query
	// continues from the next cursor of its previous page this way.
	StartSeq uint64
	Limit    int
}

// Readings returns up to q.Limit readings and, if there are more, the seq to
// continue from.
func (a *App) Readings(id string, q ReadingQuery) ([]*Stored, *uint64, error) {
	prefix := state.SeqPrefix(id)
	lower := append(append([]byte(nil), prefix...), be64(q.StartSeq)...)
	upper := append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if !q.ByTime {
		lower = append(append([]byte(nil), prefix...), be64(q.From)...)
		if q.To < ^uint64(0) {
			upper = append(append([]byte(nil), prefix...), be64(q.To+1)...)
		}
	}
	it, err := a.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	var out []*Stored
	for ok := it.First(); ok; ok = it.Next() {
		var e state.SeqEntry
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, nil, err
		}
		if err := reading.DecMode.Unmarshal(v, &e); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", state.ErrCorrupt, err)
		}
		if q.ByTime && (e.Time < int64(q.From) || e.Time > int64(q.To)) {
			continue
		}
		seq := binary.BigEndian.Uint64(it.Key()[len(prefix):])
		if len(out) == q.Limit {
			return out, &seq, nil
		}
		s, err := a.stored(e)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, s)
	}
	return out, nil, it.Error()
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// Block returns the app's record of a committed block, or nil.
func (a *App) Block(h int64) (*state.Block, error) {
	return state.GetBlock(a.committed(), h)
}

// Proof is the app's part of a receipt: the reading, its leaf and the block
// whose app hash commits to the log that holds it.
type Proof struct {
	Stored *Stored
	Block  *state.Block
	Path   [][]byte // inclusion proof of Stored.Index in a log of Block.LogSize
}

// Proof returns the inclusion proof of a committed reading against the log
// as of the block that committed it, or nil if (device, seq) is unknown.
func (a *App) Proof(id string, seq uint64) (*Proof, error) {
	s, err := a.Reading(id, seq)
	if err != nil || s == nil {
		return nil, err
	}
	b, err := a.Block(s.Height)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("app: no record of block %d", s.Height)
	}
	path, err := a.log.InclusionProof(s.Index, b.LogSize)
	if err != nil {
		return nil, err
	}
	return &Proof{Stored: s, Block: b, Path: path}, nil
}

// Query answers ABCI queries (CometBFT's abci_query): path
// "/accounts/ADDR" returns the account as JSON, so a client can learn its
// next nonce through CometBFT's RPC; "/snapshots" the stored snapshots.
func (a *App) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	if !a.enter() {
		return &abci.QueryResponse{Code: uint32(CodeNodeStopping), Log: "the node is stopping"}, nil
	}
	defer a.leave()
	if req.Path == "/snapshots" {
		return a.snapshotsQuery()
	}
	addr, ok := strings.CutPrefix(req.Path, "/accounts/")
	if !ok {
		return &abci.QueryResponse{Code: uint32(CodeMalformedTx), Log: fmt.Sprintf("unknown query path %q; known: /accounts/ADDR, /snapshots", req.Path)}, nil
	}
	acct, err := a.Account(addr)
	if err != nil {
		return nil, err
	}
	if acct == nil {
		acct = &state.Account{Address: addr}
	}
	b, err := json.Marshal(acct)
	if err != nil {
		return nil, err
	}
	return &abci.QueryResponse{Value: b, Height: a.Meta().Height}, nil
}

// Token returns the name of the chain's token.
func (a *App) Token() string { return a.Meta().TokenName() }

// History returns up to limit of an account's payments, newest first,
// starting below the cursor before (a key from a previous page's next, or
// nil for the newest); and the cursor of the next page, if any.
func (a *App) History(addr string, before []byte, limit int) ([]*state.Payment, []byte, error) {
	return newestFirst(a.db, state.HistoryPrefix(addr), before, limit, state.DecodePayment)
}

// newestFirst pages backwards through the keys under prefix: up to limit
// decoded values below prefix+before (all, for a nil before), and the
// cursor of the next page (the suffix of the last key returned), if any.
func newestFirst[T any](db *pebble.DB, prefix, before []byte, limit int, decode func([]byte) (*T, error)) ([]*T, []byte, error) {
	upper := append(append([]byte(nil), prefix...), 0xff)
	if len(before) > 0 {
		upper = append(append([]byte(nil), prefix...), before...)
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	var out []*T
	var last []byte // the key of the last entry returned: the next page ends below it
	for ok := it.Last(); ok; ok = it.Prev() {
		if len(out) == limit {
			return out, last, nil
		}
		last = append(last[:0], it.Key()[len(prefix):]...)
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, nil, err
		}
		d, err := decode(v)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, d)
	}
	return out, nil, it.Error()
}

// Twin returns a device's twin as of block height (0: the committed state).
func (a *App) Twin(id string, height int64) (*state.Twin, error) {
	if height <= 0 {
		return state.GetTwin(a.committed(), id)
	}
	t := &state.Twin{}
	for _, side := range []string{state.SideDesired, state.SideReported} {
		prefix := state.TwinLogPrefix(id, side)
		it, err := a.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: state.TwinLogKey(id, side, height+1, 0)})
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
func (a *App) TwinHistory(id, side string, before []byte, limit int) ([]*state.TwinChange, []byte, error) {
	return newestFirst(a.db, state.TwinLogPrefix(id, side), before, limit, state.DecodeTwinChange)
}
