package app_test

import (
	"testing"

	"github.com/iotledger/iotledger/internal/app"
)

// TestCodes: Codes lists every code once, in number order, each with its
// own name (metrics label every reason from it), and codes keep their
// numbers: seq_reused came after too_many_proposals.
func TestCodes(t *testing.T) {
	seen := map[string]app.Code{}
	for i, c := range app.Codes() {
		if int(c) != i {
			t.Errorf("Codes()[%d] = %d", i, c)
		}
		name := c.String()
		if name == "unknown" {
			t.Errorf("code %d has no name", c)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("codes %d and %d are both named %q", prev, c, name)
		}
		seen[name] = c
	}
	for c, name := range map[app.Code]string{
		app.CodeDuplicate:        "duplicate",
		app.CodeTooManyProposals: "too_many_proposals",
		app.CodeSeqReused:        "seq_reused",
	} {
		if seen[name] != c {
			t.Errorf("%q is code %d, want %d", name, seen[name], c)
		}
	}
	if app.CodeSeqReused != 45 {
		t.Errorf("CodeSeqReused = %d, want 45 (after the last code before it)", app.CodeSeqReused)
	}
}
