// Package keybox is a node's key box (docs/PRIVATE.md): the wrapped
// stream keys of private readings, kept out of every consensus store so
// that erasing an epoch really removes what decrypting it needs.
// Transactions carry only each wrapped key's commitment (its SHA-256); the
// wrapped keys themselves are uploaded to a node (POST
// /v1/devices/{id}/stream-keys), passed between nodes by a p2p reactor of
// their own (reactor.go), and served to their recipients (GET
// /v1/devices/{id}/stream-keys/{epoch}?recipient=), who open them locally.
//
// # On disk
//
//	data/keybox/<device id>/<epoch, decimal>/<recipient account>   the wrapped key's bytes, nothing else
//
// One plain file per (device, epoch, recipient), never a database: a
// deleted Pebble record stays in its write-ahead log and tables until a
// compaction happens to drop it, and CometBFT's block store and WAL keep
// whatever a transaction carried for good. A file is written to a
// temporary file in its folder (.tmp-*), synced, renamed to its name,
// and the folder synced, before the upload is acknowledged; so a file is
// whole or absent after a crash, and Open removes the temporary files a
// crash left. Folders are 0700.
//
// # The invariants
//
//   - A file exists only for a slot whose commitment is on the ledger, of
//     an epoch not erased, and its SHA-256 is that commitment (Put and
//     PutCommitted check it; Get and Open's sweep check it again, and a
//     file that fails, damaged or truncated, is reported, removed and asked
//     for again from the peers).
//   - After a block that erases epochs, their files are removed (Committed,
//     from the node's Commit, applied by the box's worker), and at every
//     start (Open) the files of every epoch the ledger says is erased are
//     removed, for a node that was down when the erasure committed. A
//     check of the ledger and the write it allows happen under one lock,
//     which erasure takes too, and the node tells the box of a block only
//     after the block is in the store: a key is never written for an
//     epoch after its erasure.
//   - A key uploaded before its commitment commits (the device uploads,
//     then announces; the owner uploads, then grants) is held in memory,
//     bounded by count and bytes (Options), and stored when its commitment
//     commits, if it matches; else dropped, or after Options.HoldFor, with
//     a log line. Keys from peers are never held: a peer's key whose
//     commitment this node has not committed yet is refused, and asked
//     for again once it has.
//
// # What erasure promises
//
// Erasing overwrites each file with zeros, syncs it and unlinks it, then
// syncs the folders: no file under the node's home holds the wrapped key
// afterwards (a test walks every file of a node's home, CometBFT's block
// store and WAL and the app store included). The overwrite is best
// effort below the file system: a copy-on-write file system (btrfs, ZFS),
// a file system snapshot, an SSD's remapped blocks or a backup of the
// home taken before the erasure can still hold the bytes. Operators who
// need more run the home on an encrypted volume. Whoever saved a wrapped
// key, a stream key or plaintext before the erasure keeps it.
//
// # The caller's duties
//
// The node opens the box on its home (Open, after the app store, since
// the sweep reads committed state), adds the Reactor to CometBFT's switch
// (nm.CustomReactors), starts the box's worker (Start), tells it of each
// committed block's erasures and new commitments (Committed, which never
// blocks), serves Put and Get through the API, and closes it (Close)
// after CometBFT stopped.
package keybox
