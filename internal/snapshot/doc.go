// Package snapshot keeps snapshots of a node's app store on disk, in the
// form CometBFT's state sync moves between nodes.
//
// # The model
//
// A snapshot is the whole app store (every key and value of the app's Pebble
// database) as it was right after block Height was committed, read from a
// Pebble snapshot so that blocks committed meanwhile do not show. It is
// generic: it copies keys without knowing what they mean, so a record kind
// added later is carried without changes here.
//
// The keys, in order, are cut into chunks of about DefaultChunkSize bytes (4 MiB). A chunk
// is a sequence of records, each uvarint(len(key)) key uvarint(len(value))
// value; keys increase strictly within a chunk and from one chunk to the
// next. Metadata lists the SHA-256 of every chunk; the snapshot's hash is the
// SHA-256 of the encoded metadata. So a node that restores checks each chunk
// against the metadata before it writes it, and the metadata against the
// hash the peer advertised. None of this proves the content is the chain's:
// the app then has the restored store audited from genesis (package
// audit), which recomputes its app hash and compares it with the one
// CometBFT's light client verified.
//
// Because the app's state is the same on every honest node, so are its
// snapshots at a height: chunks of one snapshot can come from several peers.
//
// A Taker writes snapshots in the background, one at a time, for the app
// after the blocks due one: the block never waits for it.
//
// # On disk
//
//	DIR/<height, 20 digits>-<format>/metadata    the encoded Metadata
//	DIR/<height, 20 digits>-<format>/<index, 6 digits>.chunk
//	DIR/tmp-...                                   a snapshot being written; removed by Open
//
// A snapshot is written in a tmp- folder and renamed into place when complete,
// so a crash never leaves a partial snapshot that looks whole.
package snapshot
