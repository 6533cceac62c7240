package main_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/testonly"
)

// readmeContract returns the contract document of the README's tour, so
// that the test keeps it working.
func readmeContract(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Contracts\n")
	_, doc, ok2 := strings.Cut(section, "```yaml\n")
	doc, _, ok3 := strings.Cut(doc, "```")
	if !ok || !ok2 || !ok3 || !strings.Contains(doc, "name: tip") {
		t.Fatal("README.md has no ### Contracts section with the tip contract in a yaml block")
	}
	return doc
}

// TestContractCLI runs the real binary on the README's contract: the owner
// deploys it with an escrow, funds it, calls it to pay a device, follows
// its events live, and stops it, which refunds the escrow; each refusal
// names its rule. Then the owner quarantines a device and reactivates it.
func TestContractCLI(t *testing.T) {
	_, flags, keys := devNode(t, "sensor-1", "sensor-2")
	dev1, dev2 := keys[0].DeviceID(), keys[1].DeviceID()
	run := func(args ...string) string {
		t.Helper()
		return testonly.MustRun(t, append(args, flags...)...)
	}
	balance := func(who string) uint64 {
		t.Helper()
		var a client.Account
		out := run("account", "show", who)
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("account show %s: %v\n%s", who, err, out)
		}
		return uint64(a.Balance)
	}
	show := func(id string) client.Contract {
		t.Helper()
		var c client.Contract
		out := run("contract", "show", id, "--json")
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			t.Fatalf("contract show %s --json: %v\n%s", id, err, out)
		}
		return c
	}
	doc := filepath.Join(t.TempDir(), "tip.yaml")
	tipContract := readmeContract(t)
	if err := os.WriteFile(doc, []byte(tipContract), 0o644); err != nil {
		t.Fatal(err)
	}

	out := run("contract", "deploy", doc, "--fund", "1000", "--key", "owner")
	m := regexp.MustCompile(`(?m)^deployed contract (ctr-[0-9]+)$`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "escrow: 1000 IOT") {
		t.Fatalf("deploy said %q, want the new contract's id and its escrow of 1000 IOT", out)
	}
	id := m[1]
	if out := run("contract", "fund", id, "--amount", "500"); !strings.Contains(out, "funded "+id+" with 500") || !strings.Contains(out, "escrow: 1500 IOT") {
		t.Errorf("fund said %q, want an escrow of 1500", out)
	}
	if out := run("contract", "list"); !strings.HasPrefix(out, id+" ") || !strings.Contains(out, "tip") {
		t.Errorf("list said %q, want %s (tip)", out, id)
	}

	out = run("contract", "call", id, "--trigger", "pay", "--arg", "to="+dev1, "--arg", "amount=300")
	if !strings.Contains(out, "called "+id+" (pay) in block") || !strings.Contains(out, `paid {"amount":300,"to":"`+dev1+`"}`) {
		t.Errorf("call said %q, want the paid event of its block", out)
	}
	if got := balance(dev1); got != 300 {
		t.Errorf("sensor-1 holds %d after the call, want 300 from the escrow", got)
	}
	out = run("contract", "events", id)
	if !regexp.MustCompile(`^#1 block [0-9]+ \(pay\) paid \{"amount":300,"to":"` + dev1 + `"\}\n$`).MatchString(out) {
		t.Errorf("events said %q, want the one paid event", out)
	}

	// Only the owner may pay: the condition is false for another caller.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"contract", "call", id, "--key", "sensor-2", "--arg", "to=" + dev2, "--arg", "amount=1"}, "condition_false"},
		{[]string{"contract", "call", id, "--trigger", "nope"}, "bad_call"},
		{[]string{"contract", "call", id, "--trigger", "pay", "--arg", "to=" + dev2, "--arg", "amount=ten"}, "bad_call"},
		{[]string{"contract", "stop", id, "--key", "sensor-2"}, "not_owner"},
		{[]string{"contract", "call", "ctr-999", "--arg", "amount=1"}, "no contract ctr-999"},
	} {
		out, code := testonly.Run(t, append(tc.args, flags...)...)
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, %q; want a refusal naming %s", tc.args, code, out, tc.want)
		}
	}

	// Follow the events live: the next call's event arrives on the stream.
	follow := exec.Command(testonly.Binary(t), append([]string{"contract", "events", id, "--follow"}, flags...)...)
	stdout, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	follow.Stderr = &stderr
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	waited := false
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- follow.Wait()
	}()
	t.Cleanup(func() {
		if !waited {
			follow.Process.Kill()
			<-exited
		}
	})
	next := func(want string) {
		t.Helper()
		select {
		case line, ok := <-lines:
			if !ok || !strings.HasPrefix(line, want) {
				t.Fatalf("follow printed %q (open %v), want a line starting %q; stderr %s", line, ok, want, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("follow printed nothing starting %q within 30s; stderr %s", want, stderr.String())
		}
	}
	next("#1 block ")
	run("contract", "call", id, "--trigger", "pay", "--arg", "to="+dev2, "--arg", "amount=200")
	next("#2 block ")
	follow.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		waited = true
		if err != nil {
			t.Errorf("follow ended with %v after Ctrl-C, want exit 0; stderr %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end within 10s of Ctrl-C")
	}

	c := show(id)
	if c.Balance != 1000 || c.Events != 2 || c.Status != "active" || c.State["paid"] != float64(500) || c.Source != tipContract {
		t.Errorf("contract = %+v, want escrow 1000, 2 events, paid 500, the document", c)
	}
	before := balance("owner")
	if out := run("contract", "stop", id); !strings.Contains(out, "stopped contract "+id) {
		t.Errorf("stop said %q", out)
	}
	if c := show(id); c.Status != "stopped" || c.Balance != 0 || c.Stopped == 0 {
		t.Errorf("after stop: %+v, want stopped with an empty escrow", c)
	}
	if got := balance("owner"); got != before+1000 {
		t.Errorf("owner holds %d after the stop, want %d: the escrow's 1000 back", got, before+1000)
	}
	if got, want := balance("owner"), uint64(1_000_000-1500+1000); got != want {
		t.Errorf("owner holds %d in all, want %d", got, want)
	}
	out, code := testonly.Run(t, append([]string{"contract", "call", id, "--trigger", "pay", "--arg", "to=" + dev1, "--arg", "amount=1"}, flags...)...)
	if code == 0 || !strings.Contains(out, "contract_stopped") {
		t.Errorf("call after stop: exit %d, %q; want a refusal naming contract_stopped", code, out)
	}
	if got := balance(dev1); got != 300 {
		t.Errorf("sensor-1 holds %d after the refused call, want 300", got)
	}

	// Quarantine: the owner stops a device's readings and lets them in again.
	deviceStatus := func() string {
		t.Helper()
		var d struct{ Device client.Device }
		out := run("device", "show", dev2)
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("device show: %v\n%s", err, out)
		}
		return d.Device.Status
	}
	run("device", "quarantine", dev2)
	if got := deviceStatus(); got != "quarantined" {
		t.Errorf("after quarantine the device is %q", got)
	}
	run("device", "reactivate", dev2)
	if got := deviceStatus(); got != "active" {
		t.Errorf("after reactivate the device is %q", got)
	}
}
