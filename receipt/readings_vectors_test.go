package receipt_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/testonly/receiptfix"
	"github.com/iotledger/iotledger/receipt"
)

// Readings built by hand, each signed by its device key and committed in
// a receipt that is real in every other part (the log rebuilt around it,
// the header's app hash over that log, signed by the validators): the
// verdict depends on how the reading decodes only. They pin the rules of
// package reading for other verifiers: which payloads, protected headers
// and data values a reading may hold.

// readingKey signs the hand-built readings.
var readingKey = receiptfix.DeviceKey("hand-built readings")

// cborOf is the deterministic CBOR of v.
func cborOf(v any) []byte { return must(dcbor.EncMode.Marshal(v)) }

// coseSign1 signs payload under protected with key: a COSE_Sign1 in the
// core deterministic encoding with an empty unprotected header.
func coseSign1(key ed25519.PrivateKey, protected, payload []byte) []byte {
	sig := ed25519.Sign(key, cborOf([]any{"Signature1", protected, []byte{}, payload}))
	raw := []byte{0xd2, 0x84}
	raw = dcbor.AppendBytes(raw, protected)
	raw = append(raw, 0xa0)
	raw = dcbor.AppendBytes(raw, payload)
	return dcbor.AppendBytes(raw, sig)
}

// withReading returns std's receipt for raw, signed by key: the log with
// raw's leaf at index 5, the header's app hash over it, signed.
func withReading(t *testing.T, key ed25519.PrivateKey, raw []byte) *receipt.Receipt {
	t.Helper()
	pub := key.Public().(ed25519.PublicKey)
	tree := testonly.New(rfc6962.DefaultHasher)
	for i, l := range std.Leaves {
		if i == 5 {
			l = receipt.Leaf(pub, raw)
		}
		tree.AppendData(l)
	}
	r := clone(std.Receipt)
	r.Reading, r.DeviceKey, r.LogRoot = raw, pub, tree.Hash()
	r.Proof = must(tree.InclusionProof(5, uint64(len(std.Leaves))))
	h := *std.Header.Header
	h.AppHash = receipt.AppHash(r.TreeSize, r.LogRoot, r.StateDigest)
	sh, err := std.Sign(&h, std.Genesis.ChainID, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.SignedHeader = receiptfix.JSON(sh)
	return r
}

// readingVectors are receipts around hand-built readings, as forgedVector.
func readingVectors() []forgedVector {
	dev := address.Device(readingKey.Public().(ed25519.PublicKey))
	prot := cborOf(map[int]any{1: -8, 4: []byte(dev)})
	// payload builds a payload map from its CBOR items, keys and values
	// given as encoded bytes, in the order given.
	payload := func(items ...[]byte) []byte {
		out := dcbor.AppendHead(nil, 5, uint64(len(items)/2))
		for _, it := range items {
			out = append(out, it...)
		}
		return out
	}
	k := func(i int) []byte { return cborOf(i) }
	devItem, seqItem, timeItem := cborOf(dev), cborOf(105), cborOf(int64(1748779242000))
	data := func(m map[string]any) []byte { return cborOf(m) }
	std4 := func(d []byte) []byte { return payload(k(1), devItem, k(2), seqItem, k(3), timeItem, k(4), d) }
	signed := func(p []byte) func(t *testing.T) *receipt.Receipt {
		return func(t *testing.T) *receipt.Receipt { return withReading(t, readingKey, coseSign1(readingKey, prot, p)) }
	}
	withProt := func(pr, p []byte) func(t *testing.T) *receipt.Receipt {
		return func(t *testing.T) *receipt.Receipt { return withReading(t, readingKey, coseSign1(readingKey, pr, p)) }
	}
	many := map[string]any{}
	for i := range 65 {
		many[string(rune('a'+i%26))+string(rune('a'+i/26))] = i
	}
	sig := receipt.CheckDeviceSignature
	return []forgedVector{
		{"reading-good-data-of-every-kind", verdictOK, signed(std4(data(map[string]any{
			"int": -7, "uint": uint64(1<<64 - 1), "float": 21.5, "text": "héllo", "bool": true,
		})))},
		{"reading-good-data-null", verdictOK, signed(std4(cborOf(nil)))},
		{"reading-good-data-empty", verdictOK, signed(std4(data(map[string]any{})))},
		{"reading-good-keys-in-another-order", verdictOK, signed(payload(k(4), data(map[string]any{"x": 1}), k(2), seqItem, k(1), devItem, k(3), timeItem))},
		{"reading-good-integers-not-in-shortest-form", verdictOK, signed(payload(k(1), devItem, k(2), []byte{0x1b, 0, 0, 0, 0, 0, 0, 0, 105}, k(3), timeItem, k(4), cborOf(nil)))},
		{"reading-good-float-of-16-bits", verdictOK, signed(std4([]byte{0xa1, 0x61, 'x', 0xf9, 0x3c, 0x00}))},
		{"reading-good-negative-time", verdictOK, signed(payload(k(1), devItem, k(2), seqItem, k(3), cborOf(-5), k(4), cborOf(nil)))},
		{"reading-good-protected-header-with-content-type", verdictOK, withProt(cborOf(map[int]any{1: -8, 3: 60, 4: []byte(dev)}), std4(cborOf(nil)))},
		{"reading-data-nested-map", sig, signed(std4(data(map[string]any{"x": map[string]any{"y": 1}})))},
		{"reading-data-array", sig, signed(std4(data(map[string]any{"x": []any{1}})))},
		{"reading-data-bytes", sig, signed(std4(data(map[string]any{"x": []byte{1}})))},
		{"reading-data-null-value", sig, signed(std4([]byte{0xa1, 0x61, 'x', 0xf6}))},
		{"reading-data-undefined-value", sig, signed(std4([]byte{0xa1, 0x61, 'x', 0xf7}))},
		{"reading-data-nan", sig, signed(std4([]byte{0xa1, 0x61, 'x', 0xf9, 0x7e, 0x00}))},
		{"reading-data-infinity", sig, signed(std4([]byte{0xa1, 0x61, 'x', 0xf9, 0x7c, 0x00}))},
		{"reading-data-65-fields", sig, signed(std4(data(many)))},
		{"reading-data-empty-name", sig, signed(std4(data(map[string]any{"": 1})))},
		{"reading-data-name-of-65-bytes", sig, signed(std4(data(map[string]any{string(bytes.Repeat([]byte("n"), 65)): 1})))},
		{"reading-data-integer-key", sig, signed(std4([]byte{0xa1, 0x01, 0x01}))},
		{"reading-data-negative-beyond-int64", sig, signed(std4([]byte{0xa1, 0x61, 'x', 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))},
		{"reading-data-key-twice", sig, signed(std4([]byte{0xa2, 0x61, 'x', 0x01, 0x61, 'x', 0x02}))},
		{"reading-data-tagged-value", sig, signed(std4([]byte{0xa1, 0x61, 'x', 0xc1, 0x01}))},
		{"reading-data-indefinite-map", sig, signed(std4([]byte{0xbf, 0x61, 'x', 0x01, 0xff}))},
		{"reading-payload-key-5", sig, signed(payload(k(1), devItem, k(2), seqItem, k(3), timeItem, k(4), cborOf(nil), k(5), cborOf(1)))},
		{"reading-payload-text-key", sig, signed(payload(cborOf("1"), devItem, k(2), seqItem, k(3), timeItem, k(4), cborOf(nil)))},
		{"reading-payload-without-data", sig, signed(payload(k(1), devItem, k(2), seqItem, k(3), timeItem))},
		{"reading-payload-seq-null", sig, signed(payload(k(1), devItem, k(2), cborOf(nil), k(3), timeItem, k(4), cborOf(nil)))},
		{"reading-payload-negative-seq", sig, signed(payload(k(1), devItem, k(2), cborOf(-1), k(3), timeItem, k(4), cborOf(nil)))},
		{"reading-payload-time-float", sig, signed(payload(k(1), devItem, k(2), seqItem, k(3), cborOf(1.5), k(4), cborOf(nil)))},
		{"reading-payload-time-beyond-int64", sig, signed(payload(k(1), devItem, k(2), seqItem, k(3), cborOf(uint64(1<<63)), k(4), cborOf(nil)))},
		{"reading-payload-device-as-bytes", sig, signed(payload(k(1), cborOf([]byte(dev)), k(2), seqItem, k(3), timeItem, k(4), cborOf(nil)))},
		{"reading-payload-device-upper-case", sig, signed(payload(k(1), cborOf(string(bytes.ToUpper([]byte(dev)))), k(2), seqItem, k(3), timeItem, k(4), cborOf(nil)))},
		{"reading-payload-key-twice", sig, signed(payload(k(1), devItem, k(2), seqItem, k(3), timeItem, k(4), cborOf(nil), k(2), seqItem))},
		{"reading-payload-array", sig, signed(cborOf([]any{dev, 105, 1748779242000, nil}))},
		{"reading-payload-trailing-byte", sig, signed(append(std4(cborOf(nil)), 0x00))},
		{"reading-kid-of-another-device", sig, withProt(cborOf(map[int]any{1: -8, 4: []byte(address.Device(std.Keys[0].Public().(ed25519.PublicKey)))}), std4(cborOf(nil)))},
		{"reading-kid-as-text", sig, withProt(cborOf(map[int]any{1: -8, 4: dev}), std4(cborOf(nil)))},
		{"reading-alg-as-text", sig, withProt(cborOf(map[int]any{1: "EdDSA", 4: []byte(dev)}), std4(cborOf(nil)))},
		{"reading-alg-es256", sig, withProt(cborOf(map[int]any{1: -7, 4: []byte(dev)}), std4(cborOf(nil)))},
		{"reading-protected-header-empty", sig, withProt(nil, std4(cborOf(nil)))},
		{"reading-protected-header-with-crit", sig, withProt(cborOf(map[int]any{1: -8, 2: []any{3}, 3: 60, 4: []byte(dev)}), std4(cborOf(nil)))},
		{"reading-protected-header-not-a-map", sig, withProt(cborOf([]any{-8}), std4(cborOf(nil)))},
	}
}

// TestReadingVectors checks the hand-built readings directly (the same
// receipts are written by TestVerdictVectors).
func TestReadingVectors(t *testing.T) {
	for _, v := range readingVectors() {
		t.Run(v.name, func(t *testing.T) {
			if got := verdictOf(must(v.build(t).Marshal()), std.Genesis); got != v.want {
				t.Errorf("verdict %q, want %q", got, v.want)
			}
		})
	}
}
