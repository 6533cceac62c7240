package app_test

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

// penaltyDoc: hot readings (temp > 8) from devices labelled site=lab count
// a streak; the third in a row pays the buyer 100 from escrow and emits an
// excursion; the buyer's call "deliver" returns the rest to the owner.
func penaltyDoc(buyer string) string {
	return `name: penalty
state:
  streak: {type: int, initial: 0}
  paid: {type: int, initial: 0}
  buyer: {type: string, initial: "` + buyer + `"}
triggers:
  - name: hot
    on: reading
    devices: {labels: {site: lab}}
    when: "reading.data.temp > 8.0"
    do:
      - set: {streak: "state.streak + 1"}
  - name: cool
    on: reading
    devices: {labels: {site: lab}}
    when: "reading.data.temp <= 8.0"
    do:
      - set: {streak: "0"}
  - name: excursion
    on: reading
    devices: {labels: {site: lab}}
    when: "state.streak >= 3"
    do:
      - emit: {event: excursion, fields: {temp: "reading.data.temp", device: "device.id", seq: "reading.seq"}}
      - transfer: {to: "state.buyer", amount: "100"}
      - set: {streak: "0", paid: "state.paid + 100"}
  - name: deliver
    on: call
    args: {note: string}
    when: "caller == state.buyer"
    do:
      - emit: {event: delivered, fields: {note: "args.note"}}
      - transfer: {to: "contract.owner", amount: "contract.balance"}
`
}

func (c *testChain) tempReading(dev ed25519.PrivateKey, seq uint64, temp float64) []byte {
	c.t.Helper()
	raw, err := reading.Sign(reading.Reading{Seq: seq, Time: c.nowMs(), Data: map[string]any{"temp": temp}}, dev)
	if err != nil {
		c.t.Fatal(err)
	}
	return raw
}

func (c *testChain) deploy(owner ed25519.PrivateKey, doc string, fund uint64) string {
	c.t.Helper()
	res := c.mustOK(c.sign(owner, c.nonce(owner), tx.TypeDeployContract, &tx.DeployContract{Source: []byte(doc), Fund: fund}))
	id, ok := strings.CutPrefix(res.TxResults[0].Log, "deployed ")
	if !ok {
		c.t.Fatalf("deploy log %q, want \"deployed ctr-N\"", res.TxResults[0].Log)
	}
	return id
}

func (c *testChain) callTx(signer ed25519.PrivateKey, id, trigger string, args map[string]string) []byte {
	c.t.Helper()
	return c.sign(signer, c.nonce(signer), tx.TypeCallContract, &tx.CallContract{Contract: id, Trigger: trigger, Args: args})
}

func (c *testChain) events(id string) []*state.Event {
	c.t.Helper()
	es, err := c.app.Reader().ContractEvents(id, 0, 100)
	if err != nil {
		c.t.Fatal(err)
	}
	return es
}

func (c *testChain) contract(id string) *query.ContractInfo {
	c.t.Helper()
	ci, err := c.app.Reader().Contract(id)
	if err != nil || ci == nil {
		c.t.Fatalf("Contract(%s) = %v, %v", id, ci, err)
	}
	return ci
}

func eventNames(es []*state.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func TestContractPenaltyAndDelivery(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	dev := c.register(alice, sensor)
	id := c.deploy(alice, penaltyDoc(accountID(bob)), 250)
	if id != "ctr-1" {
		t.Errorf("first contract id %q, want ctr-1", id)
	}
	c.wantBalances(map[string]uint64{accountID(alice): 750, id: 250})

	// hot, hot, cool (resets), hot, hot, hot (pays), hot: one block.
	temps := []float64{9, 9.5, 7, 10, 11, 12, 13}
	var raws [][]byte
	for i, temp := range temps {
		raws = append(raws, c.tempReading(sensor, uint64(i+1), temp))
	}
	for _, o := range c.send(raws...) {
		wantOutcome(t, fmt.Sprintf("seq %d", o.Seq), o, app.CodeOK)
	}
	es := c.events(id)
	if len(es) != 1 || es[0].Name != "excursion" {
		t.Fatalf("events %v, want one excursion", eventNames(es))
	}
	want := &state.Event{Contract: id, N: 1, Height: c.height, Tx: 0, Trigger: "excursion", Name: "excursion",
		Fields: map[string]any{"temp": 12.0, "device": dev, "seq": int64(6)}}
	if d := cmp.Diff(es[0], want); d != "" {
		t.Errorf("event (-got +want):\n%s", d)
	}
	ci := c.contract(id)
	if ci.Balance != 150 || ci.State["streak"] != int64(1) || ci.State["paid"] != int64(100) || ci.Events != 1 {
		t.Errorf("contract after excursion: balance %d state %v events %d; want 150, streak 1, paid 100, 1 event", ci.Balance, ci.State, ci.Events)
	}
	c.wantBalances(map[string]uint64{accountID(bob): 100})

	// Only the buyer may deliver; the condition says so.
	res := c.block(c.callTx(carol, id, "deliver", map[string]string{"note": "x"}))
	wantCode(t, "call by a stranger", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeConditionFalse, "caller == state.buyer")
	res = c.block(c.callTx(bob, id, "", map[string]string{"nope": "x"}))
	wantCode(t, "call with a wrong argument", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeBadCall, "note")
	c.mustOK(c.callTx(bob, id, "", map[string]string{"note": "received"}))
	c.wantBalances(map[string]uint64{id: 0, accountID(alice): 900, accountID(bob): 100})
	if got := eventNames(c.events(id)); !cmp.Equal(got, []string{"excursion", "delivered"}) {
		t.Errorf("events %v, want excursion, delivered", got)
	}
	// The escrow's history names the contract's payments.
	h, _, err := c.app.Reader().History(id, nil, 10)
	if err != nil || len(h) != 3 {
		t.Fatalf("escrow history %v, %v; want 3 entries (deploy, penalty, delivery)", h, err)
	}
}

// A run whose effect cannot be applied leaves nothing behind: not the
// state it set before the failing transfer, not its events; the contract
// gets a "failed" event that says why.
func TestContractRunFailsWhole(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	c.register(alice, sensor)
	id := c.deploy(alice, `name: greedy
state:
  n: {type: int, initial: 0}
triggers:
  - name: pay
    on: reading
    devices: {labels: {site: lab}}
    do:
      - set: {n: "state.n + 1"}
      - emit: {event: paying}
      - transfer: {to: "contract.owner", amount: "contract.balance + 1"}
  - name: broken
    on: reading
    devices: {labels: {site: lab}}
    when: "reading.data.missing > 1"
    do:
      - emit: {event: never}
`, 10)
	wantOutcome(t, "reading", c.sendOne(c.tempReading(sensor, 1, 5)), app.CodeOK)
	es := c.events(id)
	if got := eventNames(es); !cmp.Equal(got, []string{"failed", "failed"}) {
		t.Fatalf("events %v, want failed, failed", got)
	}
	if msg := es[0].Fields["error"].(string); !strings.Contains(msg, "holds 10") || es[0].Fields["trigger"] != "pay" {
		t.Errorf("first failure %v: want the pay trigger and the escrow it holds", es[0].Fields)
	}
	if msg := es[1].Fields["error"].(string); !strings.Contains(msg, "missing") || !strings.Contains(msg, "line 15") {
		t.Errorf("second failure %v: want the missing key and its line", es[1].Fields)
	}
	ci := c.contract(id)
	if ci.State["n"] != int64(0) || ci.Balance != 10 {
		t.Errorf("state %v balance %d after failed runs; want n 0, balance 10", ci.State, ci.Balance)
	}
}

// Silence, blocks and device status: a device silent for 2 blocks is
// quarantined by the contract, and its next reading is refused.
func TestContractSilenceQuarantines(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	dev := c.register(alice, sensor)
	id := c.deploy(alice, `name: watch
triggers:
  - name: quiet
    on: silence
    devices: {ids: [`+dev+`]}
    blocks: 2
    do:
      - emit: {event: silent, fields: {last: "silence.last_height", device: "device.id"}}
      - device_status: {device: "device.id", status: quarantined}
  - name: tick
    on: blocks
    every: 3
    do:
      - emit: {event: tick, fields: {h: "block.height"}}
`, 0)
	deployed := c.height
	wantOutcome(t, "reading", c.sendOne(c.tempReading(sensor, 1, 5)), app.CodeOK)
	last := c.height
	c.mustOK()
	if got := eventNames(c.events(id)); len(got) != 0 {
		t.Fatalf("events %v one block after the reading, want none", got)
	}
	c.mustOK() // last + 2: silent
	es := c.events(id)
	var silent []*state.Event
	for _, e := range es {
		if e.Name == "silent" {
			silent = append(silent, e)
		}
	}
	if len(silent) != 1 || silent[0].Height != last+2 || silent[0].Fields["last"] != last || silent[0].Tx != -1 {
		t.Fatalf("silent events %+v, want one at height %d with last %d, tx -1", silent, last+2, last)
	}
	d, err := c.app.Reader().Device(dev)
	if err != nil || d.Status != state.StatusQuarantined {
		t.Fatalf("device %+v, %v; want quarantined", d, err)
	}
	wantOutcome(t, "reading of a quarantined device", c.sendOne(c.tempReading(sensor, 2, 5)), app.CodeQuarantinedDevice, dev, "reactivate")
	// The owner reactivates it; readings flow again.
	c.mustOK(c.sign(alice, c.nonce(alice), tx.TypeDeviceStatus, &tx.DeviceStatus{Device: dev, Status: "active"}))
	wantOutcome(t, "reading after reactivation", c.sendOne(c.tempReading(sensor, 3, 5)), app.CodeOK)
	c.mustOK()
	for _, e := range c.events(id) {
		if e.Name == "tick" {
			if h := e.Fields["h"].(int64); (h-deployed)%3 != 0 || h <= deployed {
				t.Errorf("tick at %d, want every 3 blocks after %d", h, deployed)
			}
		}
	}
}

// Silence triggers find their devices in memory (the quiet index), which a
// restart rebuilds from the progress records: a restart between a reading
// and its silence changes nothing. Each wait fires once, at exactly its
// height; a device whose last reading is older than the contract never
// fires.
func TestContractSilenceAcrossRestart(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	dev := c.register(alice, sensor)
	old := c.register(alice, meter)
	wantOutcome(t, "meter's reading before the deploy", c.sendOne(c.tempReading(meter, 1, 5)), app.CodeOK)
	id := c.deploy(alice, `name: watch
triggers:
  - name: two
    on: silence
    devices: {ids: [`+dev+`, `+old+`]}
    blocks: 2
    do:
      - emit: {event: two, fields: {last: "silence.last_height", device: "device.id"}}
  - name: three
    on: silence
    devices: {ids: [`+dev+`, `+old+`]}
    blocks: 3
    do:
      - emit: {event: three, fields: {last: "silence.last_height", device: "device.id"}}
`, 0)
	wantOutcome(t, "sensor's reading", c.sendOne(c.tempReading(sensor, 1, 5)), app.CodeOK)
	last := c.height
	c.mustOK()
	c.reopen() // the index is gone; the next silence trigger rebuilds it
	for range 4 {
		c.mustOK()
	}
	var got []string
	for _, e := range c.events(id) {
		got = append(got, fmt.Sprintf("%s@%d last %v %v", e.Name, e.Height, e.Fields["last"], e.Fields["device"]))
	}
	want := []string{
		fmt.Sprintf("two@%d last %d %s", last+2, last, dev),
		fmt.Sprintf("three@%d last %d %s", last+3, last, dev),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

func TestContractDeployRefusals(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	dev := c.register(alice, sensor)
	other := `name: other
triggers:
  - name: q
    on: reading
    devices: {ids: [` + dev + `]}
    do:
      - device_status: {device: "device.id", status: quarantined}
`
	raw := c.sign(bob, c.nonce(bob), tx.TypeDeployContract, &tx.DeployContract{Source: []byte(other)})
	r := c.checkTx(raw)
	wantCode(t, "deploy naming another's device (CheckTx)", r.Code, r.Log, app.CodeInvalidContract, "line 3", dev, "owned by "+accountID(alice))
	res := c.block(raw)
	wantCode(t, "deploy naming another's device", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeInvalidContract, "only its owner's devices")
	res = c.block(c.sign(alice, c.nonce(alice), tx.TypeDeployContract, &tx.DeployContract{Source: []byte("name: x\ntriggers:\n  - name: t\n    on: call\n    do:\n      - set: {n: \"1\"}\n")}))
	wantCode(t, "deploy of a bad document", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeInvalidContract, "line 6", "declares no field n")
	res = c.block(c.sign(bob, c.nonce(bob), tx.TypeDeployContract, &tx.DeployContract{Source: []byte(penaltyDoc(accountID(bob))), Fund: 5}))
	wantCode(t, "deploy funded beyond the balance", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeInsufficientFunds)
	if cs, err := c.app.Reader().Contracts(0, 10); err != nil || len(cs) != 0 {
		t.Errorf("contracts after refused deploys: %v, %v; want none", cs, err)
	}
}

func TestContractFundAndStop(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	id := c.deploy(alice, penaltyDoc(accountID(bob)), 0)
	c.mustOK(c.sign(alice, c.nonce(alice), tx.TypeFundContract, &tx.FundContract{Contract: id, Amount: 40}))
	c.wantBalances(map[string]uint64{id: 40, accountID(alice): 960})
	res := c.block(c.sign(bob, c.nonce(bob), tx.TypeStopContract, &tx.StopContract{Contract: id}))
	wantCode(t, "stop by another", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeNotOwner, accountID(alice))
	c.mustOK(c.sign(alice, c.nonce(alice), tx.TypeStopContract, &tx.StopContract{Contract: id}))
	c.wantBalances(map[string]uint64{id: 0, accountID(alice): 1000})
	if ci := c.contract(id); ci.Status != state.ContractStopped || ci.Stopped != c.height {
		t.Errorf("contract %s status %s stopped %d, want stopped at %d", id, ci.Status, ci.Stopped, c.height)
	}
	res = c.block(c.callTx(bob, id, "deliver", map[string]string{"note": "x"}))
	wantCode(t, "call after stop", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeContractStopped, id)
	res = c.block(c.callTx(bob, "ctr-9", "deliver", nil))
	wantCode(t, "call of no contract", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeUnknownContract, "ctr-9")
	// A stopped contract no longer reacts, even after a restart.
	c.reopen()
	c.register(alice, sensor)
	for i := range 4 {
		c.sendOne(c.tempReading(sensor, uint64(i+1), 20))
	}
	if got := eventNames(c.events(id)); len(got) != 0 {
		t.Errorf("stopped contract emitted %v", got)
	}
}

// Report triggers and the desired action: a device reporting firmware not
// on the approved list is quarantined, and its desired firmware is set.
func TestContractReportAndDesired(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	dev := c.register(alice, sensor)
	id := c.deploy(alice, `name: fw
state:
  approved: {type: list, initial: [aa11, bb22]}
triggers:
  - name: check
    on: report
    devices: {labels: {site: lab}}
    when: "has(reported.firmware) && !(reported.firmware in state.approved)"
    do:
      - device_status: {device: "device.id", status: quarantined}
      - desired: {device: "device.id", field: firmware, value: "state.approved[0]"}
`, 0)
	report := func(fw string) *tx.TwinPatch {
		return &tx.TwinPatch{Device: dev, Set: map[string]any{"firmware": fw}}
	}
	c.mustOK(c.sign(sensor, c.nonce(sensor), tx.TypeReportState, report("bb22")))
	if d, _ := c.app.Reader().Device(dev); d.Status != state.StatusActive {
		t.Fatalf("approved firmware: status %s, want active", d.Status)
	}
	c.mustOK(c.sign(sensor, c.nonce(sensor), tx.TypeReportState, report("evil")))
	if d, _ := c.app.Reader().Device(dev); d.Status != state.StatusQuarantined {
		t.Fatalf("unapproved firmware: status %s, want quarantined", d.Status)
	}
	tw, err := c.app.Reader().Twin(dev, 0)
	if err != nil || tw.Desired.State["firmware"] != "aa11" {
		t.Fatalf("desired %v, %v; want firmware aa11", tw, err)
	}
	hist, _, err := c.app.Reader().TwinHistory(dev, state.SideDesired, nil, 1)
	if err != nil || len(hist) != 1 || hist[0].By != id {
		t.Errorf("desired history %+v, %v; want a change by %s", hist, err, id)
	}
	// Twins and contracts are covered records: audit replays them too.
	if r := c.audit(); len(r.Findings) != 0 {
		t.Errorf("audit findings %v, want none", r.Findings)
	}
}

// Two nodes executing the same blocks agree on every app hash, contracts
// and all: runs are pure functions of the block.
func TestContractDeterminism(t *testing.T) {
	run := func() map[int64][]byte {
		c := payChain(t)
		c.mustOK()
		c.register(alice, sensor)
		id := c.deploy(alice, penaltyDoc(accountID(bob)), 300)
		for i := range 5 {
			var raws [][]byte
			for j := range 4 {
				raws = append(raws, c.tempReading(sensor, uint64(i*4+j+1), float64(5+i+j)))
			}
			c.send(raws...)
		}
		c.mustOK(c.callTx(bob, id, "", map[string]string{"note": "done"}))
		return c.appHashes
	}
	a, b := run(), run()
	if d := cmp.Diff(a, b); d != "" || len(a) < 8 {
		t.Errorf("app hashes differ between two runs of the same blocks (%d blocks):\n%s", len(a), d)
	}
}

// A call can pay into escrow; the payment stays only if the call ran.
func TestContractCallPays(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	c.mustOK(c.transferTx(alice, tx.Transfer{To: accountID(bob), Amount: 100}))
	id := c.deploy(alice, `name: shop
state:
  sold: {type: int, initial: 0}
triggers:
  - name: buy
    on: call
    when: "payment == 30"
    do:
      - set: {sold: "state.sold + 1"}
      - transfer: {to: "contract.owner", amount: "contract.balance / 2"}
`, 0)
	call := func(pay uint64) []byte {
		return c.sign(bob, c.nonce(bob), tx.TypeCallContract, &tx.CallContract{Contract: id, Pay: pay})
	}
	res := c.block(call(20))
	wantCode(t, "call paying the wrong price", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeConditionFalse, "payment == 30")
	c.wantBalances(map[string]uint64{accountID(bob): 100, id: 0})
	res = c.block(call(500))
	wantCode(t, "call paying more than held", res.TxResults[0].Code, res.TxResults[0].Log, app.CodeInsufficientFunds, "holds 100")
	c.mustOK(call(30))
	c.wantBalances(map[string]uint64{accountID(bob): 70, id: 15, accountID(alice): 915})
	if ci := c.contract(id); ci.State["sold"] != int64(1) {
		t.Errorf("sold %v, want 1", ci.State["sold"])
	}
}

// Contract state is part of the state digest: a block whose only change is
// a contract's state changes the digest, and audit recomputes it.
func TestContractStateInDigest(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	c.deploy(alice, `name: counter
state:
  n: {type: int, initial: 0}
triggers:
  - name: tick
    on: blocks
    every: 1
    do:
      - set: {n: "state.n + 1"}
`, 0)
	before := c.app.Meta().Digest
	c.mustOK() // no transaction: only the blocks trigger changes state
	if after := c.app.Meta().Digest; string(after) == string(before) {
		t.Fatalf("state digest unchanged by a block that changed contract state")
	}
	if r := c.audit(); len(r.Findings) != 0 {
		t.Errorf("audit findings %v, want none", r.Findings)
	}
}
