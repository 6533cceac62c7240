package app_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/registry"
)

// headers is a HeaderAppHash that answers like the chain's block store:
// header h+1 carries the app hash FinalizeBlock returned for block h; the
// header after the last block does not exist yet.
func (c *testChain) headers() app.HeaderAppHash {
	return func(h int64) ([]byte, bool, error) {
		if h >= c.height {
			return nil, false, nil
		}
		return c.appHashes[h], true, nil
	}
}

func (c *testChain) audit() *app.AuditReport {
	c.t.Helper()
	r, err := c.app.Audit(app.GenesisDigest(c.chainID, c.genesis), c.headers())
	if err != nil {
		c.t.Fatalf("Audit: %v", err)
	}
	return r
}

// tamper closes the app, changes the value at key with change, and reopens.
func (c *testChain) tamper(key []byte, change func([]byte)) {
	c.t.Helper()
	c.close()
	db, err := pebble.Open(c.dir, &pebble.Options{})
	if err != nil {
		c.t.Fatal(err)
	}
	v, closer, err := db.Get(key)
	if err != nil {
		c.t.Fatalf("tamper: get %q: %v", key, err)
	}
	v = append([]byte(nil), v...)
	closer.Close()
	change(v)
	if err := db.Set(key, v, pebble.Sync); err != nil {
		c.t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		c.t.Fatal(err)
	}
	c.open()
}

// auditedChain runs the script blocks and two more blocks of readings.
func auditedChain(t *testing.T) *testChain {
	c := newChain(t)
	for _, txs := range scriptBlocks(c) {
		c.block(txs...)
	}
	c.register(alice, key(20))
	c.send(c.reading(key(20), "", 1, c.nowMs()), c.reading(key(20), "", 2, c.nowMs()))
	return c
}

func TestAuditCleanChain(t *testing.T) {
	c := auditedChain(t)
	r := c.audit()
	for _, f := range r.Findings {
		t.Errorf("finding on a clean chain: %s", f)
	}
	if r.Blocks != c.height || r.Headers != c.height-1 || r.Leaves != c.app.Log().Size() {
		t.Errorf("report: %d blocks, %d headers, %d leaves; want %d, %d, %d", r.Blocks, r.Headers, r.Leaves, c.height, c.height-1, c.app.Log().Size())
	}
}

func TestAuditFindsChangedReading(t *testing.T) {
	c := auditedChain(t)
	// Leaf 3 is the first reading of block 4 (block 2 appended leaves 0-2).
	const leaf = 3
	const height = 4
	if b, _ := c.app.Block(height); b == nil || b.LogSize <= leaf {
		t.Fatalf("block %d does not hold leaf %d: %+v", height, leaf, b)
	}
	c.tamper(binary.BigEndian.AppendUint64([]byte("t/l/"), leaf), func(v []byte) { v[len(v)-3] ^= 0x40 })

	r := c.audit()
	if len(r.Findings) != 1 {
		t.Fatalf("findings %v, want one", r.Findings)
	}
	f := r.Findings[0]
	if f.Leaf == nil || *f.Leaf != leaf || f.Height != height {
		t.Errorf("finding %q: leaf %v, height %d; want leaf %d of block %d", f, f.Leaf, f.Height, leaf, height)
	}
	if s := f.String(); !strings.Contains(s, "block 4") || !strings.Contains(s, "log index 3") {
		t.Errorf("finding %q does not say where", s)
	}
}

func TestAuditFindsChangedDevice(t *testing.T) {
	c := auditedChain(t)
	id := deviceID(meter) // registered in block 1, revoked in block 5
	c.tamper(registry.DeviceKey(id), func(v []byte) { v[len(v)-1] ^= 0x01 })

	r := c.audit()
	if len(r.Findings) != 1 {
		t.Fatalf("findings %v, want one", r.Findings)
	}
	f := r.Findings[0]
	if f.Height != 5 || !strings.Contains(f.What, "d/"+id) {
		t.Errorf("finding %q: height %d; want block 5 and the record d/%s", f, f.Height, id)
	}
}

func TestAuditFindsWrongHeader(t *testing.T) {
	c := auditedChain(t)
	bad := append([]byte(nil), c.appHashes[2]...)
	bad[0] ^= 1
	c.appHashes[2] = bad // as if header 3 carried another app hash
	r := c.audit()
	if len(r.Findings) != 1 || r.Findings[0].Height != 2 || !strings.Contains(r.Findings[0].What, "header 3") {
		t.Errorf("findings %v, want one about block 2 and header 3", r.Findings)
	}
}
