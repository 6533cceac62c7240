package node

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
)

// Names for the keys of a damaged table, so that a refusal says what was
// lost in the chain's terms: which records, and which blocks they belong
// to. The app store's layout is the On disk table of package state;
// CometBFT's stores use "H:height", "P:height:part", "C:height" and the
// like.

// appKeyKinds are the app store's key prefixes, in key order: every one of
// package state's (a test holds them together).
var appKeyKinds = []struct{ prefix, name string }{
	{state.PrefixAccount, "accounts"},
	{state.PrefixBlock, "block records"},
	{state.PrefixChanges, "block change records"},
	{state.PrefixDevice, "devices"},
	{state.PrefixEvent, "contract events"},
	{state.PrefixFeed, "block event feeds"},
	{state.PrefixValidatorSets, "validator set changes"},
	{state.PrefixHistory, "payments"},
	{state.PrefixEncryptionKey, "encryption keys"},
	{state.PrefixContract, "contracts"},
	{state.PrefixValidators, "the validator set"},
	{state.PrefixProgress, "device progress"},
	{state.PrefixProposal, "validator proposals"},
	{state.PrefixPrivateName, "private field names"},
	{state.PrefixEpoch, "stream epochs"},
	{state.PrefixGrant, "access grants"},
	{state.PrefixSeq, "the (device, seq) index"},
	{state.PrefixLogLeaf, "readings (log leaves)"},
	{state.PrefixLogNode, "log nodes"},
	{state.KeyLogSize, "the log size"},
	{state.PrefixTwinLog, "twin histories"},
	{state.PrefixTwin, "twins"},
	{state.KeyMeta, "the app's meta record"},
}

// heightKeyed are the prefixes of keys numbered by a be64 alone (heights,
// proposal numbers).
var heightKeyed = []string{state.PrefixBlock, state.PrefixChanges, state.PrefixFeed, state.PrefixValidatorSets, state.PrefixProposal}

// appKey prints an app store key: its text, with the big-endian numbers
// of the layout in decimal.
func appKey(k []byte) string {
	be := func(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
	s := string(k)
	switch {
	case strings.HasPrefix(s, state.PrefixLogLeaf) && len(k) == 12:
		return fmt.Sprintf("%s%d", state.PrefixLogLeaf, be(k[4:]))
	case strings.HasPrefix(s, state.PrefixLogNode) && len(k) == 13:
		return fmt.Sprintf("%s%d/%d", state.PrefixLogNode, k[4], be(k[5:]))
	case len(k) == 10 && slices.Contains(heightKeyed, s[:2]):
		return fmt.Sprintf("%s%d", s[:2], be(k[2:]))
	case strings.HasPrefix(s, state.PrefixHistory) && len(k) > 15:
		return fmt.Sprintf("%s%d/%d", s[:len(k)-12], be(k[len(k)-12:]), binary.BigEndian.Uint32(k[len(k)-4:]))
	case strings.HasPrefix(s, state.PrefixSeq) && len(k) > 11:
		return fmt.Sprintf("%s%d", s[:len(k)-8], be(k[len(k)-8:]))
	}
	return printable(k)
}

// printable is k with every byte outside printable ASCII as \xNN, cut to
// 80 bytes.
func printable(k []byte) string {
	var b strings.Builder
	for i, c := range k {
		if i == 80 {
			b.WriteString("…")
			break
		}
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	return b.String()
}

// appKeyNamer names what app store keys lo..hi hold: the kinds of
// records, and for those numbered by height or log index, which ones (r,
// if the store is open, maps log indexes to the blocks that appended them).
func appKeyNamer(r *query.Reader) keyNamer {
	return func(lo, hi []byte) string {
		var parts []string
		for i, k := range appKeyKinds {
			end := []byte("\xff")
			if i+1 < len(appKeyKinds) {
				end = []byte(appKeyKinds[i+1].prefix)
			}
			if bytes.Compare(hi, []byte(k.prefix)) < 0 || bytes.Compare(lo, end) >= 0 {
				continue
			}
			parts = append(parts, appKindRange(k.prefix, k.name, lo, hi, r))
		}
		return strings.Join(parts, "; ")
	}
}

// appKindRange names the records of one kind that lie in lo..hi.
func appKindRange(prefix, name string, lo, hi []byte, r *query.Reader) string {
	var n int // the length of a key of this kind, for those numbered
	switch prefix {
	case state.PrefixBlock, state.PrefixChanges, state.PrefixFeed, state.PrefixValidatorSets:
		n = 10
	case state.PrefixLogLeaf:
		n = 12
	default:
		return name
	}
	// The numbers of the first and last records of the kind in the range:
	// a bound outside the kind leaves that end open.
	num := func(k []byte) uint64 { return binary.BigEndian.Uint64(k[len(prefix):]) }
	first, last := uint64(0), uint64(0)
	from, to := false, false
	if len(lo) == n && bytes.HasPrefix(lo, []byte(prefix)) {
		first, from = num(lo), true
	}
	if len(hi) == n && bytes.HasPrefix(hi, []byte(prefix)) {
		last, to = num(hi), true
	}
	if prefix != state.PrefixLogLeaf {
		switch {
		case from && to:
			return name + " of " + heights(int64(first), int64(last))
		case from:
			return fmt.Sprintf("%s from block %d on", name, first)
		case to:
			return fmt.Sprintf("%s up to block %d", name, last)
		}
		return name
	}
	switch {
	case from && to:
		return name + " at " + leafBlocks(first, last, r)
	case to:
		return name + " at " + leafBlocks(0, last, r)
	case from:
		s := fmt.Sprintf("%s from log index %d on", name, first)
		if h, ok := blockOfLeaf(r, first); ok {
			s += fmt.Sprintf(" in blocks %d and later", h)
		}
		return s
	}
	return name
}

// leafBlocks names log indexes first..last and, if r can tell, the
// blocks that appended them.
func leafBlocks(first, last uint64, r *query.Reader) string {
	s := fmt.Sprintf("log indexes %d-%d", first, last)
	h1, ok1 := blockOfLeaf(r, first)
	h2, ok2 := blockOfLeaf(r, last)
	switch {
	case ok1 && ok2:
		return s + " in " + heights(h1, h2)
	case ok1:
		return s + fmt.Sprintf(" in blocks %d and later", h1)
	}
	return s
}

// blockOfLeaf is the block that appended leaf idx, found by a binary
// search over the block records (false if a record cannot be read, as
// when it lies in a damaged table too).
func blockOfLeaf(r *query.Reader, idx uint64) (int64, bool) {
	if r == nil {
		return 0, false
	}
	lo, hi := int64(1), r.Meta().Height
	if hi < 1 {
		return 0, false
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		b, err := r.Block(mid)
		if err != nil || b == nil {
			return 0, false
		}
		if b.LogSize > idx {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	b, err := r.Block(lo)
	if err != nil || b == nil || b.LogSize <= idx {
		return 0, false
	}
	return lo, true
}

func heights(h1, h2 int64) string {
	if h1 == h2 {
		return fmt.Sprintf("block %d", h1)
	}
	return fmt.Sprintf("blocks %d-%d", h1, h2)
}

// cometHeight reads the height of a CometBFT key such as "H:12",
// "P:12:0" or "validatorsKey:12".
var cometHeight = regexp.MustCompile(`^[A-Za-z]+:(\d+)`)

// cometKeyNamer names what keys lo..hi of CometBFT's stores hold.
func cometKeyNamer(lo, hi []byte) string {
	m1, m2 := cometHeight.FindSubmatch(lo), cometHeight.FindSubmatch(hi)
	if m1 == nil || m2 == nil {
		return ""
	}
	h1, err1 := strconv.ParseInt(string(m1[1]), 10, 64)
	h2, err2 := strconv.ParseInt(string(m2[1]), 10, 64)
	if err1 != nil || err2 != nil {
		return ""
	}
	// Keys sort as text ("H:1000" between "H:100" and "H:101"), so the
	// range holds these heights and others that sort among them.
	return fmt.Sprintf("records of heights %d to %d in text order", min(h1, h2), max(h1, h2))
}

// corruptionFault is the TableFault of a corruption Pebble met reading the
// app store.
func corruptionFault(info pebble.DataCorruptionInfo, r *query.Reader) TableFault {
	lo, hi := info.Bounds.Start, info.Bounds.End.Key
	return TableFault{File: info.Path, What: "a block fails its checksum (" + firstLine(info.Details) + ")",
		Keys: keyRange("keys %s to %s", appKey, lo, hi), Blocks: appKeyNamer(r)(lo, hi), lo: lo, hi: hi}
}

// keyRange prints a key range with format (two %s) and the key printer.
func keyRange(format string, key func([]byte) string, lo, hi []byte) string {
	if lo == nil && hi == nil {
		return ""
	}
	return fmt.Sprintf(format, key(lo), key(hi))
}

// v1TableNum finds the table a Pebble v1 corruption error names.
var v1TableNum = regexp.MustCompile(`\b(\d{6,})\b`)

// v1Fault is the TableFault of a corruption a read of a CometBFT store
// met (Pebble v1 names the table by number in its message).
func v1Fault(dir string, err error) TableFault {
	file := dir
	if m := v1TableNum.FindStringSubmatch(err.Error()); m != nil {
		file = filepath.Join(dir, m[1]+".sst")
	}
	return TableFault{File: file, What: "a block fails its checksum (" + firstLine(err) + ")"}
}
