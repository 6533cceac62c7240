// Package verify holds no Go code: web/verify is a TypeScript library that
// verifies iotledger receipts in a browser or in Node exactly as package
// receipt does (see README.md there). Its Go test runs the library's own
// tests (node --test) as part of go test ./..., checks that the committed
// bundle dist/verify.js is what the sources build, and compares the
// protobuf bytes it hashes and signs (CometBFT header hashes, validator set
// hashes, vote sign bytes) with CometBFT's.
package verify
