// Package state is the schema of the ledger's store: every record type,
// every key prefix, and how the app hash covers each. It holds no
// transition: block execution (package app) decides what to write, the
// read side (package query) and audit (package audit) read what it wrote.
//
// # Records
//
// An account is an Ed25519 key's (acc1...), which exists from its first
// signed transaction or first payment received, or a device's (its id,
// dev1...); it carries a nonce that each of its transactions must match,
// and a balance. A device is an Ed25519 key known by its id (dev1..., from
// the key it was registered with), owned by the account that registered it,
// with labels and a status (active, quarantined, revoked; revoked is
// final); rotation keeps the rotated-out keys with the height they stopped
// being valid. Per-device progress (highest sequence number, count, gaps,
// the rate limit's bucket) and the (device, seq) index are derived from the
// reading log. Twins, contracts and their events, the validator set and its
// proposals, the app's meta record and one record per block complete the
// store; the reading log itself is package tlog's, under the t/ prefixes
// listed here.
//
// Records are read and written through a [KV]: the app's stage of one
// block, or committed state. Nothing here touches the database, so every
// function is a pure function of (state, input), as block execution needs.
//
// # On disk
//
// Every key of the store, in key order. Integers in keys are big-endian
// (be64, be32), so Pebble's order is numeric order. Records are
// deterministic CBOR (package reading's EncMode): structs as maps with
// integer keys, unless the table says otherwise. The last column says how
// the app hash covers the records: "digest", the state digest chains every
// write to them (CoveredPrefixes); "yes", the app hash covers them directly
// (HashedPrefixes); "derived", it does not, and they are rebuilt or checked
// from covered records (DerivedPrefixes). A test holds this table, the key
// constants and the three lists together.
//
//	key                                         record                      encoding            written by                         app hash
//	a/<address>                                 Account                     CBOR map            transactions, payments, genesis    digest
//	b/<be64 height>                             Block                       CBOR map            Commit, once per block             derived: audit recomputes it
//	c/<be64 height>                             []Change                    CBOR arrays         Commit, for a block with changes   yes: the digest is their chain
//	d/<device id>                               Device                      CBOR map            device transactions, contracts     digest
//	e/<contract id>/<be64 n>                    Event                       CBOR map            contract runs                      derived: from the transactions
//	f/<be64 height>                             Feed                        CBOR map            Commit, once per block             derived: from the transactions
//	g/<be64 height>                             ValidatorSetChange          CBOR map            validator governance               digest
//	h/<address>/<be64 height><be32 slot>        Payment                     CBOR map            payments, genesis                  derived: from the transactions
//	i/<address>                                 EncryptionKey               CBOR map            set_encryption_key                 digest
//	k/<contract id>                             Contract                    CBOR map            contract transactions and runs     digest
//	l/set                                       []Validator                 CBOR array of maps  validator governance               digest
//	l/open                                      []uint64                    CBOR array          validator governance               digest
//	m/<device id>                               Progress                    CBOR map            readings of registered devices     derived: from the log and block times
//	o/<be64 number>                             ValidatorProposal           CBOR map            validator governance               digest
//	p/<field name>                              PrivateName                 CBOR map            set_private_fields                 digest
//	q/<device id>/<be64 epoch>                  Epoch                       CBOR map            private transactions, contracts    digest
//	r/<device id>/<account>                     Grant                       CBOR map            grants and revocations, contracts  digest
//	s/<device id>/<be64 seq>                    SeqEntry                    CBOR map, by hand   accepted readings                  derived: from the log
//	t/l/<be64 index>                            [device key, reading]       CBOR array          accepted readings (tlog)           yes: the log root
//	t/n/<level byte><be64 index>                node hash                   32 raw bytes        accepted readings (tlog)           derived: from the leaves
//	t/s                                         log size                    be64                Commit (tlog)                      yes: the log size
//	v/<device id>/<side>/<be64 height><be32 slot>  TwinChange               CBOR map            twin transactions, contracts       derived: from the transactions
//	w/<device id>                               Twin                        CBOR map            twin transactions, contracts       digest
//	x/meta                                      Meta                        CBOR map            Commit, once per block             derived: from genesis and the records
//
// A slot numbers a block's history writes (payments, twin changes), as a
// transaction can write several; <side> is desired or reported. A block's
// feed keeps, in the order the node's observers were told them, what the
// block did besides its block record and its readings (device changes,
// twin changes, contract events), so that the node's event stream can be
// replayed from the store exactly as it was told live; blocks committed
// before feeds existed have none. Package tlog documents the log's keys in
// detail (which node levels are stored).
//
// # The app hash
//
// After block H the app hash is receipt.AppHash(log size, log root, state
// digest). The state digest starts at GenesisDigest and chains, with
// NextDigest, each block's covered writes (its change records): accounts
// with their balances, devices, twins, contracts, the validator set
// with its proposals and changes, and the private readings' encryption
// keys, private names, epochs and grants. Everything else is derived: the (device,
// seq) index and progress from the log and its block times, the payment,
// twin and event histories and the feeds from the transactions, block
// records and meta from all of these. A snapshot copies every key, whatever its prefix, so
// a record added later needs no change there; a new prefix needs a row
// here and a place in one of the three lists.
package state
