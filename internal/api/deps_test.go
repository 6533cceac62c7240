package api_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The API reads committed state through the read side (package query),
// not through the ABCI app or the node: it imports neither.
func TestAPIImportsNoApp(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "github.com/iotledger/iotledger/internal/api").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, imp := range strings.Fields(string(out)) {
		switch imp {
		case "github.com/iotledger/iotledger/internal/app", "github.com/iotledger/iotledger/internal/node":
			t.Errorf("package api imports %s", imp)
		}
	}
}
