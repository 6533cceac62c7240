// Package systemd_test checks deploy/systemd/iotledger.service: the
// hardening an operator expects, settings that agree with the node's, and
// systemd's own verdict (systemd-analyze verify) where systemd is installed.
package systemd_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/internal/cli"
	"github.com/iotledger/iotledger/internal/node"
)

const unitFile = "iotledger.service"

// unit is a unit file's directives by section, each key with its values
// in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, text string) unit {
	t.Helper()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is no directive", unitFile, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

// one is the single value of a directive.
func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	vs := u[section][key]
	if len(vs) != 1 {
		t.Errorf("[%s] %s is set %d times, want once", section, key, len(vs))
		return ""
	}
	return vs[0]
}

// TestUnitHardening: the unit runs the node as its own user, with the
// file system read-only but for the home, no privileges, room for every
// MQTT device, and restarts that stop where the operator must act.
func TestUnitHardening(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	u := parseUnit(t, string(b))
	for _, d := range []struct{ section, key, want string }{
		{"Service", "User", "iotledger"},
		{"Service", "Group", "iotledger"},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "ProtectHome", "yes"},
		{"Service", "PrivateTmp", "yes"},
		{"Service", "PrivateDevices", "yes"},
		{"Service", "NoNewPrivileges", "yes"},
		{"Service", "CapabilityBoundingSet", ""},
		{"Service", "Restart", "on-failure"},
		{"Service", "KillSignal", "SIGTERM"},
		{"Install", "WantedBy", "multi-user.target"},
	} {
		if got := u.one(t, d.section, d.key); got != d.want {
			t.Errorf("[%s] %s=%s, want %s", d.section, d.key, got, d.want)
		}
	}

	// Exit codes 3 (the store disagrees with the committed blocks) and 4
	// (the disk is full) need the operator: no restart loop.
	codes := strings.Fields(u.one(t, "Service", "RestartPreventExitStatus"))
	for _, c := range []string{"3", "4"} {
		if !strings.Contains(" "+strings.Join(codes, " ")+" ", " "+c+" ") {
			t.Errorf("RestartPreventExitStatus=%v does not hold exit code %s", codes, c)
		}
	}

	// ExecStart starts the node on the home, with flags start takes.
	args := strings.Fields(u.one(t, "Service", "ExecStart"))
	if len(args) < 4 || filepath.Base(args[0]) != "iotledger" || args[1] != "start" {
		t.Fatalf("ExecStart=%v, want iotledger start --home HOME", args)
	}
	home := ""
	for i, a := range args {
		if a == "--home" && i+1 < len(args) {
			home = args[i+1]
		}
	}
	if home == "" || !filepath.IsAbs(home) {
		t.Fatalf("ExecStart=%v names no absolute --home", args)
	}
	var help bytes.Buffer
	if err := cli.Run(context.Background(), append(args[1:], "--help"), &help, io.Discard); err != nil {
		t.Errorf("iotledger %s: %v", strings.Join(args[1:], " "), err)
	}
	if got := u.one(t, "Service", "ReadWritePaths"); got != home {
		t.Errorf("ReadWritePaths=%s, want the home %s (the only place the node writes)", got, home)
	}
	if got := u.one(t, "Service", "Environment"); got != node.EnvHome+"="+home {
		t.Errorf("Environment=%s, want %s=%s (for iotledger commands run as the service's user)", got, node.EnvHome, home)
	}
	if sd := u.one(t, "Service", "StateDirectory"); "/var/lib/"+sd != home {
		t.Errorf("StateDirectory=%s is not the home %s", sd, home)
	}

	// A file descriptor per MQTT device at the default mqtt.max_clients,
	// and as many again for the stores, peers and HTTP clients.
	n, err := strconv.Atoi(u.one(t, "Service", "LimitNOFILE"))
	if want := 2 * node.Default().MQTT.MaxClients; err != nil || n < want {
		t.Errorf("LimitNOFILE=%d (%v), want at least %d: twice mqtt.max_clients", n, err, want)
	}
}

// TestUnitVerifies runs systemd-analyze verify on the unit, with its
// ExecStart pointed at an executable that exists (verify checks it).
// systemd-analyze prints what it objects to, such as a directive in the
// wrong section, and still exits 0: any output fails the test.
func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
	}
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "iotledger")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "/usr/local/bin/iotledger", bin)
	if text == string(b) {
		t.Fatal("the unit's ExecStart is not /usr/local/bin/iotledger")
	}
	p := filepath.Join(dir, unitFile)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", "--man=no", p)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
