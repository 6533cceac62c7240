// Package private serves the JavaScript library that opens private
// readings (docs/PRIVATE.md): web/private is a TypeScript library that, in
// a browser or in Node, opens a reading's sealed fields
// (XChaCha20-Poly1305) and the wrapped stream key of its epoch (HPKE,
// X25519 or X-Wing) with the user's own key, as the Go package private
// does (see README.md here). [Bundle] is its built ES module,
// dist/private.js, committed so that go build never needs Node. A page
// imports it and calls decryptReading(readingJSON, wrappedKey, keys, ctx).
//
// The Go tests of this package run the library's own tests (node --test),
// among them RFC 9180's and the X-Wing drafts' known-answer vectors and
// package private's vectors (private/testdata/vectors.json); check that
// the committed bundle is what the sources build; and wrap and seal in Go
// (crypto/hpke, and package private) for the library to open, and the
// other way round, for both KEMs, in Node and in headless Chromium.
package private

import _ "embed"

// Bundle is dist/private.js: the library as one minified ES module with no
// imports, for a server to send to browsers (as text/javascript).
//
//go:embed dist/private.js
var Bundle []byte
