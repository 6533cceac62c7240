package api_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/verdict"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%q is not hex: %v", s, err)
	}
	return b
}

// TestLogEntries reads each reading by its log index; its leaf hash is
// included, by merkle's verifier, in the root the consistency route gives
// for the whole log.
func TestLogEntries(t *testing.T) {
	e := newEnv(t, api.Options{})
	const size = 7
	var whole apiwire.LogConsistency
	e.get(t, fmt.Sprintf("/v1/log/consistency?from=0&to=%d", size)).ok(t, &whole)
	// merkle's reference tree of the stored readings' leaves.
	ref := testonly.New(rfc6962.DefaultHasher)
	leaves := make([][]byte, size)
	for _, ss := range e.ledger.Stored {
		for _, s := range ss {
			leaves[s.Index] = receipt.Leaf(s.Key, s.Raw)
		}
	}
	ref.AppendData(leaves...)
	if !bytes.Equal(whole.ToRoot, ref.HashAt(size)) {
		t.Fatalf("root of %d: %s, reference %x", size, whole.ToRoot, ref.HashAt(size))
	}
	for i := range uint64(size) {
		var got apiwire.LogEntry
		e.get(t, fmt.Sprintf("/v1/log/entries/%d", i)).ok(t, &got)
		var want *apiwire.LogEntry
		for _, ss := range e.ledger.Stored {
			for _, s := range ss {
				if s.Index == i {
					want = &apiwire.LogEntry{Index: i, Device: s.Device, Seq: s.Seq, Height: s.Height,
						LeafHash: receipt.LeafHash(receipt.Leaf(s.Key, s.Raw)), Receipt: verdict.ReceiptPath(s.Device, s.Seq)}
				}
			}
		}
		if want == nil || !reflect.DeepEqual(got, *want) {
			t.Errorf("entry %d: %+v, want %+v", i, got, want)
			continue
		}
		p, err := ref.InclusionProof(i, size)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, size, got.LeafHash, p, whole.ToRoot); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
	}
	// The first receipt's proof holds leaf 0 in the tree of six.
	r := e.ledger.Fixture.Receipt
	var first apiwire.LogEntry
	e.get(t, fmt.Sprintf("/v1/log/entries/%d", r.LeafIndex)).ok(t, &first)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, r.LeafIndex, r.TreeSize, first.LeafHash, r.Proof, r.LogRoot); err != nil {
		t.Errorf("the receipt of leaf %d does not prove the route's leaf hash: %v", r.LeafIndex, err)
	}
	for _, c := range []struct {
		path   string
		status int
		kind   string
		says   string
	}{
		{"/v1/log/entries/7", 404, api.KindNotFound, "log index 7 is past the committed log of 7 readings (indices 0 to 6)"},
		{"/v1/log/entries/18446744073709551615", 404, api.KindNotFound, "past the committed log"},
		{"/v1/log/entries/-1", 400, api.KindInvalidParameter, `index "-1" is not a log index`},
		{"/v1/log/entries/+1", 400, api.KindInvalidParameter, `index "+1" is not a log index`},
		{"/v1/log/entries/x", 400, api.KindInvalidParameter, `give a decimal number from 0`},
		{"/v1/log/entries/18446744073709551616", 400, api.KindInvalidParameter, "is not a log index"},
	} {
		p := e.get(t, c.path).problem(t, c.status, c.kind)
		if !strings.Contains(p.Detail, c.says) {
			t.Errorf("%s: detail %q does not say %q", c.path, p.Detail, c.says)
		}
	}
}

// TestLogConsistency checks the proof between sizes of the log, from 0
// and from == to included, with merkle's verifier, and refuses what is
// not a pair of committed sizes.
func TestLogConsistency(t *testing.T) {
	e := newEnv(t, api.Options{})
	const size = 7
	for from := uint64(0); from <= size; from++ {
		for to := from; to <= size; to++ {
			var c apiwire.LogConsistency
			e.get(t, fmt.Sprintf("/v1/log/consistency?from=%d&to=%d", from, to)).ok(t, &c)
			if c.From != from || c.To != to {
				t.Errorf("%d to %d: answer for %d to %d", from, to, c.From, c.To)
			}
			var hashes [][]byte
			for _, h := range c.Proof {
				hashes = append(hashes, h)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, from, to, hashes, c.FromRoot, c.ToRoot); err != nil {
				t.Errorf("%d to %d: %v", from, to, err)
			}
		}
	}
	// The root of the first six leaves is the one their receipts prove to.
	var c apiwire.LogConsistency
	e.get(t, "/v1/log/consistency?from=6").ok(t, &c)
	if c.To != size || !bytes.Equal(c.FromRoot, e.ledger.Fixture.Receipt.LogRoot) {
		t.Errorf("from 6 to now: to %d, from_root %s; want to %d, the receipts' log root %x", c.To, c.FromRoot, size, e.ledger.Fixture.Receipt.LogRoot)
	}
	if len(c.Proof) == 0 {
		t.Error("6 to 7: empty proof")
	}
	var empty apiwire.LogConsistency
	e.get(t, "/v1/log/consistency?from=0&to=0").ok(t, &empty)
	if hex.EncodeToString(empty.FromRoot) != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" || len(empty.Proof) != 0 || empty.Proof == nil {
		t.Errorf("0 to 0: %+v; want the empty tree's root (SHA-256 of nothing) and an empty proof list", empty)
	}
	for _, c := range []struct {
		query string
		says  string
	}{
		{"from=5&to=4", "from=5 is larger than to=4"},
		{"from=0&to=8", "to=8 is past the committed log of 7 readings"},
		{"to=3", "query parameter from is missing"},
		{"from=-1&to=3", `from "-1" is not a log size`},
		{"from=1&to=x", `to "x" is not a log size`},
		{"from=&to=3", `from "" is not a log size`},
	} {
		p := e.get(t, "/v1/log/consistency?"+c.query).problem(t, 400, api.KindInvalidParameter)
		if !strings.Contains(p.Detail, c.says) {
			t.Errorf("%s: detail %q does not say %q", c.query, p.Detail, c.says)
		}
	}
}
