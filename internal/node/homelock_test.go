package node_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/internal/node"
)

// TestSecondNodeOnAHome: while a node runs on a home, a second node and an
// audit are refused at once with who holds the home, instead of Pebble's
// "resource temporarily unavailable" from deep in a store; once the node
// is closed, the lock file it leaves (with its pid) holds nobody back.
func TestSecondNodeOnAHome(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the home is locked with flock, on Unix only")
	}
	n, home := startNode(t)
	cfg := node.Default()
	cfg.API.Addr, cfg.RPCAddr, cfg.P2PAddr, cfg.MQTT.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	want := []string{fmt.Sprintf("the home is in use: process %d holds %s", os.Getpid(), home), "stop it first, or use another --home"}
	second, err := node.Start(t.Context(), home, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if second != nil {
		second.Close()
	}
	wantInUse(t, "second Start", err, want)
	_, err = node.Audit(t.Context(), home)
	wantInUse(t, "Audit", err, want)

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(node.HomeLockFile(home)); err != nil || strings.TrimSpace(string(b)) != fmt.Sprint(os.Getpid()) {
		t.Errorf("lock file holds %q, %v; want this process's pid", b, err)
	}
	if _, err := node.Audit(t.Context(), home); err != nil {
		t.Errorf("Audit after the node closed: %v", err)
	}
}

func wantInUse(t *testing.T, what string, err error, hints []string) {
	t.Helper()
	if !errors.Is(err, node.ErrHomeInUse) {
		t.Fatalf("%s: %v, want ErrHomeInUse", what, err)
	}
	for _, h := range hints {
		if !strings.Contains(err.Error(), h) {
			t.Errorf("%s: %q does not say %q", what, err, h)
		}
	}
}
