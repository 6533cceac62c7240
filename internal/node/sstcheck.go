package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	pebblev1 "github.com/cockroachdb/pebble"
	sstv1 "github.com/cockroachdb/pebble/sstable"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/sstable/block"
	"github.com/cockroachdb/pebble/v2/vfs"
	vfsv1 "github.com/cockroachdb/pebble/vfs"
)

// A table (.sst file) is a run of blocks, each followed by a 5-byte
// trailer (its compression type and a checksum of it and the block), then
// a footer that points at the meta index and the index. The checker below
// reads every block the table's index and meta index name (data, index,
// filter, range deletion and range key, value, properties, meta index),
// checks each one's checksum, checks that the blocks and the footer cover
// the file with no byte left over, and that the footer's padding is zero
// where the footer carries no checksum of its own: a byte changed anywhere
// in a table is found, not only where a read happens to go.

// tableRef is a table the store's manifest lists, with its key bounds.
type tableRef struct {
	file   string
	lo, hi []byte
}

// blockRef is one block of a table.
type blockRef struct {
	kind        string // data, index, filter, ...
	n, of       int    // a data block's ordinal (from 1) and count
	off, length uint64
}

func (b blockRef) String() string {
	if b.of > 0 {
		return fmt.Sprintf("%s block %d of %d (offset %d, %d bytes)", b.kind, b.n, b.of, b.off, b.length)
	}
	return fmt.Sprintf("%s block (offset %d, %d bytes)", b.kind, b.off, b.length)
}

// tableLayout is what the checker needs of a table, from either Pebble.
type tableLayout struct {
	blocks []blockRef
	footer blockRef
	// keysAround returns the last key before the first block a scan
	// cannot read and the first key after the last such block (nil when
	// there is none), scanning forward and backward.
	keysAround func() (before, after []byte)
}

// keyNamer says what a key range of a store holds, in the chain's terms
// ("" if it cannot tell).
type keyNamer func(lo, hi []byte) string

// storeKeys is how a store's keys are printed and named.
type storeKeys struct {
	key  func([]byte) string
	name keyNamer
}

// checkTables checks every table of a store; open reads one table's
// layout (by Pebble version). Tables that pass add nothing. It stops with
// ctx's error between tables once ctx ends.
func checkTables(ctx context.Context, tables []tableRef, open func(path string) (*tableLayout, func(), error), keys storeKeys) ([]TableFault, error) {
	var faults []TableFault
	for _, t := range tables {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		faults = append(faults, checkTable(t, open, keys)...)
	}
	return faults, nil
}

func checkTable(t tableRef, open func(path string) (*tableLayout, func(), error), keys storeKeys) []TableFault {
	fault := func(what, format string, lo, hi []byte) TableFault {
		return TableFault{File: t.file, What: what, Keys: keyRange(format, keys.key, lo, hi), Blocks: keys.name(lo, hi)}
	}
	whole := func(what string) []TableFault { return []TableFault{fault(what, "keys %s to %s", t.lo, t.hi)} }
	f, err := os.Open(t.file)
	if err != nil {
		return whole("it cannot be read: " + firstLine(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return whole("it cannot be read: " + firstLine(err))
	}
	size := uint64(st.Size())
	l, done, err := open(t.file)
	if err != nil {
		return whole("its footer, meta index or index is damaged, so none of its keys can be read: " + firstLine(err))
	}
	defer done()

	// The checksum type is the footer's first byte, but in LevelDB's
	// footer, which has none (CRC-32C then).
	foot := make([]byte, l.footer.length)
	if _, err := f.ReadAt(foot, int64(l.footer.off)); err != nil {
		return whole("its footer cannot be read: " + firstLine(err))
	}
	sum := block.ChecksumTypeCRC32c
	if !bytes.HasSuffix(foot, []byte(levelDBMagic)) {
		sum = block.ChecksumType(foot[0])
	}
	if msg := footerPadding(foot); msg != "" {
		return whole(msg)
	}

	var bad []blockRef
	var faults []TableFault
	blocks := slices.Clone(l.blocks)
	slices.SortFunc(blocks, func(a, b blockRef) int { return int(a.off) - int(b.off) })
	next := uint64(0)
	for _, b := range blocks {
		if b.off != next {
			faults = append(faults, fault(fmt.Sprintf("bytes %d to %d belong to no block its index names", next, b.off), "keys %s to %s", t.lo, t.hi))
		}
		next = b.off + b.length + block.TrailerLen
		buf := make([]byte, b.length+block.TrailerLen)
		if _, err := f.ReadAt(buf, int64(b.off)); err != nil {
			bad = append(bad, b)
			continue
		}
		if block.ValidateChecksum(sum, buf, block.Handle{Offset: b.off, Length: b.length}) != nil {
			bad = append(bad, b)
		}
	}
	if next != l.footer.off || l.footer.off+l.footer.length != size {
		faults = append(faults, fault(fmt.Sprintf("its blocks end at byte %d, its footer lies at %d-%d of %d bytes", next, l.footer.off, l.footer.off+l.footer.length, size), "keys %s to %s", t.lo, t.hi))
	}
	if len(bad) == 0 {
		return faults
	}

	// A damaged data block loses the keys between its neighbours; any
	// other damaged block (an index, a filter, ...) every key of the table.
	var what []string
	data := true
	for _, b := range bad {
		what = append(what, b.String())
		data = data && b.kind == "data"
	}
	msg := strings.Join(what, ", ") + " fail"
	if len(bad) == 1 {
		msg += "s"
	}
	msg += fmt.Sprintf(" its %s checksum", sum)
	if !data {
		return append(faults, fault(msg+", so none of its keys can be read", "keys %s to %s", t.lo, t.hi))
	}
	// The damaged data blocks hold the keys between the last one a forward
	// scan reads and the last one a backward scan reads.
	before, after := l.keysAround()
	format := "keys between %s and %s"
	switch {
	case before == nil && after == nil:
		before, after, format = t.lo, t.hi, "keys %s to %s"
	case before == nil:
		before, format = t.lo, "keys from %s to before %s"
	case after == nil:
		after, format = t.hi, "keys after %s up to %s"
	}
	return append(faults, fault(msg, format, before, after))
}

// Footer formats (see Pebble's sstable/table.go): LevelDB's is two block
// handles, zero padding to 40 bytes and an 8-byte magic; RocksDB's (and
// Pebble's before table format v6) a checksum type byte, two handles, zero
// padding to 41 bytes, a 4-byte version and the magic. Later footers carry
// a checksum, which Pebble checks when it opens the table.
const (
	levelDBMagic     = "\x57\xfb\x80\x8b\x24\x75\x47\xdb"
	levelDBFooterLen = 48
	rocksDBFooterLen = 1 + 2*20 + 4 + 8
)

// footerPadding returns what is wrong with an unchecked footer's padding,
// or "".
func footerPadding(foot []byte) string {
	var pad []byte
	switch len(foot) {
	case levelDBFooterLen:
		pad = afterHandles(foot[:40])
	case rocksDBFooterLen:
		pad = afterHandles(foot[1:41])
	default:
		return "" // a checksummed footer
	}
	for _, c := range pad {
		if c != 0 {
			return "its footer's padding is not zero (the footer was changed)"
		}
	}
	return ""
}

// afterHandles is what follows two block handles (four uvarints).
func afterHandles(b []byte) []byte {
	for range 4 {
		_, n := binary.Uvarint(b)
		if n <= 0 {
			return nil
		}
		b = b[n:]
	}
	return b
}

// openV2 reads a table of the app store (Pebble v2).
func openV2(path string) (*tableLayout, func(), error) {
	f, err := vfs.Default.Open(path)
	if err != nil {
		return nil, nil, err
	}
	readable, err := sstable.NewSimpleReadable(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	r, err := sstable.NewReader(context.Background(), readable, sstable.ReaderOptions{})
	if err != nil {
		return nil, nil, err
	}
	l, err := r.Layout()
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	tl := &tableLayout{footer: blockRef{kind: "footer", off: l.Footer.Offset, length: l.Footer.Length}}
	add := func(kind string, h block.Handle) {
		if h.Length > 0 || h.Offset > 0 {
			tl.blocks = append(tl.blocks, blockRef{kind: kind, off: h.Offset, length: h.Length})
		}
	}
	for i, h := range l.Data {
		tl.blocks = append(tl.blocks, blockRef{kind: "data", n: i + 1, of: len(l.Data), off: h.Offset, length: h.Length})
	}
	for _, h := range l.Index {
		add("index", h)
	}
	add("top-level index", l.TopIndex)
	for _, h := range l.Filter {
		add("filter", h.Handle)
	}
	add("range deletion", l.RangeDel)
	add("range key", l.RangeKey)
	for _, h := range l.ValueBlock {
		add("value", h)
	}
	add("value index", l.ValueIndex)
	add("properties", l.Properties)
	add("meta index", l.MetaIndex)
	add("blob reference index", l.BlobReferenceIndex)
	tl.keysAround = func() (before, after []byte) {
		scan := func(forward bool) []byte {
			it, err := r.NewIter(sstable.NoTransforms, nil, nil, sstable.AssertNoBlobHandles)
			if err != nil {
				return nil
			}
			defer it.Close()
			var last []byte
			kv := it.First()
			if !forward {
				kv = it.Last()
			}
			for kv != nil {
				last = append(last[:0], kv.K.UserKey...)
				if forward {
					kv = it.Next()
				} else {
					kv = it.Prev()
				}
			}
			return last
		}
		return scan(true), scan(false)
	}
	return tl, func() { r.Close() }, nil
}

// openV1 reads a table of a CometBFT store (Pebble v1).
func openV1(path string) (*tableLayout, func(), error) {
	f, err := vfsv1.Default.Open(path)
	if err != nil {
		return nil, nil, err
	}
	readable, err := sstv1.NewSimpleReadable(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	r, err := sstv1.NewReader(readable, sstv1.ReaderOptions{})
	if err != nil {
		return nil, nil, err
	}
	l, err := r.Layout()
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	tl := &tableLayout{footer: blockRef{kind: "footer", off: l.Footer.Offset, length: l.Footer.Length}}
	add := func(kind string, h sstv1.BlockHandle) {
		if h.Length > 0 || h.Offset > 0 {
			tl.blocks = append(tl.blocks, blockRef{kind: kind, off: h.Offset, length: h.Length})
		}
	}
	for i, h := range l.Data {
		tl.blocks = append(tl.blocks, blockRef{kind: "data", n: i + 1, of: len(l.Data), off: h.Offset, length: h.Length})
	}
	for _, h := range l.Index {
		add("index", h)
	}
	add("top-level index", l.TopIndex)
	add("filter", l.Filter)
	add("range deletion", l.RangeDel)
	add("range key", l.RangeKey)
	for _, h := range l.ValueBlock {
		add("value", h)
	}
	add("value index", l.ValueIndex)
	add("properties", l.Properties)
	add("meta index", l.MetaIndex)
	tl.keysAround = func() (before, after []byte) {
		scan := func(forward bool) []byte {
			it, err := r.NewIter(nil, nil)
			if err != nil {
				return nil
			}
			defer it.Close()
			var last []byte
			k, _ := it.First()
			if !forward {
				k, _ = it.Last()
			}
			for k != nil {
				last = append(last[:0], k.UserKey...)
				if forward {
					k, _ = it.Next()
				} else {
					k, _ = it.Prev()
				}
			}
			return last
		}
		return scan(true), scan(false)
	}
	return tl, func() { r.Close() }, nil
}

// appTables lists the app store's tables from its manifest.
func appTables(db *pebble.DB, dir string) ([]tableRef, error) {
	levels, err := db.SSTables()
	if err != nil {
		return nil, err
	}
	var out []tableRef
	seen := map[string]bool{}
	for _, level := range levels {
		for _, t := range level {
			file := filepath.Join(dir, fmt.Sprintf("%s.sst", t.BackingSSTNum))
			if seen[file] {
				continue // virtual tables share their backing file
			}
			seen[file] = true
			out = append(out, tableRef{file: file, lo: slices.Clone(t.Smallest.UserKey), hi: slices.Clone(t.Largest.UserKey)})
		}
	}
	return out, nil
}

// cometTables lists the tables of one of CometBFT's stores (Pebble v1),
// opened read-only for the purpose.
func cometTables(dir string) ([]tableRef, error) {
	db, err := pebblev1.Open(dir, &pebblev1.Options{ReadOnly: true, Logger: quietV1{}})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	levels, err := db.SSTables()
	if err != nil {
		return nil, err
	}
	var out []tableRef
	seen := map[string]bool{}
	for _, level := range levels {
		for _, t := range level {
			file := filepath.Join(dir, fmt.Sprintf("%s.sst", t.BackingSSTNum))
			if seen[file] {
				continue
			}
			seen[file] = true
			out = append(out, tableRef{file: file, lo: slices.Clone(t.Smallest.UserKey), hi: slices.Clone(t.Largest.UserKey)})
		}
	}
	return out, nil
}

// cometStores lists CometBFT's Pebble stores in a home's data folder
// (blockstore.db, state.db, tx_index.db, evidence.db, ...): the folders
// named *.db that hold a Pebble manifest, but the app's.
func cometStores(home string) []string {
	entries, _ := os.ReadDir(DataDir(home))
	var out []string
	for _, e := range entries {
		dir := filepath.Join(DataDir(home), e.Name())
		if !e.IsDir() || !strings.HasSuffix(e.Name(), ".db") || dir == AppDBDir(home) {
			continue
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*")); len(m) > 0 {
			out = append(out, dir)
		}
	}
	return out
}

// quietV1 drops Pebble v1's messages (the audit reports what matters).
type quietV1 struct{}

func (quietV1) Infof(string, ...any)  {}
func (quietV1) Errorf(string, ...any) {}
func (quietV1) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
