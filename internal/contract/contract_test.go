package contract_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/internal/contract"
)

func TestCheckColdChain(t *testing.T) {
	src, err := os.ReadFile("testdata/coldchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.Check(src)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if c.Doc.Name != "coldchain" || len(c.Doc.Triggers) != 4 {
		t.Errorf("document = %+v", c.Doc)
	}
	// Every expression was compiled: 3 when, 1+1+2+1+2+1+1+1+1+2 values.
	if got := len(c.Programs); got < 12 {
		t.Errorf("%d programs compiled, want one per expression", got)
	}
}

func TestCheckRefusals(t *testing.T) {
	base := "name: c\nstate:\n  n: {type: int, initial: 0}\ntriggers:\n  - name: t\n    on: reading\n    devices: {labels: {k: v}}\n"
	for _, tc := range []struct {
		name, src string
		want      []string // each must appear in the error
	}{
		{"not yaml", "name: [", []string{"yaml"}},
		{"empty", "", []string{"empty"}},
		{"unknown field", base + "    do:\n      - set: {n: \"1\"}\n    colour: red\n", []string{"colour"}},
		{"syntax", base + "    when: \"state.n >\"\n    do:\n      - set: {n: \"1\"}\n", []string{"line 8", "when"}},
		{"unknown state field", base + "    do:\n      - set: {n: \"state.m + 1\"}\n", []string{"line 9", "state has no field m", "known: n"}},
		{"set undeclared", base + "    do:\n      - set: {m: \"1\"}\n", []string{"declares no field m"}},
		{"wrong type", base + "    do:\n      - set: {n: \"'ten'\"}\n", []string{"gives string, want int"}},
		{"when not bool", base + "    when: \"state.n + 1\"\n    do:\n      - set: {n: \"1\"}\n", []string{"when", "want bool"}},
		{"over cost", base + "    do:\n      - set: {n: \"" + strings.Repeat("reading.data.a.matches(reading.data.b) || ", 40) + "false ? 1 : 0\"}\n", []string{"line 9", "estimated cost up to"}},
		{"comprehension", base + "    do:\n      - set: {n: \"reading.data.map(k, 1).size()\"}\n", []string{"undeclared reference to 'map'"}},
		{"two kinds in one action", base + "    do:\n      - set: {n: \"1\"}\n        emit: {event: e}\n", []string{"exactly one"}},
		{"no selector", "name: c\ntriggers:\n  - name: t\n    on: reading\n    do:\n      - emit: {event: e}\n", []string{"needs devices"}},
		{"bad on", "name: c\ntriggers:\n  - name: t\n    on: sometimes\n    do:\n      - emit: {event: e}\n", []string{"use reading, report, silence, blocks or call"}},
		{"bad initial", "name: c\nstate:\n  n: {type: int, initial: ten}\ntriggers:\n  - name: t\n    on: blocks\n    every: 1\n    do:\n      - emit: {event: e}\n", []string{"line 3", "not of type int"}},
		{"bad status", base + "    do:\n      - device_status: {device: \"device.id\", status: broken}\n", []string{"active, quarantined or revoked"}},
		{"reading in blocks", "name: c\ntriggers:\n  - name: t\n    on: blocks\n    every: 1\n    do:\n      - emit: {event: e, fields: {x: \"reading.seq\"}}\n", []string{"undeclared reference to 'reading'"}},
		{"call arg unknown", "name: c\ntriggers:\n  - name: t\n    on: call\n    args: {a: int}\n    do:\n      - emit: {event: e, fields: {x: \"args.b\"}}\n", []string{"args has no field b"}},
		{"silence without blocks", "name: c\ntriggers:\n  - name: t\n    on: silence\n    devices: {ids: [dev1x3zza2fmpa697shzfgmdvjzjvlgxqqm39scrjk]}\n    do:\n      - emit: {event: e}\n", []string{"blocks is 0"}},
		{"list of numbers", "name: c\nstate:\n  l: {type: list, initial: [1, [2]]}\ntriggers:\n  - name: t\n    on: blocks\n    every: 1\n    do:\n      - emit: {event: e}\n", []string{"line 3", "not of type list"}},
		{"too large", "name: c\n# " + strings.Repeat("x", contract.MaxBytes) + "\n", []string{"bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := contract.Check([]byte(tc.src))
			if !errors.Is(err, contract.ErrInvalid) {
				t.Fatalf("Check = %v, want %v", err, contract.ErrInvalid)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// A document with many bad call arguments is refused with the same message
// every time (arguments in name order, the first 20 errors), as every
// validator must refuse it.
func TestCheckArgErrorsAreStable(t *testing.T) {
	var args []string
	for i := range 25 {
		args = append(args, fmt.Sprintf("Bad%02d: int", i))
	}
	src := []byte("name: c\ntriggers:\n  - name: t\n    on: call\n    args: {" + strings.Join(args, ", ") + "}\n    do:\n      - emit: {event: e}\n")
	_, first := contract.Check(src)
	if first == nil || !strings.Contains(first.Error(), "argument Bad00 ") || strings.Contains(first.Error(), "argument Bad24 ") {
		t.Fatalf("Check = %v; want the arguments refused in name order, from Bad00, up to 20 errors", first)
	}
	for range 20 {
		if _, err := contract.Check(src); err == nil || err.Error() != first.Error() {
			t.Fatalf("Check's error changes between runs:\n%v\nthen\n%v", first, err)
		}
	}
}

// FuzzCheck: Check never panics, refuses with ErrInvalid, and accepts only
// documents whose every expression compiled.
func FuzzCheck(f *testing.F) {
	if src, err := os.ReadFile("testdata/coldchain.yaml"); err == nil {
		f.Add(src)
	}
	f.Add([]byte("name: c\ntriggers:\n  - name: t\n    on: blocks\n    every: 1\n    do:\n      - emit: {event: e}\n"))
	f.Add([]byte("{\"name\": \"c\", \"triggers\": []}"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := contract.Check(src)
		if err != nil {
			if !errors.Is(err, contract.ErrInvalid) {
				t.Fatalf("error wraps no ErrInvalid: %v", err)
			}
			return
		}
		if c == nil || c.Doc == nil || len(c.Doc.Triggers) == 0 {
			t.Fatalf("accepted %q without triggers", src)
		}
	})
}

// A run-time type mismatch is an error that says what to do, not CEL's
// bare "no such overload".
func TestRunTypeMismatch(t *testing.T) {
	c, err := contract.Check([]byte("name: c\ntriggers:\n  - name: hot\n    on: reading\n    devices: {labels: {k: v}}\n    when: \"reading.data.temp > 8.0\"\n    do:\n      - emit: {event: hot}\n"))
	if err != nil {
		t.Fatal(err)
	}
	v := &contract.Vars{
		Reading: &contract.ReadingVars{Device: "dev1x", Seq: 1, Data: map[string]any{"temp": "hot"}},
		Device:  &contract.DeviceVars{ID: "dev1x"},
	}
	_, _, _, err = c.Run(&c.Doc.Triggers[0], v)
	var re *contract.RunError
	if !errors.As(err, &re) || re.Line != 6 || !strings.Contains(err.Error(), "text compared with a number") {
		t.Errorf("Run = %v, want a RunError at line 6 that explains the type mismatch", err)
	}
	v.Reading.Data["temp"] = 9.5
	fired, effects, _, err := c.Run(&c.Doc.Triggers[0], &contract.Vars{Reading: v.Reading, Device: v.Device})
	if err != nil || !fired || len(effects) != 1 || effects[0].Event != "hot" {
		t.Errorf("Run(9.5) = %v %v %v, want one emit of hot", fired, effects, err)
	}
}

// A run whose values all fit the sizes the estimates assume counts the
// estimates (no cost tracker); a run that sees a larger value is tracked,
// and an expression that goes over MaxCost fails with its position.
func TestRunCost(t *testing.T) {
	c, err := contract.Check([]byte(`name: c
state:
  n: {type: int, initial: 0}
triggers:
  - name: match
    on: reading
    devices: {labels: {k: v}}
    when: "reading.data.s.matches(reading.data.p)"
    do:
      - set: {n: "state.n + 1"}
`))
	if err != nil {
		t.Fatal(err)
	}
	tr := &c.Doc.Triggers[0]
	vars := func(s, p string) *contract.Vars {
		return &contract.Vars{
			State:   map[string]any{"n": int64(1)},
			Reading: &contract.ReadingVars{Device: "dev1x", Seq: 1, Data: map[string]any{"s": s, "p": p}},
			Device:  &contract.DeviceVars{ID: "dev1x"},
		}
	}
	estimate := c.Estimate[tr.When] + c.Estimate[tr.Do[0].Set["n"]]
	if estimate == 0 || estimate > contract.MaxCost {
		t.Fatalf("estimates add up to %d; want some, within MaxCost", estimate)
	}
	// Small values: the estimates are the cost.
	if fired, _, cost, err := c.Run(tr, vars("abc", "b")); err != nil || !fired || cost != estimate {
		t.Errorf("Run on short text = %v, cost %d, %v; want fired at the estimated %d", fired, cost, err, estimate)
	}
	// Past the size hint but cheap: tracked, and the actual cost counts.
	mid := strings.Repeat("a", contract.SizeHint+1)
	if fired, _, cost, err := c.Run(tr, vars(mid, "b")); err != nil || fired || cost == 0 || cost == estimate {
		t.Errorf("Run on %d characters = %v, cost %d, %v; want not fired, at an actual cost other than the estimate", len(mid), fired, cost, err)
	}
	// A large value anywhere the run can see makes it tracked.
	for name, grow := range map[string]func(v *contract.Vars){
		"state list": func(v *contract.Vars) { v.State["tags"] = make([]string, contract.SizeHint+1) },
		"label":      func(v *contract.Vars) { v.Device.Labels = map[string]string{"k": mid} },
		"data key":   func(v *contract.Vars) { v.Reading.Data[mid] = 1 },
		"args":       func(v *contract.Vars) { v.Args = map[string]any{"a": mid} },
	} {
		v := vars("abc", "b")
		grow(v)
		if fired, _, cost, err := c.Run(tr, v); err != nil || !fired || cost == estimate {
			t.Errorf("Run with a large %s = %v, cost %d, %v; want fired at its actual cost", name, fired, cost, err)
		}
	}
	// One Vars serves every contract an event triggers: a later
	// contract's own values count, whatever an earlier run measured.
	shared := vars("abc", "b")
	if _, _, cost, err := c.Run(tr, shared); err != nil || cost != estimate {
		t.Fatalf("first run on shared vars: cost %d, %v; want the estimate %d", cost, err, estimate)
	}
	shared.Owner = mid
	if fired, _, cost, err := c.Run(tr, shared); err != nil || !fired || cost == estimate {
		t.Errorf("second run on shared vars with a large owner = %v, cost %d, %v; want fired at its actual cost", fired, cost, err)
	}
	// The caller's measure of the state counts too, however small the
	// state looks now (it is an upper bound the caller keeps).
	v := vars("abc", "b")
	v.StateSize = contract.SizeHint + 1
	if fired, _, cost, err := c.Run(tr, v); err != nil || !fired || cost == estimate {
		t.Errorf("Run with StateSize over the hint = %v, cost %d, %v; want fired at its actual cost", fired, cost, err)
	}
	// Large: over the limit, stopped where it ran over.
	long := strings.Repeat("ab", 2000)
	_, _, cost, err := c.Run(tr, vars(long, long))
	var re *contract.RunError
	if !errors.As(err, &re) || re.Line != tr.When.Line || !strings.Contains(err.Error(), "cost") {
		t.Errorf("Run on 4,000 characters = %v (cost %d); want a RunError at line %d over the cost limit", err, cost, tr.When.Line)
	}
}

// Triggers that run for one reading share its Vars; each run sees the
// escrow as it is when that run reads it, not as an earlier run saw it.
func TestRunSeesEscrowOfItsRun(t *testing.T) {
	c, err := contract.Check([]byte("name: c\nstate:\n  seen: {type: int, initial: 0}\ntriggers:\n  - name: t\n    on: reading\n    devices: {labels: {k: v}}\n    do:\n      - set: {seen: \"contract.balance\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	escrow := uint64(70)
	v := &contract.Vars{
		State:    map[string]any{"seen": int64(0)},
		Reading:  &contract.ReadingVars{Device: "dev1x", Seq: 1, Data: map[string]any{}},
		Device:   &contract.DeviceVars{ID: "dev1x"},
		EscrowFn: func() uint64 { return escrow },
	}
	for _, want := range []int64{70, 30} {
		escrow = uint64(want)
		_, effects, _, err := c.Run(&c.Doc.Triggers[0], v)
		if err != nil || len(effects) != 1 || effects[0].Set["seen"] != want {
			t.Fatalf("Run with escrow %d = %+v, %v; want seen set to %d", want, effects, err, want)
		}
	}
}
