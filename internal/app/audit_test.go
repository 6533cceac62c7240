package app_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/iotledger/iotledger/internal/audit"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/state"
)

// headers is a HeaderAppHash that answers like the chain's block store:
// header h+1 carries the app hash FinalizeBlock returned for block h; the
// header after the last block does not exist yet.
func (c *testChain) headers() audit.HeaderAppHash {
	return func(h int64) ([]byte, bool, error) {
		if h >= c.height {
			return nil, false, nil
		}
		return c.appHashes[h], true, nil
	}
}

func (c *testChain) audit() *audit.Report {
	c.t.Helper()
	r, err := audit.Full(c.t.Context(), c.app.Reader(), state.GenesisDigest(c.chainID, c.genesis), c.headers())
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
	if b, _ := c.app.Reader().Block(height); b == nil || b.LogSize <= leaf {
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
	// Leaf 3 is sensor's seq 5; the changed bytes still decode.
	if f.Device != deviceID(sensor) || f.Seq != 5 || !strings.Contains(f.String(), "(device "+deviceID(sensor)+", seq 5)") {
		t.Errorf("finding %q names device %q seq %d, want %s seq 5", f, f.Device, f.Seq, deviceID(sensor))
	}
}

func TestAuditNamesUndecodableReading(t *testing.T) {
	c := auditedChain(t)
	// Leaf 5 is key(20)'s seq 1, the first reading of block 7; cut its
	// bytes in half so they no longer decode: the (device, seq) index
	// still says whose it was.
	c.tamper(binary.BigEndian.AppendUint64([]byte("t/l/"), 5), func(v []byte) {
		for i := len(v) / 2; i < len(v); i++ {
			v[i] = 0
		}
	})
	r := c.audit()
	if len(r.Findings) != 1 {
		t.Fatalf("findings %v, want one", r.Findings)
	}
	if f := r.Findings[0]; f.Leaf == nil || *f.Leaf != 5 || f.Height != 7 || f.Device != deviceID(key(20)) || f.Seq != 1 {
		t.Errorf("finding %q (leaf %v, block %d, device %q, seq %d); want leaf 5 of block 7, device %s seq 1", f, f.Leaf, f.Height, f.Device, f.Seq, deviceID(key(20)))
	}
}

func TestAuditFromClean(t *testing.T) {
	c := auditedChain(t)
	for from := int64(1); from <= c.height; from++ {
		r, err := audit.From(t.Context(), c.app.Reader(), from, state.GenesisDigest(c.chainID, c.genesis), c.headers())
		if err != nil {
			t.Fatalf("AuditFrom(%d): %v", from, err)
		}
		for _, f := range r.Findings {
			t.Errorf("AuditFrom(%d): finding on a clean chain: %s", from, f)
		}
		var before uint64
		if from > 1 {
			b, _ := c.app.Reader().Block(from - 1)
			before = b.LogSize
		}
		// Headers: the blocks of the window but the last, and the block
		// before the window.
		wantHeaders := c.height - from
		if from > 1 {
			wantHeaders++
		}
		if r.From != from || r.Blocks != c.height-from+1 || r.Leaves != c.app.Log().Size()-before || r.Headers != wantHeaders {
			t.Errorf("AuditFrom(%d): from %d, %d blocks, %d leaves, %d headers; want %d, %d, %d, %d",
				from, r.From, r.Blocks, r.Leaves, r.Headers, from, c.height-from+1, c.app.Log().Size()-before, wantHeaders)
		}
	}
}

func TestAuditFromWindow(t *testing.T) {
	leafKey := func(i uint64) []byte { return binary.BigEndian.AppendUint64([]byte("t/l/"), i) }
	// Leaf 3 is in block 4; the meter's device record was last written by
	// block 5; block 7 holds leaves 5 and 6.
	tests := []struct {
		name   string
		tamper func(c *testChain)
		from   int64
		want   string // in the one finding; "" for none
	}{
		{"reading in the window", func(c *testChain) { c.tamper(leafKey(3), func(v []byte) { v[len(v)-3] ^= 0x40 }) }, 4, "block 4, reading at log index 3 (device " + deviceID(sensor) + ", seq 5): stored reading was changed"},
		{"reading before the window is not read", func(c *testChain) { c.tamper(leafKey(3), func(v []byte) { v[len(v)-3] ^= 0x40 }) }, 5, ""},
		{"leaf hash under the window's border", func(c *testChain) {
			c.tamper(append(append([]byte("t/n/"), 0), binary.BigEndian.AppendUint64(nil, 1)...), func(v []byte) { v[0] ^= 1 })
		}, 5, "block 4: app hash recomputed from the stored log border and state digest"},
		{"state digest of the block before the window", func(c *testChain) {
			c.tamper(state.BlockKey(4), func(v []byte) {
				var b state.Block
				if err := dcbor.DecMode.Unmarshal(v, &b); err != nil {
					c.t.Fatal(err)
				}
				b.StateDigest[0] ^= 1
				enc, err := dcbor.EncMode.Marshal(&b)
				if err != nil || len(enc) != len(v) {
					c.t.Fatalf("re-encode: %v, %d bytes for %d", err, len(enc), len(v))
				}
				copy(v, enc)
			})
		}, 5, "block 4: app hash recomputed from the stored log border and state digest"},
		{"record the window wrote", func(c *testChain) {
			c.tamper(state.DeviceKey(deviceID(meter)), func(v []byte) { v[len(v)-1] ^= 0x01 })
		}, 5, "differs from what block 5 wrote"},
		{"record written before the window is not read", func(c *testChain) {
			c.tamper(state.DeviceKey(deviceID(meter)), func(v []byte) { v[len(v)-1] ^= 0x01 })
		}, 6, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := auditedChain(t)
			tt.tamper(c)
			r, err := audit.From(t.Context(), c.app.Reader(), tt.from, state.GenesisDigest(c.chainID, c.genesis), c.headers())
			if err != nil {
				t.Fatalf("AuditFrom(%d): %v", tt.from, err)
			}
			switch {
			case tt.want == "" && len(r.Findings) > 0:
				t.Errorf("findings %v, want none", r.Findings)
			case tt.want != "" && (len(r.Findings) == 0 || !strings.Contains(r.Findings[0].String(), tt.want)):
				t.Errorf("findings %v, want the first to say %q", r.Findings, tt.want)
			}
		})
	}
}

func TestAuditFindsChangedDevice(t *testing.T) {
	c := auditedChain(t)
	id := deviceID(meter) // registered in block 1, revoked in block 5
	c.tamper(state.DeviceKey(id), func(v []byte) { v[len(v)-1] ^= 0x01 })

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

func TestWindow(t *testing.T) {
	c := auditedChain(t) // 7 blocks; log sizes 0, 3, 3, 4, 5, 5, 7
	tests := []struct {
		readings uint64
		blocks   int64
		want     int64
	}{
		{100, 100, 1}, // everything
		{7, 100, 1},
		{6, 100, 2}, // leaf 1 is in block 2
		{3, 100, 5}, // leaves 4-6: leaf 4 is in block 5
		{2, 100, 7},
		{0, 100, 7}, // the last block at least
		{100, 3, 5}, // at most 3 blocks
		{2, 3, 7},
		{100, 0, 7},
	}
	for _, tt := range tests {
		got, err := audit.Window(c.app.Reader(), tt.readings, tt.blocks)
		if err != nil {
			t.Fatalf("Window(%d, %d): %v", tt.readings, tt.blocks, err)
		}
		if got != tt.want {
			t.Errorf("Window(%d readings, %d blocks) = %d, want %d", tt.readings, tt.blocks, got, tt.want)
		}
	}
}
