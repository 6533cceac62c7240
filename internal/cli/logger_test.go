package cli_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/internal/cli"
	"github.com/iotledger/iotledger/internal/node"
)

// TestLoggerJSON: with [log] format = "json" every line is one JSON object
// with the time, level, message and attributes a log shipper reads.
func TestLoggerJSON(t *testing.T) {
	var buf bytes.Buffer
	l := cli.NewLogger(&buf, node.LogConfig{Level: "info", Format: "json"})
	l.With("component", "mqtt").Info("mqtt: broker listening", "addr", "127.0.0.1:1883")
	l.Debug("not shown at info")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1:\n%s", len(lines), buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("line %q is not JSON: %v", lines[0], err)
	}
	for k, want := range map[string]any{"level": "INFO", "msg": "mqtt: broker listening", "component": "mqtt", "addr": "127.0.0.1:1883"} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if _, ok := got["time"]; !ok {
		t.Errorf("no time in %s", lines[0])
	}
}

// TestLoggerText: text is key=value lines.
func TestLoggerText(t *testing.T) {
	var buf bytes.Buffer
	cli.NewLogger(&buf, node.LogConfig{Level: "warn", Format: "text"}).Warn("disk nearly full", "free_bytes", 1024)
	cli.NewLogger(&buf, node.LogConfig{Level: "warn", Format: "text"}).Info("not shown at warn")
	if s := buf.String(); !strings.Contains(s, `level=WARN msg="disk nearly full" free_bytes=1024`) || strings.Count(s, "\n") != 1 {
		t.Errorf("got %q, want one key=value line", s)
	}
}

// TestLoggerHoldsBackRepeats: the node's log does not repeat an error
// more than a few times a second (issue 13, item 1: a full disk wrote
// some 4,000 identical lines a second).
func TestLoggerHoldsBackRepeats(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			l := cli.NewLogger(&buf, node.LogConfig{Level: "info", Format: format}).With("module", "pebble")
			for range 1000 {
				l.Error("background error: flush: no space left on device")
			}
			// 5 lines and a count a second (package logthrottle tests
			// that on its own clock); two seconds' worth, should this
			// loop straddle a second on a busy machine.
			if n := strings.Count(buf.String(), "\n"); n > 12 {
				t.Errorf("%d lines for 1,000 identical errors, want at most 6 a second:\n%s", n, buf.String())
			}
		})
	}
}
