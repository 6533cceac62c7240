// Package explorer holds the built explorer, the web pages a node serves
// at / on its API address: dist is the output of `npm ci && npm run build`
// in this folder (esbuild over src/), committed so that a plain go build
// never needs Node. Package internal/explorer serves it.
package explorer

import "embed"

// Dist is the built explorer: index.html and the assets it loads, flat
// under dist/.
//
//go:embed dist
var Dist embed.FS
