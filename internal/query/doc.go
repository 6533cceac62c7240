// Package query is the read side of the ledger: it opens committed state
// and answers questions about it (devices, searched and counted, and
// their readings with their inclusion proofs, accounts and payments,
// twins, contracts and their events, blocks, the validator set and its
// proposals, private readings' encryption keys, epochs and grants
// (private.go), the reading log by index and its consistency proofs, and
// each committed block's events as the node published them, from the
// block's feed). The HTTP API reads through a Reader, and so do the
// node's receipts, MQTT's device lookup and audit. It never writes the
// store.
//
// # The model
//
// Committed state is the store as the app's last Commit left it. The app
// is its only writer: it stages a block in memory (FinalizeBlock) and
// writes it in one Pebble batch (Commit), so a reader never sees part of a
// block, nor a block that is not committed. Committed is committed state
// as a state.KV, with a cache of the device, progress and account records
// that every reading and transaction looks up; block execution reads
// through the same Committed (CheckTx, and under each block's stage), so
// the cache serves both. Commit keeps the cache equal to the store
// (Written) and the cache refuses a value read before a block was
// committed and stored after it, so a cached record is never older than
// the store's.
//
// A Reader adds the reading log (package tlog) and the app's meta record.
// Its methods are safe from any goroutine while blocks execute, and each
// read sees committed state only, as the app itself reads it outside block
// execution. While Commit runs, a query that reads several records may see
// some of the new block and some of the one before (Commit writes the
// batch, then tells Committed, then moves the log's size and root, then
// the meta), exactly as when these queries were the app's own: a reading
// of that block may be in the (device, seq) index a moment before the
// log's size includes it, and reading it then fails (tlog's
// ErrLeafOutOfRange) rather than answer from an uncommitted log. The other
// way round cannot happen: a leaf below the log's size has its (device,
// seq) record, which LogEntry relies on.
//
// Device searches (SearchDevices) and the counts by status
// (DeviceCounts) read an index of every device kept in memory: built from
// the device records (d/) on first use, kept equal to them by Written
// (each committed block's device writes) and dropped by Reset. It is
// derived and never stored, so the app hash and the store's layout do
// not change; 100,000 devices take some tens of MB, and a search scans
// them in milliseconds. A device's changes (DeviceChanges) are read from
// the block feeds between its registration and its last change.
//
// BlockEvents rebuilds what the node's observers were told of a committed
// block (its record, accepted readings, device, twin and contract changes)
// from the block's feed record (state.Feed, f/<height>: derived, outside
// the app hash) and the records it names; blocks committed before feeds
// existed have none (FirstFeed is the first that has one).
//
// # The caller's duties
//
// The app builds its Committed with NewCommitted on its store and its
// Reader with New, on that Committed, its tlog.Log and its Meta method;
// after each Commit's batch it calls Committed.Written with the block's
// writes, and Committed.Reset when the store was replaced (a restored
// snapshot). Tools that read a stopped node's store (audit) use Open.
package query
