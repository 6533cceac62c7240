package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/internal/tlog"
	"github.com/iotledger/iotledger/internal/zip215"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

// failure is a rule violation: a code and a message a person can act on.
type failure struct {
	code Code
	msg  string
}

func fail(c Code, format string, args ...any) *failure {
	return &failure{code: c, msg: fmt.Sprintf(format, args...)}
}

func (f *failure) Error() string { return f.code.String() + ": " + f.msg }

// readingCode maps a reading decode error to its code.
func readingCode(err error) Code {
	if errors.Is(err, reading.ErrTooLarge) {
		return CodeReadingTooLarge
	}
	return CodeMalformedReading
}

// decodeTx applies the stateless rules to a transaction. For a batch this
// node built (see txCache) it also returns the decoded readings, taking the
// entry away with forget; otherwise dec is nil.
func (a *App) decodeTx(raw []byte, p state.Params, forget bool) (t *tx.Tx, dec []Decoded, f *failure) {
	if len(raw) > p.MaxTxBytes {
		return nil, nil, fail(CodeTxTooLarge, "transaction is %d bytes, at most %d; send fewer readings per batch", len(raw), p.MaxTxBytes)
	}
	if dec = a.cachedBatch(raw, forget); dec != nil {
		t = &tx.Tx{Kind: tx.KindBatch, Readings: make([][]byte, len(dec))}
		for i, d := range dec {
			t.Readings[i] = d.raw
		}
	} else {
		var err error
		if t, err = tx.Decode(raw); err != nil {
			return nil, nil, fail(CodeMalformedTx, "%v", err)
		}
	}
	if t.Kind == tx.KindBatch && len(t.Readings) > p.MaxBatchReadings {
		return nil, nil, fail(CodeBatchTooLarge, "batch has %d readings, at most %d; split it", len(t.Readings), p.MaxBatchReadings)
	}
	return t, dec, nil
}

// batchReadings returns a batch's readings decoded: dec from decodeTx, or
// decoded now.
func (a *App) batchReadings(t *tx.Tx, dec []Decoded) []Decoded {
	if dec != nil {
		return dec
	}
	return a.decodeAll(t.Readings)
}

// CheckTx admits a transaction to the mempool. A batch is refused whole if
// any reading in it is malformed, from an unknown or revoked device, or
// badly signed: whoever built it (our ingest, or a gateway) filters first.
// Rules that depend on the block (duplicates, the time window, the exact
// nonce) are applied per reading in FinalizeBlock.
func (a *App) CheckTx(_ context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	if !a.enter() {
		return &abci.CheckTxResponse{Code: uint32(CodeNodeStopping), Log: "the node is stopping; send the transaction again later", Codespace: "iotledger"}, nil
	}
	defer a.leave()
	m := a.Meta()
	t, dec, f := a.decodeTx(req.Tx, m.Params, false)
	if f == nil && req.Type == abci.CHECK_TX_TYPE_RECHECK && t.Kind == tx.KindBatch {
		// A batch that passed CheckTx stays valid as a whole: every rule
		// that a block can change (duplicates, revocation, rotation, time,
		// rate) is applied per reading when the block executes. So recheck
		// costs nothing for batches, and a full mempool cannot stall
		// consensus with rechecks.
		return &abci.CheckTxResponse{Code: 0}, nil
	}
	if f == nil {
		f = a.checkTx(t, dec, m)
	}
	if f != nil {
		return &abci.CheckTxResponse{Code: uint32(f.code), Log: f.msg, Codespace: "iotledger"}, nil
	}
	return &abci.CheckTxResponse{Code: 0}, nil
}

func (a *App) checkTx(t *tx.Tx, dec []Decoded, m state.Meta) *failure {
	kv := a.committed()
	if t.Kind == tx.KindSigned {
		s := t.Signed
		if s.ChainID != m.ChainID {
			return fail(CodeWrongChainID, "signed for chain %q, this is %q", s.ChainID, m.ChainID)
		}
		acct, err := state.GetAccount(kv, s.Account)
		if err != nil {
			return fail(CodeMalformedTx, "read account: %v", err)
		}
		if acct != nil && s.Nonce < acct.Nonce {
			return fail(CodeWrongNonce, "nonce %d was used; account %s is at nonce %d", s.Nonce, s.Account, acct.Nonce)
		}
		if err := s.Verify(); err != nil {
			return fail(CodeBadTxSignature, "%v", err)
		}
		if f := a.checkValidatorTx(kv, m, s); f != nil {
			return f
		}
		if f, ok := s.Fields.(*tx.DeployContract); ok {
			doc, err := a.program(f.Source)
			if err != nil {
				return fail(CodeInvalidContract, "%v", err)
			}
			if fl, err := checkStaticDevices(kv, doc, s.Account); fl != nil || err != nil {
				if err != nil {
					return fail(CodeMalformedTx, "%v", err)
				}
				return fl
			}
			if fl, err := a.checkPrivateReads(kv, doc); fl != nil || err != nil {
				if err != nil {
					return fail(CodeMalformedTx, "%v", err)
				}
				return fl
			}
		}
		return nil
	}
	for i, d := range a.verifyAll(kv, a.batchReadings(t, dec)) {
		s, err := d.s, d.err
		if err != nil {
			return fail(readingCode(err), "reading %d: %v", i, err)
		}
		dev, err := a.device(kv, s.Device)
		if err != nil {
			return fail(CodeMalformedTx, "reading %d: %v", i, err)
		}
		if dev != nil {
			// A resend of a committed reading passes: the block answers it
			// as a duplicate. Another reading under a committed seq is
			// checked like any other, and the block answers it seq_reused.
			prog, err := a.kv.SharedProgress(s.Device) // decoded once and shared: not to be changed
			if err != nil {
				return fail(CodeMalformedTx, "reading %d: %v", i, err)
			}
			if prev, err := state.FindSeq(kv, prog, s.Device, s.Seq); err != nil || prev != nil {
				if err != nil {
					return fail(CodeMalformedTx, "reading %d: %v", i, err)
				}
				same, err := sameReading(a.log.Leaf, prev.Index, d.raw)
				if err != nil {
					return fail(CodeMalformedTx, "reading %d: %v", i, err)
				}
				if same {
					continue
				}
			}
		}
		if f := a.checkReading(d, dev); f != nil {
			f.msg = fmt.Sprintf("reading %d: %s", i, f.msg)
			return f
		}
	}
	return nil
}

// checkReading applies the device rules to a decoded reading: registered,
// not revoked, signed by the current key.
func (a *App) checkReading(d Decoded, dev *state.Device) *failure {
	s := d.s
	if dev == nil {
		return fail(CodeUnregisteredDevice, "device %s is not registered; register it with `iotledger device register` first", s.Device)
	}
	if dev.Status == state.StatusRevoked {
		return fail(CodeRevokedDevice, "device %s was revoked by its owner; readings are refused", s.Device)
	}
	if dev.Status == state.StatusQuarantined {
		return fail(CodeQuarantinedDevice, "device %s is quarantined; its readings are refused until its owner reactivates it (`iotledger device reactivate %s`)", s.Device, s.Device)
	}
	if a.verify(s, d.h, d.key, dev.Key) {
		return nil
	}
	for _, old := range dev.OldKeys {
		if zip215.Verify(old.Key, s.Message(), s.Signature) {
			return fail(CodeKeyRotated, "device %s seq %d is signed by a key rotated out at height %d; sign with the current key", s.Device, s.Seq, old.Until)
		}
	}
	return fail(CodeBadSignature, "device %s seq %d: signature does not verify with the device key", s.Device, s.Seq)
}

// ProcessProposal refuses a block holding a transaction that breaks a
// stateless rule; per-reading state rules are applied in FinalizeBlock.
func (a *App) ProcessProposal(_ context.Context, req *abci.ProcessProposalRequest) (*abci.ProcessProposalResponse, error) {
	p := a.Meta().Params
	for _, raw := range req.Txs {
		if _, _, f := a.decodeTx(raw, p, false); f != nil {
			return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_REJECT}, nil
		}
	}
	return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_ACCEPT}, nil
}

// FinalizeBlock executes a block's transactions in order and stages the
// result; Commit writes it.
func (a *App) FinalizeBlock(_ context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	if !a.enter() {
		return nil, ErrClosed
	}
	defer a.leave()
	m := a.Meta()
	if m.ChainID == "" {
		return nil, errors.New("app: FinalizeBlock before InitChain")
	}
	blockTime := req.Time.UnixMilli()
	x := &execution{
		app:       a,
		stage:     newStage(a.committed()),
		log:       a.log.Begin(),
		meta:      m,
		height:    req.Height,
		time:      blockTime,
		progress:  map[string]*state.Progress{},
		contracts: map[string]*live{},
		active:    a.activeContracts(),
	}
	// Verify the block's readings in bulk first (most were verified by
	// CheckTx already); execution below reads the results in order.
	type decoded struct {
		t *tx.Tx
		f *failure
	}
	txs := make([]decoded, len(req.Txs))
	var readings []Decoded
	for i, raw := range req.Txs {
		t, dec, f := a.decodeTx(raw, m.Params, true)
		txs[i] = decoded{t, f}
		if f == nil && t.Kind == tx.KindBatch {
			readings = append(readings, a.batchReadings(t, dec)...)
		}
	}
	x.decoded = a.verifyAll(a.committed(), readings)
	a.mu.Lock()
	genesis := a.genesisBalances
	a.mu.Unlock()
	if len(genesis) > 0 { // the chain's first block: InitChain just ran
		if err := x.creditGenesis(genesis); err != nil {
			return nil, err
		}
	}
	results := make([]*abci.ExecTxResult, len(req.Txs))
	for i, d := range txs {
		x.txIndex, x.inTx, x.okLog = uint32(i), true, ""
		r, err := x.execTx(d.t, d.f)
		if err != nil {
			return nil, err // a broken store: the node must stop
		}
		results[i] = r
	}
	if err := x.endBlock(); err != nil {
		return nil, err
	}
	updates, err := x.endValidators()
	if err != nil {
		return nil, err
	}
	x.flushContracts()
	if err := x.flushProgress(); err != nil {
		return nil, err
	}
	x.meta.Height = req.Height
	x.meta.Digest = state.NextDigest(m.Digest, req.Height, x.stage.changes())
	x.meta.AppHash = receipt.AppHash(x.log.Size(), x.log.Root(), x.meta.Digest)
	a.pending = &pendingBlock{
		stage: x.stage,
		log:   x.log,
		meta:  x.meta,
		block: state.Block{
			Height: req.Height, Time: blockTime, LogSize: x.log.Size(), LogRoot: x.log.Root(),
			StateDigest: x.meta.Digest, AppHash: x.meta.AppHash, Readings: x.accepted, Txs: len(req.Txs),
		},
		outcomes: x.outcomes,
		devices:  x.devices,
		twins:    x.twins,
		events:   x.events,
		active:   x.active,
		progress: x.progress,
		quiet:    x.quiet,
	}
	return &abci.FinalizeBlockResponse{TxResults: results, AppHash: x.meta.AppHash, ValidatorUpdates: updates}, nil
}

type execution struct {
	app      *App
	stage    *stage
	log      *tlog.Stage
	meta     state.Meta
	height   int64
	time     int64
	progress map[string]*state.Progress
	txIndex  uint32 // index in the block of the transaction being executed
	// decoded holds the block's readings as verifyAll decoded them, in block
	// order; execBatch consumes them in that order (next is the first
	// not yet used), so no reading is hashed and looked up twice.
	decoded  []Decoded
	next     int
	accepted uint64
	slots    uint32 // history writes so far (see slot)
	inTx     bool   // executing a transaction (not the end of the block)
	okLog    string // the log of a transaction that succeeded, when not its type's name
	// contracts are the contracts the block has touched; active lists the
	// running ones in deployment order.
	contracts map[string]*live
	active    []string
	events    []*state.Event
	quiet     bool // a silence trigger ran: Commit keeps the quiet index up
	outcomes  []Outcome
	devices   []DeviceChange
	twins     []TwinChange
}

// slot numbers the block's history writes (payments, twin changes), which
// are keyed by (height, slot): a transaction can write several.
func (x *execution) slot() uint32 {
	x.slots++
	return x.slots - 1
}

// execTx executes one decoded transaction, or records its decode failure f.
func (x *execution) execTx(t *tx.Tx, f *failure) (*abci.ExecTxResult, error) {
	if f != nil {
		return &abci.ExecTxResult{Code: uint32(f.code), Log: f.msg, Codespace: "iotledger"}, nil
	}
	if t.Kind == tx.KindBatch {
		return x.execBatch(t.Readings)
	}
	f, err := x.execSigned(t.Signed)
	if err != nil {
		return nil, err
	}
	if f != nil {
		return &abci.ExecTxResult{Code: uint32(f.code), Log: f.msg, Codespace: "iotledger"}, nil
	}
	if x.okLog != "" {
		return &abci.ExecTxResult{Code: 0, Log: x.okLog}, nil
	}
	return &abci.ExecTxResult{Code: 0, Log: t.Signed.Type.String()}, nil
}

// execBatch applies each reading on its own; the transaction succeeds and
// its Data lists, per reading, [code, log index].
func (x *execution) execBatch(raws [][]byte) (*abci.ExecTxResult, error) {
	per := make([][2]uint64, len(raws))
	counts := map[Code]int{}
	for i, raw := range raws {
		o, err := x.execReading(raw, x.decodedNext(raw))
		if err != nil {
			return nil, err
		}
		per[i] = [2]uint64{uint64(o.Code), o.Index}
		counts[o.Code]++
		x.outcomes = append(x.outcomes, o)
	}
	return &abci.ExecTxResult{Code: 0, Data: mustEncode(per), Log: summary(counts)}, nil
}

func summary(counts map[Code]int) string {
	codes := make([]Code, 0, len(counts))
	for c := range counts {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool { return codes[i] < codes[j] })
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s=%d", c, counts[c])
	}
	return strings.Join(parts, " ")
}

// decodedNext returns the next reading verifyAll decoded, which is raw: the
// same bytes, as execution follows the block's order. Should the two ever
// differ it decodes raw itself, so a slip here costs time, not a result.
func (x *execution) decodedNext(raw []byte) Decoded {
	if x.next < len(x.decoded) {
		d := x.decoded[x.next]
		x.next++
		if bytes.Equal(d.raw, raw) {
			return d
		}
	}
	s, h, err := x.app.decode(raw)
	return Decoded{s: s, err: err, h: h, raw: raw}
}

func (x *execution) execReading(raw []byte, d Decoded) (Outcome, error) {
	s, h, err := d.s, d.h, d.err
	o := Outcome{Verdict: verdict.Verdict{Height: x.height}, Hash: h}
	reject := func(f *failure) (Outcome, error) {
		o.Code, o.Status, o.Detail = f.code, verdict.Rejected, f.msg
		return o, nil
	}
	if err != nil {
		return reject(fail(readingCode(err), "%v", err))
	}
	o.Device, o.Seq = s.Device, s.Seq
	dev, err := x.app.device(x.stage, s.Device)
	if err != nil {
		return o, err
	}
	// A resend of a committed (device, seq), byte for byte, is answered as
	// a duplicate with the original's location before any other rule, so a
	// device may resend safely even after its key was rotated or the
	// reading grew old. Other bytes under a committed (device, seq) are new
	// data that cannot be stored: once the device rules show the device
	// signed them (so that nobody else can have a device told, or counted,
	// seq_reused), they are answered seq_reused with the original's
	// location. The comparison reads the original from the log (committed,
	// or appended earlier in this block): the same bytes on every node.
	if dev != nil {
		prog, err := x.deviceProgress(s.Device)
		if err != nil {
			return o, err
		}
		prev, err := state.FindSeq(x.stage, prog, s.Device, s.Seq)
		if err != nil {
			return o, err
		}
		if prev != nil {
			same, err := sameReading(x.log.Leaf, prev.Index, raw)
			if err != nil {
				return o, err
			}
			if same {
				o.Code, o.Status, o.Index = CodeDuplicate, verdict.Duplicate, prev.Index
				o.Detail = verdict.DuplicateDetail(s.Device, s.Seq, prev.Index, prev.Height)
				return o, nil
			}
			if f := x.app.checkReading(d, dev); f != nil {
				return reject(f)
			}
			o.Code, o.Status, o.Index = CodeSeqReused, verdict.Rejected, prev.Index
			o.Detail = verdict.SeqReusedDetail(s.Device, s.Seq, prev.Index, prev.Height)
			return o, nil
		}
	}
	if f := x.app.checkReading(d, dev); f != nil {
		return reject(f)
	}
	if s.Sealed != nil || len(dev.PrivateFields) > 0 {
		f, err := checkPrivate(x.stage, s, dev)
		if err != nil {
			return o, err
		}
		if f != nil {
			return reject(f)
		}
	}
	p := x.meta.Params
	if s.Time < x.time-p.ReadingWindowBackMs || s.Time > x.time+p.ReadingWindowAheadMs {
		return reject(fail(CodeTimeOutOfWindow, "reading time %d ms is %+d ms from block time %d ms; allowed is -%d..+%d ms: check the device clock",
			s.Time, s.Time-x.time, x.time, p.ReadingWindowBackMs, p.ReadingWindowAheadMs))
	}
	prog, err := x.deviceProgress(s.Device)
	if err != nil {
		return o, err
	}
	if !prog.Take(x.time, p.DeviceRatePerS, p.DeviceBurst) {
		return reject(fail(CodeRateLimited, "device %s sends faster than %d readings a second (burst %d); slow down and resend seq %d later",
			s.Device, p.DeviceRatePerS, p.DeviceBurst, s.Seq))
	}
	o.Index = x.log.Append(receipt.Leaf(dev.Key, raw))
	state.Record(x.stage, s.Device, s.Seq, state.SeqEntry{Index: o.Index, Height: x.height, Time: s.Time}, prog)
	o.Status = verdict.Accepted
	x.accepted++
	if len(x.active) > 0 {
		if err := x.onReading(s, dev); err != nil {
			return o, err
		}
	}
	return o, nil
}

// sameReading reports whether the reading in log leaf index (read with
// leaf) is raw, byte for byte. An unreadable leaf is a broken store.
func sameReading(leaf func(uint64) ([]byte, error), index uint64, raw []byte) (bool, error) {
	l, err := leaf(index)
	if err != nil {
		return false, fmt.Errorf("app: read log leaf %d: %w", index, err)
	}
	_, orig, err := state.SplitLeaf(l)
	if err != nil {
		return false, fmt.Errorf("app: log leaf %d: %w", index, err)
	}
	return bytes.Equal(orig, raw), nil
}

func (x *execution) deviceProgress(id string) (*state.Progress, error) {
	if p, ok := x.progress[id]; ok {
		return p, nil
	}
	p, err := state.GetProgress(x.stage, id)
	if err != nil {
		return nil, err
	}
	x.progress[id] = p
	return p, nil
}

func (x *execution) flushProgress() error {
	ids := make([]string, 0, len(x.progress))
	for id := range x.progress {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		state.PutProgress(x.stage, id, x.progress[id])
	}
	return nil
}

// execSigned applies an account's transaction. Once signature, chain id and
// nonce are good the nonce is spent, even if the operation is refused, so a
// refused transaction cannot be replayed later.
func (x *execution) execSigned(s *tx.Signed) (*failure, error) {
	if s.ChainID != x.meta.ChainID {
		return fail(CodeWrongChainID, "signed for chain %q, this is %q", s.ChainID, x.meta.ChainID), nil
	}
	acct, err := state.GetAccount(x.stage, s.Account)
	if err != nil {
		return nil, err
	}
	if acct == nil {
		acct = &state.Account{Address: s.Account}
	}
	if acct.Key == nil { // first signature; an account paid before has no key yet
		acct.Key = s.Signer
	}
	if s.Nonce != acct.Nonce {
		return fail(CodeWrongNonce, "nonce %d, account %s expects %d", s.Nonce, s.Account, acct.Nonce), nil
	}
	if err := s.Verify(); err != nil {
		return fail(CodeBadTxSignature, "%v", err), nil
	}
	acct.Nonce++
	state.PutAccount(x.stage, acct)
	switch f := s.Fields.(type) {
	case *tx.RegisterDevice:
		return x.register(s, f)
	case *tx.RevokeDevice:
		return x.revoke(s, f)
	case *tx.RotateDevice:
		return x.rotate(s, f)
	case *tx.Transfer:
		return x.transfer(s, f)
	case *tx.TwinPatch:
		return x.patchTwin(s, f)
	case *tx.DeployContract:
		return x.deploy(s, f)
	case *tx.CallContract:
		return x.call(s, f)
	case *tx.FundContract:
		return x.fundContract(s, f)
	case *tx.StopContract:
		return x.stopContract(s, f)
	case *tx.DeviceStatus:
		return x.deviceStatus(s, f)
	case *tx.ProposeValidator:
		return x.proposeValidator(s, f)
	case *tx.ApproveValidator:
		return x.approveValidator(s, f)
	case *tx.SetEncryptionKey:
		return x.setEncryptionKey(s, f)
	case *tx.SetPrivateFields:
		return x.setPrivateFields(s, f)
	case *tx.StreamKey:
		return x.streamKey(s, f)
	case *tx.GrantAccess:
		return x.grantAccess(s, f)
	case *tx.RevokeAccess:
		return x.revokeAccess(s, f)
	case *tx.RotateStreamKey:
		return x.rotateStreamKey(s, f)
	case *tx.EraseEpochs:
		return x.eraseEpochs(s, f)
	}
	return fail(CodeMalformedTx, "unknown transaction type %d", s.Type), nil
}

func (x *execution) register(s *tx.Signed, f *tx.RegisterDevice) (*failure, error) {
	id := address.Device(f.Key)
	if !zip215.Verify(f.Key, tx.RegistrationMessage(x.meta.ChainID, s.Account, f.Key), f.DeviceSig) {
		return fail(CodeBadDeviceSignature, "the device's signature over (chain %s, owner %s) does not verify: the registration must be signed by the device key", x.meta.ChainID, s.Account), nil
	}
	if d, err := state.GetDevice(x.stage, id); err != nil || d != nil {
		if err != nil {
			return nil, err
		}
		return fail(CodeDeviceExists, "device %s is already registered (owner %s, status %s)", id, d.Owner, d.Status), nil
	}
	d := &state.Device{ID: id, Key: f.Key, Owner: s.Account, Labels: f.Labels, Status: state.StatusActive, Registered: x.height, Updated: x.height}
	state.PutDevice(x.stage, d)
	x.devices = append(x.devices, DeviceChange{Action: "registered", Device: d, Height: x.height})
	return nil, nil
}

func (x *execution) ownedDevice(s *tx.Signed, id string) (*state.Device, *failure, error) {
	d, err := state.GetDevice(x.stage, id)
	if err != nil {
		return nil, nil, err
	}
	if d == nil {
		return nil, fail(CodeUnregisteredDevice, "device %s is not registered", id), nil
	}
	if d.Owner != s.Account {
		return nil, fail(CodeNotOwner, "device %s is owned by %s; only its owner may change it", id, d.Owner), nil
	}
	if d.Status == state.StatusRevoked {
		return nil, fail(CodeRevokedDevice, "device %s is already revoked", id), nil
	}
	return d, nil, nil
}

func (x *execution) revoke(s *tx.Signed, f *tx.RevokeDevice) (*failure, error) {
	d, fl, err := x.ownedDevice(s, f.Device)
	if d == nil {
		return fl, err
	}
	d.Status, d.Updated = state.StatusRevoked, x.height
	state.PutDevice(x.stage, d)
	x.devices = append(x.devices, DeviceChange{Action: "revoked", Device: d, Height: x.height})
	return nil, nil
}

func (x *execution) rotate(s *tx.Signed, f *tx.RotateDevice) (*failure, error) {
	d, fl, err := x.ownedDevice(s, f.Device)
	if d == nil {
		return fl, err
	}
	if !zip215.Verify(f.Key, tx.RotationMessage(x.meta.ChainID, f.Device, f.Key), f.DeviceSig) {
		return fail(CodeBadDeviceSignature, "the new key's signature over (chain %s, device %s) does not verify: sign the rotation with the new key", x.meta.ChainID, f.Device), nil
	}
	if other, err := state.GetDevice(x.stage, address.Device(f.Key)); err != nil || other != nil {
		if err != nil {
			return nil, err
		}
		return fail(CodeDeviceExists, "the new key is the registration key of device %s; use a fresh key", other.ID), nil
	}
	d.OldKeys = append(d.OldKeys, state.OldKey{Key: d.Key, Until: x.height})
	d.Key, d.Updated = f.Key, x.height
	state.PutDevice(x.stage, d)
	x.devices = append(x.devices, DeviceChange{Action: "rotated", Device: d, Height: x.height})
	return nil, nil
}

// PrepareProposal orders the signed transactions of the block this node
// proposes by account and nonce, and leaves for a later block each one
// whose nonce does not follow its account's committed nonce and those
// before it in the block. Validators receive transactions from one another
// in no set order: a burst of one account's transactions (the registration
// of a thousand devices through one node) would otherwise meet a proposer
// whose mempool holds nonce 5 before nonce 4, and fail wrong_nonce. A
// transaction left out stays in the mempool: recheck drops it once its
// nonce is used, otherwise a later block takes it. Signed transactions go
// first, then the batches in mempool order, so a block registers a device
// before it takes that device's readings. Like CometBFT's default, the
// block holds at most req.MaxTxBytes of transactions.
func (a *App) PrepareProposal(_ context.Context, req *abci.PrepareProposalRequest) (*abci.PrepareProposalResponse, error) {
	if !a.enter() {
		return nil, ErrClosed
	}
	defer a.leave()
	type signed struct {
		raw     []byte
		account string
		nonce   uint64
	}
	var ss []signed
	var batches [][]byte
	var total int64
	for _, raw := range req.Txs {
		if total += int64(len(raw)); total > req.MaxTxBytes {
			break
		}
		if len(raw) > 1 && raw[1] == tx.KindBatch { // [1, [...]]: a batch, which CheckTx let in
			batches = append(batches, raw)
			continue
		}
		t, err := tx.Decode(raw)
		if err != nil || t.Kind != tx.KindSigned {
			continue // cannot be in a block: ProcessProposal would refuse it
		}
		ss = append(ss, signed{raw, t.Signed.Account, t.Signed.Nonce})
	}
	sort.SliceStable(ss, func(i, j int) bool {
		if ss[i].account != ss[j].account {
			return ss[i].account < ss[j].account
		}
		return ss[i].nonce < ss[j].nonce
	})
	out := make([][]byte, 0, len(ss)+len(batches))
	next := map[string]uint64{}
	kv := a.committed()
	for _, s := range ss {
		n, seen := next[s.account]
		if !seen {
			acct, err := state.GetAccount(kv, s.account)
			if err != nil {
				return nil, err
			}
			if acct != nil {
				n = acct.Nonce
			}
		}
		if s.nonce != n {
			next[s.account] = n // a gap, or a nonce used already: not this block
			continue
		}
		next[s.account] = n + 1
		out = append(out, s.raw)
	}
	return &abci.PrepareProposalResponse{Txs: append(out, batches...)}, nil
}
