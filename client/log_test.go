package client_test

import (
	"bytes"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
)

// TestLogRoutes follows the log as a monitor would: the receipt's leaf,
// found by its index, is in the receipt's root, and the log of the
// receipt's size is consistent with the whole committed log.
func TestLogRoutes(t *testing.T) {
	c, l, _ := newNode(t, api.Options{})
	r := l.Fixture.Receipt
	e, err := c.LogEntry(t.Context(), r.LeafIndex)
	if err != nil {
		t.Fatal(err)
	}
	if e.Device != apitest.DeviceID(2) || e.Seq != 105 {
		t.Errorf("entry %d: device %s seq %d, want the receipt's reading (%s, 105)", r.LeafIndex, e.Device, e.Seq, apitest.DeviceID(2))
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, r.LeafIndex, r.TreeSize, e.LeafHash, r.Proof, r.LogRoot); err != nil {
		t.Errorf("the receipt's proof does not hold the entry's leaf hash: %v", err)
	}
	p, err := c.LogConsistency(t.Context(), r.TreeSize, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.FromRoot, r.LogRoot) || p.To <= p.From {
		t.Errorf("consistency from %d: from_root %x to %d, want the receipt's root %x and a larger size", r.TreeSize, p.FromRoot, p.To, r.LogRoot)
	}
	hashes := make([][]byte, len(p.Proof))
	for i, h := range p.Proof {
		hashes[i] = h
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, p.From, p.To, hashes, p.FromRoot, p.ToRoot); err != nil {
		t.Errorf("consistency %d to %d: %v", p.From, p.To, err)
	}
	_, err = c.LogEntry(t.Context(), p.To)
	wantError(t, err, 404, api.KindNotFound, client.ErrNotFound)
}
