// Package verify serves the JavaScript receipt verifier: web/verify is a
// TypeScript library that verifies iotledger receipts in a browser or in
// Node exactly as package receipt does (see README.md there), and [Bundle]
// is its built ES module, dist/verify.js, committed so that go build never
// needs Node. A page imports it and calls verify(receiptJSON, genesisJSON).
//
// The Go tests of this package run the library's own tests (node --test)
// as part of go test ./..., check that the committed bundle is what the
// sources build, and compare the protobuf bytes it hashes and signs
// (CometBFT header hashes, validator set hashes, vote sign bytes) with
// CometBFT's.
package verify

import _ "embed"

// Bundle is dist/verify.js: the verifier as one minified ES module with no
// imports, for a server to send to browsers (as text/javascript).
//
//go:embed dist/verify.js
var Bundle []byte
