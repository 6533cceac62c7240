package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// selfCommand is how a person runs this binary again from a shell: its
// name when PATH finds this same file, "go run ./cmd/iotledger" when go
// run built it (in a temp folder of go-build), else its absolute path.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "iotledger"
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/iotledger"
	}
	name := filepath.Base(exe)
	if p, err := exec.LookPath(name); err == nil && sameFile(p, exe) {
		return name
	}
	return shellQuote(exe)
}

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+=,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// devHints are the commands dev suggests, exactly as they work from
// another terminal: each names the node's API, since a client command
// would otherwise take the API address from the home's iotledger.toml
// (which --api-addr and the environment do not change) and could reach
// another node.
func devHints(apiURL, home string) string {
	self := selfCommand()
	return "try:\n" +
		"  curl " + shellQuote(apiURL+"/v1/status") + "\n" +
		"  " + self + " device list --home " + shellQuote(home) + " --api " + shellQuote(apiURL) + "\n"
}
