package testonly

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// ChangeReading flips one byte of the stored reading at log index (a byte
// of its signature, so the reading still decodes and names its device and
// seq) in the app store of a stopped node's home, as someone with the
// disk could.
func ChangeReading(t testing.TB, home string, index uint64) {
	t.Helper()
	dir := filepath.Join(home, "data", "iotledger.db")
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebble{t}})
	if err != nil {
		t.Fatalf("open %s (is the node stopped?): %v", dir, err)
	}
	key := binary.BigEndian.AppendUint64([]byte("t/l/"), index) // see package tlog's key layout
	v, closer, err := db.Get(key)
	if err != nil {
		db.Close()
		t.Fatalf("reading at log index %d: %v", index, err)
	}
	v = append([]byte(nil), v...)
	closer.Close()
	v[len(v)-3] ^= 0x40
	if err := db.Set(key, v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// quietPebble keeps pebble's recovery chatter out of test output.
type quietPebble struct{ t testing.TB }

func (quietPebble) Infof(string, ...any)                {}
func (q quietPebble) Errorf(format string, args ...any) { q.t.Logf("pebble: "+format, args...) }
func (q quietPebble) Fatalf(format string, args ...any) { q.t.Fatalf("pebble: "+format, args...) }
