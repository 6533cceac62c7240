package apitest

import (
	"fmt"
	"slices"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/receipt"
)

// logTree returns merkle's reference tree of the ledger's seven leaves
// (receipt.Leaf of each stored reading, by index) and the stored readings
// by index.
func (l *Ledger) logTree() (*testonly.Tree, []*query.Stored) {
	var all []*query.Stored
	for _, ss := range l.Stored {
		all = append(all, ss...)
	}
	slices.SortFunc(all, func(a, b *query.Stored) int { return int(a.Index) - int(b.Index) })
	t := testonly.New(rfc6962.DefaultHasher)
	for _, s := range all {
		t.AppendData(receipt.Leaf(s.Key, s.Raw))
	}
	return t, all
}

// LogSize implements api.LogReader: the seven leaves.
func (l *Ledger) LogSize() uint64 {
	t, _ := l.logTree()
	return t.Size()
}

// LogEntry implements api.LogReader.
func (l *Ledger) LogEntry(index uint64) (*query.LogEntry, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	t, all := l.logTree()
	if index >= t.Size() {
		return nil, fmt.Errorf("%w: index %d, size %d", query.ErrPastLog, index, t.Size())
	}
	s := all[index]
	return &query.LogEntry{Index: index, Device: s.Device, Seq: s.Seq, Height: s.Height, LeafHash: t.LeafHash(index)}, nil
}

// LogConsistency implements api.LogReader, with merkle's reference tree.
func (l *Ledger) LogConsistency(from, to uint64) (*query.Consistency, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	t, _ := l.logTree()
	if to > t.Size() {
		return nil, fmt.Errorf("%w: size %d, committed size %d", query.ErrPastLog, to, t.Size())
	}
	p, err := t.ConsistencyProof(from, to)
	if err != nil {
		return nil, err
	}
	return &query.Consistency{From: from, To: to, FromRoot: t.HashAt(from), ToRoot: t.HashAt(to), Proof: p}, nil
}
