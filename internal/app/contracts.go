package app

import (
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/contract"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

// Contracts. A contract is a document (package internal/contract) deployed
// by an account, its owner; it gets the id ctr-N (N counts deployments),
// typed state, and an escrow: the balance of the account whose address is
// its id. Its triggers run inside block execution, so every validator runs
// them at the same point of the same block with the same inputs:
//
//   - a reading trigger runs right after each accepted reading of a device
//     its selector matches, in the reading's place in the block;
//   - a report trigger runs right after a matched device reports its state;
//   - a call trigger runs when a call_contract transaction names it;
//   - at the end of the block, after every transaction, each active
//     contract in deployment order runs its blocks triggers (every N blocks
//     after the deploy block) and then its silence triggers (a device that
//     matches now, whose last reading is exactly N blocks old and not from
//     before the deploy block), devices in id order.
//
// Within one event, contracts run in deployment order and a contract's
// triggers in document order; each trigger sees the state the ones before
// it left. A run evaluates all its expressions against the state before
// the run, then applies its effects in order. If an expression fails or
// goes over its cost limit, or an effect cannot be applied (escrow short,
// a device the owner does not own, a revoked device), none of the run's
// effects stay, and the contract gets a "failed" event saying why.
//
// The contract records (k/) are covered by the state digest, like accounts
// and devices; events (e/) are derived. Silence triggers find their
// devices in memory (quiet.go), from the devices' progress records.

// live is a contract during one block's execution.
type live struct {
	rec   *state.Contract // a copy, written back at the end of the block when dirty
	doc   *contract.Checked
	dirty bool
	// undo holds the state fields the current run changed, with their
	// values before it, so a failed run puts them back (state is changed
	// in place: the record is this block's own copy).
	undo []stateUndo
	// triggers by kind, in document order
	reading, report, silence, blocks []*contract.Trigger
	// escrow reads the escrow's balance for the contract's expressions
	// (made once a block); readErr is the store error it met, if any.
	escrow  func() uint64
	readErr error
	// stateSize is at least contract.SizeOf(rec.State): measured once a
	// block, raised by each set (0: not measured yet).
	stateSize int
}

// escrowFn returns the function that reads l's escrow balance during x.
func (l *live) escrowFn(x *execution) func() uint64 {
	if l.escrow == nil {
		l.escrow = func() uint64 {
			a, err := x.account(l.rec.ID)
			if err != nil {
				l.readErr = err
				return 0
			}
			return a.Balance
		}
	}
	return l.escrow
}

type stateUndo struct {
	key string
	old any
	had bool
}

// program returns a contract's checked document, compiled once per source.
func (a *App) program(src []byte) (*contract.Checked, error) {
	h := sha256.Sum256(src)
	a.progMu.Lock()
	c, ok := a.programs[h]
	a.progMu.Unlock()
	if ok {
		return c, nil
	}
	c, err := contract.Check(src)
	if err != nil {
		return nil, err
	}
	a.progMu.Lock()
	if len(a.programs) >= 1024 {
		clear(a.programs)
	}
	a.programs[h] = c
	a.progMu.Unlock()
	return c, nil
}

// loadActive lists the active contracts of committed state, in deployment order.
func (a *App) loadActive() ([]string, error) {
	kv := a.committed()
	var ids []string
	for n := uint64(1); n <= a.meta.Contracts; n++ {
		c, err := state.GetContract(kv, state.ContractID(n))
		if err != nil {
			return nil, err
		}
		if c != nil && c.Status == state.ContractActive {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

// contract returns the live contract id, loading it on first use; nil if
// there is none.
func (x *execution) contract(id string) (*live, error) {
	if l, ok := x.contracts[id]; ok {
		return l, nil
	}
	rec, err := state.GetContract(x.stage, id)
	if err != nil || rec == nil {
		return nil, err
	}
	doc, err := x.app.program(rec.Source)
	if err != nil {
		return nil, fmt.Errorf("app: stored contract %s no longer checks: %w", id, err)
	}
	l := newLive(rec, doc)
	x.contracts[id] = l
	return l, nil
}

func newLive(rec *state.Contract, doc *contract.Checked) *live {
	l := &live{rec: rec, doc: doc}
	for i := range doc.Doc.Triggers {
		t := &doc.Doc.Triggers[i]
		switch t.On {
		case "reading":
			l.reading = append(l.reading, t)
		case "report":
			l.report = append(l.report, t)
		case "silence":
			l.silence = append(l.silence, t)
		case "blocks":
			l.blocks = append(l.blocks, t)
		}
	}
	return l
}

func deviceVars(d *state.Device) *contract.DeviceVars {
	return &contract.DeviceVars{ID: d.ID, Owner: d.Owner, Status: d.Status, Labels: d.Labels}
}

// onReading runs the reading triggers that match an accepted reading's
// device.
func (x *execution) onReading(s *reading.Signed, dev *state.Device) error {
	for _, id := range x.active {
		l, err := x.contract(id)
		if err != nil {
			return err
		}
		var v *contract.Vars // shared by the triggers this reading runs
		for _, t := range l.reading {
			if !t.Devices.Matches(dev.ID, dev.Labels) {
				continue
			}
			if v == nil {
				v = &contract.Vars{
					Reading: &contract.ReadingVars{Device: s.Device, Seq: s.Seq, Time: s.Time, Data: s.Data},
					Device:  deviceVars(dev),
				}
			}
			if _, _, err := x.fire(l, t, v); err != nil {
				return err
			}
			if l.rec.Status != state.ContractActive {
				break
			}
		}
	}
	return nil
}

// onReport runs the report triggers that match a device that just
// reported its state.
func (x *execution) onReport(d *state.Device) error {
	if len(x.active) == 0 {
		return nil
	}
	twin, err := state.GetTwin(x.stage, d.ID)
	if err != nil {
		return err
	}
	for _, id := range x.active {
		l, err := x.contract(id)
		if err != nil {
			return err
		}
		for _, t := range l.report {
			if t.Devices.Matches(d.ID, d.Labels) {
				if _, _, err := x.fire(l, t, &contract.Vars{Device: deviceVars(d), Reported: twin.Reported.State}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// endBlock runs the blocks and silence triggers of every active contract.
func (x *execution) endBlock() error {
	x.inTx = false
	for _, id := range append([]string(nil), x.active...) {
		l, err := x.contract(id)
		if err != nil {
			return err
		}
		for _, t := range l.blocks {
			if x.height > l.rec.Deployed && (x.height-l.rec.Deployed)%t.Every == 0 {
				if _, _, err := x.fire(l, t, &contract.Vars{}); err != nil {
					return err
				}
			}
		}
		if len(l.silence) > 0 {
			if err := x.silences(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// silences fires the silence triggers of l for the devices, in id order,
// whose last reading is exactly the trigger's blocks old and no older than
// the contract, and that match the trigger's selector now. The candidates
// come from the quiet index (quiet.go) of committed state; each one's
// progress record decides.
func (x *execution) silences(l *live) error {
	q, err := x.app.quiet(x.height - 1)
	if err != nil {
		return err
	}
	x.quiet = true
	var ids []string
	for _, t := range l.silence {
		if last := x.height - t.Blocks; last >= l.rec.Deployed {
			ids = append(ids, q.devices(last)...)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids) // two triggers may wait as long
	for _, id := range ids {
		d, err := state.GetDevice(x.stage, id)
		if err != nil {
			return err
		}
		if d == nil {
			continue
		}
		p, err := x.deviceProgress(id)
		if err != nil {
			return err
		}
		for _, t := range l.silence {
			if p.LastHeight != x.height-t.Blocks || p.LastHeight < l.rec.Deployed || !t.Devices.Matches(d.ID, d.Labels) {
				continue
			}
			if _, _, err := x.fire(l, t, &contract.Vars{Device: deviceVars(d), Last: p.LastHeight}); err != nil {
				return err
			}
		}
	}
	return nil
}

// fire runs trigger t of contract l and applies its effects, or none of
// them. ran reports the condition held; failed is the reason the run
// failed (also recorded as the contract's "failed" event), or nil.
func (x *execution) fire(l *live, t *contract.Trigger, v *contract.Vars) (ran bool, failed *failure, err error) {
	v.State, v.Height, v.Time = l.rec.State, x.height, x.time
	if l.stateSize == 0 {
		l.stateSize = max(contract.SizeOf(l.rec.State), 1)
	}
	v.StateSize = l.stateSize
	v.ID, v.Owner = l.rec.ID, l.rec.Owner
	if v.EscrowFn == nil {
		v.EscrowFn = l.escrowFn(x)
	}
	ran, effects, cost, rerr := l.doc.Run(t, v)
	if err := l.readErr; err != nil {
		l.readErr = nil
		return false, nil, err // a broken store
	}
	if rerr != nil {
		f := fail(CodeContractFailed, "%s trigger %s: %v", l.rec.ID, t.Name, rerr)
		x.emitFailed(l, t, rerr.Error(), cost)
		return true, f, nil
	}
	if !ran {
		return false, nil, nil
	}
	// Savepoint: the store through the stage's journal, the rest by hand.
	events, nEvents := l.rec.Events, len(x.events)
	l.undo = l.undo[:0]
	nDevices, nTwins, slots := len(x.devices), len(x.twins), x.slots
	mark := x.stage.begin()
	for i := range effects {
		f, err := x.apply(l, t, &effects[i])
		if err != nil {
			x.stage.release()
			return true, nil, err
		}
		if f != nil {
			x.stage.rollback(mark)
			for i := len(l.undo) - 1; i >= 0; i-- {
				if u := l.undo[i]; u.had {
					l.rec.State[u.key] = u.old
				} else {
					delete(l.rec.State, u.key)
				}
			}
			l.rec.Events, x.events = events, x.events[:nEvents]
			x.devices, x.twins, x.slots = x.devices[:nDevices], x.twins[:nTwins], slots
			x.emitFailed(l, t, f.msg, cost)
			f.code, f.msg = CodeContractFailed, fmt.Sprintf("%s trigger %s: %s; nothing it did stays", l.rec.ID, t.Name, f.msg)
			return true, f, nil
		}
	}
	x.stage.release()
	l.dirty = true
	return true, nil, nil
}

func (x *execution) emitFailed(l *live, t *contract.Trigger, why string, cost uint64) {
	x.emit(l, t, "failed", map[string]any{"trigger": t.Name, "error": why, "cost": cost})
}

func (x *execution) emit(l *live, t *contract.Trigger, name string, fields map[string]any) {
	l.rec.Events++
	l.dirty = true
	txi := int32(-1)
	if x.inTx {
		txi = int32(x.txIndex)
	}
	x.events = append(x.events, &state.Event{Contract: l.rec.ID, N: l.rec.Events, Height: x.height, Tx: txi, Trigger: t.Name, Name: name, Fields: fields})
}

// apply applies one effect of a run of l, or says why it cannot.
func (x *execution) apply(l *live, t *contract.Trigger, ef *contract.Effect) (*failure, error) {
	switch ef.Kind {
	case "set":
		if l.rec.State == nil {
			l.rec.State = map[string]any{}
		}
		for k, v := range ef.Set {
			old, had := l.rec.State[k]
			l.undo = append(l.undo, stateUndo{k, old, had})
			l.rec.State[k] = v
			// An upper bound: it never shrinks, not even when a failed
			// run puts the old values back.
			l.stateSize = max(l.stateSize, len(l.rec.State), len(k), contract.SizeOf(v))
		}
	case "emit":
		x.emit(l, t, ef.Event, ef.Fields)
	case "transfer":
		return x.pay(l.rec.ID, ef.To, ef.Amount, "", l.rec.ID)
	case "device_status":
		d, f, err := x.ownersDevice(l, ef.Device)
		if d == nil {
			return f, err
		}
		if d.Status == ef.Status {
			return nil, nil // already so: a contract may say it again
		}
		if d.Status == state.StatusRevoked {
			return fail(CodeInvalidStatus, "device %s is revoked, which is final", d.ID), nil
		}
		x.setStatus(d, ef.Status)
	case "desired":
		d, f, err := x.ownersDevice(l, ef.Device)
		if d == nil {
			return f, err
		}
		if d.Status == state.StatusRevoked {
			return fail(CodeRevokedDevice, "device %s is revoked; its twin no longer changes", d.ID), nil
		}
		return x.applyTwin(d.ID, state.SideDesired, map[string]any{ef.Field: ef.Value}, nil, l.rec.ID)
	case "grant":
		d, f, err := x.ownersDevice(l, ef.Device)
		if d == nil {
			return f, err
		}
		return x.contractGrant(l.rec.ID, d, ef.Account)
	case "revoke":
		d, f, err := x.ownersDevice(l, ef.Device)
		if d == nil {
			return f, err
		}
		return x.endGrant(d, ef.Account, l.rec.ID, true)
	default:
		return fail(CodeContractFailed, "unknown action %q", ef.Kind), nil
	}
	return nil, nil
}

// ownersDevice returns a device that the contract's owner owns.
func (x *execution) ownersDevice(l *live, id string) (*state.Device, *failure, error) {
	d, err := state.GetDevice(x.stage, id)
	if err != nil {
		return nil, nil, err
	}
	if d == nil {
		return nil, fail(CodeUnregisteredDevice, "device %s is not registered", id), nil
	}
	if d.Owner != l.rec.Owner {
		return nil, fail(CodeNotOwner, "device %s is owned by %s, not by the contract's owner %s; a contract changes only its owner's devices", id, d.Owner, l.rec.Owner), nil
	}
	return d, nil, nil
}

// setStatus changes a device's status and tells observers.
func (x *execution) setStatus(d *state.Device, status string) {
	action := status
	if status == state.StatusActive {
		action = "reactivated"
	}
	d.Status, d.Updated = status, x.height
	state.PutDevice(x.stage, d)
	x.devices = append(x.devices, DeviceChange{Action: action, Device: d, Height: x.height})
}

// pay moves amount from one account to another with a history entry on
// each side; by names the signer or contract when it is not the payer.
func (x *execution) pay(from, to string, amount uint64, memo, by string) (*failure, error) {
	if amount == 0 {
		return nil, nil
	}
	if amount > math.MaxInt64 {
		return fail(CodeInvalidAmount, "amount %d is above %d", amount, int64(math.MaxInt64)), nil
	}
	if to == from {
		return fail(CodeInvalidRecipient, "%s pays itself", from), nil
	}
	if address.ParseDevice(to) == nil {
		d, err := state.GetDevice(x.stage, to)
		if err != nil {
			return nil, err
		}
		if d == nil {
			return fail(CodeInvalidRecipient, "device %s is not registered; pay a registered device or an account (acc1...)", to), nil
		}
	}
	payer, err := x.account(from)
	if err != nil {
		return nil, err
	}
	if payer.Balance < amount {
		return fail(CodeInsufficientFunds, "%s holds %d %s, the payment is %d", from, payer.Balance, x.token(), amount), nil
	}
	payee, err := x.account(to)
	if err != nil {
		return nil, err
	}
	if payee.Balance+amount < payee.Balance {
		return fail(CodeBalanceOverflow, "%s holds %d %s; %d more would pass 2^64-1", to, payee.Balance, x.token(), amount), nil
	}
	payer.Balance -= amount
	payee.Balance += amount
	state.PutAccount(x.stage, payer)
	state.PutAccount(x.stage, payee)
	if by == from {
		by = ""
	}
	state.PutPayment(x.stage, from, x.slot(), &state.Payment{Height: x.height, Tx: x.txIndex, Amount: -int64(amount), Counterparty: to, Memo: memo, Balance: payer.Balance, By: by})
	state.PutPayment(x.stage, to, x.slot(), &state.Payment{Height: x.height, Tx: x.txIndex, Amount: int64(amount), Counterparty: from, Memo: memo, Balance: payee.Balance, By: by})
	return nil, nil
}

// deploy checks a contract document and creates the contract.
func (x *execution) deploy(s *tx.Signed, f *tx.DeployContract) (*failure, error) {
	doc, err := x.app.program(f.Source)
	if err != nil {
		return fail(CodeInvalidContract, "%v", err), nil
	}
	if fl, err := checkStaticDevices(x.stage, doc, s.Account); fl != nil || err != nil {
		return fl, err
	}
	if fl, err := x.app.checkPrivateReads(x.stage, doc); fl != nil || err != nil {
		return fl, err
	}
	if f.Fund > 0 {
		payer, err := x.account(s.Account)
		if err != nil {
			return nil, err
		}
		if payer.Balance < f.Fund {
			return fail(CodeInsufficientFunds, "%s holds %d %s; the deploy funds the contract with %d", s.Account, payer.Balance, x.token(), f.Fund), nil
		}
	}
	x.meta.Contracts++
	id := state.ContractID(x.meta.Contracts)
	rec := &state.Contract{
		ID: id, Number: x.meta.Contracts, Owner: s.Account, Name: doc.Doc.Name, Source: f.Source,
		Status: state.ContractActive, Deployed: x.height, State: doc.InitialState(),
	}
	l := newLive(rec, doc)
	l.dirty = true
	x.contracts[id] = l
	x.active = append(x.active, id)
	if fl, err := x.pay(s.Account, id, f.Fund, "deploy", ""); fl != nil || err != nil {
		return fl, err // checked above: cannot happen
	}
	x.okLog = "deployed " + id
	return nil, nil
}

// checkStaticDevices refuses a document that names, for an action that
// changes devices, a device its deployer does not own.
func checkStaticDevices(kv state.KV, doc *contract.Checked, owner string) (*failure, error) {
	devs := doc.StaticDevices()
	ids := make([]string, 0, len(devs))
	for id := range devs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var msgs []string
	for _, id := range ids {
		p := devs[id]
		d, err := state.GetDevice(kv, id)
		if err != nil {
			return nil, err
		}
		switch {
		case d == nil:
			msgs = append(msgs, fmt.Sprintf("line %d, column %d: %s names device %s, which is not registered; register it first", p.Line, p.Column, p.What, id))
		case d.Owner != owner:
			msgs = append(msgs, fmt.Sprintf("line %d, column %d: %s changes device %s, owned by %s; a contract may change only its owner's devices", p.Line, p.Column, p.What, id, d.Owner))
		}
	}
	if len(msgs) > 0 {
		return fail(CodeInvalidContract, "%s", strings.Join(msgs, "; ")), nil
	}
	return nil, nil
}

// activeContract returns a contract that exists and runs.
func (x *execution) activeContract(id string) (*live, *failure, error) {
	l, err := x.contract(id)
	if err != nil {
		return nil, nil, err
	}
	if l == nil {
		return nil, fail(CodeUnknownContract, "no contract %s; list them with `iotledger contract list`", id), nil
	}
	if l.rec.Status != state.ContractActive {
		return nil, fail(CodeContractStopped, "contract %s was stopped at height %d; it runs no more", id, l.rec.Stopped), nil
	}
	return l, nil, nil
}

func (x *execution) call(s *tx.Signed, f *tx.CallContract) (*failure, error) {
	l, fl, err := x.activeContract(f.Contract)
	if l == nil {
		return fl, err
	}
	var t, only *contract.Trigger
	var names []string
	for i := range l.doc.Doc.Triggers {
		c := &l.doc.Doc.Triggers[i]
		if c.On != "call" {
			continue
		}
		names, only = append(names, c.Name), c
		if c.Name == f.Trigger {
			t = c
		}
	}
	if f.Trigger == "" && len(names) == 1 {
		t = only
	}
	if t == nil {
		if len(names) == 0 {
			return fail(CodeBadCall, "contract %s has no call trigger", f.Contract), nil
		}
		return fail(CodeBadCall, "contract %s has no call trigger %q; name one of %s with --trigger", f.Contract, f.Trigger, strings.Join(names, ", ")), nil
	}
	args, err := t.ParseArgs(f.Args)
	if err != nil {
		return fail(CodeBadCall, "%s trigger %s: %v", f.Contract, t.Name, err), nil
	}
	if f.Pay > math.MaxInt64 {
		return fail(CodeInvalidAmount, "pay %d: at most %d %s", f.Pay, int64(math.MaxInt64), x.token()), nil
	}
	// The payment goes in first, so the run sees it in the escrow; it
	// comes back out if the run does nothing.
	mark, slots := x.stage.begin(), x.slots
	if fl, err := x.pay(s.Account, l.rec.ID, f.Pay, "call "+t.Name, ""); fl != nil || err != nil {
		x.stage.rollback(mark)
		return fl, err
	}
	ran, failed, err := x.fire(l, t, &contract.Vars{Args: args, Caller: s.Account, Payment: f.Pay})
	if err == nil && (failed != nil || !ran) {
		x.stage.rollback(mark)
		x.slots = slots
	} else {
		x.stage.release()
	}
	switch {
	case err != nil:
		return nil, err
	case failed != nil:
		return failed, nil
	case !ran:
		return fail(CodeConditionFalse, "%s trigger %s: its condition (when: %s) is false for this call; nothing happened", f.Contract, t.Name, t.When.Src), nil
	}
	x.okLog = fmt.Sprintf("called %s %s", f.Contract, t.Name)
	return nil, nil
}

func (x *execution) fundContract(s *tx.Signed, f *tx.FundContract) (*failure, error) {
	l, fl, err := x.activeContract(f.Contract)
	if l == nil {
		return fl, err
	}
	if f.Amount == 0 || f.Amount > math.MaxInt64 {
		return fail(CodeInvalidAmount, "amount %d: fund with 1 to %d %s", f.Amount, int64(math.MaxInt64), x.token()), nil
	}
	return x.pay(s.Account, l.rec.ID, f.Amount, "fund", "")
}

func (x *execution) stopContract(s *tx.Signed, f *tx.StopContract) (*failure, error) {
	l, fl, err := x.activeContract(f.Contract)
	if l == nil {
		return fl, err
	}
	if l.rec.Owner != s.Account {
		return fail(CodeNotOwner, "contract %s is owned by %s; only its owner may stop it", f.Contract, l.rec.Owner), nil
	}
	escrow, err := x.account(l.rec.ID)
	if err != nil {
		return nil, err
	}
	if fl, err := x.pay(l.rec.ID, l.rec.Owner, escrow.Balance, "stop: escrow returned", ""); fl != nil || err != nil {
		return fl, err
	}
	l.rec.Status, l.rec.Stopped, l.dirty = state.ContractStopped, x.height, true
	x.active = deleteString(x.active, l.rec.ID)
	return nil, nil
}

func deleteString(s []string, v string) []string {
	out := s[:0:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// deviceStatus is the device_status transaction: the owner quarantines,
// reactivates or revokes a device.
func (x *execution) deviceStatus(s *tx.Signed, f *tx.DeviceStatus) (*failure, error) {
	d, err := state.GetDevice(x.stage, f.Device)
	if err != nil {
		return nil, err
	}
	switch {
	case d == nil:
		return fail(CodeUnregisteredDevice, "device %s is not registered", f.Device), nil
	case d.Owner != s.Account:
		return fail(CodeNotOwner, "device %s is owned by %s; only its owner may change it", f.Device, d.Owner), nil
	case d.Status == state.StatusRevoked:
		return fail(CodeInvalidStatus, "device %s is revoked, which is final; register a new device", f.Device), nil
	case d.Status == f.Status:
		return fail(CodeInvalidStatus, "device %s is %s already", f.Device, d.Status), nil
	}
	x.setStatus(d, f.Status)
	return nil, nil
}

// flushContracts writes the contracts the block changed and their events.
func (x *execution) flushContracts() {
	ids := make([]string, 0, len(x.contracts))
	for id, l := range x.contracts {
		if l.dirty {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		state.PutContract(x.stage, x.contracts[id].rec)
	}
	for _, e := range x.events {
		state.PutEvent(x.stage, e)
	}
}
