package node

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// keySpaceOf names the run of keys that keySpaces keeps in tables of its
// own, by the key's layout (independently of keySpaces).
func keySpaceOf(k []byte) string {
	switch {
	case bytes.HasPrefix(k, []byte("t/n/")):
		return fmt.Sprintf("t/n/%d", k[4])
	case bytes.HasPrefix(k, []byte("t/l/")):
		return "t/l/"
	default:
		return string(k[:2])
	}
}

func TestKeySpacesEndEachSpan(t *testing.T) {
	keys := [][]byte{
		[]byte("a/acct"), []byte("d/dev1xyz"), []byte("m/dev1xyz"), []byte("s/dev1xyz\x00\x00"),
		append([]byte("t/l/"), 0, 0, 0, 0, 0, 0, 0, 7),
		append([]byte("t/n/"), 0, 0, 0, 0, 0, 0, 0, 0, 3),
		append([]byte("t/n/"), 5, 0, 0, 0, 0, 0, 0, 0, 3),
		[]byte("t/s"), []byte("z/dev1"),
	}
	for _, k := range keys {
		_, end, err := keySpaces(k)
		if err != nil {
			t.Fatalf("keySpaces(%q): %v", k, err)
		}
		if bytes.Compare(end, k) <= 0 {
			t.Errorf("keySpaces(%q) ends at %q, not after the key", k, end)
		}
		for _, o := range keys {
			in := bytes.Compare(o, k) >= 0 && bytes.Compare(o, end) < 0
			if in && keySpaceOf(o) != keySpaceOf(k) && !bytes.Equal(k, []byte("t/s")) {
				t.Errorf("the span of %q (to %q) holds %q of another key space", k, end, o)
			}
		}
	}
}

// TestStoreTablesKeepToKeySpaces writes keys of several key spaces, as a
// block does, into a store opened as the node opens it, and checks that
// no table Pebble wrote holds keys of two of them.
func TestStoreTablesKeepToKeySpaces(t *testing.T) {
	db, err := openAppDB(t.TempDir(), slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for block := range uint64(4) {
		b := db.NewBatch()
		for i := range uint64(500) {
			idx := block*500 + i
			dev := fmt.Sprintf("dev%04d", idx%97)
			must(t, b.Set(binary.BigEndian.AppendUint64([]byte("t/l/"), idx), bytes.Repeat([]byte{1}, 200), nil))
			must(t, b.Set(binary.BigEndian.AppendUint64([]byte("t/n/\x00"), idx), bytes.Repeat([]byte{2}, 32), nil))
			must(t, b.Set(binary.BigEndian.AppendUint64([]byte("t/n/\x01"), idx/2), bytes.Repeat([]byte{3}, 32), nil))
			must(t, b.Set(binary.BigEndian.AppendUint64([]byte("s/"+dev), idx), []byte{4}, nil))
			must(t, b.Set([]byte("m/"+dev), binary.BigEndian.AppendUint64(nil, idx), nil))
		}
		must(t, b.Commit(pebble.Sync))
		must(t, db.Flush())
	}
	tables, err := db.SSTables()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, level := range tables {
		for _, tb := range level {
			n++
			lo, hi := tb.Smallest.UserKey, tb.Largest.UserKey
			if keySpaceOf(lo) != keySpaceOf(hi) {
				t.Errorf("table %s holds keys from %q to %q: two key spaces", tb.FileNum, lo, hi)
			}
		}
	}
	if n < 5 {
		t.Errorf("%d tables for 5 key spaces written: the store did not cut its tables by key space", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
