package receipt_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/bits"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/iotledger/iotledger/receipt"
)

// A plain reference implementation of RFC 6962 section 2.1, written from the
// RFC's recursive definitions and sharing no code with transparency-dev/merkle.

func refLeaf(data []byte) []byte {
	h := sha256.Sum256(append([]byte{0}, data...))
	return h[:]
}

func refNode(l, r []byte) []byte {
	h := sha256.Sum256(append(append([]byte{1}, l...), r...))
	return h[:]
}

// refSplit is the largest power of two smaller than n, for n > 1.
func refSplit(n uint64) uint64 { return 1 << (bits.Len64(n-1) - 1) }

// refMTH is MTH(D[n]) of the leaf hashes.
func refMTH(hashes [][]byte) []byte {
	switch n := uint64(len(hashes)); n {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return hashes[0]
	default:
		k := refSplit(n)
		return refNode(refMTH(hashes[:k]), refMTH(hashes[k:]))
	}
}

// refPath is PATH(m, D[n]).
func refPath(m uint64, hashes [][]byte) [][]byte {
	n := uint64(len(hashes))
	if n == 1 {
		return nil
	}
	k := refSplit(n)
	if m < k {
		return append(refPath(m, hashes[:k]), refMTH(hashes[k:]))
	}
	return append(refPath(m-k, hashes[k:]), refMTH(hashes[:k]))
}

// refRoot is the root that path leads to from leaf m of a tree of n leaves,
// following PATH's recursion backwards; ok is false if no such path exists
// (m >= n, or the path has the wrong length).
func refRoot(m, n uint64, leaf []byte, path [][]byte) (root []byte, ok bool) {
	if m >= n {
		return nil, false
	}
	if n == 1 {
		return leaf, len(path) == 0
	}
	if len(path) == 0 {
		return nil, false
	}
	sib, rest := path[len(path)-1], path[:len(path)-1]
	k := refSplit(n)
	if m < k {
		l, ok := refRoot(m, k, leaf, rest)
		return refNode(l, sib), ok
	}
	r, ok := refRoot(m-k, n-k, leaf, rest)
	return refNode(sib, r), ok
}

// refVerify reports whether path proves leaf at m in the tree of n leaves
// with the given root.
func refVerify(m, n uint64, leaf []byte, path [][]byte, root []byte) bool {
	got, ok := refRoot(m, n, leaf, path)
	return ok && bytes.Equal(got, root)
}

// refLeaves is the size of the tree the differential checks use;
// TestInclusionDifferential covers every leaf of trees up to exhaustive.
const (
	refLeaves  = 130
	exhaustive = 70
)

// refTree is a log of refLeaves leaves in both implementations.
var refTree, refHashes = func() (*testonly.Tree, [][]byte) {
	t := testonly.New(rfc6962.DefaultHasher)
	var hs [][]byte
	for i := range refLeaves {
		data := fmt.Appendf(nil, "leaf %d", i)
		t.AppendData(data)
		hs = append(hs, refLeaf(data))
	}
	return t, hs
}()

// TestInclusionDifferential checks, for every leaf of every tree size up to
// exhaustive, that the reference and transparency-dev/merkle agree on leaf
// hashes, roots and proofs, and that proof.VerifyInclusion accepts exactly
// the proofs the reference accepts, for the true proof and for changed ones.
func TestInclusionDifferential(t *testing.T) {
	hasher := rfc6962.DefaultHasher
	for n := uint64(1); n <= exhaustive; n++ {
		hashes := refHashes[:n]
		root := refTree.HashAt(n)
		if want := refMTH(hashes); !bytes.Equal(root, want) {
			t.Fatalf("size %d: testonly root %x, reference %x", n, root, want)
		}
		for m := range n {
			leaf := refTree.LeafHash(m)
			if !bytes.Equal(leaf, hashes[m]) {
				t.Fatalf("leaf %d: testonly hash %x, reference %x", m, leaf, hashes[m])
			}
			p, err := refTree.InclusionProof(m, n)
			if err != nil {
				t.Fatal(err)
			}
			if want := refPath(m, hashes); !slices.EqualFunc(p, want, bytes.Equal) {
				t.Fatalf("leaf %d of %d: proof (-testonly +reference):\n%s", m, n, cmp.Diff(p, want))
			}
			if got, ok := refRoot(m, n, leaf, p); !ok || !bytes.Equal(got, root) {
				t.Fatalf("leaf %d of %d: reference recomputes root %x, want %x", m, n, got, root)
			}
			for _, c := range proofChanges(m, n, leaf, p, root) {
				got := proof.VerifyInclusion(hasher, c.m, c.n, c.leaf, c.proof, c.root) == nil
				want := refVerify(c.m, c.n, c.leaf, c.proof, c.root)
				if got != want {
					t.Fatalf("leaf %d of %d, %s: VerifyInclusion accepts: %v, reference: %v", m, n, c.name, got, want)
				}
				if c.name == "true proof" && !got {
					t.Fatalf("leaf %d of %d: the true proof is refused", m, n)
				}
			}
		}
	}
}

type proofChange struct {
	name  string
	m, n  uint64
	leaf  []byte
	proof [][]byte
	root  []byte
}

// proofChanges returns the true proof and proofs changed in every way a
// receipt can be changed.
func proofChanges(m, n uint64, leaf []byte, p [][]byte, root []byte) []proofChange {
	cp := func() [][]byte {
		c := make([][]byte, len(p))
		for i := range p {
			c[i] = bytes.Clone(p[i])
		}
		return c
	}
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 1; return c }
	cs := []proofChange{{"true proof", m, n, leaf, p, root}}
	add := func(name string, m, n uint64, leaf []byte, p [][]byte, root []byte) {
		cs = append(cs, proofChange{name, m, n, leaf, p, root})
	}
	for i := range p {
		c := cp()
		c[i] = flip(c[i], i%32)
		add(fmt.Sprintf("hash %d flipped", i), m, n, leaf, c, root)
		add(fmt.Sprintf("hash %d removed", i), m, n, leaf, append(cp()[:i], cp()[i+1:]...), root)
	}
	add("extra hash", m, n, leaf, append(cp(), root), root)
	if len(p) > 1 {
		c := cp()
		c[0], c[1] = c[1], c[0]
		add("two hashes swapped", m, n, leaf, c, root)
	}
	add("leaf flipped", m, n, flip(leaf, 3), p, root)
	add("root flipped", m, n, leaf, p, flip(root, 30))
	for _, d := range []uint64{1, 2, 4} {
		add(fmt.Sprintf("index +%d", d), m+d, n, leaf, p, root)
		add(fmt.Sprintf("size +%d", d), m, n+d, leaf, p, root)
		if m >= d {
			add(fmt.Sprintf("index -%d", d), m-d, n, leaf, p, root)
		}
		if n > d {
			add(fmt.Sprintf("size -%d", d), m, n-d, leaf, p, root)
		}
	}
	add("index ^ 1<<63", m^1<<63, n, leaf, p, root)
	add("size ^ 1<<63", m, n^1<<63, leaf, p, root)
	return cs
}

// TestReceiptDifferential recomputes the standard receipt's leaf hash and
// log root with the reference, from the fixture's leaves.
func TestReceiptDifferential(t *testing.T) {
	r := std.Receipt
	var hashes [][]byte
	for _, l := range std.Leaves {
		hashes = append(hashes, refLeaf(l))
	}
	if got, want := receipt.LeafHash(receipt.Leaf(r.DeviceKey, r.Reading)), hashes[r.LeafIndex]; !bytes.Equal(got, want) {
		t.Errorf("leaf hash %x, reference %x", got, want)
	}
	if got, want := r.LogRoot, refMTH(hashes); !bytes.Equal(got, want) {
		t.Errorf("log root %x, reference %x", got, want)
	}
	if diff := cmp.Diff(r.Proof, refPath(r.LeafIndex, hashes), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("proof (-receipt +reference):\n%s", diff)
	}
}

// FuzzInclusion compares proof.VerifyInclusion with the reference on proofs
// of a real tree, changed by the fuzzer, and claimed for any index and size.
func FuzzInclusion(f *testing.F) {
	f.Add(uint64(7), uint64(5), uint64(0), uint64(0), byte(0), uint16(0), byte(0))
	f.Add(uint64(7), uint64(5), uint64(0), uint64(1), byte(0), uint16(0), byte(0))
	f.Add(uint64(100), uint64(63), uint64(0), uint64(0), byte(1), uint16(40), byte(0x80))
	f.Fuzz(func(t *testing.T, size, index, dIndex, dSize uint64, op byte, pos uint16, val byte) {
		n := size%refLeaves + 1
		m := index % n
		p, err := refTree.InclusionProof(m, n)
		if err != nil {
			t.Fatal(err)
		}
		leaf, root := refTree.LeafHash(m), refTree.HashAt(n)
		claimM, claimN := m+dIndex, n+dSize // wraps around: any claim
		switch op % 6 {
		case 1: // change one byte of one hash
			if len(p) > 0 {
				i := int(pos) % len(p)
				p[i] = bytes.Clone(p[i])
				p[i][int(pos)/len(p)%len(p[i])] ^= val | 1
			}
		case 2: // drop hashes from the end
			p = p[:len(p)-min(len(p), int(val)%4)]
		case 3: // add hashes
			for range int(val)%4 + 1 {
				p = append(p, refHashes[int(pos)%refLeaves])
			}
		case 4: // another leaf
			leaf = refHashes[int(pos)%refLeaves]
		case 5: // another root
			root = refTree.HashAt(uint64(pos)%refLeaves + 1)
		}
		got := proof.VerifyInclusion(rfc6962.DefaultHasher, claimM, claimN, leaf, p, root) == nil
		want := refVerify(claimM, claimN, leaf, p, root)
		if got != want {
			t.Fatalf("leaf %d of %d claimed as %d of %d, op %d: VerifyInclusion accepts: %v, reference: %v",
				m, n, claimM, claimN, op%6, got, want)
		}
		if op%6 == 0 && dIndex == 0 && dSize == 0 && !got {
			t.Fatalf("leaf %d of %d: the true proof is refused", m, n)
		}
	})
}
