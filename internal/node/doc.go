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
//	data/snapshots/         snapshots of it for joining nodes ([snapshots] in iotledger.toml)
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
// Configuration precedence is defaults, the file, the environment
// (IOTLEDGER_API_ADDR, IOTLEDGER_RPC_ADDR, IOTLEDGER_P2P_ADDR), then flags.
//
// The node implements api.Ledger: it answers queries from the app's store,
// assembles receipts from the app's inclusion proof and CometBFT's signed
// header and validator set of the block after the reading's (and, once the
// validator set changed, the validator trace: the blocks on either side of
// each change the app recorded, from CometBFT's block and state stores),
// and fans each committed block out to ingest (waiting submitters), metrics
// and event subscribers without ever blocking on one.
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
