package private_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	webprivate "github.com/iotledger/iotledger/web/private"
)

// node returns the path of node, with npm's packages installed (npm ci)
// when node_modules is missing, or fails the test saying what to install.
func node(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found on PATH: the JavaScript library for private readings (web/private) is tested with Node 20 or later; install it (apt-get install nodejs npm) and run go test again")
	}
	if _, err := os.Stat("node_modules"); errors.Is(err, os.ErrNotExist) {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatalf("web/private/node_modules is missing and npm is not on PATH: install npm (apt-get install npm) or run npm ci in web/private")
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in web/private: %v\n%s", err, out)
		}
	}
	return path
}

// track reads every file matching the patterns, so that go test's cache,
// which knows only the files this process opens, reruns a test when one
// that node or esbuild reads has changed. A pattern in optional may match
// nothing.
func track(t *testing.T, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		optional := strings.HasPrefix(p, "?")
		files, err := filepath.Glob(strings.TrimPrefix(p, "?"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 && !optional {
			t.Fatalf("no file matches %s", p)
		}
		for _, f := range files {
			if _, err := os.ReadFile(f); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestJavaScriptLibrary runs the library's tests (web/private/test): the
// known-answer vectors of RFC 9180 and the X-Wing drafts, round trips and
// refusals, and the vectors of package private
// (private/testdata/vectors.json), sealed and wrapped in Go.
func TestJavaScriptLibrary(t *testing.T) {
	track(t, "package-lock.json", "dist/private.js", "test/*.mjs", "test/vectors/*.json", "?../../private/testdata/vectors.json")
	cmd := exec.Command(node(t), "--test", "--test-reporter=dot", "test/")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test in web/private failed: %v\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)
}

// TestBundleIsBuilt builds the bundle from src with the build script of
// package.json into a temporary file and wants the committed
// dist/private.js byte for byte: the tests run the bundle, so a change of
// src without npm run build would go untested.
func TestBundleIsBuilt(t *testing.T) {
	node(t)
	track(t, "package-lock.json", "tsconfig.json", "src/*.ts")
	var pkg struct {
		Scripts map[string]string `json:"scripts"`
	}
	if err := json.Unmarshal(must(os.ReadFile("package.json")), &pkg); err != nil {
		t.Fatal(err)
	}
	args := strings.Fields(pkg.Scripts["build"])
	if len(args) == 0 || args[0] != "esbuild" {
		t.Fatalf("package.json's build script %q does not start with esbuild", pkg.Scripts["build"])
	}
	tmp := filepath.Join(t.TempDir(), "private.js")
	found := false
	for i, a := range args {
		if a == "--outfile=dist/private.js" {
			args[i], found = "--outfile="+tmp, true
		}
	}
	if !found {
		t.Fatalf("package.json's build script %q does not write --outfile=dist/private.js", pkg.Scripts["build"])
	}
	cmd := exec.Command(filepath.Join("node_modules", ".bin", "esbuild"), args[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("esbuild: %v\n%s", err, out)
	}
	if !bytes.Equal(must(os.ReadFile(tmp)), must(os.ReadFile("dist/private.js"))) {
		t.Fatalf("dist/private.js is not what src builds: run npm run build in web/private and commit dist/private.js")
	}
}

// TestBundle: the embedded bundle is dist/private.js, exports
// decryptReading and imports nothing.
func TestBundle(t *testing.T) {
	if !bytes.Equal(webprivate.Bundle, must(os.ReadFile("dist/private.js"))) {
		t.Fatal("private.Bundle is not dist/private.js")
	}
	for _, name := range []string{"decryptReading", "openReading", "unwrapStreamKey", "wrapStreamKey", "openFields", "commitment"} {
		if !bytes.Contains(webprivate.Bundle, []byte(" as "+name)) {
			t.Errorf("the bundle does not export %s", name)
		}
	}
	// A browser has no Node modules: the bundle imports nothing.
	for _, s := range []string{"require(", `from"`, "import(", `"node:`} {
		if bytes.Contains(webprivate.Bundle, []byte(s)) {
			t.Errorf("the bundle holds %q: it must not import anything (a browser has no Node modules)", s)
		}
	}
}
