package explorer_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
	"github.com/iotledger/iotledger/internal/explorer"
	webprivate "github.com/iotledger/iotledger/web/private"
	"github.com/iotledger/iotledger/web/verify"
)

// newServer starts the API over the fake ledger, with the explorer
// mounted when ex is set.
func newServer(t *testing.T, ex bool) *httptest.Server {
	t.Helper()
	l := apitest.New(t)
	var opts api.Options
	if ex {
		opts.Explorer = explorer.New()
	}
	srv := httptest.NewServer(api.New(l, l, opts).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// answer is what a test compares of an HTTP answer.
type answer struct {
	code      int
	mediaType string
	csp       string
	nosniff   string
	cache     string
	body      string
}

func do(t *testing.T, srv *httptest.Server, method, path string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{
		code:      resp.StatusCode,
		mediaType: resp.Header.Get("Content-Type"),
		csp:       resp.Header.Get("Content-Security-Policy"),
		nosniff:   resp.Header.Get("X-Content-Type-Options"),
		cache:     resp.Header.Get("Cache-Control"),
		body:      string(body),
	}
}

// TestRoot: / is the explorer's page, under the strict policy, never
// cached without revalidation.
func TestRoot(t *testing.T) {
	srv := newServer(t, true)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		got := do(t, srv, method, "/")
		if got.code != http.StatusOK {
			t.Fatalf("%s / = %d, want 200: %s", method, got.code, got.body)
		}
		if got.mediaType != "text/html; charset=utf-8" {
			t.Errorf("%s / Content-Type = %q, want text/html; charset=utf-8", method, got.mediaType)
		}
		if got.csp != explorer.CSP {
			t.Errorf("%s / Content-Security-Policy = %q, want %q", method, got.csp, explorer.CSP)
		}
		if got.nosniff != "nosniff" {
			t.Errorf("%s / X-Content-Type-Options = %q, want nosniff", method, got.nosniff)
		}
		if got.cache != "no-cache" {
			t.Errorf("%s / Cache-Control = %q, want no-cache", method, got.cache)
		}
		if method == http.MethodGet && !strings.Contains(got.body, `<script type="module" src="`+explorer.Prefix) {
			t.Errorf("GET / does not load the explorer's script from %s:\n%s", explorer.Prefix, got.body)
		}
	}
	// An unknown asset is the explorer's 404, still under the policy.
	got := do(t, srv, http.MethodGet, explorer.Prefix+"nope.js")
	if got.code != http.StatusNotFound || got.csp != explorer.CSP {
		t.Errorf("GET %snope.js = %d with CSP %q, want 404 with the policy", explorer.Prefix, got.code, got.csp)
	}
}

// TestAPIUnchanged: with the explorer mounted, every path that is not the
// explorer's answers as it does without it; unknown /v1/ routes stay
// problem+json 404s.
func TestAPIUnchanged(t *testing.T) {
	with, without := newServer(t, true), newServer(t, false)
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/v1/nope"},
		{http.MethodGet, "/v1/"},
		{http.MethodGet, "/nope"},
		{http.MethodGet, "/index.html"},
		{http.MethodGet, "/metrics"},
		{http.MethodGet, "/healthz"},
		{http.MethodGet, "/readyz"},
		{http.MethodGet, "/v1/status"},
		{http.MethodGet, "/v1/openapi.json"},
		{http.MethodPost, "/v1/status"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			got, want := do(t, with, tc.method, tc.path), do(t, without, tc.method, tc.path)
			if got.code != want.code || got.mediaType != want.mediaType {
				t.Errorf("with the explorer: %d %q; without: %d %q", got.code, got.mediaType, want.code, want.mediaType)
			}
			if got.csp != "" {
				t.Errorf("an API answer carries the explorer's policy: %q", got.csp)
			}
			if tc.path != "/metrics" && got.body != want.body {
				t.Errorf("body with the explorer:\n%s\nwithout:\n%s", got.body, want.body)
			}
		})
	}
	got := do(t, with, http.MethodGet, "/v1/nope")
	if got.code != http.StatusNotFound || got.mediaType != "application/problem+json" {
		t.Errorf("GET /v1/nope = %d %q, want 404 application/problem+json", got.code, got.mediaType)
	}
	// A method the explorer does not take on its path is the API's 405.
	got = do(t, with, http.MethodPost, "/")
	if got.code != http.StatusMethodNotAllowed || got.mediaType != "application/problem+json" {
		t.Errorf("POST / = %d %q, want 405 application/problem+json", got.code, got.mediaType)
	}
}

// TestEveryFile: every embedded file is served at its path with a media
// type for what it is, the policy, and caching by its name: immutable
// when the name carries a content hash, revalidated otherwise.
func TestEveryFile(t *testing.T) {
	srv := newServer(t, true)
	hashed := regexp.MustCompile(`-[A-Z2-7]{8}\.[a-z0-9]+$`)
	names := explorer.New().Names()
	if len(names) < 3 {
		t.Fatalf("the explorer serves %d files (%q); want the page, its script and its styles at least", len(names), names)
	}
	for _, name := range names {
		path := "/"
		if name != "" {
			path = explorer.Prefix + name
		}
		t.Run(path, func(t *testing.T) {
			mt := explorer.MediaType(name)
			if name == "" {
				mt = explorer.MediaType("index.html")
			}
			if mt == "application/octet-stream" {
				t.Fatalf("%s has no known media type; add its extension to mediaTypes", name)
			}
			got := do(t, srv, http.MethodGet, path)
			if got.code != http.StatusOK {
				t.Fatalf("GET %s = %d: %s", path, got.code, got.body)
			}
			if got.mediaType != mt {
				t.Errorf("Content-Type = %q, want %q", got.mediaType, mt)
			}
			if got.csp != explorer.CSP || got.nosniff != "nosniff" {
				t.Errorf("policy %q, nosniff %q", got.csp, got.nosniff)
			}
			want := "no-cache"
			if hashed.MatchString(name) {
				want = "public, max-age=31536000, immutable"
			}
			if got.cache != want {
				t.Errorf("Cache-Control = %q, want %q", got.cache, want)
			}
			// A browser revalidating gets 304.
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			again := do(t, srv, http.MethodGet, path, "If-None-Match", resp.Header.Get("ETag"))
			if again.code != http.StatusNotModified {
				t.Errorf("GET with If-None-Match %q = %d, want 304", resp.Header.Get("ETag"), again.code)
			}
		})
	}
}

// TestPageUnderPolicy: the page holds no inline script or style (the
// policy would block them) and every file it loads is served.
func TestPageUnderPolicy(t *testing.T) {
	srv := newServer(t, true)
	page := do(t, srv, http.MethodGet, "/").body
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]`), // a script with a body
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`), // inline event handlers
		regexp.MustCompile(`(?i)(src|href)="(https?:)?//`),
	} {
		if m := re.FindString(page); m != "" {
			t.Errorf("the page has %q, which the policy blocks or which leaves the node", m)
		}
	}
	// What the page loads: scripts, styles, icons (links to read are <a>).
	refs := regexp.MustCompile(`<(?:script|link|img)\s[^>]*(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 2 {
		t.Fatalf("the page loads %d files; want its script and styles:\n%s", len(refs), page)
	}
	for _, m := range refs {
		if !strings.HasPrefix(m[1], explorer.Prefix) {
			t.Errorf("the page loads %s, outside %s", m[1], explorer.Prefix)
			continue
		}
		if got := do(t, srv, http.MethodGet, m[1]); got.code != http.StatusOK {
			t.Errorf("the page loads %s, answered %d", m[1], got.code)
		}
	}
}

// TestVerifierServed: the Verify page loads the receipt verifier from
// /explorer/verify.js, and pages open sealed fields with
// /explorer/private.js; they are web/verify's and web/private's bundles,
// byte for byte.
func TestVerifierServed(t *testing.T) {
	srv := newServer(t, true)
	for name, bundle := range map[string][]byte{"verify.js": verify.Bundle, "private.js": webprivate.Bundle} {
		got := do(t, srv, http.MethodGet, explorer.Prefix+name)
		if got.code != http.StatusOK || got.mediaType != explorer.MediaType(name) || got.csp != explorer.CSP {
			t.Fatalf("GET /explorer/%s = %d, %q, policy %q", name, got.code, got.mediaType, got.csp)
		}
		if got.body != string(bundle) {
			t.Errorf("/explorer/%s is %d bytes, not the library's bundle (%d bytes)", name, len(got.body), len(bundle))
		}
	}
}
