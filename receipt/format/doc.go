// Package format is the receipt's format: the Receipt type, its JSON form
// (Parse, Marshal), the log leaf of a reading (Leaf, LeafHash) and the
// application hash a block commits to (AppHash). It needs no CometBFT, so
// devices and clients that fetch and keep receipts stay small; package
// receipt verifies them offline and re-exports these names.
package format
