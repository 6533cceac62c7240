// Package apitest provides a fake api.Ledger and api.Reader (one value is
// both) with fixed, deterministic content, for tests of the API and of its
// clients: api.New(l, l, opts). Only tests import it.
//
// The ledger of New holds three devices (DeviceList, in id order) and seven
// readings, device DeviceID(i%3) sending seq 100+i as log leaf i:
//
//   - leaves 0 to 5 were committed in block Height (41) and have real
//     receipts (package receiptfix): they verify against Fixture.Genesis;
//   - leaf 6 (device DeviceID(0), seq 106) was committed in block Height+1,
//     the latest, so its receipt is not available yet (api.ErrNotYet).
//
// Submit decodes each reading: an undecodable one is rejected, a known
// (device, seq) is a duplicate of the stored one, any other is accepted in
// block Height+2 with wait and pending without. Nothing submitted is stored.
//
// SetHalted, SetCatchingUp and SetMempoolFull put it in the states GET
// /readyz checks (it implements api.ReadyLedger); while halted, Submit and
// BroadcastTx return an *ingest.HaltedError.
//
// It also holds two contracts, ctr-1 (active, with three events) and ctr-2
// (stopped), and answers signed contract transactions as the app would on
// them (see BroadcastTx).
package apitest

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/testonly/receiptfix"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

// Height is the block of leaves 0 to 5; leaf 6 is in Height+1.
const Height = receiptfix.Height

// EventBuffer is the capacity of each subscriber's channel.
const EventBuffer = 16

// Ledger is a fake api.Ledger and api.Reader. Its methods are safe for
// concurrent use.
type Ledger struct {
	Fixture    *receiptfix.Fixture        // leaves 0 to 5 and their chain
	DeviceList []*state.Device            // in id order
	Stored     map[string][]*query.Stored // per device id, in seq order

	status   apiwire.Status
	blocks   map[int64]*api.BlockInfo
	receipts map[uint64]*receipt.Receipt // by leaf index

	mu      sync.Mutex
	err     error // returned by every method, when set
	busy    bool
	halt    *apiwire.Halt // see SetHalted
	full    bool          // see SetMempoolFull
	subs    map[int]*subscriber
	nextSub int
	dropped int
	changed chan struct{}         // closed and replaced when subs changes
	journal map[int64][]api.Event // the events Publish committed, by block
	latest  int64                 // the latest block Publish committed

	contracts []*query.ContractInfo     // in number order
	events    map[string][]*state.Event // per contract, oldest first
	deployLog string                    // see SetDeployLog
	signed    []*tx.Signed              // what BroadcastTx received
	accounts  map[string]accountFix     // see SetAccount
}

// accountFix is an account SetAccount added.
type accountFix struct {
	acct    *state.Account
	history []*state.Payment
}

// SetAccount adds an account with its history (newest first), or
// replaces one.
func (l *Ledger) SetAccount(a *state.Account, history []*state.Payment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.accounts == nil {
		l.accounts = map[string]accountFix{}
	}
	l.accounts[a.Address] = accountFix{a, history}
}

var (
	_ api.Ledger      = (*Ledger)(nil)
	_ api.ReadyLedger = (*Ledger)(nil)
	_ api.Reader      = (*Ledger)(nil)
)

// New returns the standard fake ledger.
func New(tb testing.TB) *Ledger {
	tb.Helper()
	l := &Ledger{
		Stored:   map[string][]*query.Stored{},
		blocks:   map[int64]*api.BlockInfo{},
		receipts: map[uint64]*receipt.Receipt{},
		subs:     map[int]*subscriber{},
		changed:  make(chan struct{}),
	}
	const leaves = 6
	for i := range uint64(leaves) {
		f := receiptfix.MustNew(tb, receiptfix.Options{Leaves: leaves, Index: i})
		if i == 0 {
			l.Fixture = f
		}
		l.receipts[i] = f.Receipt
	}
	f := l.Fixture
	owner := address.Account(receiptfix.DeviceKey("owner").Public().(ed25519.PublicKey))
	for dev := range 3 {
		pub := receiptfix.DeviceKey(fmt.Sprintf("device %d", dev)).Public().(ed25519.PublicKey)
		l.DeviceList = append(l.DeviceList, &state.Device{
			ID:         address.Device(pub),
			Key:        pub,
			Owner:      owner,
			Labels:     map[string]string{"site": "hall-b"},
			Status:     state.StatusActive,
			Registered: 3,
			Updated:    3,
		})
	}

	raws := slices.Clone(f.Readings)
	keys := slices.Clone(f.Keys)
	late := reading.Reading{
		Seq:  106,
		Time: receiptfix.GenesisTime.Add((Height + 1) * time.Second).UnixMilli(),
		Data: map[string]any{"temp_c": 22.25, "door": true, "site": "hall-b", "count": int64(1) << 60},
	}
	key := receiptfix.DeviceKey("device 0")
	raw, err := reading.Sign(late, key)
	if err != nil {
		tb.Fatal(err)
	}
	raws = append(raws, raw)
	keys = append(keys, key)
	for i, raw := range raws {
		s, err := reading.Decode(raw)
		if err != nil {
			tb.Fatal(err)
		}
		h := int64(Height)
		if i == leaves {
			h++
		}
		l.Stored[s.Device] = append(l.Stored[s.Device], &query.Stored{
			Index:  uint64(i),
			Height: h,
			Key:    keys[i].Public().(ed25519.PublicKey),
			Raw:    raw,
			Signed: s,
		})
	}
	slices.SortFunc(l.DeviceList, func(a, b *state.Device) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})

	for h := int64(Height); h <= Height+1; h++ {
		size := uint64(leaves)
		if h > Height {
			size++
		}
		l.blocks[h] = &api.BlockInfo{
			Block: state.Block{
				Height:      h,
				Time:        receiptfix.GenesisTime.Add(time.Duration(h) * time.Second).UnixMilli(),
				LogSize:     size,
				LogRoot:     receiptfix.Hash(fmt.Sprintf("log root %d", h)),
				StateDigest: receiptfix.Hash(fmt.Sprintf("state digest %d", h)),
				AppHash:     receiptfix.Hash(fmt.Sprintf("app hash %d", h)),
				Txs:         1,
			},
			Hash:     receiptfix.Hash(fmt.Sprintf("block hash %d", h)),
			Proposer: strings.ToUpper(hex.EncodeToString(receiptfix.Hash("proposer")[:20])),
			NumTxs:   1,
			Results:  []apiwire.TxResult{{Code: 0, Name: app.CodeOK.String()}},
		}
	}
	l.blocks[Height].Readings = leaves
	l.blocks[Height+1].Readings = 1
	l.blocks[Height].Txs = api.BlockTxs([][]byte{tx.NewBatch(raws[:leaves])})
	l.blocks[Height+1].Txs = api.BlockTxs([][]byte{tx.NewBatch(raws[leaves:])})
	top := l.blocks[Height+1]
	l.initContracts()
	l.status = apiwire.Status{
		ChainID:      f.Options.ChainID,
		Height:       top.Height,
		AppHash:      top.AppHash,
		LogSize:      top.LogSize,
		LogRoot:      top.LogRoot,
		Validators:   f.Options.Validators,
		NodeID:       "fake-node",
		LatestTimeMs: top.Time,
		Version:      "test",
	}
	return l
}

// DeviceID returns the id of device n (0, 1 or 2), whose key is
// receiptfix.DeviceKey("device n").
func DeviceID(n int) string {
	return address.Device(receiptfix.DeviceKey(fmt.Sprintf("device %d", n)).Public().(ed25519.PublicKey))
}

// Device implements api.Reader.
func (l *Ledger) Device(id string) (*state.Device, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	for _, d := range l.DeviceList {
		if d.ID == id {
			return d, nil
		}
	}
	return nil, nil
}

// SetErr makes every method but Subscribe return err (nil: none).
func (l *Ledger) SetErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err = err
}

// SetBusy makes Submit return api.ErrBusy.
func (l *Ledger) SetBusy(busy bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy = busy
}

// SetHalted makes the ledger's consensus halted (nil: committing): Status
// shows it, Ready fails its consensus check, Submit and BroadcastTx return
// an *ingest.HaltedError.
func (l *Ledger) SetHalted(h *apiwire.Halt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.halt = h
}

// SetCatchingUp sets Status.CatchingUp, which Ready checks.
func (l *Ledger) SetCatchingUp(catchingUp bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status.CatchingUp = catchingUp
}

// SetMempoolFull makes Ready's mempool check fail.
func (l *Ledger) SetMempoolFull(full bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.full = full
}

// halted is the error of a submission while halted, or nil.
func (l *Ledger) halted() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.halt == nil {
		return nil
	}
	return &ingest.HaltedError{Since: l.halt.Since, Reason: l.halt.Reason}
}

// Ready implements api.ReadyLedger: the store check fails while SetErr is
// set, the others as SetCatchingUp, SetHalted and SetMempoolFull say.
func (l *Ledger) Ready(ctx context.Context) []apiwire.Check {
	l.mu.Lock()
	defer l.mu.Unlock()
	checks := []apiwire.Check{
		{Name: "store", OK: l.err == nil, Detail: fmt.Sprintf("open, at block %d", l.status.Height)},
		{Name: "sync", OK: !l.status.CatchingUp, Detail: "in step with the chain"},
		{Name: "consensus", OK: l.halt == nil, Detail: "committing blocks"},
		{Name: "mempool", OK: !l.full, Detail: "1 of 10000 transactions"},
	}
	if l.err != nil {
		checks[0].Detail = "the store does not answer; see the node's log"
	}
	if l.status.CatchingUp {
		checks[1].Detail = api.CatchingUpDetail(l.status.Height)
	}
	if l.halt != nil {
		checks[2].Detail = api.HaltedDetail(l.halt.Since, l.halt.Reason)
	}
	if l.full {
		checks[3].Detail = "full (10000 of 10000 transactions); send readings to another node or again after the Retry-After delay"
	}
	return checks
}

func (l *Ledger) fault() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Status implements api.Ledger.
func (l *Ledger) Status(ctx context.Context) (*apiwire.Status, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.status
	if l.halt != nil {
		h := *l.halt
		st.Halted = &h
	}
	return &st, nil
}

// Devices implements api.Reader.
func (l *Ledger) Devices(after string, limit int) ([]*state.Device, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	var out []*state.Device
	for _, d := range l.DeviceList {
		if d.ID > after && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

// Progress implements api.Reader.
func (l *Ledger) Progress(id string) (*state.Progress, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	var p state.Progress
	for _, s := range l.Stored[id] {
		if p.Count == 0 {
			p.MinSeq, p.MaxSeq = s.Seq, s.Seq
		} else if s.Seq > p.MaxSeq+1 {
			p.Gaps = append(p.Gaps, state.Range{From: p.MaxSeq + 1, To: s.Seq - 1})
		}
		p.MaxSeq = max(p.MaxSeq, s.Seq)
		p.Count++
	}
	return &p, nil
}

// Readings implements api.Reader, as query.Reader does.
func (l *Ledger) Readings(id string, q query.ReadingRange) ([]*query.Stored, *uint64, error) {
	if err := l.fault(); err != nil {
		return nil, nil, err
	}
	var out []*query.Stored
	for _, s := range l.Stored[id] {
		v := s.Seq
		if q.ByTime {
			v = uint64(s.Time)
		}
		if v < q.From || v > q.To || (q.ByTime && s.Seq < q.StartSeq) {
			continue
		}
		if len(out) == q.Limit {
			next := s.Seq
			return out, &next, nil
		}
		out = append(out, s)
	}
	return out, nil, nil
}

// Block implements api.Ledger.
func (l *Ledger) Block(ctx context.Context, height int64) (*api.BlockInfo, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	return l.blocks[height], nil
}

// Receipt implements api.Ledger.
func (l *Ledger) Receipt(ctx context.Context, id string, seq uint64) (*receipt.Receipt, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	s := l.find(id, seq)
	if s == nil {
		return nil, api.ErrNotFound
	}
	r, ok := l.receipts[s.Index]
	if !ok {
		return nil, api.ErrNotYet
	}
	return r, nil
}

func (l *Ledger) find(id string, seq uint64) *query.Stored {
	for _, s := range l.Stored[id] {
		if s.Seq == seq {
			return s
		}
	}
	return nil
}

// Submit implements api.Ledger.
// page cuts [start, end) of n newest-first entries for a page of limit
// below cursor before; the fake's cursors are the index of the next entry,
// in 12 bytes.
func page(n int, before []byte, limit int) (start, end int, next []byte) {
	if len(before) == 12 {
		start = min(int(before[11]), n)
	}
	end = min(start+limit, n)
	if end < n {
		next = append(make([]byte, 11), byte(end))
	}
	return start, end, next
}

// Owner is the account that owns the fake devices.
func Owner() string {
	return address.Account(receiptfix.DeviceKey("owner").Public().(ed25519.PublicKey))
}

// Account implements api.Reader: the owner of the fake devices holds 100
// tokens from genesis and paid device 0 seven of them (nonce 4); other
// addresses are empty.
func (l *Ledger) Account(addr string) (*state.Account, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	fix, ok := l.accounts[addr]
	l.mu.Unlock()
	if ok {
		return fix.acct, nil
	}
	switch addr {
	case l.DeviceList[0].Owner:
		return &state.Account{Address: addr, Balance: 93, Nonce: 4}, nil
	case l.DeviceList[0].ID:
		return &state.Account{Address: addr, Balance: 7}, nil
	}
	return nil, nil
}

// History implements api.Reader: the payments of Account. Cursors are the
// index of the next entry, in 12 bytes.
func (l *Ledger) History(addr string, before []byte, limit int) ([]*state.Payment, []byte, error) {
	if err := l.fault(); err != nil {
		return nil, nil, err
	}
	var history []*state.Payment
	l.mu.Lock()
	fix, ok := l.accounts[addr]
	l.mu.Unlock()
	switch {
	case ok:
		history = fix.history
	default:
		history = l.history(addr)
	}
	start, end, next := page(len(history), before, limit)
	return history[start:end], next, nil
}

// history is the standard fake history of addr.
func (l *Ledger) history(addr string) []*state.Payment {
	var history []*state.Payment
	switch addr {
	case l.DeviceList[0].Owner:
		history = []*state.Payment{
			{Height: 5, Amount: -7, Counterparty: l.DeviceList[0].ID, Memo: "top-up", Balance: 93},
			{Height: 1, Amount: 100, Counterparty: state.Genesis, Balance: 100},
		}
	case l.DeviceList[0].ID:
		history = []*state.Payment{{Height: 5, Amount: 7, Counterparty: l.DeviceList[0].Owner, Memo: "top-up", Balance: 7}}
	}
	return history
}

// Token implements api.Reader.
func (l *Ledger) Token() string { return "IOT" }

// BroadcastTx implements api.Ledger: a transaction of one byte 0x01 is
// refused by CheckTx (malformed_tx), any other is committed in block 9.
// Signed transactions are recorded (SignedTxs); those of contracts and
// device statuses get the result contractResult describes, any other the
// code ok.
func (l *Ledger) BroadcastTx(ctx context.Context, raw []byte) (*apiwire.TxCommit, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	if err := l.halted(); err != nil {
		return nil, err
	}
	h := sha256.Sum256(raw)
	out := &apiwire.TxCommit{Hash: h[:]}
	if len(raw) == 1 && raw[0] == 1 {
		out.TxResult = apiwire.TxResult{Code: 1, Name: "malformed_tx", Log: "tx: malformed transaction"}
		return out, nil
	}
	out.Committed, out.Height, out.TxResult = true, 9, apiwire.TxResult{Name: "ok", Log: "transfer"}
	if t, err := tx.Decode(raw); err == nil && t.Signed != nil {
		l.mu.Lock()
		l.signed = append(l.signed, t.Signed)
		l.mu.Unlock()
		if res, ok := l.contractResult(t.Signed); ok {
			out.TxResult = res
		}
	}
	return out, nil
}

// Twin implements api.Reader: device 0 has desired {firmware 1.3.0,
// interval_s 60} (version 2, block 7) and reported {firmware 1.2.0,
// interval_s 60} (version 1, block 6); as of block 6 its desired state was
// version 1, {firmware 1.2.0}.
func (l *Ledger) Twin(id string, height int64) (*state.Twin, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	if id != l.DeviceList[0].ID {
		return &state.Twin{}, nil
	}
	t := &state.Twin{
		Desired:  state.TwinState{Version: 2, Height: 7, State: map[string]any{"firmware": "1.3.0", "interval_s": int64(60)}},
		Reported: state.TwinState{Version: 1, Height: 6, State: map[string]any{"firmware": "1.2.0", "interval_s": int64(60)}},
	}
	if height > 0 && height < 7 {
		t.Desired = state.TwinState{Version: 1, Height: 5, State: map[string]any{"firmware": "1.2.0"}}
	}
	return t, nil
}

// TwinHistory implements api.Reader: the two desired versions of device 0.
func (l *Ledger) TwinHistory(id, side string, before []byte, limit int) ([]*state.TwinChange, []byte, error) {
	if err := l.fault(); err != nil {
		return nil, nil, err
	}
	if id != l.DeviceList[0].ID || side != state.SideDesired {
		return nil, nil, nil
	}
	all := []*state.TwinChange{
		{Version: 2, Height: 7, Set: map[string]any{"firmware": "1.3.0", "interval_s": int64(60)}, State: map[string]any{"firmware": "1.3.0", "interval_s": int64(60)}, By: l.DeviceList[0].Owner},
		{Version: 1, Height: 5, Set: map[string]any{"firmware": "1.2.0"}, State: map[string]any{"firmware": "1.2.0"}, By: l.DeviceList[0].Owner},
	}
	start, end, next := page(len(all), before, limit)
	return all[start:end], next, nil
}

func (l *Ledger) Submit(ctx context.Context, raws [][]byte, wait bool) ([]verdict.Verdict, error) {
	if err := l.fault(); err != nil {
		return nil, err
	}
	if err := l.halted(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	busy := l.busy
	l.mu.Unlock()
	if busy {
		return nil, api.ErrBusy
	}
	next := uint64(0)
	for _, ss := range l.Stored {
		next += uint64(len(ss))
	}
	out := make([]verdict.Verdict, len(raws))
	for i, raw := range raws {
		s, err := reading.Decode(raw)
		if err != nil {
			out[i] = verdict.Verdict{Status: verdict.Rejected, Code: verdict.CodeMalformedReading, Detail: err.Error()}
			continue
		}
		v := verdict.Verdict{Device: s.Device, Seq: s.Seq}
		switch old := l.find(s.Device, s.Seq); {
		case old != nil:
			v.Status, v.Code, v.Index, v.Height = verdict.Duplicate, verdict.CodeDuplicate, old.Index, old.Height
		case !wait:
			v.Status = verdict.Pending
		default:
			v.Status, v.Index, v.Height = verdict.Accepted, next, Height+2
			next++
		}
		out[i] = v
	}
	return out, nil
}

// Subscribe implements api.Ledger.
func (l *Ledger) Subscribe() api.Subscription {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := l.nextSub
	l.nextSub++
	sub := &subscriber{ch: make(chan api.Event, EventBuffer), lost: make(chan struct{}, 1)}
	l.subs[id] = sub
	l.notify()
	var once sync.Once
	return api.Subscription{Events: sub.ch, Lost: sub.lost, Cancel: func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			delete(l.subs, id)
			l.notify()
		})
	}}
}

type subscriber struct {
	ch   chan api.Event
	lost chan struct{}
}

func (l *Ledger) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// Publish commits a block (the one after the latest, which is Height+1 at
// first) whose events are evs, in order: it numbers them (their ID), keeps
// them for ReplayEvents, and sends them to every subscriber that has room,
// counting the others' as dropped and telling them on Lost, as a node
// does. It returns the block's height. Status and the other routes do not
// see these blocks.
func (l *Ledger) Publish(evs ...api.Event) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.journal == nil {
		l.journal = map[int64][]api.Event{}
		l.latest = Height + 1
	}
	l.latest++
	for i := range evs {
		evs[i].ID = api.EventID{Height: l.latest, N: uint32(i + 1)}
	}
	l.journal[l.latest] = evs
	for _, sub := range l.subs {
		for _, ev := range evs {
			select {
			case sub.ch <- ev:
			default:
				l.dropped++
				select {
				case sub.lost <- struct{}{}:
				default:
				}
			}
		}
	}
	return l.latest
}

// EventRange implements api.EventSource: the blocks Publish committed.
func (l *Ledger) EventRange() (first, last int64, err error) {
	if err := l.fault(); err != nil {
		return 0, 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.journal == nil {
		return 0, Height + 1, nil
	}
	return Height + 2, l.latest, nil
}

// ReplayEvents implements api.EventSource: the events Publish committed.
func (l *Ledger) ReplayEvents(ctx context.Context, from, to int64, emit func(*api.Event) error) error {
	for h := from; h <= to; h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		evs, ok := l.journal[h]
		l.mu.Unlock()
		if !ok {
			return fmt.Errorf("apitest: no events of block %d", h)
		}
		for i := range evs {
			ev := evs[i]
			if err := emit(&ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// Dropped returns the number of events subscribers had no room for.
func (l *Ledger) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// WaitSubscribers waits until there are n subscribers.
func (l *Ledger) WaitSubscribers(ctx context.Context, n int) error {
	for {
		l.mu.Lock()
		got, changed := len(l.subs), l.changed
		l.mu.Unlock()
		if got == n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("apitest: %d subscribers, want %d: %w", got, n, ctx.Err())
		}
	}
}
