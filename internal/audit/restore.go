package audit

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

// A node that joins by state sync restores a snapshot of another node's
// store; it does not take that store's word for anything. The app applies
// the chunks (each checked against the snapshot's metadata), then, in
// order: RestoredMeta checks the meta record against the snapshot and
// genesis, the app loads the store, and Restored audits it from genesis
// and checks the records block execution reads that the app hash does not
// cover. A *BadSnapshotError from either means the snapshot is refused;
// any other error, that this node's own store is broken.

// Restore is what a restored store must match: the snapshot's height and
// the app hash CometBFT's light client verified for it, and the chain's
// genesis.
type Restore struct {
	Height        int64
	AppHash       []byte
	ChainID       string
	Params        state.Params // genesis app_state.params
	Token         string       // genesis app_state.token
	GenesisDigest []byte       // state.GenesisDigest of the genesis
}

// BadSnapshotError is a restored store that failed its checks: the
// snapshot is refused.
type BadSnapshotError struct{ Why string }

func (e *BadSnapshotError) Error() string { return "audit: restored snapshot: " + e.Why }

func bad(format string, args ...any) error {
	return &BadSnapshotError{Why: fmt.Sprintf(format, args...)}
}

// RestoredMeta reads the meta record of a restored store from c and checks
// it against the snapshot and genesis.
func RestoredMeta(c *query.Committed, want Restore) (state.Meta, error) {
	var m state.Meta
	raw, err := c.Stored([]byte(state.KeyMeta))
	if err != nil {
		return m, fmt.Errorf("audit: restore: %w", err)
	}
	if raw == nil {
		return m, bad("no meta record")
	}
	if err := dcbor.DecMode.Unmarshal(raw, &m); err != nil {
		return m, bad("meta record: %v", err)
	}
	switch {
	case m.Height != want.Height:
		return m, bad("meta record says height %d, the snapshot %d", m.Height, want.Height)
	case m.ChainID != want.ChainID:
		return m, bad("meta record says chain %q, genesis %q", m.ChainID, want.ChainID)
	case !bytes.Equal(m.AppHash, want.AppHash):
		return m, bad("meta record says app hash %X, the verified one is %X", m.AppHash, want.AppHash)
	case m.Params != want.Params:
		return m, bad("meta record's params differ from genesis")
	case m.TokenName() != want.Token:
		return m, bad("meta record's token %q differs from genesis %q", m.TokenName(), want.Token)
	}
	return m, nil
}

// Restored audits a restored store that the app loaded (r reads it, with
// the meta RestoredMeta returned) from genesis, as Full does: every leaf
// rehashed, every interior node checked, the state digest replayed block
// by block from the change records, every covered record compared. It
// accepts the store only if the recomputed app hash of the snapshot's
// height is the verified one, and if the (device, seq) index and the
// devices' progress are the ones the log makes (verifyDerived).
func Restored(ctx context.Context, r *query.Reader, want Restore) error {
	m := r.Meta()
	rep, err := Full(ctx, r, want.GenesisDigest, func(int64) ([]byte, bool, error) { return nil, false, nil })
	if err != nil {
		return bad("audit: %v", err)
	}
	if len(rep.Findings) > 0 {
		return bad("audit: %d findings, the first: %s", len(rep.Findings), rep.Findings[0])
	}
	last, err := r.Block(m.Height)
	if err != nil || last == nil {
		return bad("no record of block %d (%v)", m.Height, err)
	}
	if got := receipt.AppHash(r.Log().Size(), r.Log().Root(), m.Digest); !bytes.Equal(got, want.AppHash) || !bytes.Equal(last.AppHash, want.AppHash) {
		return bad("recomputed app hash %X, block record %X, verified %X", got, last.AppHash, want.AppHash)
	}
	return verifyDerived(r, m.Height)
}

// discardKV is a state.KV that holds nothing: verifyDerived replays
// state.Record for the progress it computes, not for the writes.
type discardKV struct{}

func (discardKV) Get([]byte) ([]byte, error) { return nil, nil }
func (discardKV) Set(_, _ []byte)            {}

// verifyDerived checks the records that the app hash does not cover but
// block execution reads, against the log it does cover: it replays every
// leaf, in order, into the (device, seq) index entry and the device's
// progress that block execution would have written, and compares them with
// the restored ones (every index entry is one leaf's, and there are as
// many as leaves; every progress record is the replayed one, its rate
// limit bucket aside, which depends on block times only). A forged entry
// would make this node answer duplicates, or gaps, that the others do not.
func verifyDerived(r *query.Reader, height int64) error {
	type bound struct {
		height int64
		size   uint64
	}
	var bounds []bound
	for h := int64(1); h <= height; h++ {
		b, err := r.Block(h)
		if err != nil || b == nil {
			return bad("no record of block %d (%v)", h, err)
		}
		if len(bounds) == 0 || b.LogSize > bounds[len(bounds)-1].size {
			bounds = append(bounds, bound{h, b.LogSize})
		}
	}
	size := r.Log().Size()
	progress := map[string]*state.Progress{}
	kv := r.Committed()
	bi := 0
	for i := uint64(0); i < size; i++ {
		for bi < len(bounds) && bounds[bi].size <= i {
			bi++
		}
		if bi == len(bounds) {
			return bad("log leaf %d lies past the last block's log size", i)
		}
		leaf, err := r.Log().Leaf(i)
		if err != nil {
			return bad("log leaf %d: %v", i, err)
		}
		_, raw, err := state.SplitLeaf(leaf)
		if err != nil {
			return bad("log leaf %d: %v", i, err)
		}
		s, err := reading.Decode(raw)
		if err != nil {
			return bad("log leaf %d: %v", i, err)
		}
		want := state.SeqEntry{Index: i, Height: bounds[bi].height, Time: s.Time}
		got, err := state.GetSeq(kv, s.Device, s.Seq)
		if err != nil {
			return bad("index entry of %s seq %d: %v", s.Device, s.Seq, err)
		}
		if got == nil || *got != want {
			return bad("index entry of %s seq %d is %+v; the log says %+v", s.Device, s.Seq, got, want)
		}
		p := progress[s.Device]
		if p == nil {
			p = &state.Progress{}
			progress[s.Device] = p
		}
		state.Record(discardKV{}, s.Device, s.Seq, want, p)
	}
	entries, err := countPrefix(r.Committed(), state.PrefixSeq)
	if err != nil {
		return err
	}
	if entries != size {
		return bad("%d (device, seq) index entries for %d log leaves", entries, size)
	}
	seen := 0
	err = r.Committed().Each(state.PrefixProgress, func(k, v []byte) error {
		id := string(k[len(state.PrefixProgress):])
		got, err := state.GetProgress(kv, id)
		if err != nil {
			return bad("progress of %s: %v", id, err)
		}
		want := progress[id]
		if want == nil {
			if got.Count == 0 { // its rate limit bucket only: every reading refused
				return nil
			}
			return bad("progress of %s counts %d readings; the log has none", id, got.Count)
		}
		if got.Count != want.Count || got.MinSeq != want.MinSeq || got.MaxSeq != want.MaxSeq || got.LastHeight != want.LastHeight ||
			got.GapsTruncated != want.GapsTruncated || !slices.Equal(got.Gaps, want.Gaps) {
			return bad("progress of %s is count %d, seq %d-%d, gaps %v; the log says count %d, seq %d-%d, gaps %v",
				id, got.Count, got.MinSeq, got.MaxSeq, got.Gaps, want.Count, want.MinSeq, want.MaxSeq, want.Gaps)
		}
		seen++
		return nil
	})
	if err != nil {
		return err
	}
	if seen != len(progress) {
		return bad("%d devices have readings in the log, %d progress records", len(progress), seen)
	}
	return nil
}

func countPrefix(c *query.Committed, prefix string) (uint64, error) {
	var n uint64
	err := c.Each(prefix, func(_, _ []byte) error { n++; return nil })
	return n, err
}
