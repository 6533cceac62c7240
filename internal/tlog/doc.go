// Package tlog is the append-only log of readings: an RFC 6962 Merkle tree
// (SHA-256, leaf hash H(0x00 || data), node hash H(0x01 || left || right))
// kept in the node's pebble database and grown one block at a time.
//
// # Model
//
// A Log is the committed state: a size n, the root of the first n leaves and
// the compact range of [0, n), that is the roots of the perfect subtrees along
// the right border. A Stage is one block's appends on top of that state. It
// computes, in memory, each leaf hash and every perfect-subtree node the
// appends complete (as reported by the compact range's visitor), so a Stage
// can report the block's root without touching the db, and Write reads
// nothing from it but the stored size. All hashing and tree math is
// github.com/transparency-dev/merkle.
//
// # Caller's duties, in order, for each block
//
//  1. s := log.Begin() when the block starts executing (FinalizeBlock).
//  2. s.Append(leaf) for each reading, in block order; s.Root() is the log
//     root to put in the app hash.
//  3. s.Write(batch) into the block's single pebble batch (Commit), next to
//     the other packages' writes.
//  4. Commit the batch. tlog never commits.
//  5. log.Apply(s) once the commit returned, never before; then the next
//     block may Begin.
//
// A stage that is dropped at any step before 4 leaves no trace in memory,
// and none in the db. If the process dies between 4 and 5, Open recovers the
// committed state from the db. Both Write and Apply refuse (ErrStaleStage) a
// stage that is not based on the state they see, the db's stored size for
// Write and the committed size for Apply: a stage begun before the previous
// block was committed and applied can never overwrite committed leaves. An
// error from Write or Apply means the caller broke the order above; the
// block must not be committed.
//
// Reads (Size, Root, Leaf, RootAt, InclusionProof, ConsistencyProof, Audit)
// are safe from other goroutines at any time, including while a stage is
// built and while its batch commits: they see the committed size only, and
// everything below that size is immutable.
//
// # Key layout
//
// tlog owns the keys that begin with "t/" and no others (their prefixes are
// package state's constants, in its On disk table of the whole store).
// Integers are big-endian, so pebble's order is log order.
//
//	"t/l/" + be64(index)                -> leaf data, as appended
//	"t/n/" + level (1 byte) + be64(idx) -> 32-byte hash of node (level, idx);
//	                                       level 0 holds the leaf hashes
//	"t/s"                               -> be64(size), the committed size
//
// Node (level, idx) is the root of the perfect subtree over leaves
// [idx<<level, (idx+1)<<level). Only such perfect nodes are stored, and only
// at level 0 and at levels that are multiples of 4: a node of another level
// is folded on read from the at most 8 stored nodes below it, which are
// neighbours in the key space (one short iterator). The "ephemeral" nodes
// of an incomplete right border are recomputed on read. (Stores written
// before this layout hold every level; the extra nodes are read as any
// other and do no harm.)
//
// # Invariants
//
// With n the value of "t/s" (0 if absent):
//
//   - the keys are exactly leaves 0..n-1, the node of every perfect subtree
//     of a stored level inside [0, n), and "t/s": a stage's keys reach the
//     db only in the batch that also raises "t/s";
//   - a node's hash is the hash of its two children; at level 0, the leaf
//     hash of the leaf data;
//   - stored leaves and nodes below n never change.
//
// Open rebuilds the compact range from the nodes of [0, n)'s decomposition
// (at most 64 nodes, each one short read) instead of rehashing leaves.
// Audit checks the leaf level against the leaf data, recomputes roots from
// leaf data alone, and checks every stored interior node against them. A broken invariant found by any
// read is ErrCorrupt (or *LeafError from Audit): a broken node, not bad
// input. ErrLeafOutOfRange and ErrSizeOutOfRange are bad input.
//
// # Costs
//
// Append costs one leaf hash plus, on average, one node hash, and a copy of
// the leaf. Write puts one leaf key, one leaf hash and about 1/15 of an
// interior node per leaf, and reads only "t/s". Proofs and RootAt read one
// short key range per proof node (about log2 n of them, each up to 8
// neighbouring keys), so their speed depends on the block cache holding the
// node keys, roughly 50 bytes per leaf.
package tlog
