package snapshot_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/snapshot"
)

// store returns a Pebble store holding n keys k00000... with values of
// size bytes.
func store(t *testing.T, n, size int) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), &pebble.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := db.NewBatch()
	for i := range n {
		b.Set([]byte(fmt.Sprintf("k%05d", i)), bytes.Repeat([]byte{byte(i)}, size), nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	return db
}

type quiet struct{}

func (quiet) Infof(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func create(t *testing.T, s *snapshot.Store, db *pebble.DB, height int64) *snapshot.Info {
	t.Helper()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	in, err := s.Create(t.Context(), height, bytes.Repeat([]byte{7}, 32), "chain", it)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestCreateChunks: every key and value comes back from the chunks, in
// order, each chunk matches its hash in the metadata, and none is much
// larger than the chunk size.
func TestCreateChunks(t *testing.T) {
	db := store(t, 500, 100)
	s, err := snapshot.Open(filepath.Join(t.TempDir(), "snaps"))
	if err != nil {
		t.Fatal(err)
	}
	s.ChunkSize = 4096
	in := create(t, s, db, 9)
	md, err := snapshot.DecodeMetadata(in.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snapshot.Hash(in.Metadata), in.Hash) || int(in.Chunks) != len(md.Chunks) || in.Chunks < 10 || md.Keys != 500 {
		t.Fatalf("info: %d chunks, %d keys, hash %x; metadata %d chunks", in.Chunks, md.Keys, in.Hash, len(md.Chunks))
	}
	var got []string
	for i := range in.Chunks {
		c, err := s.Chunk(9, snapshot.Format, i)
		if err != nil {
			t.Fatal(err)
		}
		if h := snapshot.Hash(c); !bytes.Equal(h, md.Chunks[i]) {
			t.Errorf("chunk %d hashes to %x, metadata %x", i, h, md.Chunks[i])
		}
		if len(c) > 4096+200 {
			t.Errorf("chunk %d is %d bytes, cut at 4096", i, len(c))
		}
		if err := snapshot.Decode(c, func(k, v []byte) error {
			if !bytes.Equal(v, bytes.Repeat([]byte{byte(len(got))}, 100)) {
				t.Errorf("value of %s changed", k)
			}
			got = append(got, string(k))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 500 || got[0] != "k00000" || got[499] != "k00499" {
		t.Errorf("keys back: %d, first %q, last %q", len(got), got[0], got[len(got)-1])
	}
	if _, err := s.Chunk(9, snapshot.Format, in.Chunks); !errors.Is(err, snapshot.ErrNotFound) {
		t.Errorf("chunk past the end: %v, want ErrNotFound", err)
	}
}

func TestListPruneOpen(t *testing.T) {
	db := store(t, 10, 10)
	dir := filepath.Join(t.TempDir(), "snaps")
	s, err := snapshot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []int64{5, 10, 15} {
		create(t, s, db, h)
	}
	// A snapshot whose metadata is damaged is not listed; a tmp- folder
	// (a snapshot cut short by a crash) is removed at Open.
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000010-1", "metadata"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp-123"), 0o755); err != nil {
		t.Fatal(err)
	}
	if s, err = snapshot.Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tmp-123")); !os.IsNotExist(err) {
		t.Errorf("tmp-123 still there after Open: %v", err)
	}
	heights := func() []int64 {
		l, err := s.List()
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, in := range l {
			out = append(out, in.Height)
		}
		return out
	}
	if d := cmp.Diff(heights(), []int64{15, 5}); d != "" {
		t.Errorf("listed (-got +want):\n%s", d)
	}
	if err := s.Prune(1); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(heights(), []int64{15}); d != "" {
		t.Errorf("after Prune(1) (-got +want):\n%s", d)
	}
}

func TestDecodeMalformed(t *testing.T) {
	rec := func(k, v string) []byte {
		b := binary.AppendUvarint(nil, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...)
	}
	good := rec("a", "1")
	for name, c := range map[string][]byte{
		"key longer than the chunk":   {0x05, 'a'},
		"value longer than the chunk": append(rec("a", "1")[:3], 0x09, 'x'),
		"no value length":             {0x01, 'a'},
		"empty key":                   rec("", "1"),
		"overlong varint":             append(bytes.Repeat([]byte{0xff}, 10), 0x01),
	} {
		if err := snapshot.Decode(c, func(k, v []byte) error { return nil }); !errors.Is(err, snapshot.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	n := 0
	if err := snapshot.Decode(append(good, rec("b", "")...), func(k, v []byte) error { n++; return nil }); err != nil || n != 2 {
		t.Errorf("two good records: %d, %v", n, err)
	}
	for name, md := range map[string][]byte{"junk": []byte("junk"), "empty map": {0xa0}} {
		if _, err := snapshot.DecodeMetadata(md); !errors.Is(err, snapshot.ErrMalformed) {
			t.Errorf("metadata %s: %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzDecode: chunks and metadata come from peers. Decoding never panics,
// and a chunk that decodes re-encodes to itself.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x01, 'a', 0x01, '1'})
	f.Add([]byte{0x05, 'a'})
	f.Add((&snapshot.Metadata{Height: 3, AppHash: bytes.Repeat([]byte{1}, 32), ChainID: "c", Chunks: [][]byte{bytes.Repeat([]byte{2}, 32)}}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		snapshot.DecodeMetadata(b)
		var out []byte
		if err := snapshot.Decode(b, func(k, v []byte) error {
			out = binary.AppendUvarint(out, uint64(len(k)))
			out = append(out, k...)
			out = binary.AppendUvarint(out, uint64(len(v)))
			out = append(out, v...)
			return nil
		}); err == nil && !bytes.Equal(out, b) {
			// Non-minimal varints decode but re-encode shorter: only
			// minimal framing is what Create writes.
			if len(out) >= len(b) {
				t.Errorf("decoded chunk re-encodes to %x, was %x", out, b)
			}
		}
	})
}
