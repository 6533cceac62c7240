package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
)

// openAPI returns the document, decoded with numbers kept as json.Number.
func openAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(api.OpenAPI))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return doc
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func TestOpenAPIRoutes(t *testing.T) {
	doc := openAPI(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi %q, want 3.1.x", v)
	}
	var documented []string
	for path, item := range doc["paths"].(map[string]any) {
		for _, m := range methods {
			if _, ok := item.(map[string]any)[m]; ok {
				documented = append(documented, strings.ToUpper(m)+" "+path)
			}
		}
	}
	l := apitest.New(t)
	routes := slices.Clone(api.New(l, l, api.Options{}).Routes())
	sort.Strings(documented)
	sort.Strings(routes)
	if diff := cmp.Diff(documented, routes); diff != "" {
		t.Errorf("documented operations (-) and registered routes (+) differ:\n%s", diff)
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, api.Options{})
	a := e.get(t, "/v1/openapi.json")
	a.ok(t, nil)
	if !bytes.Equal(a.body, api.OpenAPI) {
		t.Error("GET /v1/openapi.json is not the embedded document")
	}
}

// TestOpenAPIConsistent checks that every reference resolves, that path
// parameters are declared, and that every error answer is a Problem.
func TestOpenAPIConsistent(t *testing.T) {
	doc := openAPI(t)
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := resolve(doc, ref); err != nil {
					t.Errorf("%s: %v", at, err)
				}
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
	walk("#", doc)

	param := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range doc["paths"].(map[string]any) {
		var inPath []string
		for _, m := range param.FindAllStringSubmatch(path, -1) {
			inPath = append(inPath, m[1])
		}
		for _, m := range methods {
			op, ok := item.(map[string]any)[m].(map[string]any)
			if !ok {
				continue
			}
			at := strings.ToUpper(m) + " " + path
			if op["operationId"] == nil || op["summary"] == nil {
				t.Errorf("%s: no operationId or summary", at)
			}
			var declared []string
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				p := deref(t, doc, p)
				if p["in"] == "path" {
					declared = append(declared, p["name"].(string))
					if p["required"] != true {
						t.Errorf("%s: path parameter %s is not required", at, p["name"])
					}
				}
			}
			sort.Strings(declared)
			sort.Strings(inPath)
			if diff := cmp.Diff(declared, inPath); diff != "" {
				t.Errorf("%s: declared path parameters (-) and the path's (+) differ:\n%s", at, diff)
			}
			responses, _ := op["responses"].(map[string]any)
			if _, ok := responses["200"]; !ok {
				t.Errorf("%s: no 200 answer", at)
			}
			for code, r := range responses {
				if code[0] != '4' && code[0] != '5' {
					continue
				}
				content, _ := deref(t, doc, r)["content"].(map[string]any)
				pj, _ := content["application/problem+json"].(map[string]any)
				schema, _ := pj["schema"].(map[string]any)
				if len(content) != 1 || schema["$ref"] != "#/components/schemas/Problem" {
					t.Errorf("%s: answer %s is not only a Problem: %v", at, code, content)
				}
			}
		}
	}
}

// TestOpenAPISchemas checks real answers against the document's schemas.
func TestOpenAPISchemas(t *testing.T) {
	e := newEnv(t, api.Options{})
	id := apitest.DeviceID(0)
	for _, tc := range []struct {
		method, path, contentType, body string
		status                          int
		schema                          string
	}{
		{"GET", "/v1/status", "", "", 200, "Status"},
		{"GET", "/v1/devices", "", "", 200, "DevicePage"},
		{"GET", "/v1/devices/" + id, "", "", 200, "Device"},
		{"GET", "/v1/devices/" + id + "/readings?limit=1", "", "", 200, "ReadingPage"},
		{"GET", "/v1/devices/" + id + "/readings", "", "", 200, "ReadingPage"},
		{"GET", "/v1/devices/" + id + "/gaps", "", "", 200, "Gaps"},
		{"GET", "/v1/devices/" + apitest.DeviceID(2) + "/readings/105/receipt", "", "", 200, "Receipt"},
		{"GET", "/v1/blocks/41", "", "", 200, "Block"},
		{"GET", "/v1/accounts/" + apitest.Owner(), "", "", 200, "Account"},
		{"POST", "/v1/txs", "application/cbor", "\x82\x02\x40", 200, "TxCommit"},
		{"GET", "/v1/devices/" + e.ledger.DeviceList[0].ID + "/twin", "", "", 200, "Twin"},
		{"GET", "/v1/devices/" + e.ledger.DeviceList[0].ID + "/twin/history?limit=1", "", "", 200, "TwinHistory"},
		{"GET", "/v1/accounts/" + id + "?limit=1", "", "", 200, "Account"},
		{"GET", "/v1/contracts", "", "", 200, "ContractPage"},
		{"GET", "/v1/contracts?after=1&limit=1", "", "", 200, "ContractPage"},
		{"GET", "/v1/contracts/ctr-1", "", "", 200, "Contract"},
		{"GET", "/v1/contracts/ctr-2", "", "", 200, "Contract"},
		{"GET", "/v1/contracts/ctr-1/events", "", "", 200, "ContractEvents"},
		{"GET", "/v1/contracts/ctr-2/events", "", "", 200, "ContractEvents"},
		{"GET", "/v1/contracts/ctr-9", "", "", 404, "Problem"},
		{"GET", "/v1/contracts/x", "", "", 400, "Problem"},
		{"GET", "/v1/validators", "", "", 200, "ValidatorSet"},
		{"GET", "/v1/validators/proposals", "", "", 200, "ValidatorProposalPage"},
		{"GET", "/v1/validators/proposals/1", "", "", 200, "ValidatorProposal"},
		{"GET", "/v1/validators/proposals/2", "", "", 200, "ValidatorProposal"},
		{"GET", "/v1/validators/proposals/3", "", "", 404, "Problem"},
		{"GET", "/v1/validators/proposals/0", "", "", 400, "Problem"},
		{"POST", "/v1/readings", "application/json", string(batch(e.ledger.Fixture.Readings[0], []byte("junk"))), 200, "Results"},
		{"GET", "/v1/devices/" + id + "/readings/106/receipt", "", "", 425, "Problem"},
		{"GET", "/v1/devices/x", "", "", 400, "Problem"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			a := e.do(t, tc.method, tc.path, tc.contentType, []byte(tc.body))
			if a.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", a.StatusCode, tc.status, a.body)
			}
			checkSchema(t, tc.schema, a.body)
		})
	}
}

// resolve returns what a local reference "#/a/b" points to.
func resolve(doc map[string]any, ref string) (map[string]any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("reference %q is not local", ref)
	}
	var v any = doc
	for _, k := range strings.Split(ref[2:], "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("reference %q does not resolve", ref)
		}
		if v, ok = m[k]; !ok {
			return nil, fmt.Errorf("reference %q does not resolve", ref)
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("reference %q is not an object", ref)
	}
	return m, nil
}

func deref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		r, err := resolve(doc, ref)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	return m
}
