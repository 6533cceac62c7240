package node_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/internal/node"
)

func TestConfigLogFormat(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   string // in the error; "" for none
	}{
		{"text", ""},
		{"json", ""},
		{"JSON", `log.format "JSON", want text or json`},
		{"", `log.format "", want text or json`},
		{"logfmt", `log.format "logfmt", want text or json`},
	} {
		t.Run(tc.format, func(t *testing.T) {
			c := node.Default()
			c.Log.Format = tc.format
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestConfigLogFormatFromFile: the generated file has the setting, text by
// default, and json set in the file is read.
func TestConfigLogFormatFromFile(t *testing.T) {
	home := t.TempDir()
	p := filepath.Join(home, "config", node.ConfigFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := node.WriteConfig(p, node.Default()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nformat = \"text\"\n") {
		t.Fatalf("the generated file has no [log] format = \"text\":\n%s", b)
	}
	b = []byte(strings.Replace(string(b), "\nformat = \"text\"\n", "\nformat = \"json\"\n", 1))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Format != "json" {
		t.Errorf("log.format read as %q, want json", c.Log.Format)
	}
}
