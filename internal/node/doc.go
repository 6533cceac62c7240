// Package node runs one iotledger node: CometBFT in process with the app
// (package app) over a local ABCI client, the ingest pipeline, the HTTP API
// and, from its configuration, everything an operator sets.
//
// A node lives in a home folder laid out as CometBFT's:
//
//	config/config.toml      CometBFT's settings (Init writes iotledger's tuning, with reasons)
//	config/iotledger.toml   iotledger's settings (API address, batching, logging)
//	config/genesis.json     the chain: chain id, validators, app_state.params
//	config/priv_validator_key.json, node_key.json   (0600; the node refuses a readable key)
//	data/iotledger.db       the app's Pebble store
//	data/iotledger.lock     held (flock) by the process that runs a node on the home, or audits it; holds its pid
//	data/snapshots/         snapshots of it for joining nodes ([snapshots] in iotledger.toml)
//	data/keybox/            wrapped stream keys of private readings, one file each, outside every store (package keybox; keybox.go)
//	data/blockstore.db, state.db, cs.wal, ...        CometBFT's stores (Pebble too)
//	keys/NAME.json          named account and device keys (package keystore; 0600 too)
//
// Init creates a single-validator home, Testnet the homes of a local
// network of validators (one genesis, loopback ports from a base port,
// persistent peers), and Join the home of a node that joins a running
// network (genesis and peers from a node's RPC; CometBFT's state sync from
// the newest snapshot when the chain is above a threshold of blocks, else
// block sync); Start opens a home, checks its store against the headers
// CometBFT committed ([store_check]: the newest readings by default, see
// storecheck.go) and refuses to run on a difference before CometBFT starts,
// so a node never signs from a changed store, then starts every part;
// Close stops them in reverse order and waits for each. Audit checks a
// stopped node's whole store the same way.
//
// The stores' faults end in one line (storefault.go): Start and Audit
// refuse a data folder whose disk has less than MinFreeBytes free
// (DiskFullError, exit code 4) before they open anything; each store opens
// in a goroutine of its own, so that a cancelled context (SIGINT, SIGTERM)
// or a fault Pebble reports while it opens (a full disk it would retry
// writing to without end, a Fatalf) ends start-up at once. A table that
// fails its checksums is a StoreCorruptError (exit code 3) wherever it is
// met, at start or by a running node's read (the node then stops), never a
// panic; Audit reads every block of every table of every store
// (sstcheck.go). When the app store is behind CometBFT's block store (it
// lost writes, such as to a damaged log), Start logs one WARN line and sets
// iotledger_store_replayed_blocks before CometBFT replays the difference.
//
// Configuration precedence is defaults, the file, the environment, then
// flags. Every setting of the file is also an environment variable,
// IOTLEDGER_<SECTION>_<KEY> (api.addr is IOTLEDGER_API_ADDR), found by one
// walk over Config's toml tags (settings.go), so a setting added to Config
// is one at once; IOTLEDGER_RPC_ADDR and IOTLEDGER_P2P_ADDR override
// config.toml's addresses. LoadConfigEnv also says where each value came
// from, for `iotledger config show`.
//
// GET /metrics (metrics.go) serves the node's own metrics (iotledger_*),
// the Go runtime's and the process's, and CometBFT's under CometBFT's names
// (cometbft_*): CometBFT registers those on Prometheus's global registry,
// so each node hands it a registry of its own while it makes them (nodes
// in one process do not clash), and CometBFT's own metrics listener stays
// off. Readings are counted once each by outcome: those ingest answers
// itself (ingest.OnAnswered) and those a block decides (Committed).
//
// The node implements api.Ledger, for what needs CometBFT or ingest (the
// API's reads of committed state go to the app's query.Reader, which the
// node hands api.New, and so does mqtt's device lookup): it assembles
// receipts from the read side's inclusion proof and CometBFT's signed
// header and validator set of the block after the reading's (and, once the
// validator set changed, the validator trace: the blocks on either side of
// each change the app recorded, from CometBFT's block and state stores),
// and fans each committed block out to ingest (waiting submitters), metrics
// and event subscribers without ever blocking on one. It numbers each
// block's events as it publishes them (events.go: the block, its accepted
// readings, device, twin and contract events, from 1), and replays the
// same events from the store (api.EventSource: the app writes each block's
// feed, state.Feed, which query.Reader.BlockEvents reads back), so an API
// event stream resumes after an id across reconnections and restarts. A
// subscriber that lags loses events (counted) and is told so; the API
// refills its gap from the store.
//
// The node keeps the key box of private readings (keybox.go, package
// keybox): opened after the app store, which its sweep reads to erase the
// files of epochs erased while the node was down; its reactor is on
// CometBFT's switch (nm.CustomReactors, channel keybox.Channel); Committed
// hands it each block's erasures and commitments without waiting; the node
// serves it to the API (api.StreamKeys) and closes it after CometBFT.
//
// The node knows when its consensus has halted (halt.go): CometBFT's
// "CONSENSUS FAILURE!!!" line, which cometLogger catches (only a restart
// clears it), or no block for ten block times while transactions wait, which
// a watchdog on the wall clock notices (cleared by the next block; never for
// an idle or catching-up node). It then logs one ERROR line that says what
// to do, shows the halt in Status and the metric iotledger_consensus_halted,
// fails the consensus check of Ready (GET /readyz), and ingest refuses
// readings with an ingest.HaltedError.
package node
