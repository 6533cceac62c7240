package contract

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"

	"github.com/iotledger/iotledger/address"
)

// Vars is what a trigger's expressions see. The caller fills the parts its
// trigger kind declares (see the package documentation); State is the
// contract's state before the run and is not modified.
type Vars struct {
	State    map[string]any
	Height   int64 // block.height
	Time     int64 // block.time, Unix milliseconds
	ID       string
	Owner    string
	Balance  uint64
	Reading  *ReadingVars   // on: reading
	Device   *DeviceVars    // on: reading, report, silence
	Reported map[string]any // on: report
	Last     int64          // on: silence: silence.last_height
	Args     map[string]any // on: call
	Caller   string         // on: call
	Payment  uint64         // on: call: what the caller paid into escrow with the call
	// EscrowFn, when set, gives the escrow balance instead of Balance; it
	// is called only if an expression reads contract.
	EscrowFn func() uint64
	// StateSize, when above 0, is at least SizeOf(State): the caller keeps
	// it as the state changes, so a run need not look through the state.
	StateSize int

	// the event's values as expressions see them, made when first read
	block, reading, device map[string]any
	rest                   int // eventSize, once computed (rest-1)
}

// ReadingVars is a reading as expressions see it.
type ReadingVars struct {
	Device string
	Seq    uint64
	Time   int64
	Data   map[string]any
}

// DeviceVars is a device record as expressions see it.
type DeviceVars struct {
	ID, Owner, Status string
	Labels            map[string]string
}

// Effect is one action of a run, with its expressions evaluated. Kind is
// the action: set, emit, transfer, device_status, desired, grant or
// revoke.
type Effect struct {
	Kind    string
	Set     map[string]any // set: field -> value of the declared type
	Event   string         // emit
	Fields  map[string]any // emit: values are int64, uint64, float64, string, bool, nil, []any or map[string]any
	To      string         // transfer
	Amount  uint64         // transfer
	Device  string         // device_status, desired, grant, revoke
	Status  string         // device_status
	Field   string         // desired
	Value   any            // desired: int64, float64, string or bool
	Account string         // grant: who gets access; revoke: whose access ends
}

// RunError is a run that failed: an expression that erred or went over its
// cost limit, or a value unfit for its action. Its effects are discarded.
type RunError struct {
	Line, Column int
	Msg          string
}

func (e *RunError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Limits of what a run may produce.
const (
	MaxTwinText = 256 // a desired twin value of text
	maxDepth    = 8   // nesting of an event field
)

// Run evaluates trigger t against v: its condition, then every action's
// expressions, all seeing the state as it was before the run. fired is
// false when the condition is false. cost is the run's actual CEL cost. Run
// does not apply anything: the caller applies the effects in order, or none
// of them if one cannot be applied.
func (c *Checked) Run(t *Trigger, v *Vars) (fired bool, effects []Effect, cost uint64, err error) {
	act := &runAct{v: v, t: t}
	// When no value the run can see is larger than the sizes the cost
	// estimates assumed, each expression costs at most its estimate, which
	// Check held to MaxCost: the run needs no cost tracker (which costs
	// more than most expressions themselves) and counts the estimates.
	// Otherwise cel-go tracks the actual cost and stops an expression at
	// MaxCost. Either way the outcome is the same on every validator.
	small := v.maxSize() <= SizeHint
	eval := func(e *Expr) (ref.Val, error) {
		prg, ok := c.Programs[e]
		if small {
			prg, ok = c.Small[e]
		}
		if !ok {
			return nil, &RunError{e.Line, e.Column, "expression was not compiled"}
		}
		out, det, err := prg.Eval(act)
		if small {
			cost += c.Estimate[e]
		} else if det != nil && det.ActualCost() != nil {
			cost += *det.ActualCost()
		}
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, "no such overload") {
				msg += ": an operator or function got values of types it does not take, such as text compared with a number; check the types first, e.g. type(reading.data.temp) == double"
			}
			return nil, &RunError{e.Line, e.Column, msg}
		}
		return out, nil
	}
	if t.When != nil {
		out, err := eval(t.When)
		if err != nil {
			return false, nil, cost, err
		}
		b, ok := out.(types.Bool)
		if !ok {
			return false, nil, cost, &RunError{t.When.Line, t.When.Column, fmt.Sprintf("when gave %s, want bool", out.Type().TypeName())}
		}
		if !b {
			return false, nil, cost, nil
		}
	}
	for i := range t.Do {
		a := &t.Do[i]
		var ef Effect
		var err error
		switch {
		case a.Set != nil:
			ef, err = c.runSet(a, eval)
		case a.Emit != nil:
			ef = Effect{Kind: "emit", Event: a.Emit.Event, Fields: map[string]any{}}
			for _, name := range sortedKeys(a.Emit.Fields) {
				e := a.Emit.Fields[name]
				var out ref.Val
				if out, err = eval(e); err != nil {
					break
				}
				if ef.Fields[name], err = native(out, 0); err != nil {
					err = &RunError{e.Line, e.Column, fmt.Sprintf("emit field %s: %v", name, err)}
					break
				}
			}
		case a.Transfer != nil:
			ef = Effect{Kind: "transfer"}
			if ef.To, err = evalString(eval, a.Transfer.To); err == nil {
				if address.ParseAccount(ef.To) != nil && address.ParseDevice(ef.To) != nil {
					err = &RunError{a.Transfer.To.Line, a.Transfer.To.Column, fmt.Sprintf("transfer to %q: not an account (acc1...) or device (dev1...)", ef.To)}
					break
				}
				var out ref.Val
				if out, err = eval(a.Transfer.Amount); err == nil {
					n, ok := out.(types.Int)
					if !ok || n < 0 {
						err = &RunError{a.Transfer.Amount.Line, a.Transfer.Amount.Column, fmt.Sprintf("transfer amount %v: want an int of 0 or more", out)}
						break
					}
					ef.Amount = uint64(n)
				}
			}
		case a.DeviceStatus != nil:
			ef = Effect{Kind: "device_status", Status: a.DeviceStatus.Status}
			ef.Device, err = evalDevice(eval, a.DeviceStatus.Device)
		case a.Desired != nil:
			ef = Effect{Kind: "desired", Field: a.Desired.Field}
			if ef.Device, err = evalDevice(eval, a.Desired.Device); err == nil {
				var out ref.Val
				if out, err = eval(a.Desired.Value); err == nil {
					if ef.Value, err = twinValue(out); err != nil {
						err = &RunError{a.Desired.Value.Line, a.Desired.Value.Column, "desired value: " + err.Error()}
					}
				}
			}
		case a.Grant != nil:
			ef = Effect{Kind: "grant"}
			if ef.Device, err = evalDevice(eval, a.Grant.Device); err == nil {
				ef.Account, err = evalAccount(eval, a.Grant.To, "grant to")
			}
		case a.Revoke != nil:
			ef = Effect{Kind: "revoke"}
			if ef.Device, err = evalDevice(eval, a.Revoke.Device); err == nil {
				ef.Account, err = evalAccount(eval, a.Revoke.From, "revoke from")
			}
		}
		if err != nil {
			return true, nil, cost, err
		}
		effects = append(effects, ef)
	}
	return true, effects, cost, nil
}

func (c *Checked) runSet(a *Action, eval func(*Expr) (ref.Val, error)) (Effect, error) {
	ef := Effect{Kind: "set", Set: map[string]any{}}
	for _, name := range sortedKeys(a.Set) {
		e := a.Set[name]
		out, err := eval(e)
		if err != nil {
			return ef, err
		}
		val, err := stateValue(c.Doc.State[name].Type, out)
		if err != nil {
			return ef, &RunError{e.Line, e.Column, fmt.Sprintf("set %s: %v", name, err)}
		}
		ef.Set[name] = val
	}
	return ef, nil
}

func evalString(eval func(*Expr) (ref.Val, error), e *Expr) (string, error) {
	out, err := eval(e)
	if err != nil {
		return "", err
	}
	s, ok := out.(types.String)
	if !ok {
		return "", &RunError{e.Line, e.Column, fmt.Sprintf("gave %s, want string", out.Type().TypeName())}
	}
	return string(s), nil
}

func evalAccount(eval func(*Expr) (ref.Val, error), e *Expr, what string) (string, error) {
	a, err := evalString(eval, e)
	if err == nil && address.ParseAccount(a) != nil {
		err = &RunError{e.Line, e.Column, fmt.Sprintf("%s %q: not an account (acc1...)", what, a)}
	}
	return a, err
}

func evalDevice(eval func(*Expr) (ref.Val, error), e *Expr) (string, error) {
	id, err := evalString(eval, e)
	if err == nil && address.ParseDevice(id) != nil {
		err = &RunError{e.Line, e.Column, fmt.Sprintf("%q is not a device id (dev1...)", id)}
	}
	return id, err
}

// stateValue converts a CEL value to the Go value of a state field of type typ.
func stateValue(typ string, v ref.Val) (any, error) {
	switch typ {
	case "int":
		if n, ok := v.(types.Int); ok {
			return int64(n), nil
		}
	case "double":
		switch n := v.(type) {
		case types.Double:
			if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
				return nil, fmt.Errorf("%v is not a finite number", n)
			}
			return float64(n), nil
		case types.Int:
			return float64(n), nil
		}
	case "string":
		if s, ok := v.(types.String); ok {
			if len(s) > MaxText {
				return nil, fmt.Errorf("text of %d bytes, at most %d", len(s), MaxText)
			}
			return string(s), nil
		}
	case "bool":
		if b, ok := v.(types.Bool); ok {
			return bool(b), nil
		}
	case "list":
		if l, ok := v.(traits.Lister); ok {
			x, err := l.ConvertToNative(reflect.TypeFor[[]string]())
			if err == nil {
				if s := x.([]string); len(s) <= MaxList {
					return s, nil
				}
				return nil, fmt.Errorf("list of %d strings, at most %d", len(x.([]string)), MaxList)
			}
		}
	}
	return nil, fmt.Errorf("gave %s, want %s", v.Type().TypeName(), typ)
}

// twinValue converts a CEL value to a twin field's value.
func twinValue(v ref.Val) (any, error) {
	switch x := v.(type) {
	case types.Int, types.Uint, types.Double, types.Bool:
		return native(v, 0)
	case types.String:
		if len(x) > MaxTwinText {
			return nil, fmt.Errorf("text of %d bytes, at most %d", len(x), MaxTwinText)
		}
		return string(x), nil
	}
	return nil, fmt.Errorf("gave %s; a twin field is a number, text or bool", v.Type().TypeName())
}

// native converts a CEL value to plain Go values for an event.
func native(v ref.Val, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deep")
	}
	switch x := v.(type) {
	case types.Int:
		return int64(x), nil
	case types.Uint:
		return uint64(x), nil
	case types.Double:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("%v is not a finite number", x)
		}
		return float64(x), nil
	case types.String:
		return string(x), nil
	case types.Bool:
		return bool(x), nil
	case types.Null:
		return nil, nil
	case traits.Lister:
		n, ok := x.Size().(types.Int)
		if !ok {
			return nil, errors.New("list of unknown size")
		}
		out := make([]any, 0, int(n))
		for i := types.Int(0); i < n; i++ {
			e, err := native(x.Get(i), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	case traits.Mapper:
		// Keys in order, so that which bad entry an error names does not
		// depend on map order.
		var keys []string
		it := x.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, errors.New("event maps have text keys only")
			}
			keys = append(keys, string(ks))
		}
		sort.Strings(keys)
		out := make(map[string]any, len(keys))
		for _, k := range keys {
			e, err := native(x.Get(types.String(k)), depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("a value of type %s cannot go in an event", v.Type().TypeName())
}

// runAct is the activation of one run: it gives each name a trigger's
// expressions use when an expression first reads it. The event's values
// (reading, device, block, call) are made once per Vars and shared by
// every run of it; contract is read once per run, from v as the caller set
// it for that run. Names the trigger kind does not declare are not found
// (Check has already refused expressions that use them).
type runAct struct {
	v        *Vars
	t        *Trigger
	contract any // this run's contract value, once read
}

func (a *runAct) ResolveName(name string) (any, bool) {
	v := a.v
	switch name {
	case "state":
		return v.State, true
	case "contract":
		if a.contract == nil {
			balance := v.Balance
			if v.EscrowFn != nil {
				balance = v.EscrowFn()
			}
			a.contract = map[string]any{"id": v.ID, "owner": v.Owner, "balance": int64(min(balance, math.MaxInt64))}
		}
		return a.contract, true
	case "block":
		if v.block == nil {
			v.block = map[string]any{"height": v.Height, "time": v.Time}
		}
		return v.block, true
	case "reading":
		r := v.Reading
		if r == nil {
			return nil, false
		}
		if v.reading == nil {
			v.reading = map[string]any{"device": r.Device, "seq": int64(min(r.Seq, math.MaxInt64)), "time": r.Time, "data": r.Data}
		}
		return v.reading, true
	case "device":
		d := v.Device
		if d == nil {
			return nil, false
		}
		if v.device == nil {
			labels := d.Labels
			if labels == nil {
				labels = map[string]string{}
			}
			v.device = map[string]any{"id": d.ID, "owner": d.Owner, "status": d.Status, "labels": labels}
		}
		return v.device, true
	case "reported":
		return v.Reported, v.Reported != nil
	case "args":
		return v.Args, v.called()
	case "caller":
		return v.Caller, v.called()
	case "payment":
		return int64(min(v.Payment, math.MaxInt64)), v.called()
	case "silence":
		if a.t.On != "silence" {
			return nil, false
		}
		return map[string]any{"last_height": v.Last, "blocks": a.t.Blocks}, true
	}
	return nil, false
}

// called reports v is a call's (args, caller and payment are declared).
func (v *Vars) called() bool { return v.Args != nil || v.Caller != "" }

// Parent is nil: a run's activation is the only one.
func (a *runAct) Parent() interpreter.Activation { return nil }

// maxSize is the size of the largest string, list or map a run with v can
// see (bytes of text, elements of a list or map, keys included). The
// event's values (reading, device, call) are the same for every run of v
// and measured once; the contract's own (state, id, owner) change from one
// contract's run to the next, as one Vars serves every contract an event
// triggers.
func (v *Vars) maxSize() int {
	state := v.StateSize
	if state <= 0 {
		state = SizeOf(v.State)
	}
	if v.rest == 0 {
		v.rest = v.eventSize() + 1
	}
	return max(state, len(v.ID), len(v.Owner), v.rest-1)
}

// eventSize is maxSize of the event's values alone.
func (v *Vars) eventSize() int {
	n := max(len(v.Caller), SizeOf(v.Reported), SizeOf(v.Args))
	if r := v.Reading; r != nil {
		n = max(n, len(r.Device), SizeOf(r.Data))
	}
	if d := v.Device; d != nil {
		n = max(n, len(d.ID), len(d.Owner), len(d.Status), len(d.Labels))
		for k, l := range d.Labels {
			n = max(n, len(k), len(l))
		}
	}
	return n
}

// SizeOf is the size of the largest string, list or map in x (bytes of
// text, elements of a list or map, keys included): what Run compares with
// SizeHint.
func SizeOf(x any) int {
	switch x := x.(type) {
	case string:
		return len(x)
	case []string:
		n := len(x)
		for _, s := range x {
			n = max(n, len(s))
		}
		return n
	case []any:
		n := len(x)
		for _, e := range x {
			n = max(n, SizeOf(e))
		}
		return n
	case map[string]any:
		n := len(x)
		for k, e := range x {
			n = max(n, len(k), SizeOf(e))
		}
		return n
	case map[string]string:
		n := len(x)
		for k, e := range x {
			n = max(n, len(k), len(e))
		}
		return n
	}
	return 0 // numbers, bools, nil
}

// InitialState is the contract's state at deploy: each declared field's initial value.
func (c *Checked) InitialState() map[string]any {
	out := make(map[string]any, len(c.Doc.State))
	for name, v := range c.Doc.State {
		n := v.Initial
		switch v.Type {
		case "int":
			var x int64
			_ = n.Decode(&x) // Check decoded it
			out[name] = x
		case "double":
			var x float64
			_ = n.Decode(&x)
			out[name] = x
		case "bool":
			var x bool
			_ = n.Decode(&x)
			out[name] = x
		case "string":
			out[name] = n.Value
		case "list":
			x := []string{}
			_ = n.Decode(&x)
			out[name] = x
		}
	}
	return out
}

// Args converts a call's text arguments to the types trigger t declares.
// Every declared argument must be given, and no other.
func (t *Trigger) ParseArgs(args map[string]string) (map[string]any, error) {
	out := make(map[string]any, len(t.Args))
	for _, name := range sortedKeys(t.Args) {
		s, ok := args[name]
		if !ok {
			return nil, fmt.Errorf("argument %s (%s) is missing; give --arg %s=...", name, t.Args[name], name)
		}
		var err error
		switch t.Args[name] {
		case "int":
			out[name], err = strconv.ParseInt(s, 10, 64)
		case "double":
			var f float64
			f, err = strconv.ParseFloat(s, 64)
			if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
				err = errors.New("not a finite number")
			}
			out[name] = f
		case "bool":
			out[name], err = strconv.ParseBool(s)
		default:
			out[name] = s
		}
		if err != nil {
			return nil, fmt.Errorf("argument %s=%q is not of type %s", name, s, t.Args[name])
		}
	}
	for _, name := range sortedKeys(args) {
		if _, ok := t.Args[name]; !ok {
			return nil, fmt.Errorf("trigger %s takes no argument %s; it takes %v", t.Name, name, sortedKeys(t.Args))
		}
	}
	return out, nil
}

// Matches reports whether a device (its id and labels) is selected.
func (s *Selector) Matches(id string, labels map[string]string) bool {
	if s == nil {
		return false
	}
	if len(s.IDs) > 0 {
		found := false
		for _, x := range s.IDs {
			if x == id {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if s.pairs == nil { // a Selector Check did not see
		for k, v := range s.Labels {
			if labels[k] != v {
				return false
			}
		}
		return true
	}
	for _, p := range s.pairs {
		if labels[p[0]] != p[1] {
			return false
		}
	}
	return true
}

// Position is where something stands in a document.
type Position struct {
	Line, Column int
	What         string
}

// StaticDevices lists the devices a document names outright (selector ids
// and device expressions that are string literals) for the actions that
// change devices, so deploy can check the owner owns them. The map's keys
// are device ids.
func (c *Checked) StaticDevices() map[string]Position {
	out := map[string]Position{}
	for i := range c.Doc.Triggers {
		t := &c.Doc.Triggers[i]
		changes := false
		for j := range t.Do {
			a := &t.Do[j]
			var e *Expr
			switch {
			case a.DeviceStatus != nil:
				e = a.DeviceStatus.Device
			case a.Desired != nil:
				e = a.Desired.Device
			case a.Grant != nil:
				e = a.Grant.Device
			case a.Revoke != nil:
				e = a.Revoke.Device
			default:
				continue
			}
			changes = true
			if id, ok := e.Constant(); ok {
				if _, seen := out[id]; !seen {
					out[id] = Position{e.Line, e.Column, "action of trigger " + t.Name}
				}
			}
		}
		if changes && t.Devices != nil {
			for _, id := range t.Devices.IDs {
				if _, seen := out[id]; !seen {
					out[id] = Position{t.line, 1, "devices of trigger " + t.Name}
				}
			}
		}
	}
	return out
}

// Line is the line of the trigger in its document.
func (t *Trigger) Line() int { return t.line }
