package app_test

import (
	"bytes"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/iotledger/iotledger/receipt"
)

func TestProofVerifies(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	type sent struct {
		seq uint64
		raw []byte
		key []byte
	}
	var all []sent
	for blk := 0; blk < 4; blk++ {
		var rs [][]byte
		for i := 0; i < 1+blk*2; i++ { // blocks of 1, 3, 5, 7 readings: odd tree sizes
			seq := uint64(len(all) + 1)
			r := c.reading(sensor, "", seq, c.nowMs())
			all = append(all, sent{seq, r, pub(sensor)})
			rs = append(rs, r)
		}
		c.send(rs...)
	}
	// After a rotation, the receipt binds the key the ledger verified with.
	c.mustOK(c.rotateTx(alice, id, meter, c.nonce(alice)))
	r := c.reading(meter, id, uint64(len(all)+1), c.nowMs())
	all = append(all, sent{uint64(len(all) + 1), r, pub(meter)})
	c.send(r)

	for _, s := range all {
		p, err := c.app.Reader().Proof(id, s.seq)
		if err != nil || p == nil {
			t.Fatalf("Proof(%s, %d) = %v, %v", id, s.seq, p, err)
		}
		if !bytes.Equal(p.Stored.Raw, s.raw) || !bytes.Equal(p.Stored.Key, s.key) || p.Stored.Seq != s.seq {
			t.Errorf("seq %d: stored reading (seq %d, key %x) is not what was sent (key %x)", s.seq, p.Stored.Seq, p.Stored.Key, s.key)
		}
		b := p.Block
		if b.Height != p.Stored.Height {
			t.Errorf("seq %d: proof against block %d, reading committed in %d", s.seq, b.Height, p.Stored.Height)
		}
		leaf := rfc6962.DefaultHasher.HashLeaf(receipt.Leaf(p.Stored.Key, p.Stored.Raw))
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, p.Stored.Index, b.LogSize, leaf, p.Path, b.LogRoot); err != nil {
			t.Errorf("seq %d: inclusion proof of index %d in size %d: %v", s.seq, p.Stored.Index, b.LogSize, err)
		}
		if got := receipt.AppHash(b.LogSize, b.LogRoot, b.StateDigest); !bytes.Equal(got, b.AppHash) || !bytes.Equal(b.AppHash, c.appHashes[b.Height]) {
			t.Errorf("seq %d: AppHash(size, root, digest) %x, block record %x, FinalizeBlock returned %x", s.seq, got, b.AppHash, c.appHashes[b.Height])
		}

		// The check can fail: a changed reading or a changed root is refused.
		forged := append([]byte(nil), p.Stored.Raw...)
		forged[len(forged)-1] ^= 1
		if proof.VerifyInclusion(rfc6962.DefaultHasher, p.Stored.Index, b.LogSize, rfc6962.DefaultHasher.HashLeaf(receipt.Leaf(p.Stored.Key, forged)), p.Path, b.LogRoot) == nil {
			t.Errorf("seq %d: proof verifies a changed reading", s.seq)
		}
	}
	if p, err := c.app.Reader().Proof(id, 1000); p != nil || err != nil {
		t.Errorf("Proof of an unknown seq = %v, %v; want nil, nil", p, err)
	}
}
