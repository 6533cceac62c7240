package tlog

import (
	"encoding/binary"

	"github.com/transparency-dev/merkle/compact"

	"github.com/iotledger/iotledger/internal/state"
)

// Key layout; see the package comment. The prefixes are package state's,
// whose On disk table lists every key of the store. All integers are
// big-endian so that pebble's byte order is the order of the log.
const (
	leafPrefix = state.PrefixLogLeaf // + be64(index) -> leaf data
	nodePrefix = state.PrefixLogNode // + level (1 byte) + be64(index) -> 32-byte node hash
)

// sizeKey holds be64(size) of the committed log.
var sizeKey = []byte(state.KeyLogSize)

// maxKeyLen is the length of the longest key tlog writes (a node key).
const maxKeyLen = len(nodePrefix) + 1 + 8

// leafKey appends the key of leaf index to dst.
func leafKey(dst []byte, index uint64) []byte {
	dst = append(dst, leafPrefix...)
	return binary.BigEndian.AppendUint64(dst, index)
}

// nodeKey appends the key of node id to dst. Levels never exceed 64, so one
// byte holds them.
func nodeKey(dst []byte, id compact.NodeID) []byte {
	dst = append(dst, nodePrefix...)
	dst = append(dst, byte(id.Level))
	return binary.BigEndian.AppendUint64(dst, id.Index)
}
