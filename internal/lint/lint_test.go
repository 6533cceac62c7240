package lint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// deterministic are the packages that run inside consensus, relative to this
// directory.
var deterministic = []string{"../app", "../state", "../tlog", "../contract", "../query", "../audit"}

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

// violation is a broken rule at a position.
type violation struct {
	Pos token.Position
	Msg string
}

func (v violation) String() string {
	return fmt.Sprintf("%s:%d: %s", v.Pos.Filename, v.Pos.Line, v.Msg)
}

// checkFile returns the violations of the determinism rules in one file.
func checkFile(fset *token.FileSet, f *ast.File) []violation {
	var out []violation
	report := func(n ast.Node, format string, args ...any) {
		out = append(out, violation{Pos: fset.Position(n.Pos()), Msg: fmt.Sprintf(format, args...)})
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
	if timeName == "" {
		return out
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == timeName && forbiddenTime[sel.Sel.Name] {
			report(sel, "uses time.%s: the app must not read the wall clock; use the block time", sel.Sel.Name)
		}
		return true
	})
	return out
}

// checkDir parses the non-test Go files of dir and checks each.
func checkDir(t *testing.T, dir string) []violation {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []violation
	files := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		files++
		out = append(out, checkFile(fset, f)...)
	}
	if files == 0 {
		t.Fatalf("no Go files in %s: has the package moved? Update the list in lint_test.go", dir)
	}
	return out
}

func TestDeterministicPackages(t *testing.T) {
	for _, dir := range deterministic {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			for _, v := range checkDir(t, dir) {
				t.Errorf("%s", v)
			}
		})
	}
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "bad.go", tt.src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range checkFile(fset, f) {
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

// TestCheckDir checks that a package directory is read whole, test files
// excepted, and that violations name file and line.
func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.go", "package p\n\nimport \"time\"\n\nvar _ = time.Now\n")
	write("b.go", "package p\n\nimport _ \"net\"\n")
	write("a_test.go", "package p\n\nimport \"time\"\n\nvar _ = time.Sleep\n")
	var got []string
	for _, v := range checkDir(t, dir) {
		got = append(got, fmt.Sprintf("%s:%d", filepath.Base(v.Pos.Filename), v.Pos.Line))
	}
	if diff := cmp.Diff(got, []string{"a.go:5", "b.go:3"}); diff != "" {
		t.Errorf("violations (-got +want):\n%s", diff)
	}
}
