package state_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/internal/state"
)

// row is one line of the On disk table of the package comment.
type row struct {
	key, appHash string
	line         int
}

// onDiskTable reads the On disk table of doc.go: its indented lines,
// columns apart by two spaces or more.
func onDiskTable(t *testing.T, src string) []row {
	t.Helper()
	var rows []row
	in := false
	cols := regexp.MustCompile(`\s{2,}`)
	for i, line := range strings.Split(src, "\n") {
		switch {
		case strings.HasPrefix(line, "// # "):
			in = line == "// # On disk"
			continue
		case !in || !strings.HasPrefix(line, "//\t"):
			continue
		}
		f := cols.Split(strings.TrimSpace(strings.TrimPrefix(line, "//\t")), -1)
		if len(f) != 5 {
			t.Fatalf("doc.go:%d: On disk row has %d columns, want 5 (key, record, encoding, written by, app hash): %q", i+1, len(f), line)
		}
		if f[0] == "key" {
			continue // the header
		}
		rows = append(rows, row{key: f[0], appHash: f[4], line: i + 1})
	}
	if len(rows) == 0 {
		t.Fatal("doc.go has no On disk table")
	}
	return rows
}

// keyConstants returns the package's Prefix* and Key* constants, by name,
// parsed from its source so that a new one cannot be missed.
func keyConstants(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	out := map[string]string{}
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "Prefix") && !strings.HasPrefix(n.Name, "Key") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: %s is not a string literal", fset.Position(n.Pos()), n.Name)
					}
					v, _ := strconv.Unquote(lit.Value)
					out[n.Name] = v
				}
			}
		}
	}
	return out
}

// class is the On disk table's word for a key's place in the app hash,
// from the lists it is in (the first entry that is a prefix of it).
func class(key string) []string {
	var in []string
	for _, l := range []struct {
		word string
		list []string
	}{{"digest", state.CoveredPrefixes}, {"yes", state.HashedPrefixes}, {"derived", state.DerivedPrefixes}} {
		for _, p := range l.list {
			if strings.HasPrefix(key, p) {
				in = append(in, l.word)
			}
		}
	}
	return in
}

// Every key prefix is in the On disk table, in exactly one of the lists
// that say how the app hash covers it, and the table says the same; every
// row of the table is some prefix's.
func TestOnDiskTable(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	rows := onDiskTable(t, string(src))
	consts := keyConstants(t)
	if len(consts) < 20 {
		t.Fatalf("found %d key constants; has the way they are declared changed?", len(consts))
	}
	for name, key := range consts {
		cl := class(key)
		if len(cl) != 1 {
			t.Errorf("%s (%q) is in %d of CoveredPrefixes, HashedPrefixes and DerivedPrefixes (%v), want exactly one", name, key, len(cl), cl)
			continue
		}
		found := false
		for _, r := range rows {
			if !strings.HasPrefix(r.key, key) {
				continue
			}
			found = true
			if word, _, _ := strings.Cut(r.appHash, ":"); word != cl[0] {
				t.Errorf("doc.go:%d: %s says app hash %q, but %s (%q) is %s", r.line, r.key, r.appHash, name, key, cl[0])
			}
		}
		if !found {
			t.Errorf("%s (%q) has no row in the On disk table of doc.go", name, key)
		}
	}
	for _, r := range rows {
		known := false
		for _, key := range consts {
			known = known || strings.HasPrefix(r.key, key)
		}
		if !known {
			t.Errorf("doc.go:%d: row %s is no key constant's", r.line, r.key)
		}
	}
	for _, l := range [][]string{state.CoveredPrefixes, state.HashedPrefixes, state.DerivedPrefixes} {
		for _, p := range l {
			if !slices.Contains(values(consts), p) {
				t.Errorf("list entry %q is not a key constant", p)
			}
		}
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// The packages that read or write the store name its keys through this
// package's constants: a key literal elsewhere is a prefix the table
// does not know of.
func TestNoKeyLiteralsElsewhere(t *testing.T) {
	keyLike := regexp.MustCompile(`^[a-z]/`)
	for _, dir := range []string{"../app", "../tlog", "../query", "../audit", "../snapshot", "../node"} {
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				if v, err := strconv.Unquote(lit.Value); err == nil && keyLike.MatchString(v) {
					t.Errorf("%s: key literal %s: use package state's constant", fset.Position(lit.Pos()), lit.Value)
				}
				return true
			})
		}
	}
}

// The checks above catch what they are for.
func TestOnDiskTableParser(t *testing.T) {
	rows := onDiskTable(t, "// # On disk\n//\n//\tkey  record  encoding  written by  app hash\n//\td/<id>  Device  CBOR map  transactions  digest\n// # Next\n//\tx/y  a  b  c  d\n")
	if len(rows) != 1 || rows[0].key != "d/<id>" || rows[0].appHash != "digest" {
		t.Errorf("parsed rows %+v, want the one d/ row", rows)
	}
	for key, want := range map[string]string{state.PrefixDevice: "digest", state.KeyLogSize: "yes", state.PrefixSeq: "derived", state.KeyOpenProposals: "digest"} {
		if got := class(key); len(got) != 1 || got[0] != want {
			t.Errorf("class(%q) = %v, want [%s]", key, got, want)
		}
	}
	if got := class("z/"); len(got) != 0 {
		t.Errorf("class of an unknown prefix = %v, want none", got)
	}
}
