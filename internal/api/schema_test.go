package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/iotledger/iotledger/internal/api"
)

// The API's answers are checked against the OpenAPI document with a real
// JSON Schema validator (draft 2020-12, the dialect of OpenAPI 3.1, with
// format assertions on): santhosh-tekuri/jsonschema/v6.

// docURL is where the compiler files the document; nothing is fetched.
const docURL = "urn:iotledger:openapi.json"

var (
	schemaOnce sync.Once
	schemaErr  error
	schemaDoc  map[string]any
	schemaC    *jsonschema.Compiler
	schemaMu   sync.Mutex // guards schemaC, whose Compile is not safe for concurrent use
	compiled   = map[string]*jsonschema.Schema{}
)

func loadSchemas() error {
	schemaOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(api.OpenAPI))
		if err != nil {
			schemaErr = fmt.Errorf("openapi.json: %w", err)
			return
		}
		schemaDoc = doc.(map[string]any)
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		for _, f := range intFormats {
			c.RegisterFormat(f)
		}
		c.UseLoader(noLoader{})
		if err := c.AddResource(docURL, doc); err != nil {
			schemaErr = err
			return
		}
		schemaC = c
	})
	return schemaErr
}

// intFormats are the OpenAPI format registry's 64-bit integer formats,
// which JSON Schema does not define: a number (or a decimal string, for
// values JavaScript would round) that fits the type.
var intFormats = []*jsonschema.Format{
	{Name: "int64", Validate: func(v any) error { return fitsInt(v, true) }},
	{Name: "uint64", Validate: func(v any) error { return fitsInt(v, false) }},
}

func fitsInt(v any, signed bool) error {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	default:
		return nil // the format applies to numbers and strings only
	}
	var err error
	if signed {
		_, err = strconv.ParseInt(s, 10, 64)
	} else {
		_, err = strconv.ParseUint(s, 10, 64)
	}
	if err != nil {
		return fmt.Errorf("%s is not a %s integer", s, map[bool]string{true: "signed 64-bit", false: "unsigned 64-bit"}[signed])
	}
	return nil
}

// noLoader refuses every URL: the document is self-contained.
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("the document refers to %s, outside itself", u)
}

// pointer is the document location of the JSON pointer tokens toks.
func pointer(toks ...string) string {
	var b strings.Builder
	b.WriteString(docURL + "#")
	for _, t := range toks {
		t = strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
		b.WriteString("/" + url.PathEscape(t))
	}
	return b.String()
}

// schemaAt compiles the schema at loc (a pointer).
func schemaAt(loc string) (*jsonschema.Schema, error) {
	if err := loadSchemas(); err != nil {
		return nil, err
	}
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := compiled[loc]; ok {
		return s, nil
	}
	s, err := schemaC.Compile(loc)
	if err != nil {
		return nil, err
	}
	compiled[loc] = s
	return s, nil
}

// validateJSON checks the JSON body against the schema at loc.
func validateJSON(loc string, body []byte) error {
	s, err := schemaAt(loc)
	if err != nil {
		return fmt.Errorf("schema %s: %w", loc, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("body is not JSON: %w: %s", err, body)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("body %s does not match %s: %v", body, loc, err)
	}
	return nil
}

// checkSchema fails t unless body matches components/schemas/name.
func checkSchema(t *testing.T, name string, body []byte) {
	t.Helper()
	if err := validateJSON(pointer("components", "schemas", name), body); err != nil {
		t.Error(err)
	}
}

// recorder is an http.RoundTripper that checks every answer it carries
// against the document: the status is one the operation lists (or its
// default), the content type one that answer lists, and a JSON body
// matches that content's schema. Event streams are checked up to their
// content type; their events are checked by the tests that read them.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	errs []error
	seen int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var body []byte
	if ct != "text/event-stream" && req.Method != http.MethodHead {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	cerr := checkAnswer(req.Method, req.URL.Path, resp.StatusCode, ct, body, req.Method == http.MethodHead || ct == "text/event-stream")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen++
	if cerr != nil {
		r.errs = append(r.errs, fmt.Errorf("%s %s: %d %s: %w", req.Method, req.URL, resp.StatusCode, ct, cerr))
	}
	return resp, nil
}

// report fails t with what the recorder found wrong.
func (r *recorder) report(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs {
		t.Errorf("answer does not match openapi.json: %v", err)
	}
}

// operation returns the document's path template that path matches, the
// most literal first (as net/http's mux picks), or "".
func operation(path string) string {
	var templates []string
	for p := range schemaDoc["paths"].(map[string]any) {
		templates = append(templates, p)
	}
	params := func(p string) int { return strings.Count(p, "{") }
	sort.Slice(templates, func(i, j int) bool {
		if a, b := params(templates[i]), params(templates[j]); a != b {
			return a < b
		}
		return templates[i] < templates[j]
	})
	for _, p := range templates {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				segs[i] = "[^/]+"
			} else {
				segs[i] = regexp.QuoteMeta(s)
			}
		}
		if regexp.MustCompile("^" + strings.Join(segs, "/") + "$").MatchString(path) {
			return p
		}
	}
	return ""
}

func checkAnswer(method, path string, status int, ct string, body []byte, noBody bool) error {
	if err := loadSchemas(); err != nil {
		return err
	}
	var toks []string // pointer to the answer's content object
	tmpl := operation(path)
	op, _ := schemaDoc["paths"].(map[string]any)[tmpl].(map[string]any)
	m := strings.ToLower(method)
	if m == "head" {
		m = "get" // net/http answers HEAD with the GET route
	}
	o, ok := op[m].(map[string]any)
	switch {
	case ok:
		responses := o["responses"].(map[string]any)
		code := fmt.Sprint(status)
		r, ok := responses[code].(map[string]any)
		if !ok {
			if r, ok = responses["default"].(map[string]any); !ok {
				return fmt.Errorf("the operation %s %s lists no answer %d", method, tmpl, status)
			}
			code = "default"
		}
		toks = []string{"paths", tmpl, m, "responses", code}
		if ref, ok := r["$ref"].(string); ok {
			toks = strings.Split(strings.TrimPrefix(ref, "#/"), "/")
			r = schemaDoc
			for _, k := range toks {
				r = r[k].(map[string]any)
			}
		}
		content, _ := r["content"].(map[string]any)
		if len(content) == 0 {
			if len(body) > 0 {
				return fmt.Errorf("answer %s has no content in the document, but a body", code)
			}
			return nil
		}
		if _, ok := content[ct]; !ok {
			return fmt.Errorf("content type %q is not one of the answer's %v", ct, keys(content))
		}
		toks = append(toks, "content", ct, "schema")
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		// No such path or method: the Problem schema says these answers exist.
		if ct != "application/problem+json" {
			return fmt.Errorf("content type %q, want application/problem+json", ct)
		}
		toks = []string{"components", "schemas", "Problem"}
	default:
		return fmt.Errorf("no operation %s %s in the document", method, path)
	}
	if noBody || !strings.HasSuffix(ct, "json") {
		return nil
	}
	return validateJSON(pointer(toks...), body)
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkedFormats are the formats the validator asserts: JSON Schema's
// (those the document uses) and intFormats.
var checkedFormats = map[string]bool{"date-time": true, "uri": true, "uri-reference": true, "int64": true, "uint64": true}

// TestOpenAPIFormatsChecked checks that every format keyword of the
// document is one the validator asserts, and that the recorder's check
// refuses what does not match: a body, a status, a content type, a format.
func TestOpenAPIFormatsChecked(t *testing.T) {
	if err := loadSchemas(); err != nil {
		t.Fatal(err)
	}
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if f, ok := v["format"].(string); ok && !checkedFormats[f] {
				t.Errorf("%s: format %q is not asserted", at, f)
			}
			for k, x := range v {
				walk(at+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", at, i), x)
			}
		}
	}
	walk("#", schemaDoc)

	entry := `{"index":1,"device":"dev1qqq","seq":1,"height":1,"leaf_hash":"` + strings.Repeat("ab", 32) + `","receipt":"/v1/x"}`
	for _, c := range []struct {
		name, method, path string
		status             int
		ct, body           string
		ok                 bool
	}{
		{"a matching entry", "GET", "/v1/log/entries/1", 200, "application/json", entry, true},
		{"a hash in base64", "GET", "/v1/log/entries/1", 200, "application/json", strings.Replace(entry, strings.Repeat("ab", 32), "q83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=", 1), false},
		{"a member too many", "GET", "/v1/log/entries/1", 200, "application/json", strings.Replace(entry, `"seq"`, `"x":1,"seq"`, 1), false},
		{"an undocumented status", "GET", "/v1/log/entries/1", 409, "application/problem+json", `{}`, false},
		{"an undocumented content type", "GET", "/v1/log/entries/1", 200, "text/plain", "x", false},
		{"a uint64 past 2^64", "GET", "/v1/log/entries/1", 200, "application/json", strings.Replace(entry, `"seq":1`, `"seq":18446744073709551616`, 1), false},
		{"a receipt path that is no URI reference", "GET", "/v1/log/entries/1", 200, "application/json", strings.Replace(entry, `/v1/x`, `/v1/%zz`, 1), false},
		{"an open Problem", "GET", "/v1/log/entries/x", 400, "application/problem+json",
			`{"type":"urn:iotledger:problem:some-new-kind","title":"T","status":400,"detail":"d","instance":"/v1/log/entries/x","retry_after_ms":5}`, true},
		{"a Problem type that is no URI", "GET", "/v1/log/entries/x", 400, "application/problem+json",
			`{"type":"not a urn","title":"T","status":400,"detail":"d","instance":"/"}`, false},
		{"an unknown path's 404", "GET", "/v2/nothing", 404, "application/problem+json",
			`{"type":"urn:iotledger:problem:not-found","title":"T","status":404,"detail":"d","instance":"/v2/nothing"}`, true},
		{"an unknown path's 200", "GET", "/v2/nothing", 200, "application/json", `{}`, false},
	} {
		err := checkAnswer(c.method, c.path, c.status, c.ct, []byte(c.body), false)
		if (err == nil) != c.ok {
			t.Errorf("%s: check gave %v, want ok %v", c.name, err, c.ok)
		}
	}
}
