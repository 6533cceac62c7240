package tx

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeBatchFastTakesNewBatch: the batches NewBatch makes, the common
// case, go through the fast path at every head size, and it gives what the
// reference path gives.
func TestDecodeBatchFastTakesNewBatch(t *testing.T) {
	for _, shape := range []struct{ readings, size int }{
		{1, 0}, {1, 23}, {1, 24}, {3, 255}, {2, 256}, {23, 10}, {24, 10}, {300, 5}, {2, 70000},
	} {
		rs := make([][]byte, shape.readings)
		for i := range rs {
			rs[i] = bytes.Repeat([]byte{byte(i)}, shape.size)
		}
		raw := NewBatch(rs)
		got, ok := decodeBatchFast(raw)
		if !ok {
			t.Fatalf("%d readings of %d bytes: decodeBatchFast refused what NewBatch made", shape.readings, shape.size)
		}
		checkSameBatch(t, raw, got)
	}
}

// TestDecodeBatchFastRefuses: inputs near a batch that the fast path leaves
// to the reference path (which refuses them all).
func TestDecodeBatchFastRefuses(t *testing.T) {
	one := NewBatch([][]byte{{0xaa, 0xbb}}) // 82 01 81 42 aa bb
	for name, raw := range map[string][]byte{
		"empty":                    nil,
		"empty batch":              NewBatch(nil),
		"signed kind":              {0x82, 0x02, 0x81, 0x42, 0xaa, 0xbb},
		"trailing byte":            append(bytes.Clone(one), 0),
		"truncated":                one[:len(one)-1],
		"array length in 1 byte":   {0x82, 0x01, 0x98, 0x01, 0x42, 0xaa, 0xbb},
		"bstr length in 1 byte":    {0x82, 0x01, 0x81, 0x58, 0x02, 0xaa, 0xbb},
		"bstr length in 2 bytes":   append([]byte{0x82, 0x01, 0x81, 0x59, 0x00, 0x02}, 0xaa, 0xbb),
		"indefinite array":         {0x82, 0x01, 0x9f, 0x42, 0xaa, 0xbb, 0xff},
		"indefinite bstr":          {0x82, 0x01, 0x81, 0x5f, 0x42, 0xaa, 0xbb, 0xff},
		"text, not bytes":          {0x82, 0x01, 0x81, 0x62, 0xaa, 0xbb},
		"more readings than bytes": {0x82, 0x01, 0x9a, 0xff, 0xff, 0xff, 0xff},
		"length past the end":      {0x82, 0x01, 0x81, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		t.Run(name, func(t *testing.T) {
			if rs, ok := decodeBatchFast(raw); ok {
				t.Fatalf("decodeBatchFast(% x) = %d readings, want a refusal", raw, len(rs))
			}
			if _, err := decodeSlow(raw); err == nil {
				t.Fatalf("decodeSlow(% x) accepts it: the cases are meant to be invalid", raw)
			}
		})
	}
}

// checkSameBatch fails unless decodeSlow accepts raw with readings fast.
func checkSameBatch(t *testing.T, raw []byte, fast [][]byte) {
	t.Helper()
	slow, err := decodeSlow(raw)
	if err != nil {
		t.Fatalf("decodeBatchFast accepts what decodeSlow refuses (%v): % x", err, raw[:min(len(raw), 64)])
	}
	if slow.Kind != KindBatch {
		t.Fatalf("decodeSlow decodes kind %d, decodeBatchFast a batch", slow.Kind)
	}
	if d := cmp.Diff(slow.Readings, fast); d != "" {
		t.Fatalf("the paths split the batch differently (-slow +fast):\n%s", d)
	}
}

// FuzzDecodeBatchFast: whatever the fast path accepts, the reference path
// accepts too, with the same readings; so the fast path changes speed only.
// Its corpus is FuzzDecode's seeds.
func FuzzDecodeBatchFast(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		if fast, ok := decodeBatchFast(raw); ok {
			checkSameBatch(t, raw, fast)
		}
	})
}

// BenchmarkDecodeBatch: a batch of 500 readings of 220 bytes, as ingest
// makes them, through Decode (the fast path) and the reference path.
func BenchmarkDecodeBatch(b *testing.B) {
	rs := make([][]byte, 500)
	for i := range rs {
		rs[i] = bytes.Repeat([]byte{byte(i)}, 220)
	}
	raw := NewBatch(rs)
	for name, decode := range map[string]func([]byte) (*Tx, error){"fast": Decode, "reference": decodeSlow} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
