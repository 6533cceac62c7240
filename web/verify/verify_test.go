package verify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/web/verify"
)

// node returns the path of node, with npm's packages installed (npm ci)
// when node_modules is missing, or fails the test saying what to install.
func node(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found on PATH: the JavaScript receipt verifier (web/verify) is tested with Node 20 or later; install it (apt-get install nodejs npm) and run go test again")
	}
	if _, err := os.Stat("node_modules"); errors.Is(err, os.ErrNotExist) {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatalf("web/verify/node_modules is missing and npm is not on PATH: install npm (apt-get install npm) or run npm ci in web/verify")
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in web/verify: %v\n%s", err, out)
		}
	}
	return path
}

// track reads every file matching the patterns, so that go test's cache,
// which knows only the files this process opens, reruns a test when one
// that node or esbuild reads has changed.
func track(t *testing.T, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no file matches %s", p)
		}
		for _, f := range files {
			if _, err := os.ReadFile(f); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestJavaScriptVerifier runs the library's tests (web/verify/test), which
// verify every receipt vector of receipt/testdata with the JavaScript
// verifier and want the verdict package receipt reaches.
func TestJavaScriptVerifier(t *testing.T) {
	track(t, "package-lock.json", "dist/verify.js", "test/*.mjs", "../../receipt/testdata/*.json", "../../receipt/testdata/*/*.json", "../../internal/zip215/testdata/zip215.json")
	cmd := exec.Command(node(t), "--test", "--test-reporter=dot", "test/")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test in web/verify failed: %v\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)
}

// TestBundleIsBuilt builds the bundle from src with the build script of
// package.json into a temporary file and wants the committed
// dist/verify.js byte for byte: the tests run the bundle, so a change of
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
	tmp := filepath.Join(t.TempDir(), "verify.js")
	found := false
	for i, a := range args {
		if a == "--outfile=dist/verify.js" {
			args[i], found = "--outfile="+tmp, true
		}
	}
	if !found {
		t.Fatalf("package.json's build script %q does not write --outfile=dist/verify.js", pkg.Scripts["build"])
	}
	cmd := exec.Command(filepath.Join("node_modules", ".bin", "esbuild"), args[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("esbuild: %v\n%s", err, out)
	}
	if !bytes.Equal(must(os.ReadFile(tmp)), must(os.ReadFile("dist/verify.js"))) {
		t.Fatalf("dist/verify.js is not what src builds: run npm run build in web/verify and commit dist/verify.js")
	}
}

// protoCase is a signed header (and the set that signed it) whose hashes
// and sign bytes CometBFT computes here and the JavaScript library in
// tools/protobuf.mjs.
type protoCase struct {
	Name         string `json:"name"`
	ChainID      string `json:"chain_id"`
	SignedHeader string `json:"signed_header"` // CometBFT JSON
	Validators   string `json:"validator_set"` // CometBFT JSON, or empty
	SignIndexes  []int  `json:"sign_indexes"`  // commit signatures whose sign bytes to compare
}

type protoResult struct {
	Name           string   `json:"name"`
	HeaderHash     string   `json:"header_hash"`
	ValidatorsHash string   `json:"validators_hash"`
	SignBytes      []string `json:"sign_bytes"`
}

// keysOK reports whether every key of vals is 32 bytes, without which
// ValidateBasic panics.
func keysOK(vals *types.ValidatorSet) bool {
	for _, v := range append(slices.Clone(vals.Validators), vals.Proposer) {
		if v == nil || v.PubKey == nil || len(v.PubKey.Bytes()) != 32 {
			return false
		}
	}
	return true
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestProtobufMatchesCometBFT compares, byte for byte, the header hashes,
// validator set hashes and vote sign bytes of the JavaScript library with
// CometBFT's, on every signed header of the receipt vectors and on
// headers and commits changed where the encoding has choices to make
// (zero values left out, a round, nanoseconds, times before 1970, a vote
// for nil, empty hashes, a long chain id).
func TestProtobufMatchesCometBFT(t *testing.T) {
	var headers []*types.SignedHeader
	var sets []*types.ValidatorSet
	var names []string
	add := func(name string, sh *types.SignedHeader, vals *types.ValidatorSet) {
		headers, sets, names = append(headers, sh), append(sets, vals), append(names, name)
	}
	decode := func(name string, rawSH, rawVals []byte) {
		var sh types.SignedHeader
		if cmtjson.Unmarshal(rawSH, &sh) != nil || sh.Header == nil || sh.Commit == nil {
			return
		}
		var vals *types.ValidatorSet
		var vs types.ValidatorSet
		if cmtjson.Unmarshal(rawVals, &vs) == nil && keysOK(&vs) && vs.ValidateBasic() == nil {
			vals = &vs
		}
		add(name, &sh, vals)
	}
	files := must(filepath.Glob("../../receipt/testdata/*.json"))
	files = append(files, must(filepath.Glob("../../receipt/testdata/forged/*.json"))...)
	for _, f := range files {
		r, err := receipt.Parse(must(os.ReadFile(f)))
		if err != nil {
			continue
		}
		decode(filepath.Base(f), r.SignedHeader, r.Validators)
		for i, lb := range r.Trace {
			decode(fmt.Sprintf("%s trace %d", filepath.Base(f), i), lb.SignedHeader, lb.Validators)
		}
	}
	if len(headers) < 20 {
		t.Fatalf("only %d signed headers in the vectors", len(headers))
	}
	base := headers[0]
	vary := func(name string, change func(h *types.Header, c *types.Commit)) {
		h, c := *base.Header, *base.Commit
		c.Signatures = append([]types.CommitSig(nil), c.Signatures...)
		change(&h, &c)
		add(name, &types.SignedHeader{Header: &h, Commit: &c}, sets[0])
	}
	vary("round 3", func(_ *types.Header, c *types.Commit) { c.Round = 3 })
	vary("height 0 and 2^62", func(h *types.Header, c *types.Commit) { h.Height = 0; c.Height = 1 << 62 })
	vary("times with nanoseconds and before 1970", func(h *types.Header, c *types.Commit) {
		h.Time = time.Date(1969, 12, 31, 23, 59, 59, 123456789, time.UTC)
		c.Signatures[0].Timestamp = time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC)
		c.Signatures[1].Timestamp = time.Time{}
		c.Signatures[2].Timestamp = time.Unix(0, 0).UTC()
	})
	vary("votes for nil", func(_ *types.Header, c *types.Commit) {
		c.Signatures[1].BlockIDFlag = types.BlockIDFlagNil
		c.Signatures[3].BlockIDFlag = types.BlockIDFlagNil
	})
	vary("empty hashes, app version 0", func(h *types.Header, c *types.Commit) {
		h.LastBlockID, h.DataHash, h.AppHash, h.EvidenceHash = types.BlockID{}, nil, nil, nil
		h.Version.App = 0
		c.BlockID.PartSetHeader = types.PartSetHeader{}
	})
	vary("long chain id", func(h *types.Header, _ *types.Commit) { h.ChainID = strings.Repeat("chain-é", 20) })

	var cases []protoCase
	var want []protoResult
	for i, sh := range headers {
		chainID := sh.ChainID
		pc := protoCase{Name: names[i], ChainID: chainID, SignedHeader: string(must(cmtjson.Marshal(sh)))}
		w := protoResult{Name: names[i], HeaderHash: fmt.Sprintf("%X", []byte(sh.Header.Hash())), SignBytes: []string{}}
		if sets[i] != nil {
			pc.Validators = string(must(cmtjson.Marshal(sets[i])))
			w.ValidatorsHash = fmt.Sprintf("%X", sets[i].Hash())
		}
		for j, cs := range sh.Commit.Signatures {
			if cs.BlockIDFlag < types.BlockIDFlagAbsent || cs.BlockIDFlag > types.BlockIDFlagNil {
				continue
			}
			pc.SignIndexes = append(pc.SignIndexes, j)
			w.SignBytes = append(w.SignBytes, fmt.Sprintf("%X", sh.Commit.VoteSignBytes(chainID, int32(j))))
		}
		if pc.SignIndexes == nil {
			pc.SignIndexes = []int{}
		}
		cases, want = append(cases, pc), append(want, w)
	}
	in := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(in, must(json.Marshal(cases)), 0o644); err != nil {
		t.Fatal(err)
	}
	track(t, "dist/verify.js", "tools/protobuf.mjs")
	cmd := exec.Command(node(t), "tools/protobuf.mjs", in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node tools/protobuf.mjs: %v\n%s", err, stderr.Bytes())
	}
	var got []protoResult
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node tools/protobuf.mjs printed %q: %v", out, err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("JavaScript hashes and sign bytes differ from CometBFT's (-javascript +cometbft):\n%s", diff)
	}
	t.Logf("%d signed headers compared", len(cases))
}

// TestBundle: the embedded bundle is dist/verify.js, exports verify and
// imports nothing.
func TestBundle(t *testing.T) {
	if !bytes.Equal(verify.Bundle, must(os.ReadFile("dist/verify.js"))) {
		t.Fatal("verify.Bundle is not dist/verify.js")
	}
	if !bytes.Contains(verify.Bundle, []byte(" as verify")) {
		t.Errorf("the bundle does not export verify")
	}
	// A browser has no Node modules: the bundle imports nothing.
	for _, s := range []string{"require(", `from"`, "import(", `"node:`} {
		if bytes.Contains(verify.Bundle, []byte(s)) {
			t.Errorf("the bundle holds %q: it must not import anything (a browser has no Node modules)", s)
		}
	}
}
