package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const module = "github.com/iotledger/iotledger"

// execution is the package that runs blocks. It and every package of this
// module it imports, directly or not, are held to the rules below.
const execution = module + "/internal/app"

// mustCover are packages the computed set must hold: if go list ever gave
// fewer, the guard would pass by checking less.
var mustCover = []string{
	"internal/app", "internal/state", "internal/query", "internal/tlog", "internal/contract",
	"reading", "tx", "internal/zip215", "internal/dcbor",
}

// forbiddenImports are packages a deterministic package must not import, and why.
var forbiddenImports = map[string]string{
	"math/rand":    "randomness differs between validators",
	"math/rand/v2": "randomness differs between validators",
	"crypto/rand":  "randomness differs between validators",
	"net":          "the network is outside consensus",
	"net/http":     "the network is outside consensus",
	"os/exec":      "other programs are outside consensus",
}

// forbiddenTime are the functions of package time that read or wait on the
// wall clock. Time comes from the block header.
var forbiddenTime = map[string]bool{
	"Now": true, "Since": true, "Until": true,
	"Tick": true, "After": true, "AfterFunc": true,
	"NewTimer": true, "NewTicker": true, "Sleep": true,
}

// sortFuncs are the functions that put a slice in an order of its own
// (package path, function name), whatever order it was filled in. (A less
// function with ties between different elements would still let the map's
// order through; sort by the key.)
var sortFuncs = map[[2]string]bool{
	{"sort", "Strings"}: true, {"sort", "Ints"}: true, {"sort", "Float64s"}: true,
	{"sort", "Slice"}: true, {"sort", "SliceStable"}: true,
	{"slices", "Sort"}: true, {"slices", "SortFunc"}: true, {"slices", "SortStableFunc"}: true,
}

// An allowance lets one function (or, for an import, one file) of one
// package do one thing the rules forbid, for the reason given: the place
// is outside block execution, or the thing cannot change a result. Each
// must still match something, so the list cannot outlive the code.
type allowance struct {
	pkg  string // import path within the module: "internal/zip215"
	fn   string // the function, as funcName writes it; for an import, the file
	rule string // the start of the violation's message
	why  string
}

var allowances = []allowance{
	// Outside block execution.
	{"internal/zip215", "batch.go", `imports "crypto/rand"`,
		"a batch draws random coefficients for its equation; each entry's result is exactly Verify's whatever they are (TestBatchResultIndependentOfRandomness)"},
	{"internal/snapshot", "(*Store).Create", "uses time.Now",
		"a snapshot's Info.Took, for the log and metrics; snapshots are written after Commit, from committed state, and their bytes do not depend on it"},
	{"internal/snapshot", "(*Store).Create", "uses time.Since", "see time.Now in the same function"},
	{"receipt/format", "unknownField", "ranges over map fields ",
		"words a refusal of a receipt's JSON, which block execution never parses; the schema's field names differ in more than case, so at most one matches"},

	// Caches: what they hold changes speed only.
	{"internal/zip215", "(*KeyCache).expand", "ranges over map c.keys ",
		"evicts an arbitrary expanded key when the cache is full; a key not cached is expanded again"},
	{"internal/query", "(*recordCache).committedWrites", "ranges over map writes ",
		"updates the record cache key by key, and empties it when full; a record not cached is read from the store"},
	{"internal/query", "(*deviceIndex).written", "ranges over map devs ",
		"the read side's device index (searches, status counts), outside block execution: it puts or removes each device on its own, and searches sort the index by id"},
	{"internal/query", "(*deviceIndex).put", "ranges over map d.Labels ",
		"collects a device's labels into its index entry, which sorts them by key right after; outside block execution"},

	// The order cannot change the result: the body does the same to each
	// key on its own, or folds with a commutative operation.
	{"internal/app", "(*App).Commit", "ranges over map p.stage.writes ",
		"sums the sizes of the block's writes to size the batch; the writes go into it in sorted order"},
	{"internal/app", "(*execution).apply", "ranges over map ef.Set ",
		"a set effect: sets each state field once, keeping its old value for undo (each key once, so their order in the undo list does not matter), and a maximum of sizes"},
	{"internal/app", "(*quietIndex).committed", "ranges over map progress ", "moves each device's entry in the index on its own"},
	{"internal/app", "(*quietIndex).committed", "ranges over map s ", "deletes each old entry"},
	{"internal/contract", "(*docChecker).trigger", "ranges over map c.doc.State ", "declares each state field's type in a map"},
	{"internal/contract", "(*Vars).eventSize", "ranges over map d.Labels ", "a maximum of lengths"},
	{"internal/contract", "SizeOf", "ranges over map x ", "a maximum of sizes (maps of any and of strings)"},
	{"internal/contract", "(*Checked).InitialState", "ranges over map c.Doc.State ", "decodes each state field's initial value into a map"},
	{"internal/contract", "(*Selector).Matches", "ranges over map s.Labels ", "true when every label matches: a conjunction"},
	{"reading", "decodePayload", "ranges over map p.Data ", "narrows each data value in place, on its own"},
}

// violation is a broken rule at a position, in a function.
type violation struct {
	Pos  token.Position
	Func string // the enclosing function (funcName), or "" at file level
	Msg  string
}

func (v violation) String() string {
	return fmt.Sprintf("%s:%d: %s", v.Pos.Filename, v.Pos.Line, v.Msg)
}

// funcName names a function declaration: "F", or "(T).M" and "(*T).M" for
// methods.
func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	var recv func(ast.Expr) string
	recv = func(e ast.Expr) string {
		switch e := e.(type) {
		case *ast.StarExpr:
			return "*" + recv(e.X)
		case *ast.IndexExpr: // a generic type's receiver: T[K]
			return recv(e.X)
		case *ast.IndexListExpr:
			return recv(e.X)
		case *ast.Ident:
			return e.Name
		}
		return "?"
	}
	return "(" + recv(d.Recv.List[0].Type) + ")." + d.Name.Name
}

// checkFile returns the violations of the determinism rules in one file.
// info is the file's package's type information, which the map rule needs.
func checkFile(fset *token.FileSet, f *ast.File, info *types.Info) []violation {
	var out []violation
	fn := ""
	report := func(n ast.Node, format string, args ...any) {
		out = append(out, violation{Pos: fset.Position(n.Pos()), Func: fn, Msg: fmt.Sprintf(format, args...)})
	}
	timeName := "" // the name package time goes by in this file
	for _, spec := range f.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			report(spec, "unparsable import %s", spec.Path.Value)
			continue
		}
		if why, bad := forbiddenImports[path]; bad {
			report(spec, "imports %q: %s", path, why)
		}
		if path != "time" {
			continue
		}
		switch {
		case spec.Name == nil:
			timeName = "time"
		case spec.Name.Name == ".":
			report(spec, `dot-imports "time", which hides calls that read the wall clock`)
		case spec.Name.Name != "_":
			timeName = spec.Name.Name
		}
	}
	// checkRanges checks the range statements of a statement list, which
	// may collect keys that the list then sorts.
	checkRanges := func(list []ast.Stmt) {
		for i, s := range list {
			if r, ok := s.(*ast.RangeStmt); ok {
				if m, isMap := mapType(info, r.X); isMap && !collectsThenSorts(info, r, list[i+1:]) {
					report(r, "ranges over map %s (%s), whose order differs between runs: range over sorted keys (collect them, then sort), or, if the order cannot change any result, add an allowance for this function and map to lint_test.go with the reason", types.ExprString(r.X), m)
				}
			}
		}
	}
	for _, d := range f.Decls {
		fn = ""
		if fd, ok := d.(*ast.FuncDecl); ok {
			fn = funcName(fd)
		}
		ast.Inspect(d, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && timeName != "" && x.Name == timeName && forbiddenTime[n.Sel.Name] {
					report(n, "uses time.%s: the app must not read the wall clock; use the block time", n.Sel.Name)
				}
			case *ast.BlockStmt:
				checkRanges(n.List)
			case *ast.CaseClause:
				checkRanges(n.Body)
			case *ast.CommClause:
				checkRanges(n.Body)
			}
			return true
		})
	}
	return out
}

// mapType reports whether x is a map, and its type.
func mapType(info *types.Info, x ast.Expr) (string, bool) {
	t := info.TypeOf(x)
	if t == nil {
		return "", false
	}
	_, ok := t.Underlying().(*types.Map)
	return t.String(), ok
}

// collectsThenSorts reports whether r only appends to one slice (directly,
// or inside ifs without else) and the first of the statements after it
// that mentions that slice sorts it: the slice's order is then the sort's,
// not the map's.
func collectsThenSorts(info *types.Info, r *ast.RangeStmt, after []ast.Stmt) bool {
	var slice types.Object
	var onlyAppends func(stmts []ast.Stmt) bool
	onlyAppends = func(stmts []ast.Stmt) bool {
		for _, s := range stmts {
			switch s := s.(type) {
			case *ast.IfStmt:
				if s.Else != nil || s.Init != nil || !onlyAppends(s.Body.List) {
					return false
				}
			case *ast.AssignStmt:
				if len(s.Lhs) != 1 || len(s.Rhs) != 1 || s.Tok != token.ASSIGN {
					return false
				}
				lhs, ok := s.Lhs[0].(*ast.Ident)
				call, isCall := s.Rhs[0].(*ast.CallExpr)
				if !ok || !isCall || len(call.Args) < 2 {
					return false
				}
				if b, ok := info.Uses[identOf(call.Fun)].(*types.Builtin); !ok || b.Name() != "append" {
					return false
				}
				obj := info.Uses[lhs]
				if obj == nil || obj != info.Uses[identOf(call.Args[0])] || (slice != nil && obj != slice) {
					return false
				}
				slice = obj
			default:
				return false
			}
		}
		return true
	}
	if !onlyAppends(r.Body.List) || slice == nil {
		return false
	}
	for _, s := range after {
		if mentions(info, s, slice) {
			return sorts(info, s, slice)
		}
	}
	return false
}

func identOf(e ast.Expr) *ast.Ident {
	id, _ := ast.Unparen(e).(*ast.Ident)
	return id
}

func mentions(info *types.Info, n ast.Node, obj types.Object) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && info.Uses[id] == obj {
			found = true
		}
		return !found
	})
	return found
}

// sorts reports whether s is a call of a sortFuncs function on obj.
func sorts(info *types.Info, s ast.Stmt, obj types.Object) bool {
	es, ok := s.(*ast.ExprStmt)
	if !ok {
		return false
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 || info.Uses[identOf(call.Args[0])] != obj {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	f, ok := info.Uses[sel.Sel].(*types.Func)
	return ok && f.Pkg() != nil && sortFuncs[[2]string{f.Pkg().Path(), f.Name()}]
}

// listed is what go list says of a package.
type listed struct {
	ImportPath     string
	Dir            string
	GoFiles        []string
	CgoFiles       []string
	IgnoredGoFiles []string
	Export         string
	Module         *struct{ Path string }
	Error          *struct{ Err string }
}

// exportData finds the compiled export data of packages, for type checking
// against them: from go list -export, asked once per package.
type exportData struct {
	mu    sync.Mutex
	files map[string]string
}

func (e *exportData) lookup(path string) (io.ReadCloser, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f, ok := e.files[path]
	if !ok {
		out, err := exec.Command("go", "list", "-export", "-f", "{{.Export}}", path).Output()
		if err != nil {
			return nil, fmt.Errorf("go list -export %s: %v", path, err)
		}
		f = strings.TrimSpace(string(out))
		e.files[path] = f
	}
	if f == "" {
		return nil, fmt.Errorf("no export data for %s", path)
	}
	return os.Open(f)
}

var exports = &exportData{files: map[string]string{}}

// executionPackages lists the package execution and every package of this
// module it imports, directly or not: what block execution runs. A package
// added later is covered without a change here.
func executionPackages(t *testing.T) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-export", "-json", execution)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", execution, err, stderr.Bytes())
	}
	var mine []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		exports.mu.Lock()
		exports.files[p.ImportPath] = p.Export
		exports.mu.Unlock()
		if p.Module != nil && p.Module.Path == module {
			mine = append(mine, p)
		}
	}
	return mine
}

// checkPackage parses and type-checks the package of files in dir (the
// files the build takes) and checks each; ignored files (other platforms')
// are checked too, for every rule but the map rule, which needs types.
func checkPackage(t *testing.T, path, dir string, files, ignored []string) []violation {
	t.Helper()
	fset := token.NewFileSet()
	parse := func(names []string) []*ast.File {
		var out []*ast.File
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			out = append(out, f)
		}
		return out
	}
	built := parse(files)
	if len(built) == 0 {
		t.Fatalf("no Go files in %s (%s)", path, dir)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}, Defs: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "gc", exports.lookup)}
	if _, err := conf.Check(path, fset, built, info); err != nil {
		t.Fatalf("type-check %s: %v", path, err)
	}
	var out []violation
	for _, f := range built {
		out = append(out, checkFile(fset, f, info)...)
	}
	empty := &types.Info{}
	for _, f := range parse(ignored) {
		out = append(out, checkFile(fset, f, empty)...)
	}
	return out
}

// allows reports whether a is an allowance for v, a violation in package
// pkg (relative to the module).
func (a allowance) allows(pkg string, v violation) bool {
	if a.pkg != pkg || !strings.HasPrefix(v.Msg, a.rule) {
		return false
	}
	if strings.HasPrefix(a.rule, "imports ") {
		return a.fn == filepath.Base(v.Pos.Filename)
	}
	return a.fn == v.Func
}

func TestDeterministicPackages(t *testing.T) {
	pkgs := executionPackages(t)
	var names []string
	for _, p := range pkgs {
		names = append(names, strings.TrimPrefix(p.ImportPath, module+"/"))
	}
	for _, want := range mustCover {
		if !slices.Contains(names, want) {
			t.Errorf("package %s is not among the packages %s imports (%v): has it moved? Update mustCover in lint_test.go", want, execution, names)
		}
	}
	t.Logf("packages checked: %v", names)
	used := make([]int, len(allowances))
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		t.Run(rel, func(t *testing.T) {
			for _, v := range checkPackage(t, p.ImportPath, p.Dir, append(p.GoFiles, p.CgoFiles...), p.IgnoredGoFiles) {
				ok := false
				for i, a := range allowances {
					if a.allows(rel, v) {
						used[i]++
						ok = true
					}
				}
				if !ok {
					in := ""
					if v.Func != "" {
						in = " in " + v.Func
					}
					t.Errorf("%s%s", v, in)
				}
			}
		})
	}
	for i, a := range allowances {
		if used[i] == 0 {
			t.Errorf("allowance {%s %s %q} matches nothing: the code it allowed moved or went; move or remove the allowance", a.pkg, a.fn, a.rule)
		}
	}
}

// typeCheck type-checks one file of source for the self-tests; unused
// imports are not errors there.
func typeCheck(t *testing.T, fset *token.FileSet, f *ast.File) *types.Info {
	t.Helper()
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}, Defs: map[*ast.Ident]types.Object{}}
	var errs []error
	conf := types.Config{
		Importer: importer.ForCompiler(fset, "gc", exports.lookup),
		Error: func(err error) {
			if msg := err.Error(); !strings.Contains(msg, "imported") || !strings.HasSuffix(msg, "not used") {
				errs = append(errs, err)
			}
		},
	}
	conf.Check("bad", fset, []*ast.File{f}, info)
	if len(errs) > 0 {
		t.Fatalf("type-check the test source: %v", errs)
	}
	return info
}

// TestCheckerFindsViolations feeds the checker code that breaks every rule,
// so the guard above cannot pass by checking nothing.
func TestCheckerFindsViolations(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // "line: message prefix"
	}{
		{
			name: "forbidden imports and clock calls",
			src: `package bad

import (
	crand "crypto/rand"
	"math/rand"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"time"
)

func f() {
	_ = time.Now()
	_ = time.Since(time.Time{})
	_ = time.Until(time.Time{})
	_ = time.Tick(time.Second)
	<-time.After(time.Second)
	_ = time.NewTimer(time.Second)
	time.Sleep(1)
	now := time.Now
	_ = now
	_ = time.UnixMilli(0).Add(time.Duration(3) * time.Millisecond)
}
`,
			want: []string{
				`4: imports "crypto/rand"`,
				`5: imports "math/rand"`,
				`6: imports "math/rand/v2"`,
				`7: imports "net"`,
				`8: imports "net/http"`,
				`9: imports "os/exec"`,
				`14: uses time.Now`,
				`15: uses time.Since`,
				`16: uses time.Until`,
				`17: uses time.Tick`,
				`18: uses time.After`,
				`19: uses time.NewTimer`,
				`20: uses time.Sleep`,
				`21: uses time.Now`,
			},
		},
		{
			name: "renamed time import",
			src: `package bad

import clock "time"

func f() clock.Time { clock.AfterFunc(0, nil); return clock.Now() }
`,
			want: []string{`5: uses time.AfterFunc`, `5: uses time.Now`},
		},
		{
			name: "dot import of time",
			src: `package bad

import . "time"

func f() Time { return Now() }
`,
			want: []string{`3: dot-imports "time"`},
		},
		{
			name: "block time only",
			src: `package good

import (
	"sort"
	"time"
)

func f(blockTime time.Time, ms []int64) int64 {
	sort.Slice(ms, func(i, j int) bool { return ms[i] < ms[j] })
	return blockTime.Add(5 * time.Minute).UnixMilli()
}
`,
			want: nil,
		},
		{
			name: "ranging over maps",
			src: `package bad

import (
	"slices"
	"sort"
)

type labels map[string]string

func f(m map[string]int, l labels, get func() map[int]bool) (out []string, n int) {
	for k := range m {
		out = append(out, k)
	}
	for k, v := range l {
		out = append(out, k+v)
	}
	for k := range get() {
		n += k
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	out = append(out, keys...)
	sort.Strings(keys)
	var other []string
	for k := range m {
		keys = append(other, k)
	}
	sort.Strings(keys)
	for k := range m {
		if k != "" {
			keys = append(keys, k)
		}
		n++
	}
	sort.Strings(keys)
	go func() {
		for range m {
		}
	}()
	return out, n
}

func g(m map[string]int, s []string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			keys = append(keys, k, k)
		}
	}
	sort.Strings(keys)
	var ids []string
	for k, v := range m {
		if v > 0 {
			ids = append(ids, k)
		}
	}
	slices.Sort(ids)
	switch len(s) {
	case 0:
		for k := range m {
			s = append(s, k)
		}
	}
	for range s {
	}
	for range "text" {
	}
	for range 3 {
	}
	return append(keys, ids...)
}
`,
			want: []string{
				`11: ranges over map m (map[string]int)`,   // collects, never sorts
				`14: ranges over map l (bad.labels)`,       // a named map type
				`17: ranges over map get() (map[int]bool)`, // a map a call returns
				`21: ranges over map m (map[string]int)`,   // used before it is sorted
				`27: ranges over map m (map[string]int)`,   // appends to another slice
				`31: ranges over map m (map[string]int)`,   // does more than append
				`39: ranges over map m (map[string]int)`,   // inside a function literal
				`62: ranges over map m (map[string]int)`,   // in a switch case, collects, never sorts
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "bad.go", tt.src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range checkFile(fset, f, typeCheck(t, fset, f)) {
				if v.Pos.Filename != "bad.go" {
					t.Errorf("violation %s does not name the file", v)
				}
				got = append(got, fmt.Sprintf("%d: %s", v.Pos.Line, v.Msg))
			}
			sort.Strings(got)
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if len(got) != len(want) {
				t.Fatalf("violations (-got +want):\n%s", cmp.Diff(got, want))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], want[i]) {
					t.Errorf("violation %q, want one starting %q", got[i], want[i])
				}
			}
		})
	}
}

// TestCheckPackage checks that a package is read whole, test files
// excepted, that violations name file, line and function, and that an
// allowance covers only its package, function (or file) and rule.
func TestCheckPackage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.go", "package p\n\nimport \"time\"\n\nvar _ = time.Now\n\ntype T struct{ m map[int]int }\n\nfunc (t *T) M() { for range t.m {\n\t}\n}\n")
	write("b.go", "package p\n\nimport _ \"net\"\n")
	write("c_other.go", "//go:build ignore\n\npackage p\n\nimport \"time\"\n\nfunc F() { time.Sleep(1) }\n")
	write("a_test.go", "package p\n\nimport \"time\"\n\nvar _ = time.Sleep\n")
	var got []string
	vs := checkPackage(t, "p", dir, []string{"a.go", "b.go"}, []string{"c_other.go"})
	for _, v := range vs {
		got = append(got, fmt.Sprintf("%s:%d %s", filepath.Base(v.Pos.Filename), v.Pos.Line, v.Func))
	}
	if diff := cmp.Diff(got, []string{"a.go:5 ", "a.go:9 (*T).M", "b.go:3 ", "c_other.go:7 F"}); diff != "" {
		t.Errorf("violations (-got +want):\n%s", diff)
	}
	for _, tc := range []struct {
		a    allowance
		want []bool // allows each of vs
	}{
		{allowance{"p", "(*T).M", "ranges over map t.m ", ""}, []bool{false, true, false, false}},
		{allowance{"p", "(*T).M", "ranges over map t.n ", ""}, []bool{false, false, false, false}},
		{allowance{"p", "b.go", `imports "net"`, ""}, []bool{false, false, true, false}},
		{allowance{"p", "a.go", `imports "net"`, ""}, []bool{false, false, false, false}},
		{allowance{"q", "(*T).M", "ranges over map t.m ", ""}, []bool{false, false, false, false}},
		{allowance{"p", "F", "uses time.Now", ""}, []bool{false, false, false, false}},
		{allowance{"p", "F", "uses time.Sleep", ""}, []bool{false, false, false, true}},
	} {
		for i, v := range vs {
			if got := tc.a.allows("p", v); got != tc.want[i] {
				t.Errorf("allowance %+v allows %s in %q: %v, want %v", tc.a, v, v.Func, got, tc.want[i])
			}
		}
	}
}
