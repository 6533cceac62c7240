package device_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLightDependencies: a device binary built on this package carries
// neither the consensus engine nor the broker: the receipt format comes
// from receipt/format, not from the verifier.
func TestLightDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/iotledger/iotledger/device").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, heavy := range []string{"github.com/cometbft/", "github.com/mochi-mqtt/", "github.com/cockroachdb/pebble"} {
			if strings.HasPrefix(dep, heavy) {
				t.Errorf("package device depends on %s", dep)
			}
		}
	}
}
