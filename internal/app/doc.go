// Package app is iotledger's ABCI application: the deterministic state
// machine that CometBFT replicates. It holds the ABCI surface and block
// execution (the rules, payments, twins, contracts, validator governance);
// the records it writes are package state's, the reads from outside
// package query's, and the checks of a store against the committed app
// hashes package audit's.
//
// # The model
//
// State is one Pebble database: its records (accounts, devices, per-device
// sequence progress and the (device, seq) index, twins, contracts, the
// validator set, meta, one record per block and the covered changes of each
// block for audit) are package state's, which lists every key in its On
// disk table; the reading log is package tlog's (an RFC 6962 Merkle tree
// whose leaves are [device key, reading]). The app is the only writer: it
// stages a block's writes and commits them in one batch.
//
// A transaction is a readings batch or an account's signed transaction
// (package tx). Blocks are executed in transaction order and, within a batch,
// in reading order. For each reading, in this order: it must decode; its
// device must be registered; a (device, seq) already committed with the
// same bytes is answered "duplicate" with the original's log index (before
// any other rule, so a resend is always safe); the device must not be
// revoked; the signature must verify under the device's current key (else
// "key_rotated" if an old key signed it, else "bad_signature"); a (device,
// seq) already committed with other bytes is then answered "seq_reused"
// (rejected, with the original's log index: the new data cannot be stored,
// and the device must learn that it reused a number); its time must lie
// within the window around block time; the device must be within its rate
// limit. An accepted reading is appended to the log. Whether bytes are the
// same is decided by comparing them with the original's leaf in the log
// (committed, or appended earlier in the block), the same on every node.
// Result codes and their names are the public vocabulary of package
// verdict (codes.go names them here); new ones are appended, never
// renumbered: seq_reused is 45, the private readings' codes 46 to 57.
// Block execution answers each reading with a verdict and the original's
// location (device, seq, index) where there is one; the receipt's address
// is verdict.ReceiptPath's, not the app's.
//
// A sealed reading (docs/PRIVATE.md) is checked against the device's
// private fields and epoch, after the device rules and the (device, seq)
// rules, before the time window: it must carry the device's current
// epoch ("stale_epoch" otherwise, naming the current one), whose stream key
// is announced ("no_stream_key"); a field the device lists as private must
// not be in its clear data ("private_in_clear"). The ledger never opens a
// sealed field: the device's signature covers the ciphertext.
//
// Private readings' transactions (private.go): an account publishes its
// encryption key; a device's owner names its private fields (the device
// moves to epoch 1), grants access (with its own wraps of the announced
// epochs the consumer does not hold yet), revokes it, rotates the stream
// key and erases epochs; the device announces each epoch's key with one
// commitment per recipient, each with the KEM its recipient's key calls
// for. Revocation, rotation, a contract's grant and the erasure of the
// current epoch move the device to its next epoch. Transactions carry
// commitments only: the wrapped keys stay out of blocks.
//
// Ingest looks at readings before they are queued with one call, Precheck
// (precheck.go): decode, bulk verification and the rules committed state
// decides, the same order as above; Batch builds the batch transaction
// from what it decoded (txcache.go).
//
// Accounts and devices hold balances of the chain's token (genesis
// app_state.token and balances; the allocations are credited by the first
// block). A transfer moves tokens from the signer's account, or from a
// device's account when the signer is the device's owner or its current key
// (see pay.go); it cannot overdraw, overflow or be replayed.
//
// The validators change their own set (validators.go): a current validator
// proposes adding a key (with the key's consent signature), removing one or
// setting its power, signing with its consensus key; the others approve
// the same way. At the end of each block, every open proposal, in number
// order, whose approvers still in the set hold more than two thirds of its
// voting power is applied and returned in FinalizeBlock's ValidatorUpdates
// (CometBFT uses the new set from block H+2); one not approved within
// params.validator_proposal_blocks blocks expires. The set, the proposals
// and each change (by the height it takes effect, for receipts' validator
// traces) are covered state.
//
// # The caller's duties (CometBFT's, in order)
//
// Info at start-up; InitChain once; then for each height FinalizeBlock, which
// stages every change in memory and returns the app hash, and Commit, which
// writes the staged block in one synced Pebble batch. A crash between the two
// loses nothing: Info reports the last committed height and CometBFT replays
// the block. An error returned by an ABCI method means the store is broken
// and the node must stop; a bad transaction gets a non-zero result code and a
// message a person can act on instead.
//
// # Reads
//
// The app reads committed state through a query.Committed, whose cache of
// device, progress and account records Commit keeps equal to the store;
// its Reader (package query) answers every question from outside on the
// same Committed, tlog.Log and meta, so it sees what the app sees outside
// block execution, never a staged block.
//
// # The app hash
//
// After block H the app hash is receipt.AppHash(log size, log root, state
// digest); the state digest chains, block by block, the covered writes
// (package state says which records are covered, and how the others are
// derived). CometBFT puts the app hash of block H into the header of block
// H+1, which is why a reading's receipt carries that header.
//
// # Determinism
//
// No wall clock (time comes from the block header), no randomness, no
// network, no map-order dependence inside CheckTx, ProcessProposal,
// FinalizeBlock or Commit; internal/lint guards the imports. Signature
// checks run in parallel batches (package internal/zip215, ZIP 215 rules), but
// only to fill a cache of (reading, key) pairs known to verify; execution then
// reads that cache in transaction order, so scheduling cannot change a
// result. The same cache lets a node verify each reading once between
// ingest (Precheck), CheckTx, recheck and FinalizeBlock.
//
// # State sync
//
// For CometBFT's state sync the app serves and restores snapshots of its
// whole store (snapshot.go, package snapshot): after every Interval-th
// block a snapshot.Taker writes a Pebble snapshot of the store, in the
// background, as chunks under HOME/data/snapshots. A node that restores
// checks each chunk against the snapshot's metadata, then has package
// audit check the restored store from genesis, and accepts it only if the
// recomputed app hash is the one CometBFT's light client verified; then
// Info reports the snapshot's height and app hash. The snapshot copies
// every key, whatever its prefix, so records added later need no change
// there.
package app
