package testonly

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
)

// DevNode starts `iotledger dev` in a fresh home (its owner account funded,
// five simulated sensors sending a reading a second) and returns it with a
// CLI pointed at it. The node is stopped cleanly at cleanup. End-to-end
// tests that build the binary are skipped with -short.
func DevNode(t testing.TB) (*Node, *CLI) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	home := filepath.Join(t.TempDir(), "devhome")
	n := StartNode(t, home, "dev")
	t.Cleanup(func() { n.Stop(t) })
	return n, &CLI{Home: home, Flags: []string{"--home", home, "--api", n.URL(), "--rpc", n.RPCAddr}}
}

// CLI runs the binary against one node: every command gets Flags (--home,
// --api, --rpc), which point it at that node and its home's keys.
type CLI struct {
	Home  string
	Flags []string
}

// Run runs `iotledger args... Flags...` and returns its output and exit code.
func (c *CLI) Run(t testing.TB, args ...string) (string, int) {
	t.Helper()
	return Run(t, append(args, c.Flags...)...)
}

// MustRun is Run that fails the test on a non-zero exit.
func (c *CLI) MustRun(t testing.TB, args ...string) string {
	t.Helper()
	return MustRun(t, append(args, c.Flags...)...)
}

// JSON runs a command that prints JSON (such as `account show` or `contract
// events ID --json`) and decodes its output into v.
func (c *CLI) JSON(t testing.TB, v any, args ...string) {
	t.Helper()
	out := c.MustRun(t, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("iotledger %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Key loads a key of the home.
func (c *CLI) Key(t testing.TB, name string) *keystore.Key {
	t.Helper()
	k, err := keystore.Load(c.Home, name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// NewKey creates a key in the home (`keys new NAME`) and returns it.
func (c *CLI) NewKey(t testing.TB, name string) *keystore.Key {
	t.Helper()
	c.MustRun(t, "keys", "new", name)
	return c.Key(t, name)
}

// NewDevice creates a device key and registers it under the home's owner
// key with labels (k=v), as a user would: `keys new NAME`, then `device
// register --owner owner --key NAME --label k=v...`.
func (c *CLI) NewDevice(t testing.TB, name string, labels ...string) *keystore.Key {
	t.Helper()
	k := c.NewKey(t, name)
	args := []string{"device", "register", "--owner", "owner", "--key", name}
	for _, l := range labels {
		args = append(args, "--label", l)
	}
	if out := c.MustRun(t, args...); !strings.Contains(out, "registered device "+k.DeviceID()) {
		t.Fatalf("device register %s said %q", name, out)
	}
	return k
}

// Document copies the contract document at path into a temporary folder
// with the initial values of some state fields replaced, and returns the
// copy's path. initial maps a field to its new value as YAML, such as
// `"acc1..."` or `5000`. Each field must be declared on one line of the
// document in the form `name: {type: T, initial: V}`.
func Document(t testing.TB, path string, initial map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for field, value := range initial {
		found := 0
		for i, line := range lines {
			rest, ok := strings.CutPrefix(strings.TrimLeft(line, " "), field+": {type: ")
			if !ok {
				continue
			}
			typ, _, ok := strings.Cut(rest, ", initial: ")
			_, comment, ok2 := strings.Cut(rest, "}")
			if !ok || !ok2 {
				continue
			}
			indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
			lines[i] = indent + field + ": {type: " + typ + ", initial: " + value + "}" + comment
			found++
		}
		if found != 1 {
			t.Fatalf("%s: state field %s is declared on %d lines of the form `%s: {type: T, initial: V}`, want 1", path, field, found, field)
		}
	}
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// Balance is an account's or device's balance as `account show` prints it.
func (c *CLI) Balance(t testing.TB, who string) uint64 {
	t.Helper()
	var a client.Account
	c.JSON(t, &a, "account", "show", who)
	return uint64(a.Balance)
}

// Events are a contract's first 100 events as `contract events ID --json`
// prints them.
func (c *CLI) Events(t testing.TB, id string) []client.ContractEvent {
	t.Helper()
	var p client.ContractEvents
	c.JSON(t, &p, "contract", "events", id, "--json")
	return p.Events
}

// deployedRE finds the id in what `contract deploy` prints.
var deployedRE = regexp.MustCompile(`(?m)^deployed contract (ctr-[0-9]+)$`)

// Deploy deploys the contract document at path (`contract deploy`, owned
// by the home's owner key) with args such as --fund N, and returns its id.
func (c *CLI) Deploy(t testing.TB, path string, args ...string) string {
	t.Helper()
	out := c.MustRun(t, append([]string{"contract", "deploy", path}, args...)...)
	m := deployedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("contract deploy %s said %q, want the new contract's id", path, out)
	}
	return m[1]
}

// acceptedRE finds the block in what `reading send` prints.
var acceptedRE = regexp.MustCompile(`^accepted: device \S+ seq [0-9]+, log index [0-9]+, block ([0-9]+)\n`)

// Send signs one reading of data (k=v...) with device key name and sends
// it (`reading send --device NAME k=v...`), which waits for its block; the
// reading must be accepted. It returns the block.
func (c *CLI) Send(t testing.TB, name string, data ...string) int64 {
	t.Helper()
	out := c.MustRun(t, append([]string{"reading", "send", "--device", name}, data...)...)
	m := acceptedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("reading send --device %s %s said %q, want it accepted", name, strings.Join(data, " "), out)
	}
	h, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
