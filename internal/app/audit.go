package app

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/tlog"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

// Finding is one discrepancy audit found.
type Finding struct {
	Height int64   // the block concerned
	Leaf   *uint64 // the log index concerned, if any
	What   string
}

func (f Finding) String() string {
	if f.Leaf != nil {
		return fmt.Sprintf("block %d, reading at log index %d: %s", f.Height, *f.Leaf, f.What)
	}
	return fmt.Sprintf("block %d: %s", f.Height, f.What)
}

// AuditReport is what Audit checked and found.
type AuditReport struct {
	Blocks   int64
	Leaves   uint64
	Headers  int64 // app hashes compared with committed headers
	Findings []Finding
}

// HeaderAppHash returns the app hash that the committed header of block h+1
// carries for block h, or ok=false if that header does not exist yet.
type HeaderAppHash func(h int64) (hash []byte, ok bool, err error)

// Audit recomputes, from the stored readings and change records, the log
// root, state digest and app hash of every block and compares them with the
// app's block records and with the app hashes committed in headers. The node
// must be stopped. genesisDigest is GenesisDigest of the chain's genesis.
func (a *App) Audit(genesisDigest []byte, headers HeaderAppHash) (*AuditReport, error) {
	m := a.Meta()
	r := &AuditReport{}
	var blocks []*Block
	for h := int64(1); h <= m.Height; h++ {
		b, err := a.Block(h)
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
	sizes := make([]uint64, len(blocks))
	for i, b := range blocks {
		sizes[i] = b.LogSize
	}
	roots := make(map[uint64][]byte, len(blocks))
	err := a.log.Audit(sizes, func(size uint64, root []byte) error {
		roots[size] = root
		return nil
	})
	var le *tlog.LeafError
	switch {
	case errors.As(err, &le):
		idx := le.Index
		h := blockOfLeaf(blocks, idx)
		r.Findings = append(r.Findings, Finding{Height: h, Leaf: &idx,
			What: fmt.Sprintf("stored reading was changed: its bytes hash to %x, the log recorded %x", le.Computed, le.Stored)})
		return r, nil
	case err != nil:
		return nil, err
	}
	r.Leaves = a.log.Size()

	digest := genesisDigest
	for _, b := range blocks {
		changes, err := a.changes(b.Height)
		if err != nil {
			return nil, err
		}
		digest = NextDigest(digest, b.Height, changes)
		root := roots[b.LogSize]
		if !bytes.Equal(root, b.LogRoot) {
			r.Findings = append(r.Findings, Finding{Height: b.Height, What: fmt.Sprintf("log root recomputed from the readings is %x, the block record says %x", root, b.LogRoot)})
		}
		if !bytes.Equal(digest, b.StateDigest) {
			r.Findings = append(r.Findings, Finding{Height: b.Height, What: fmt.Sprintf("state digest recomputed from the change records is %x, the block record says %x", digest, b.StateDigest)})
		}
		want := receipt.AppHash(b.LogSize, root, digest)
		hh, ok, err := headers(b.Height)
		if err != nil {
			return nil, err
		}
		if ok {
			r.Headers++
			if !bytes.Equal(want, hh) {
				r.Findings = append(r.Findings, Finding{Height: b.Height, What: fmt.Sprintf("recomputed app hash %x differs from the one committed in header %d: %x", want, b.Height+1, hh)})
			}
		} else if !bytes.Equal(want, b.AppHash) {
			r.Findings = append(r.Findings, Finding{Height: b.Height, What: fmt.Sprintf("recomputed app hash %x differs from the block record %x", want, b.AppHash)})
		}
	}
	if !bytes.Equal(digest, m.Digest) && len(blocks) > 0 {
		r.Findings = append(r.Findings, Finding{Height: m.Height, What: "state digest of the last block differs from the app's meta record"})
	}
	f, err := a.auditState(blocks)
	if err != nil {
		return nil, err
	}
	r.Findings = append(r.Findings, f...)
	return r, nil
}

func blockOfLeaf(blocks []*Block, idx uint64) int64 {
	i := sort.Search(len(blocks), func(i int) bool { return blocks[i].LogSize > idx })
	if i == len(blocks) {
		return 0
	}
	return blocks[i].Height
}

func (a *App) changes(h int64) ([]Change, error) {
	v, err := dbGet(a.db, ChangesKey(h))
	if err != nil || v == nil {
		return nil, err
	}
	var cs []Change
	if err := reading.DecMode.Unmarshal(v, &cs); err != nil {
		return nil, fmt.Errorf("app: corrupt change record of block %d: %w", h, err)
	}
	return cs, nil
}

// auditState replays the change records and compares the result with the
// covered records in the store (accounts, devices, twins, contracts), both ways.
func (a *App) auditState(blocks []*Block) ([]Finding, error) {
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
	for _, prefix := range coveredPrefixes {
		it, err := a.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: prefixEnd(prefix)})
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
		out = append(out, Finding{Height: last[k], What: fmt.Sprintf("record %q written by block %d is missing from the store", k, last[k])})
	}
	return out, nil
}
