package main_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
)

// TestDevHintsWork: the commands dev prints under "try:" work as printed
// from another shell, and reach this dev node although it was started
// with --api-addr (the hint once left out --api, so the CLI took
// 127.0.0.1:8080 from the home's file: another node, or none).
func TestDevHintsWork(t *testing.T) {
	n, _ := testonly.DevNode(t)
	out := n.Output()
	_, after, ok := strings.Cut(out, "try:\n")
	hints, _, ok2 := strings.Cut(after, "press Ctrl-C to stop")
	if !ok || !ok2 {
		t.Fatalf("dev printed no hints:\n%s", out)
	}
	var want []string
	for i := range 5 {
		k, err := keystore.Load(n.Home, "sensor-"+string(rune('1'+i)))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, k.DeviceID())
	}
	var env []string // a fresh shell: none of iotledger's variables
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IOTLEDGER_") {
			env = append(env, kv)
		}
	}
	// From the module's folder, where go run ./cmd/iotledger works too.
	root := moduleRoot(t)
	ran := 0
	for _, line := range strings.Split(strings.TrimSpace(hints), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "curl ") {
			if _, err := exec.LookPath("curl"); err != nil {
				continue
			}
			line = "curl -sf" + strings.TrimPrefix(line, "curl")
		}
		cmd := exec.Command("/bin/sh", "-c", line)
		cmd.Env, cmd.Dir = env, root
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("the hint %q fails: %v\n%s", line, err, got)
			continue
		}
		ran++
		if strings.Contains(line, "device list") {
			for _, id := range want {
				if !strings.Contains(string(got), id) {
					t.Errorf("the hint %q lists no device %s of this dev chain:\n%s", line, id, got)
				}
			}
		}
		if strings.Contains(line, "/v1/status") && !strings.Contains(string(got), `"chain_id":"iotledger-dev"`) {
			t.Errorf("the hint %q does not reach the dev chain:\n%s", line, got)
		}
	}
	if ran == 0 || !strings.Contains(hints, "device list") {
		t.Errorf("no hint ran:\n%s", hints)
	}
}
