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
// can report the block's root without touching the db, and Write never reads
// from it. All hashing and tree math is github.com/transparency-dev/merkle.
//
// # Caller's duties, in order, for each block
//
//  1. s := log.Begin() when the block starts executing (FinalizeBlock).
//  2. s.Append(leaf) for each reading, in block order; s.Root() is the log
//     root to put in the app hash.
//  3. s.Write(batch) into the block's single pebble batch (Commit), next to
//     the other packages' writes.
//  4. Commit the batch. tlog never commits.
//  5. log.Apply(s) once the commit returned, never before.
//
// A stage that is dropped at any step before 5 leaves no trace in memory,
// and none in the db unless its batch was committed. If the process dies
// between 4 and 5, Open recovers the committed state from the db. Apply
// refuses (ErrStaleStage) a stage not begun on the current committed state.
//
// Reads (Size, Root, Leaf, RootAt, InclusionProof, ConsistencyProof, Audit)
// are safe from other goroutines at any time, including while a stage is
// built and while its batch commits: they see the committed size only, and
// everything below that size is immutable.
//
// # Key layout
//
// tlog owns the keys that begin with "t/" and no others. Integers are
// big-endian, so pebble's order is log order.
//
//	"t/l/" + be64(index)                -> leaf data, as appended
//	"t/n/" + level (1 byte) + be64(idx) -> 32-byte hash of node (level, idx);
//	                                       level 0 holds the leaf hashes
//	"t/s"                               -> be64(size), the committed size
//
// Node (level, idx) is the root of the perfect subtree over leaves
// [idx<<level, (idx+1)<<level). Only such perfect nodes are stored; the
// "ephemeral" nodes of an incomplete right border are recomputed on read.
//
// # Invariants
//
// With n the value of "t/s" (0 if absent):
//
//   - leaves 0..n-1 exist, and no leaf or node key at or past n is relied on
//     (an uncommitted stage may have reached the db only together with a
//     larger "t/s", in one batch);
//   - every perfect subtree inside [0, n) has its node stored, and its hash
//     equals the hash of its two children (level 0: the leaf hash of the
//     leaf data);
//   - stored leaves and nodes below n never change.
//
// Open rebuilds the compact range from the nodes of [0, n)'s decomposition
// (at most 64 reads) instead of rehashing leaves. Audit checks the leaf
// level against the leaf data and recomputes roots from leaf data alone;
// it does not check stored interior nodes.
package tlog
