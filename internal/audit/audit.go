package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/tlog"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

// Finding is one discrepancy audit found.
type Finding struct {
	Height int64   // the block concerned
	Leaf   *uint64 // the log index concerned, if any
	// Device and Seq name the reading at Leaf, when the store still says
	// whose it is (Device is empty otherwise).
	Device string
	Seq    uint64
	What   string
}

func (f Finding) String() string {
	if f.Leaf != nil && f.Device != "" {
		return fmt.Sprintf("block %d, reading at log index %d (device %s, seq %d): %s", f.Height, *f.Leaf, f.Device, f.Seq, f.What)
	}
	if f.Leaf != nil {
		return fmt.Sprintf("block %d, reading at log index %d: %s", f.Height, *f.Leaf, f.What)
	}
	return fmt.Sprintf("block %d: %s", f.Height, f.What)
}

// Report is what an audit checked and found.
type Report struct {
	From     int64 // the first block whose readings and changes were checked
	Blocks   int64
	Leaves   uint64 // readings rehashed
	Headers  int64  // app hashes compared with committed headers
	Findings []Finding
}

// HeaderAppHash returns the app hash that the committed header of block h+1
// carries for block h, or ok=false if that header does not exist yet.
type HeaderAppHash func(h int64) (hash []byte, ok bool, err error)

// Full recomputes, from the stored readings and change records of the
// committed state r reads, the log root, state digest and app hash of every
// block and compares them with the app's block records and with the app
// hashes committed in headers; it also replays every change record against
// the covered records. No block may be committed meanwhile (the node is
// stopped, or not yet started). genesisDigest is state.GenesisDigest of the
// chain's genesis.
func Full(ctx context.Context, r *query.Reader, genesisDigest []byte, headers HeaderAppHash) (*Report, error) {
	return From(ctx, r, 1, genesisDigest, headers)
}

// From is Full of the blocks from height from to the last: the readings
// those blocks appended are rehashed, and the log root, state digest and
// app hash of each of them recomputed and compared with the committed
// headers. It starts from the stored state of block from-1 (the log's
// right border at its size and its state digest), which it checks against
// header from first: so a store that passes holds exactly what the
// validators committed, except the bytes of readings older than the
// window, which only Full rehashes. From 1 it is Full; later windows
// compare only the records their blocks wrote. Its cost grows with the
// readings and blocks in the window, not with the store (see the node's
// start check). It stops with ctx's error between blocks once ctx ends.
func From(ctx context.Context, r *query.Reader, from int64, genesisDigest []byte, headers HeaderAppHash) (*Report, error) {
	return (&auditor{r: r}).from(ctx, from, genesisDigest, headers)
}

// auditor reads the committed state it audits.
type auditor struct{ r *query.Reader }

func (a *auditor) from(ctx context.Context, from int64, genesisDigest []byte, headers HeaderAppHash) (*Report, error) {
	m := a.r.Meta()
	from = max(1, min(from, m.Height))
	r := &Report{From: from}
	if m.Height == 0 {
		return r, nil
	}
	var base state.Block // the state before block from
	digest := genesisDigest
	if from > 1 {
		b, err := a.r.Block(from - 1)
		if err != nil {
			return nil, err
		}
		if b == nil {
			r.Findings = append(r.Findings, Finding{Height: from - 1, What: "no block record in the store"})
			return r, nil
		}
		base, digest = *b, b.StateDigest
	}
	var blocks []*state.Block
	for h := from; h <= m.Height; h++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := a.r.Block(h)
		if err != nil {
			return nil, err
		}
		if b == nil {
			r.Findings = append(r.Findings, Finding{Height: h, What: "no block record in the store"})
			continue
		}
		blocks = append(blocks, b)
	}
	r.Blocks = int64(len(blocks))
	sizes := make([]uint64, 0, len(blocks)+1)
	sizes = append(sizes, base.LogSize)
	for _, b := range blocks {
		sizes = append(sizes, b.LogSize)
	}
	roots := make(map[uint64][]byte, len(sizes))
	err := a.r.Log().AuditFrom(base.LogSize, sizes, func(size uint64, root []byte) error {
		roots[size] = root
		return ctx.Err()
	})
	var le *tlog.LeafError
	switch {
	case errors.As(err, &le):
		idx := le.Index
		f := Finding{Height: blockOfLeaf(blocks, idx), Leaf: &idx,
			What: fmt.Sprintf("stored reading was changed: its bytes hash to %x, the log recorded %x", le.Computed, le.Stored)}
		f.Device, f.Seq, err = a.locateLeaf(idx)
		if err != nil {
			return nil, err
		}
		r.Findings = append(r.Findings, f)
		return r, nil
	case err != nil:
		return nil, err
	}
	r.Leaves = a.r.Log().Size() - base.LogSize

	if from > 1 {
		// The stored border and digest of block from-1 must make the app
		// hash the validators committed for it.
		want := receipt.AppHash(base.LogSize, roots[base.LogSize], base.StateDigest)
		if err := checkAppHash(r, base.Height, want, base.AppHash, headers, borderWords); err != nil {
			return nil, err
		}
	}
	for _, b := range blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		changes, err := a.changes(b.Height)
		if err != nil {
			return nil, err
		}
		digest = state.NextDigest(digest, b.Height, changes)
		root := roots[b.LogSize]
		if !bytes.Equal(root, b.LogRoot) {
			r.Findings = append(r.Findings, Finding{Height: b.Height, What: fmt.Sprintf("log root recomputed from the readings is %x, the block record says %x", root, b.LogRoot)})
		}
		if !bytes.Equal(digest, b.StateDigest) {
			r.Findings = append(r.Findings, Finding{Height: b.Height, What: fmt.Sprintf("state digest recomputed from the change records is %x, the block record says %x", digest, b.StateDigest)})
		}
		want := receipt.AppHash(b.LogSize, root, digest)
		if err := checkAppHash(r, b.Height, want, b.AppHash, headers, blockWords); err != nil {
			return nil, err
		}
	}
	if !bytes.Equal(digest, m.Digest) && len(blocks) > 0 {
		r.Findings = append(r.Findings, Finding{Height: m.Height, What: "state digest of the last block differs from the app's meta record"})
	}
	var f []Finding
	if from == 1 {
		f, err = a.auditState(blocks)
	} else {
		f, err = a.auditWrites(blocks)
	}
	if err != nil {
		return nil, err
	}
	r.Findings = append(r.Findings, f...)
	return r, nil
}

// appHashWords word the finding of a recomputed app hash that differs:
// vsHeader formats (recomputed, header height, committed), vsRecord
// (recomputed, recorded).
type appHashWords struct{ vsHeader, vsRecord string }

var (
	// borderWords: the app hash of the block before an audit's window,
	// recomputed from its stored log border and state digest.
	borderWords = appHashWords{
		vsHeader: "app hash recomputed from the stored log border and state digest is %x, header %d committed %x",
		vsRecord: "app hash recomputed from the stored log border and state digest is %x, the block record says %x",
	}
	// blockWords: the app hash of a block in the window, recomputed from
	// its readings and change records.
	blockWords = appHashWords{
		vsHeader: "recomputed app hash %x differs from the one committed in header %d: %x",
		vsRecord: "recomputed app hash %x differs from the block record %x",
	}
)

// checkAppHash compares want, the app hash recomputed for block h, with the
// one header h+1 committed (counting it in r.Headers) or, while no such
// header exists, with recorded, the block record's; a difference becomes a
// finding in r, worded by words.
func checkAppHash(r *Report, h int64, want, recorded []byte, headers HeaderAppHash, words appHashWords) error {
	hh, ok, err := headers(h)
	if err != nil {
		return err
	}
	if ok {
		r.Headers++
		if !bytes.Equal(want, hh) {
			r.Findings = append(r.Findings, Finding{Height: h, What: fmt.Sprintf(words.vsHeader, want, h+1, hh)})
		}
	} else if !bytes.Equal(want, recorded) {
		r.Findings = append(r.Findings, Finding{Height: h, What: fmt.Sprintf(words.vsRecord, want, recorded)})
	}
	return nil
}

// locateLeaf names the reading at log index idx: from the leaf itself when
// the (device, seq) index agrees, else by searching the index. It returns
// an empty device when neither says.
func (a *auditor) locateLeaf(idx uint64) (string, uint64, error) {
	leaf, err := a.r.Log().Leaf(idx)
	if err != nil {
		return "", 0, err
	}
	if _, raw, err := state.SplitLeaf(leaf); err == nil {
		if s, err := reading.Decode(raw); err == nil {
			e, err := state.GetSeq(a.r.Committed(), s.Device, s.Seq)
			if err == nil && e != nil && e.Index == idx {
				return s.Device, s.Seq, nil
			}
		}
	}
	// The bytes no longer say whose reading it is: one pass over the index.
	it, err := a.r.Committed().DB().NewIter(&pebble.IterOptions{LowerBound: []byte(state.PrefixSeq), UpperBound: state.PrefixEnd(state.PrefixSeq)})
	if err != nil {
		return "", 0, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return "", 0, err
		}
		var e state.SeqEntry
		if dcbor.DecMode.Unmarshal(v, &e) != nil || e.Index != idx {
			continue
		}
		k := it.Key()[len(state.PrefixSeq):]
		if len(k) < 9 || k[len(k)-9] != '/' {
			continue
		}
		return string(k[:len(k)-9]), binary.BigEndian.Uint64(k[len(k)-8:]), nil
	}
	return "", 0, nil
}

func blockOfLeaf(blocks []*state.Block, idx uint64) int64 {
	i := sort.Search(len(blocks), func(i int) bool { return blocks[i].LogSize > idx })
	if i == len(blocks) {
		return 0
	}
	return blocks[i].Height
}

func (a *auditor) changes(h int64) ([]state.Change, error) {
	return state.GetChanges(a.r.Committed(), h)
}

// auditState replays the change records and compares the result with the
// covered records in the store (accounts, devices, twins, contracts), both ways.
func (a *auditor) auditState(blocks []*state.Block) ([]Finding, error) {
	want := map[string][]byte{}
	last := map[string]int64{}
	for _, b := range blocks {
		cs, err := a.changes(b.Height)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			want[string(c.Key)] = c.Value
			last[string(c.Key)] = b.Height
		}
	}
	var out []Finding
	for _, prefix := range state.CoveredPrefixes {
		it, err := a.r.Committed().DB().NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: state.PrefixEnd(prefix)})
		if err != nil {
			return nil, err
		}
		for ok := it.First(); ok; ok = it.Next() {
			k := string(it.Key())
			v, err := it.ValueAndErr()
			if err != nil {
				it.Close()
				return nil, err
			}
			w, known := want[k]
			switch {
			case !known:
				out = append(out, Finding{What: fmt.Sprintf("record %q is in the store but no block wrote it", k)})
			case !bytes.Equal(v, w):
				out = append(out, Finding{Height: last[k], What: fmt.Sprintf("record %q differs from what block %d wrote", k, last[k])})
			}
			delete(want, k)
		}
		if err := it.Close(); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if want[k] == nil {
			continue // the last block to write it deleted it
		}
		out = append(out, Finding{Height: last[k], What: fmt.Sprintf("record %q written by block %d is missing from the store", k, last[k])})
	}
	return out, nil
}

// auditWrites compares the covered records that blocks wrote with the
// store: each must hold the last value written (blocks are the newest, so
// nothing overwrote them since). Records no block of the window wrote are
// not looked at; the full audit replays every block for them.
func (a *auditor) auditWrites(blocks []*state.Block) ([]Finding, error) {
	want := map[string][]byte{}
	last := map[string]int64{}
	for _, b := range blocks {
		cs, err := a.changes(b.Height)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			want[string(c.Key)] = c.Value
			last[string(c.Key)] = b.Height
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Finding
	for _, k := range keys {
		v, err := a.r.Committed().Stored([]byte(k))
		if err != nil {
			return nil, err
		}
		switch w := want[k]; {
		case v == nil && w != nil:
			out = append(out, Finding{Height: last[k], What: fmt.Sprintf("record %q written by block %d is missing from the store", k, last[k])})
		case !bytes.Equal(v, w):
			out = append(out, Finding{Height: last[k], What: fmt.Sprintf("record %q differs from what block %d wrote", k, last[k])})
		}
	}
	return out, nil
}

// Window returns the first block of the newest blocks that hold the last
// readings readings (the block holding the oldest of them included), but
// no more than blocks blocks: the from of From for a check whose cost is
// bounded by readings and blocks rather than by the store. It is 1 for a
// store smaller than both.
func Window(r *query.Reader, readings uint64, blocks int64) (int64, error) {
	a := &auditor{r: r}
	m := a.r.Meta()
	if m.Height <= 1 {
		return 1, nil
	}
	floor := max(1, m.Height-max(blocks, 1)+1)
	size := a.r.Log().Size()
	if size <= readings {
		return floor, nil
	}
	target := size - readings // the oldest leaf the window must hold
	// The smallest height whose log size exceeds target holds it; block
	// records grow with height, so search them.
	lo, hi := floor, m.Height
	for lo < hi {
		mid := lo + (hi-lo)/2
		b, err := a.r.Block(mid)
		if err != nil {
			return 0, err
		}
		if b == nil { // AuditFrom reports the missing record
			return floor, nil
		}
		if b.LogSize > target {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}
