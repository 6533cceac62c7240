// Package explorer serves the web explorer, the pages a node shows at / on
// its API address: an overview of the chain, devices, blocks, contracts and
// a receipt check that runs in the browser. The pages are built from
// web/explorer (esbuild; the output is committed and embedded, so a plain
// go build never needs Node) and read the node's public API (/v1/...) from
// the browser; the server side only hands out files.
//
// # What it serves
//
//	GET /                  index.html: no-cache (revalidated by ETag)
//	GET /explorer/NAME     the assets index.html loads; names with an esbuild
//	                       content hash (app-5KQ3TZ2M.js) are immutable for a
//	                       year, the others (verify.js, private.js) no-cache
//
// The pages route on the client, after the # (#/devices, #/device/ID,
// #/block/H, #/contracts, #/verify), so no other path is the explorer's: the
// API mounts this handler on those two patterns only, and every other path
// (/v1/..., /metrics, /healthz, /readyz) answers as it does without it.
//
// Every answer carries a strict Content-Security-Policy (CSP: scripts,
// styles and connections from the node itself only, no inline code, no
// frames) and X-Content-Type-Options: nosniff.
package explorer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"

	webexplorer "github.com/iotledger/iotledger/web/explorer"
	webprivate "github.com/iotledger/iotledger/web/private"
	"github.com/iotledger/iotledger/web/verify"
)

// Prefix is the path under which the assets are served.
const Prefix = "/explorer/"

// CSP is the Content-Security-Policy of every answer.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// Cache-Control values.
const (
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	indexName        = "index.html"
	verifierName     = "verify.js"  // web/verify's bundle, served beside the pages
	privateName      = "private.js" // web/private's bundle, likewise
	distDir          = "dist"
	unknownMediaType = "application/octet-stream"
)

// mediaTypes maps the extensions of the built files to their media types,
// fixed here rather than read from the host's mime tables.
var mediaTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".map":   "application/json; charset=utf-8",
	".json":  "application/json; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

// hashed matches the names esbuild gives with [name]-[hash]: eight
// characters of base32 before the extension.
var hashed = regexp.MustCompile(`-[A-Z2-7]{8}\.[a-z0-9]+$`)

// file is one servable file.
type file struct {
	body      []byte
	mediaType string
	cache     string
	etag      string
}

// Handler serves the explorer. It is safe for concurrent use.
type Handler struct {
	files map[string]*file // by name under dist, "index.html" for /
	err   error            // the embedded files could not be read
}

// New returns the handler of the embedded explorer.
func New() *Handler {
	sub, err := fs.Sub(webexplorer.Dist, distDir)
	if err != nil {
		return &Handler{err: err}
	}
	return newHandler(sub)
}

// newHandler serves the files of fsys (flat, index.html at its root).
func newHandler(fsys fs.FS) *Handler {
	h := &Handler{files: make(map[string]*file)}
	h.err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		f := &file{
			body:      body,
			mediaType: MediaType(name),
			cache:     cacheRevalidate,
			etag:      `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
		if hashed.MatchString(path.Base(name)) {
			f.cache = cacheImmutable
		}
		h.files[name] = f
		return nil
	})
	// The libraries of their own, served beside the pages: the receipt
	// verifier (web/verify), which the Verify page loads, and the private
	// readings' opener (web/private), which a page loads to open sealed
	// fields with the user's key, in the browser.
	for name, body := range map[string][]byte{verifierName: verify.Bundle, privateName: webprivate.Bundle} {
		if h.err == nil && h.files[name] == nil {
			sum := sha256.Sum256(body)
			h.files[name] = &file{body: body, mediaType: MediaType(name), cache: cacheRevalidate, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		}
	}
	if h.err == nil && h.files[indexName] == nil {
		h.err = fmt.Errorf("explorer: the build has no %s; run npm ci && npm run build in web/explorer", indexName)
	}
	return h
}

// MediaType is the Content-Type the handler sends for a file name, or
// application/octet-stream for an extension it does not know.
func MediaType(name string) string {
	if t, ok := mediaTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return unknownMediaType
}

// Names lists the files the handler serves, index.html as "" (served at /),
// the others by their path under Prefix.
func (h *Handler) Names() []string {
	names := make([]string, 0, len(h.files))
	for n := range h.files {
		if n == indexName {
			n = ""
		}
		names = append(names, n)
	}
	return names
}

// ServeHTTP answers GET and HEAD of / and of Prefix+name.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", CSP)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if h.err != nil {
		http.Error(w, "explorer: the pages are not available: "+h.err.Error(), http.StatusInternalServerError)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "explorer: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	var name string
	switch p := r.URL.Path; {
	case p == "/":
		name = indexName
	case strings.HasPrefix(p, Prefix) && p != Prefix+indexName:
		name = strings.TrimPrefix(p, Prefix)
	}
	f := h.files[name]
	if f == nil {
		http.Error(w, fmt.Sprintf("explorer: no file at %s; the explorer is at /, the API at /v1/", r.URL.Path), http.StatusNotFound)
		return
	}
	hdr.Set("Content-Type", f.mediaType)
	hdr.Set("Cache-Control", f.cache)
	hdr.Set("ETag", f.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}
