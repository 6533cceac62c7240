// Package audit checks a store against what the validators committed: it
// recomputes, from the stored readings and change records, every block's
// log root, state digest and app hash, and compares them with the app
// hashes CometBFT's headers committed (header H+1 for block H). It reads
// committed state through package query and writes nothing.
//
// Full checks every block and replays every change record against the
// covered records (package state says which those are), both ways: a
// covered record no block wrote, or one that differs from the last write
// of it, is a finding. From does the same for the newest blocks only,
// starting from the stored log border and digest of the block before them,
// which it checks against that block's header; Window picks those blocks,
// so that the check's cost is bounded by readings and blocks rather than by
// the store. A Finding names the block and, for a changed reading, its log
// index, device and sequence number. The node runs From at start (its
// store check); `iotledger audit` runs Full on a stopped node's store.
//
// A store restored from a snapshot (state sync) is checked before the app
// takes it: RestoredMeta checks its meta record against the snapshot and
// genesis; Restored, once the app loaded the store, a Full audit from
// genesis, the recomputed app hash against the verified one, and the
// records the app hash does not cover but block execution reads (the
// (device, seq) index and the devices' progress) against the log, which
// it does cover. A *BadSnapshotError refuses the snapshot.
//
// No block may be committed while an audit runs: the node is stopped, not
// yet started, or (a restore) not yet running blocks.
package audit
