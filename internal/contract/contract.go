package contract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/ast"
	"go.yaml.in/yaml/v3"

	"github.com/iotledger/iotledger/address"
)

// Limits of a document.
const (
	MaxBytes    = 64 << 10 // the document
	MaxState    = 64       // state fields
	MaxTriggers = 32
	MaxActions  = 16      // per trigger
	MaxList     = 256     // strings in a list state field
	MaxSilence  = 100_000 // blocks a silence trigger may wait
	MaxText     = 1024    // bytes of a string state value
	// MaxCost bounds the estimated cost (cel-go cost units) of each
	// expression; the same figure bounds the actual cost at run time.
	MaxCost = 10_000
)

// Document is a contract as written.
type Document struct {
	Name        string              `yaml:"name"`
	Description string              `yaml:"description"`
	State       map[string]StateVar `yaml:"state"`
	Triggers    []Trigger           `yaml:"triggers"`
}

// StateVar is a typed state field with its initial value.
type StateVar struct {
	Type    string    `yaml:"type"` // int, double, string, bool
	Initial yaml.Node `yaml:"initial"`
}

// Trigger is when a contract runs and what it does then.
type Trigger struct {
	Name    string            `yaml:"name"`
	On      string            `yaml:"on"`      // reading, report, silence, blocks, call
	Devices *Selector         `yaml:"devices"` // on: reading, report, silence
	Every   int64             `yaml:"every"`   // on: blocks
	Blocks  int64             `yaml:"blocks"`  // on: silence
	Args    map[string]string `yaml:"args"`    // on: call, name -> type
	When    *Expr             `yaml:"when"`
	Do      []Action          `yaml:"do"`
	line    int
}

// Selector picks devices by id or by labels (all must match).
type Selector struct {
	IDs    []string          `yaml:"ids"`
	Labels map[string]string `yaml:"labels"`
	// pairs is Labels as a list sorted by key, made by Check: Matches runs
	// for every reading, and a list is cheaper to walk than a map.
	pairs [][2]string
}

// Action is one thing a trigger does; exactly one field is set.
type Action struct {
	Set          map[string]*Expr `yaml:"set"`
	Emit         *Emit            `yaml:"emit"`
	Transfer     *Transfer        `yaml:"transfer"`
	DeviceStatus *DeviceStatus    `yaml:"device_status"`
	Desired      *Desired         `yaml:"desired"`
	Grant        *Grant           `yaml:"grant"`
	Revoke       *Revoke          `yaml:"revoke"`
	line         int
}

// Emit records an event with typed fields.
type Emit struct {
	Event  string           `yaml:"event"`
	Fields map[string]*Expr `yaml:"fields"`
}

// Transfer pays from the contract's escrow.
type Transfer struct {
	To     *Expr `yaml:"to"`
	Amount *Expr `yaml:"amount"`
}

// DeviceStatus sets the status of a device the contract's owner owns.
type DeviceStatus struct {
	Device *Expr  `yaml:"device"`
	Status string `yaml:"status"` // active, quarantined, revoked
}

// Desired sets one field of a device's desired twin state.
type Desired struct {
	Device *Expr  `yaml:"device"`
	Field  string `yaml:"field"`
	Value  *Expr  `yaml:"value"`
}

// Grant gives an account (acc1...) access to the private fields of a
// device the contract's owner owns, from the device's next epoch on.
type Grant struct {
	Device *Expr `yaml:"device"`
	To     *Expr `yaml:"to"`
}

// Revoke ends an account's access to a device the contract's owner owns.
type Revoke struct {
	Device *Expr `yaml:"device"`
	From   *Expr `yaml:"from"`
}

// Expr is a CEL expression with where it stands in the document.
type Expr struct {
	Src          string
	Line, Column int
}

// Constant reports whether the expression is a plain string literal
// ('...' or "..."), and its value.
func (e *Expr) Constant() (string, bool) {
	src := strings.TrimSpace(e.Src)
	if len(src) >= 2 && (src[0] == '\'' || src[0] == '"') && src[len(src)-1] == src[0] && !strings.ContainsAny(src[1:len(src)-1], "'\"\\") {
		return src[1 : len(src)-1], true
	}
	return "", false
}

// UnmarshalYAML keeps the expression's position.
func (e *Expr) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &Error{Line: n.Line, Column: n.Column, Msg: "an expression must be a string of CEL, such as \"state.count + 1\""}
	}
	e.Src, e.Line, e.Column = n.Value, n.Line, n.Column
	return nil
}

// locate sets the line of each trigger and action from the document's
// node tree (decoding them through custom unmarshalers would lose the
// decoder's check for unknown fields).
func locate(doc *Document, root *yaml.Node) {
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	triggers := child(root, "triggers")
	if triggers == nil || triggers.Kind != yaml.SequenceNode {
		return
	}
	for i, tn := range triggers.Content {
		if i >= len(doc.Triggers) {
			return
		}
		doc.Triggers[i].line = tn.Line
		if do := child(tn, "do"); do != nil && do.Kind == yaml.SequenceNode {
			for j, an := range do.Content {
				if j < len(doc.Triggers[i].Do) {
					doc.Triggers[i].Do[j].line = an.Line
				}
			}
		}
	}
}

// child is the value of key in mapping n, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Error is a fault in a document, at a line and column of it.
type Error struct {
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// ErrInvalid wraps every refusal of Check.
var ErrInvalid = errors.New("contract: invalid document")

// Checked is a document that passed Check, with its expressions compiled.
type Checked struct {
	Doc      *Document
	Programs map[*Expr]cel.Program
	// Small holds each expression compiled without a cost tracker, and
	// Estimate its estimated cost when no value it sees is larger than
	// SizeHint (see Run).
	Small    map[*Expr]cel.Program
	Estimate map[*Expr]uint64
	// Fields are the data fields the reading and report triggers read by
	// name, in document order (see FieldRef).
	Fields []FieldRef
}

// FieldRef is a data field an expression reads by name: reading.data.NAME
// or reading.data["NAME"] in a reading trigger, reported.NAME or
// reported["NAME"] in a report trigger (has() too). A key computed at run
// time is not known before the run and is not listed.
type FieldRef struct {
	Trigger      *Trigger
	Name         string
	Path         string // "reading.data" or "reported"
	Line, Column int
}

// SizeHint is the size (bytes of text, elements of a list or map) up to
// which the cost estimate of an expression holds (see sizes).
const SizeHint = 256

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Check parses a document and checks everything that can be checked
// before it runs. The error wraps ErrInvalid and lists each fault with its
// position.
func Check(src []byte) (*Checked, error) {
	if len(src) > MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d; keep contracts small", ErrInvalid, len(src), MaxBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	var doc Document
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: the document is empty; give at least a name and one trigger", ErrInvalid)
	} else if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, yamlError(err))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err == nil {
		locate(&doc, &root)
	}
	c := &docChecker{doc: &doc, out: &Checked{Doc: &doc, Programs: map[*Expr]cel.Program{}, Small: map[*Expr]cel.Program{}, Estimate: map[*Expr]uint64{}}}
	c.check()
	if len(c.errs) > 0 {
		msgs := make([]string, 0, len(c.errs))
		for _, e := range c.errs {
			msgs = append(msgs, e.Error())
		}
		return nil, fmt.Errorf("%w:\n  %s", ErrInvalid, strings.Join(msgs, "\n  "))
	}
	return c.out, nil
}

func yamlError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ") + " (the fields a contract knows are in package contract's documentation)"
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Error()
	}
	return err.Error()
}

type docChecker struct {
	doc  *Document
	out  *Checked
	errs []*Error
	cur  *Trigger // the trigger being checked
}

func (c *docChecker) fail(line, col int, format string, args ...any) {
	if len(c.errs) < 20 {
		c.errs = append(c.errs, &Error{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
	}
}

var stateTypes = map[string]*cel.Type{"int": cel.IntType, "double": cel.DoubleType, "string": cel.StringType, "bool": cel.BoolType, "list": cel.ListType(cel.StringType)}

// argTypes are the types a call argument may have.
var argTypes = map[string]*cel.Type{"int": cel.IntType, "double": cel.DoubleType, "string": cel.StringType, "bool": cel.BoolType}

func (c *docChecker) check() {
	d := c.doc
	if !nameRE.MatchString(d.Name) {
		c.fail(1, 1, "name %q: give a name of lowercase letters, digits and _ (up to 64), starting with a letter", d.Name)
	}
	if len(d.State) > MaxState {
		c.fail(1, 1, "%d state fields, at most %d", len(d.State), MaxState)
	}
	for _, name := range sortedKeys(d.State) {
		v := d.State[name]
		n := v.Initial
		if !nameRE.MatchString(name) {
			c.fail(n.Line, n.Column, "state field %q: use lowercase letters, digits and _", name)
		}
		if _, ok := stateTypes[v.Type]; !ok {
			c.fail(n.Line, n.Column, "state field %s has type %q; use int, double, string, bool or list (of strings)", name, v.Type)
			continue
		}
		if err := checkInitial(v.Type, &n); err != "" {
			c.fail(n.Line, n.Column, "state field %s: initial value %s", name, err)
		}
	}
	if len(d.Triggers) == 0 || len(d.Triggers) > MaxTriggers {
		c.fail(1, 1, "%d triggers; give 1 to %d", len(d.Triggers), MaxTriggers)
	}
	seen := map[string]bool{}
	for i := range d.Triggers {
		t := &d.Triggers[i]
		if !nameRE.MatchString(t.Name) || seen[t.Name] {
			c.fail(t.line, 1, "trigger %d: name %q must be unique, lowercase letters, digits and _", i, t.Name)
		}
		seen[t.Name] = true
		c.trigger(t)
	}
}

func checkInitial(typ string, n *yaml.Node) string {
	if n.Kind == 0 {
		return "is missing; give one"
	}
	var err error
	switch typ {
	case "int":
		var v int64
		err = n.Decode(&v)
	case "double":
		var v float64
		err = n.Decode(&v)
	case "bool":
		var v bool
		err = n.Decode(&v)
	case "string":
		if n.Kind != yaml.ScalarNode {
			return "is not a string"
		}
	case "list":
		var v []string
		err = n.Decode(&v)
		if err == nil && len(v) > MaxList {
			return fmt.Sprintf("holds %d strings, at most %d", len(v), MaxList)
		}
	}
	if err != nil {
		return fmt.Sprintf("%q is not of type %s", n.Value, typ)
	}
	return ""
}

func (c *docChecker) trigger(t *Trigger) {
	c.cur = t
	vars := map[string]map[string]*cel.Type{
		"block":    {"height": cel.IntType, "time": cel.IntType},
		"contract": {"id": cel.StringType, "owner": cel.StringType, "balance": cel.IntType},
		"state":    {},
	}
	for name, v := range c.doc.State {
		if ty, ok := stateTypes[v.Type]; ok {
			vars["state"][name] = ty
		}
	}
	scalars := map[string]*cel.Type{}
	switch t.On {
	case "reading", "report", "silence":
		vars["device"] = map[string]*cel.Type{"id": cel.StringType, "owner": cel.StringType, "status": cel.StringType, "labels": cel.MapType(cel.StringType, cel.StringType)}
		switch t.On {
		case "reading":
			vars["reading"] = map[string]*cel.Type{"device": cel.StringType, "seq": cel.IntType, "time": cel.IntType, "data": cel.MapType(cel.StringType, cel.DynType)}
		case "report":
			scalars["reported"] = cel.MapType(cel.StringType, cel.DynType)
		case "silence":
			vars["silence"] = map[string]*cel.Type{"last_height": cel.IntType, "blocks": cel.IntType}
			if t.Blocks < 1 || t.Blocks > MaxSilence {
				c.fail(t.line, 1, "trigger %s: blocks is %d; a silence trigger fires after 1 to %d blocks without a reading", t.Name, t.Blocks, MaxSilence)
			}
		}
		if t.Devices == nil || (len(t.Devices.IDs) == 0 && len(t.Devices.Labels) == 0) {
			c.fail(t.line, 1, "trigger %s: a %s trigger needs devices: {ids: [...]} or {labels: {...}}", t.Name, t.On)
		} else {
			for _, id := range t.Devices.IDs {
				if err := address.ParseDevice(id); err != nil {
					c.fail(t.line, 1, "trigger %s: device %q: %v", t.Name, id, err)
				}
			}
			for _, k := range sortedKeys(t.Devices.Labels) {
				t.Devices.pairs = append(t.Devices.pairs, [2]string{k, t.Devices.Labels[k]})
			}
		}
	case "blocks":
		if t.Every < 1 {
			c.fail(t.line, 1, "trigger %s: every is %d; run it every 1 or more blocks", t.Name, t.Every)
		}
	case "call":
		vars["args"] = map[string]*cel.Type{}
		for _, name := range sortedKeys(t.Args) { // errors in a stable order
			typ := t.Args[name]
			ty, ok := argTypes[typ]
			if !ok || !nameRE.MatchString(name) {
				c.fail(t.line, 1, "trigger %s: argument %s of type %q; name it in lowercase and type it int, double, string or bool", t.Name, name, typ)
				continue
			}
			vars["args"][name] = ty
		}
		scalars["caller"] = cel.StringType
		scalars["payment"] = cel.IntType
	default:
		c.fail(t.line, 1, "trigger %s: on is %q; use reading, report, silence, blocks or call", t.Name, t.On)
		return
	}
	env, err := newEnv(vars, scalars)
	if err != nil {
		c.fail(t.line, 1, "trigger %s: %v", t.Name, err)
		return
	}
	if t.When != nil {
		c.expr(env, vars, t.When, cel.BoolType, "when")
	}
	if len(t.Do) == 0 || len(t.Do) > MaxActions {
		c.fail(t.line, 1, "trigger %s has %d actions; give 1 to %d", t.Name, len(t.Do), MaxActions)
	}
	for i := range t.Do {
		c.action(env, vars, t, &t.Do[i])
	}
}

func (c *docChecker) action(env *cel.Env, vars map[string]map[string]*cel.Type, t *Trigger, a *Action) {
	kinds := 0
	if a.Set != nil {
		kinds++
		for _, name := range sortedKeys(a.Set) {
			ty, ok := vars["state"][name]
			if !ok {
				c.fail(a.line, 1, "trigger %s: set %s: the state declares no field %s; declare it under state", t.Name, name, name)
				continue
			}
			c.expr(env, vars, a.Set[name], ty, "set "+name)
		}
	}
	if a.Emit != nil {
		kinds++
		if !nameRE.MatchString(a.Emit.Event) {
			c.fail(a.line, 1, "trigger %s: emit: event name %q: use lowercase letters, digits and _", t.Name, a.Emit.Event)
		}
		for _, name := range sortedKeys(a.Emit.Fields) {
			c.expr(env, vars, a.Emit.Fields[name], nil, "emit field "+name)
		}
	}
	if a.Transfer != nil {
		kinds++
		if a.Transfer.To == nil || a.Transfer.Amount == nil {
			c.fail(a.line, 1, "trigger %s: transfer needs to and amount", t.Name)
		} else {
			c.expr(env, vars, a.Transfer.To, cel.StringType, "transfer to")
			c.expr(env, vars, a.Transfer.Amount, cel.IntType, "transfer amount")
		}
	}
	if a.DeviceStatus != nil {
		kinds++
		switch a.DeviceStatus.Status {
		case "active", "quarantined", "revoked":
		default:
			c.fail(a.line, 1, "trigger %s: device_status %q: use active, quarantined or revoked", t.Name, a.DeviceStatus.Status)
		}
		if a.DeviceStatus.Device == nil {
			c.fail(a.line, 1, "trigger %s: device_status needs device", t.Name)
		} else {
			c.expr(env, vars, a.DeviceStatus.Device, cel.StringType, "device_status device")
		}
	}
	if a.Desired != nil {
		kinds++
		if !nameRE.MatchString(a.Desired.Field) {
			c.fail(a.line, 1, "trigger %s: desired field %q: use lowercase letters, digits and _", t.Name, a.Desired.Field)
		}
		if a.Desired.Device == nil || a.Desired.Value == nil {
			c.fail(a.line, 1, "trigger %s: desired needs device, field and value", t.Name)
		} else {
			c.expr(env, vars, a.Desired.Device, cel.StringType, "desired device")
			c.expr(env, vars, a.Desired.Value, nil, "desired value")
		}
	}
	if a.Grant != nil {
		kinds++
		if a.Grant.Device == nil || a.Grant.To == nil {
			c.fail(a.line, 1, "trigger %s: grant needs device and to (the account that gets access)", t.Name)
		} else {
			c.expr(env, vars, a.Grant.Device, cel.StringType, "grant device")
			c.expr(env, vars, a.Grant.To, cel.StringType, "grant to")
		}
	}
	if a.Revoke != nil {
		kinds++
		if a.Revoke.Device == nil || a.Revoke.From == nil {
			c.fail(a.line, 1, "trigger %s: revoke needs device and from (the account whose access ends)", t.Name)
		} else {
			c.expr(env, vars, a.Revoke.Device, cel.StringType, "revoke device")
			c.expr(env, vars, a.Revoke.From, cel.StringType, "revoke from")
		}
	}
	if kinds != 1 {
		c.fail(a.line, 1, "trigger %s: an action does exactly one of set, emit, transfer, device_status, desired, grant, revoke; this one does %d", t.Name, kinds)
	}
}

func newEnv(vars map[string]map[string]*cel.Type, scalars map[string]*cel.Type) (*cel.Env, error) {
	// No comprehension macros (all, exists, map, filter...): iterating a
	// map follows Go's random map order, which could make two validators
	// disagree; has() stays. Lists are searched with "in".
	opts := []cel.EnvOption{cel.ClearMacros(), cel.Macros(cel.HasMacro), cel.CrossTypeNumericComparisons(true)}
	for _, name := range sortedKeys(vars) {
		opts = append(opts, cel.Variable(name, cel.MapType(cel.StringType, cel.DynType)))
	}
	for _, name := range sortedKeys(scalars) {
		opts = append(opts, cel.Variable(name, scalars[name]))
	}
	return cel.NewEnv(opts...)
}

// expr compiles e, checks that it names only declared fields, that its
// type fits want (nil: any), and that its cost is bounded.
func (c *docChecker) expr(env *cel.Env, vars map[string]map[string]*cel.Type, e *Expr, want *cel.Type, what string) {
	if e == nil {
		return
	}
	a, iss := env.Compile(e.Src)
	if iss != nil && iss.Err() != nil {
		for _, err := range iss.Errors() {
			loc := err.Location
			c.fail(e.Line+loc.Line()-1, e.Column+loc.Column(), "%s: %s", what, err.Message)
		}
		return
	}
	bad := false
	ast.PreOrderVisit(a.NativeRep().Expr(), ast.NewExprVisitor(func(x ast.Expr) {
		if x.Kind() != ast.SelectKind {
			return
		}
		sel := x.AsSelect()
		op := sel.Operand()
		if op.Kind() != ast.IdentKind {
			return
		}
		fields, ok := vars[op.AsIdent()]
		if !ok {
			return
		}
		if _, ok := fields[sel.FieldName()]; !ok {
			loc := a.NativeRep().SourceInfo().GetStartLocation(x.ID())
			c.fail(e.Line+loc.Line()-1, e.Column+loc.Column(), "%s: %s has no field %s; known: %s", what, op.AsIdent(), sel.FieldName(), strings.Join(sortedKeys(fields), ", "))
			bad = true
		}
	}))
	if bad {
		return
	}
	c.fieldRefs(e, a)
	if out := a.OutputType(); want != nil && !out.IsExactType(cel.DynType) && !out.IsExactType(want) {
		c.fail(e.Line, e.Column, "%s: the expression gives %s, want %s", what, out, want)
		return
	}
	est, err := env.EstimateCost(a, sizes{})
	if err != nil {
		c.fail(e.Line, e.Column, "%s: cost: %v", what, err)
		return
	}
	if est.Max > MaxCost {
		c.fail(e.Line, e.Column, "%s: estimated cost up to %d, at most %d; avoid loops over large lists or maps", what, est.Max, MaxCost)
		return
	}
	prg, err := env.Program(a, cel.CostLimit(MaxCost), cel.EvalOptions(cel.OptTrackCost))
	if err != nil {
		c.fail(e.Line, e.Column, "%s: %v", what, err)
		return
	}
	small, err := env.Program(a)
	if err != nil {
		c.fail(e.Line, e.Column, "%s: %v", what, err)
		return
	}
	c.out.Programs[e], c.out.Small[e], c.out.Estimate[e] = prg, small, est.Max
}

// fieldRefs adds the data fields expression e (compiled to a) of the
// current trigger reads by name to c.out.Fields.
func (c *docChecker) fieldRefs(e *Expr, a *cel.Ast) {
	t := c.cur
	if t == nil || (t.On != "reading" && t.On != "report") {
		return
	}
	// data reports whether x is the map of data fields: reading.data in
	// a reading trigger, reported in a report trigger.
	data := func(x ast.Expr) (string, bool) {
		switch {
		case t.On == "report" && x.Kind() == ast.IdentKind && x.AsIdent() == "reported":
			return "reported", true
		case t.On == "reading" && x.Kind() == ast.SelectKind:
			sel := x.AsSelect()
			op := sel.Operand()
			if sel.FieldName() == "data" && op.Kind() == ast.IdentKind && op.AsIdent() == "reading" {
				return "reading.data", true
			}
		}
		return "", false
	}
	info := a.NativeRep().SourceInfo()
	ast.PreOrderVisit(a.NativeRep().Expr(), ast.NewExprVisitor(func(x ast.Expr) {
		var name, path string
		switch x.Kind() {
		case ast.SelectKind:
			sel := x.AsSelect()
			p, ok := data(sel.Operand())
			if !ok {
				return
			}
			name, path = sel.FieldName(), p
		case ast.CallKind:
			call := x.AsCall()
			if call.FunctionName() != "_[_]" || len(call.Args()) != 2 {
				return
			}
			p, ok := data(call.Args()[0])
			key := call.Args()[1]
			if !ok || key.Kind() != ast.LiteralKind {
				return
			}
			k, isString := key.AsLiteral().Value().(string)
			if !isString {
				return
			}
			name, path = k, p
		default:
			return
		}
		loc := info.GetStartLocation(x.ID())
		c.out.Fields = append(c.out.Fields, FieldRef{Trigger: t, Name: name, Path: path, Line: e.Line + loc.Line() - 1, Column: e.Column + loc.Column()})
	}))
}

// sizes bounds what the cost estimator cannot know: the size of every
// string, list and map, at most SizeHint.
type sizes struct{}

func (sizes) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: SizeHint}
}

func (sizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
