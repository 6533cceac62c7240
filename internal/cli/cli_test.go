package cli_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// run runs an iotledger command line in process, as main does, and returns
// what it printed.
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = cli.Run(t.Context(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// mustRun runs a command line that must succeed and returns its output.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := run(t, args...)
	if err != nil {
		t.Fatalf("iotledger %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// mustFail runs a command line that must fail with exit code code and an
// error that mentions every one of hints.
func mustFail(t *testing.T, code int, hints []string, args ...string) (stdout string, err error) {
	t.Helper()
	out, _, err := run(t, args...)
	if err == nil {
		t.Fatalf("iotledger %s succeeded, want exit code %d\nstdout:\n%s", strings.Join(args, " "), code, out)
	}
	if got := cli.ExitCode(err); got != code {
		t.Errorf("iotledger %s: exit code %d (%v), want %d", strings.Join(args, " "), got, err, code)
	}
	for _, h := range hints {
		if !strings.Contains(err.Error(), h) {
			t.Errorf("iotledger %s: error %q does not mention %q", strings.Join(args, " "), err, h)
		}
	}
	return out, err
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(got, string(want)); diff != "" {
		t.Errorf("output differs from %s (-got +want; go test -update rewrites it):\n%s", p, diff)
	}
}

func TestExitCode(t *testing.T) {
	// verify's failure carries exit code 2, kept through wrapping.
	_, verr, err := run(t, "verify", filepath.Join(receiptData, "mutated", "proof-hash-flipped.json"), "--genesis", trustedGenesis)
	if err == nil {
		t.Fatalf("verify of a mutated receipt succeeded; stderr %q", verr)
	}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"plain error", errors.New("boom"), 1},
		{"receipt does not verify", err, 2},
		{"wrapped", errors.Join(errors.New("context"), err), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cli.ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	mustFail(t, 1, []string{"unknown command", "frobnicate"}, "frobnicate")
}
