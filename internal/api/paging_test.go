package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
)

// A list route of the API: its path (with any filter in the query), the
// answer's list field, and its deprecated cursor (the query parameter
// that takes the answer's next).
type listRoute struct {
	path, list, cursor string
}

func listRoutes(e *env) []listRoute {
	dev0 := e.ledger.DeviceList[0].ID
	return []listRoute{
		{"/v1/devices", "devices", "after"},
		{"/v1/devices/" + dev0 + "/readings", "readings", "from"},
		{"/v1/devices/" + dev0 + "/readings?by=time&from=0", "readings", "start_seq"},
		{"/v1/devices/" + dev0 + "/twin/history", "changes", "before"},
		{"/v1/accounts/" + apitest.Owner(), "history", "before"},
		{"/v1/contracts", "contracts", "after"},
		{"/v1/contracts/ctr-1/events", "events", "after"},
		{"/v1/validators/proposals", "proposals", "after"},
	}
}

// withQuery is path with the parameters kv (name, value, ...) added.
func withQuery(path string, kv ...string) string {
	u, err := url.Parse(path)
	if err != nil {
		panic(err)
	}
	q := u.Query()
	for i := 0; i < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// listPage is a page of a list route: its items (as JSON) and its answer.
type listPage struct {
	items  []string
	fields map[string]json.RawMessage
	link   string
}

func getPage(t *testing.T, e *env, r listRoute, path string) listPage {
	t.Helper()
	a := e.get(t, path)
	a.ok(t, nil)
	var p listPage
	if err := json.Unmarshal(a.body, &p.fields); err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(p.fields[r.list], &items); err != nil {
		t.Fatalf("%s: %s: %v", path, r.list, err)
	}
	for _, it := range items {
		p.items = append(p.items, string(it))
	}
	p.link = a.Header.Get("Link")
	return p
}

// whole is every item of the list, in one page.
func whole(t *testing.T, e *env, r listRoute) []string {
	t.Helper()
	p := getPage(t, e, r, withQuery(r.path, "limit", "1000"))
	if len(p.items) < 2 {
		t.Fatalf("%s has %d items; the test needs two or more to page", r.path, len(p.items))
	}
	if _, ok := p.fields["next_page_token"]; ok || p.link != "" {
		t.Errorf("%s: a single page carries next_page_token %s or Link %q", r.path, p.fields["next_page_token"], p.link)
	}
	return p.items
}

// Every list route pages with page_token: a walk of pages of one item gets
// every item once, in order; each page but the last carries
// next_page_token and the same next page in its Link header; the last has
// neither.
func TestPaging(t *testing.T) {
	e := newEnv(t, api.Options{})
	for _, r := range listRoutes(e) {
		t.Run(r.path, func(t *testing.T) {
			want := whole(t, e, r)
			var got []string
			path := withQuery(r.path, "limit", "1")
			for page := 0; ; page++ {
				if page > len(want) {
					t.Fatalf("%d pages for %d items: the walk does not end", page, len(want))
				}
				p := getPage(t, e, r, path)
				got = append(got, p.items...)
				raw, ok := p.fields["next_page_token"]
				if !ok {
					if p.link != "" {
						t.Errorf("%s: the last page has a Link %q", path, p.link)
					}
					break
				}
				var token string
				if err := json.Unmarshal(raw, &token); err != nil || token == "" {
					t.Fatalf("%s: next_page_token %s", path, raw)
				}
				next := withQuery(r.path, "limit", "1", "page_token", token)
				if wantLink := "<" + next + `>; rel="next"`; p.link != wantLink {
					t.Errorf("%s: Link %q, want %q", path, p.link, wantLink)
				}
				if page%2 == 0 { // follow the Link itself, or the token by hand
					path = strings.TrimSuffix(strings.TrimPrefix(p.link, "<"), `>; rel="next"`)
				} else {
					path = next
				}
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("items paged with page_token (-got +want):\n%s", diff)
			}
		})
	}
}

// A page_token this list did not write is answered 400, naming
// page_token and what to do.
func TestBadPageToken(t *testing.T) {
	e := newEnv(t, api.Options{})
	routes := listRoutes(e)
	tokens := func(r listRoute) map[string]string {
		other := routes[0] // a good token of another list
		if r.path == other.path {
			other = routes[5]
		}
		p := getPage(t, e, other, withQuery(other.path, "limit", "1"))
		var foreign string
		json.Unmarshal(p.fields["next_page_token"], &foreign)
		mine := getPage(t, e, r, withQuery(r.path, "limit", "1"))
		var own string
		json.Unmarshal(mine.fields["next_page_token"], &own)
		b, _ := base64.RawURLEncoding.DecodeString(own)
		b[0]++ // a version this node does not know
		return map[string]string{
			"not base64":    "%%%",
			"empty":         "",
			"another list":  foreign,
			"short":         "AQ",
			"other version": base64.RawURLEncoding.EncodeToString(b),
			"padded":        own + "==",
		}
	}
	for _, r := range routes {
		for name, tok := range tokens(r) {
			p := e.get(t, withQuery(r.path, "page_token", tok)).problem(t, 400, api.KindInvalidParameter)
			if !strings.Contains(p.Detail, "page_token") || !strings.Contains(p.Detail, "next_page_token of the previous page") {
				t.Errorf("%s with a page_token %s: detail %q does not name page_token and what to do", r.path, name, p.Detail)
			}
		}
	}
}

// The deprecated cursors (after, before, from and start_seq, fed the
// answer's next) still walk every list.
func TestDeprecatedPaging(t *testing.T) {
	e := newEnv(t, api.Options{})
	for _, r := range listRoutes(e) {
		t.Run(r.path, func(t *testing.T) {
			want := whole(t, e, r)
			var got []string
			path := withQuery(r.path, "limit", "1")
			for page := 0; page <= len(want); page++ {
				p := getPage(t, e, r, path)
				got = append(got, p.items...)
				var next any
				json.Unmarshal(p.fields["next"], &next)
				var more bool
				if m, ok := p.fields["more"]; ok {
					json.Unmarshal(m, &more)
				} else {
					more = next != nil && next != ""
				}
				if !more {
					break
				}
				path = withQuery(r.path, "limit", "1", r.cursor, strings.Trim(string(p.fields["next"]), `"`))
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("items paged with %s (-got +want):\n%s", r.cursor, diff)
			}
		})
	}
}
