package contract_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/contract"
)

const (
	testDevice  = "dev1x3zza2fmpa697shzfgmdvjzjvlgxqqm39scrjk"
	testAccount = "acc1x36slx9at870e9rd53d2405n80s4ff94uv75t6"
)

// Grant and revoke are actions of their own: each evaluates to a device
// and an account, and names a device the deploy checks is its owner's.
func TestGrantRevokeActions(t *testing.T) {
	c, err := contract.Check([]byte(`name: access
state:
  buyer: {type: string, initial: "` + testAccount + `"}
triggers:
  - name: pay
    on: call
    args: {device: string}
    do:
      - grant: {device: "args.device", to: "state.buyer"}
  - name: stop
    on: call
    do:
      - revoke: {device: "'` + testDevice + `'", from: "caller"}
`))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	_, effects, _, err := c.Run(&c.Doc.Triggers[0], &contract.Vars{State: map[string]any{"buyer": testAccount}, Args: map[string]any{"device": testDevice}, Caller: testAccount})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(effects, []contract.Effect{{Kind: "grant", Device: testDevice, Account: testAccount}}); diff != "" {
		t.Errorf("grant effects (-got +want):\n%s", diff)
	}
	_, effects, _, err = c.Run(&c.Doc.Triggers[1], &contract.Vars{State: map[string]any{}, Args: map[string]any{}, Caller: testAccount})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(effects, []contract.Effect{{Kind: "revoke", Device: testDevice, Account: testAccount}}); diff != "" {
		t.Errorf("revoke effects (-got +want):\n%s", diff)
	}
	if _, ok := c.StaticDevices()[testDevice]; !ok {
		t.Errorf("StaticDevices = %v; want the device the revoke names, so deploy checks its owner", c.StaticDevices())
	}

	// An account that is not one fails the run, where it stands.
	_, _, _, err = c.Run(&c.Doc.Triggers[0], &contract.Vars{State: map[string]any{"buyer": testDevice}, Args: map[string]any{"device": testDevice}, Caller: testAccount})
	var re *contract.RunError
	if !errors.As(err, &re) || re.Line != 9 || !strings.Contains(err.Error(), "grant to") || !strings.Contains(err.Error(), "not an account (acc1...)") {
		t.Errorf("grant to a device id: %v; want a RunError at line 9 saying it is not an account", err)
	}

	for _, tc := range []struct{ name, action, want string }{
		{"grant without to", `grant: {device: "device.id"}`, "grant needs device and to"},
		{"revoke without from", `revoke: {device: "device.id"}`, "revoke needs device and from"},
		{"grant to a number", `grant: {device: "device.id", to: "1"}`, "grant to: the expression gives int, want string"},
		{"grant and revoke in one", "grant: {device: \"device.id\", to: \"'a'\"}\n        revoke: {device: \"device.id\", from: \"'a'\"}", "exactly one of set, emit, transfer, device_status, desired, grant, revoke"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := contract.Check([]byte("name: c\ntriggers:\n  - name: t\n    on: reading\n    devices: {labels: {k: v}}\n    do:\n      - " + tc.action + "\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// Fields lists the data fields reading and report triggers read by name,
// with where each stands; a key computed at run time is not known.
func TestFieldRefs(t *testing.T) {
	c, err := contract.Check([]byte(`name: refs
state:
  k: {type: string, initial: "x"}
  n: {type: int, initial: 0}
triggers:
  - name: hot
    on: reading
    devices: {labels: {k: v}}
    when: "reading.data.temp > 8.0 && has(reading.data.hr)"
    do:
      - set: {n: "reading.data['spo2'] + 1"}
      - emit: {event: e, fields: {x: "reading.data[state.k]", s: "reading.seq"}}
  - name: rep
    on: report
    devices: {ids: [` + testDevice + `]}
    when: "reported.battery < 0.2 || reported['door'] == 'open'"
    do:
      - emit: {event: low}
  - name: tick
    on: blocks
    every: 3
    do:
      - set: {n: "state.n + 1"}
`))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	type ref struct {
		Trigger, Name, Path string
		Line, Column        int
	}
	var got []ref
	for _, f := range c.Fields {
		got = append(got, ref{f.Trigger.Name, f.Name, f.Path, f.Line, f.Column})
	}
	want := []ref{
		// Columns as every position of a document is given (the
		// expression's column plus the node's offset in it): the dot of a
		// selection, the bracket of an index, the parenthesis of has().
		{"hot", "temp", "reading.data", 9, 23},
		{"hot", "hr", "reading.data", 9, 41},
		{"hot", "spo2", "reading.data", 11, 30},
		{"rep", "battery", "reported", 16, 19},
		{"rep", "door", "reported", 16, 45},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Fields (-got +want):\n%s", diff)
	}
}
