package apitest

import (
	"fmt"
	"slices"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
)

// TipSource is the document of the fake's contract ctr-1.
const TipSource = `name: tip
state:
  paid: {type: int, initial: 0}
triggers:
  - name: pay
    on: call
    args: {to: string, amount: int}
    do:
      - transfer: {to: "args.to", amount: "args.amount"}
      - set: {paid: "state.paid + args.amount"}
      - emit: {event: paid, fields: {to: "args.to", amount: "args.amount"}}
`

// The fake's contracts, both owned by Owner():
//
//   - ctr-1 "tip", active, deployed in block 5, escrow 250, state
//     {paid: 200}, three events: "paid" in blocks 7 and 8, "failed" in 9;
//   - ctr-2 "idle", deployed in block 6, stopped in block 8, no state, no
//     events.
func (l *Ledger) initContracts() {
	owner := Owner()
	l.contracts = []*query.ContractInfo{
		{
			Contract: state.Contract{ID: state.ContractID(1), Number: 1, Owner: owner, Name: "tip",
				Source: []byte(TipSource), Status: state.ContractActive, Deployed: 5,
				State: map[string]any{"paid": int64(200)}, Events: 3},
			Balance: 250, Token: "IOT", Source: TipSource,
		},
		{
			Contract: state.Contract{ID: state.ContractID(2), Number: 2, Owner: owner, Name: "idle",
				Source: []byte("name: idle\n"), Status: state.ContractStopped, Deployed: 6, Stopped: 8},
			Token: "IOT", Source: "name: idle\n",
		},
	}
	to := DeviceID(0)
	l.events = map[string][]*state.Event{
		state.ContractID(1): {
			{Contract: state.ContractID(1), N: 1, Height: 7, Tx: 0, Trigger: "pay", Name: "paid", Fields: map[string]any{"to": to, "amount": int64(100)}},
			{Contract: state.ContractID(1), N: 2, Height: 8, Tx: 1, Trigger: "pay", Name: "paid", Fields: map[string]any{"to": to, "amount": int64(100)}},
			{Contract: state.ContractID(1), N: 3, Height: 9, Tx: 0, Trigger: "pay", Name: "failed", Fields: map[string]any{"trigger": "pay", "error": "transfer of 400: the escrow holds 250"}},
		},
	}
	l.deployLog = "" // the app's: "deployed ctr-N"
}

// Contract implements api.Reader.
func (l *Ledger) Contract(id string) (*query.ContractInfo, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.contracts {
		if c.ID == id {
			cp := *c
			return &cp, nil
		}
	}
	return nil, nil
}

// Contracts implements api.Reader.
func (l *Ledger) Contracts(after uint64, limit int) ([]*query.ContractInfo, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*query.ContractInfo
	for _, c := range l.contracts {
		if c.Number > after && len(out) < limit {
			cp := *c
			out = append(out, &cp)
		}
	}
	return out, nil
}

// ContractEvents implements api.Reader.
func (l *Ledger) ContractEvents(id string, after uint64, limit int) ([]*state.Event, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*state.Event
	for _, e := range l.events[id] {
		if e.N > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// AddContract adds a contract, numbered after the others.
func (l *Ledger) AddContract(c query.ContractInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.Number = uint64(len(l.contracts) + 1)
	c.ID = state.ContractID(c.Number)
	l.contracts = append(l.contracts, &c)
}

// AddContractEvent appends an event of name, committed in block height, to
// a contract's events (as its trigger pay emitted it) and returns it.
func (l *Ledger) AddContractEvent(id string, height int64, name string, fields map[string]any) *state.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.contracts {
		if c.ID == id {
			c.Events++
			e := &state.Event{Contract: id, N: c.Events, Height: height, Trigger: "pay", Name: name, Fields: fields}
			l.events[id] = append(l.events[id], e)
			return e
		}
	}
	panic("apitest: no contract " + id)
}

// SetDeployLog makes a committed deployment answer with log s instead of
// "deployed ctr-N".
func (l *Ledger) SetDeployLog(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deployLog = s
}

// SignedTxs returns the signed transactions BroadcastTx received, in order.
func (l *Ledger) SignedTxs() []*tx.Signed {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.signed)
}

// contractResult answers a signed contract or device status transaction as
// the app would on the fake's state, in block 9: a deployment is committed
// as the contract after the others (not stored; its log is "deployed
// ctr-N"); a call appends an event "called" with the call's arguments as
// fields, a fund adds to the escrow, a stop stops the contract and empties
// its escrow; all three are refused for a stopped contract
// (contract_stopped) and an unknown one (unknown_contract). ok is false
// for other types.
func (l *Ledger) contractResult(s *tx.Signed) (res apiwire.TxResult, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var id string
	switch f := s.Fields.(type) {
	case *tx.DeployContract:
		if l.deployLog != "" {
			return apiwire.TxResult{Name: app.CodeOK.String(), Log: l.deployLog}, true
		}
		return apiwire.TxResult{Name: app.CodeOK.String(), Log: "deployed " + state.ContractID(uint64(len(l.contracts)+1))}, true
	case *tx.CallContract:
		id = f.Contract
	case *tx.FundContract:
		id = f.Contract
	case *tx.StopContract:
		id = f.Contract
	case *tx.DeviceStatus:
		return apiwire.TxResult{Name: app.CodeOK.String(), Log: fmt.Sprintf("device %s is %s", f.Device, f.Status)}, true
	default:
		return apiwire.TxResult{}, false
	}
	for _, c := range l.contracts {
		if c.ID != id {
			continue
		}
		if c.Status == state.ContractStopped {
			return apiwire.TxResult{Code: uint32(app.CodeContractStopped), Name: app.CodeContractStopped.String(),
				Log: fmt.Sprintf("contract %s was stopped by its owner in block %d; it takes no calls or funds", id, c.Stopped)}, true
		}
		switch f := s.Fields.(type) {
		case *tx.CallContract:
			fields := map[string]any{}
			for k, v := range f.Args {
				fields[k] = v
			}
			c.Events++
			l.events[id] = append(l.events[id], &state.Event{Contract: id, N: c.Events, Height: 9, Trigger: f.Trigger, Name: "called", Fields: fields})
		case *tx.FundContract:
			c.Balance += f.Amount
		case *tx.StopContract:
			c.Status, c.Stopped, c.Balance = state.ContractStopped, 9, 0
		}
		return apiwire.TxResult{Name: app.CodeOK.String(), Log: s.Type.String() + " " + id}, true
	}
	return apiwire.TxResult{Code: uint32(app.CodeUnknownContract), Name: app.CodeUnknownContract.String(),
		Log: fmt.Sprintf("no contract %s is deployed; list them with iotledger contract list", id)}, true
}
