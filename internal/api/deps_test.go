package api_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The API reads committed state through the read side (package query),
// and knows a halted node by its error's Halt method: it depends neither
// on the ABCI app nor on the node.
func TestAPIDependsOnNoApp(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/iotledger/iotledger/internal/api").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case "github.com/iotledger/iotledger/internal/app", "github.com/iotledger/iotledger/internal/node":
			t.Errorf("package api depends on %s", dep)
		}
	}
}
