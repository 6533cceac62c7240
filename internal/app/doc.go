// Package app is iotledger's ABCI application: the deterministic state
// machine that CometBFT replicates.
//
// # The model
//
// State is one Pebble database shared by three parts: the registry (accounts,
// devices, per-device sequence progress and the (device, seq) index), the
// reading log (package tlog: an RFC 6962 Merkle tree whose leaves are
// [device key, reading]) and the app's own records (meta, one record per
// block, and the covered changes of each block for audit).
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
// renumbered: seq_reused is 45. Block execution answers each reading with
// a verdict and the original's location (device, seq, index) where there
// is one; the receipt's address is verdict.ReceiptPath's, not the app's.
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
// # The app hash
//
// After block H the app hash is receipt.AppHash(log size, log root, state
// digest). The state digest chains, block by block, the covered writes
// (accounts with their balances, devices, and the validator set with its
// proposals) of each block; the (device,
// seq) index and progress records are derived from the log and its block
// times, and the payment history from the transfers. CometBFT puts the
// app hash of block H into the header of block H+1, which is why a reading's
// receipt carries that header.
//
// # Audit
//
// Audit recomputes, from the stored readings and change records, every
// block's log root, state digest and app hash and compares them with the
// app hashes CometBFT's headers committed (header H+1 for block H);
// AuditFrom does the same for the newest blocks only, starting from the
// stored log border and digest of the block before them, which it checks
// against that block's header. A finding names the block and, for a
// changed reading, its log index, device and sequence number. The node
// runs AuditFrom at start; `iotledger audit` runs Audit.
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
// block a background goroutine writes a Pebble snapshot of the store as
// chunks under HOME/data/snapshots. A node that restores checks each chunk
// against the snapshot's metadata, then audits the restored store from
// genesis (as Audit does) and accepts it only if the recomputed app hash is
// the one CometBFT's light client verified; then Info reports the snapshot's
// height and app hash. The snapshot copies every key, whatever its prefix,
// so records added later need no change there.
//
// # On disk
//
//	x/meta            Meta: chain id, height, app hash, digest, params
//	b/<be64 height>   Block: time, log size and root, digest, app hash
//	c/<be64 height>   the block's covered writes, for audit
//	a/<address>       registry.Account (acc1... or a device's dev1...; nonce, balance)
//	h/<address>/<be64 height><be32 tx>  registry.Payment (derived)
//	d/<device id>     registry.Device
//	m/<device id>     registry.Progress (derived)
//	s/<device id>/<be64 seq>  registry.SeqEntry (derived)
//	l/set, l/open     the validator set once it changed ([]Validator) and the open proposals
//	o/<be64 number>   ValidatorProposal
//	g/<be64 height>   ValidatorSetChange: the set from that height on
//	t/...             the reading log (package tlog)
package app
