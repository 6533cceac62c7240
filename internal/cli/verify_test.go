package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/receipt"
)

// The receipt package's checked-in vectors: a good receipt, the genesis it
// verifies against, and mutated copies that must not verify.
var (
	receiptData    = filepath.Join("..", "..", "receipt", "testdata")
	goodReceipt    = filepath.Join(receiptData, "receipt.json")
	tracedReceipt  = filepath.Join(receiptData, "receipt-trace.json") // of a block after three validator set changes
	trustedGenesis = filepath.Join(receiptData, "genesis.json")
)

var allChecks = []string{
	receipt.CheckDeviceSignature,
	receipt.CheckDeviceID,
	receipt.CheckInclusion,
	receipt.CheckAppHash,
	receipt.CheckValidatorSet,
	receipt.CheckCommit,
}

// checkLine is one line verify prints for a check.
type checkLine struct{ mark, name string }

// checkLines parses verify's output: one "ok  " or "FAIL" line per check.
func checkLines(t *testing.T, out string) []checkLine {
	t.Helper()
	var lines []checkLine
	for _, l := range strings.Split(out, "\n") {
		if len(l) < 5 || (l[:4] != "ok  " && l[:4] != "FAIL") {
			continue
		}
		name, _, ok := strings.Cut(l[5:], ": ")
		if !ok {
			t.Errorf("check line %q has no detail", l)
		}
		lines = append(lines, checkLine{strings.TrimSpace(l[:4]), name})
	}
	return lines
}

func TestVerify(t *testing.T) {
	out := mustRun(t, "verify", goodReceipt, "--genesis", trustedGenesis)
	var want []checkLine
	for _, c := range allChecks {
		want = append(want, checkLine{"ok", c})
	}
	if diff := cmp.Diff(checkLines(t, out), want, cmp.AllowUnexported(checkLine{})); diff != "" {
		t.Errorf("checks (-got +want):\n%s", diff)
	}
	if !strings.Contains(out, "receipt verifies: reading of device dev1") || !strings.Contains(out, "of chain iotledger-test") {
		t.Errorf("output does not end with the verdict:\n%s", out)
	}
	golden(t, "verify.golden", out)
}

func TestVerifyTrace(t *testing.T) {
	out := mustRun(t, "verify", tracedReceipt, "--genesis", trustedGenesis)
	var want []checkLine
	for _, c := range allChecks {
		want = append(want, checkLine{"ok", c})
	}
	if diff := cmp.Diff(checkLines(t, out), want, cmp.AllowUnexported(checkLine{})); diff != "" {
		t.Errorf("checks (-got +want):\n%s", diff)
	}
	golden(t, "verify-trace.golden", out)
}

func TestVerifyRefusesMutated(t *testing.T) {
	good, err := os.ReadFile(goodReceipt)
	if err != nil {
		t.Fatal(err)
	}
	// One more mutation of our own: a log root that differs in one digit.
	own := bytes.Replace(good, []byte(`"log_root": "AMBv`), []byte(`"log_root": "AMBw`), 1)
	if bytes.Equal(own, good) {
		t.Fatal("the log root to mutate is not in receipt.json")
	}
	ownPath := filepath.Join(t.TempDir(), "log-root-changed.json")
	if err := os.WriteFile(ownPath, own, 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(receiptData, "mutated", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d mutated receipts in %s, want the receipt package's vectors", len(files), receiptData)
	}
	files = append(files, ownPath)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, perr := receipt.Parse(b); perr != nil {
				// Refused as it is read (a field name in another case,
				// a field twice): no check runs.
				out, _ := mustFail(t, 2, []string{f + " is not a receipt", perr.Error()}, "verify", f, "--genesis", trustedGenesis)
				if lines := checkLines(t, out); len(lines) != 0 || strings.Contains(out, "receipt verifies") {
					t.Errorf("checks ran on a receipt that does not parse:\n%s", out)
				}
				return
			}
			out, _ := mustFail(t, 2, []string{"receipt does not verify"}, "verify", f, "--genesis", trustedGenesis)
			lines := checkLines(t, out)
			if len(lines) == 0 {
				t.Fatalf("no check lines:\n%s", out)
			}
			// Checks run in order until one fails; that one is last.
			for i, l := range lines {
				if l.name != allChecks[i] {
					t.Errorf("check %d is %q, want %q", i, l.name, allChecks[i])
				}
				wantMark := "ok"
				if i == len(lines)-1 {
					wantMark = "FAIL"
				}
				if l.mark != wantMark {
					t.Errorf("check %q marked %s, want %s", l.name, l.mark, wantMark)
				}
			}
			if strings.Contains(out, "receipt verifies") {
				t.Errorf("output claims the receipt verifies:\n%s", out)
			}
		})
	}
}

func TestVerifyAgainstAnotherGenesis(t *testing.T) {
	// A chain with the same id but other validators must not vouch for
	// the receipt.
	home := t.TempDir()
	mustRun(t, "init", "--home", home, "--chain-id", "iotledger-test")
	out, _ := mustFail(t, 2, []string{receipt.CheckCommit}, "verify", goodReceipt, "--genesis", filepath.Join(home, "config", "genesis.json"))
	if !strings.Contains(out, "FAIL "+receipt.CheckCommit) {
		t.Errorf("output has no failed commit check:\n%s", out)
	}
}

func TestVerifyUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere.json")
	tests := []struct {
		name  string
		args  []string
		code  int
		hints []string
	}{
		{"no genesis flag", []string{goodReceipt}, 1, []string{`"genesis"`}},
		{"genesis missing", []string{goodReceipt, "--genesis", missing}, 1, []string{missing}},
		{"receipt missing", []string{missing, "--genesis", trustedGenesis}, 1, []string{missing}},
		{"not a receipt", []string{trustedGenesis, "--genesis", trustedGenesis}, 2, []string{trustedGenesis + " is not a receipt"}},
		{"no receipt", []string{"--genesis", trustedGenesis}, 1, []string{"accepts 1 arg(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _ := mustFail(t, tt.code, tt.hints, append([]string{"verify"}, tt.args...)...)
			if strings.Contains(out, "ok  ") {
				t.Errorf("printed checks although none could run:\n%s", out)
			}
		})
	}
}

// TestVerifyRefusesWhatAnIndependentVerifierRefuses: the three changes an
// independent verifier refused and verify once accepted: a commit
// signature's validator address changed, a signature's flag changed from
// commit to nil, a field name in another letter case.
func TestVerifyRefusesWhatAnIndependentVerifierRefuses(t *testing.T) {
	for _, tt := range []struct {
		file  string
		hints []string
	}{
		{"commit-signature-address-changed", []string{"receipt does not verify", receipt.CheckCommit, "signature 1 names validator 5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A"}},
		{"commit-signature-flag-nil", []string{"receipt does not verify", receipt.CheckCommit, "signature 3, by validator", "for nil (no block), does not verify"}},
		{"field-name-case", []string{"is not a receipt", `receipt field "Reading" is unknown: field names are case-sensitive; write "reading"`}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			mustFail(t, 2, tt.hints, "verify", filepath.Join(receiptData, "mutated", tt.file+".json"), "--genesis", trustedGenesis)
		})
	}
}
