package api

import (
	"crypto/sha256"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

// The answers are package apiwire's types; the functions below map the
// ledger's records (package state, as the read side returns them) to them,
// one function per record, so that the store's schema and the API's JSON
// change apart. A nil map becomes an empty object: the document promises
// objects, never null.

// Device is the wire form of a device record.
func Device(d *state.Device) apiwire.Device {
	out := apiwire.Device{
		ID: d.ID, Key: d.Key, Owner: d.Owner, Labels: d.Labels, Status: d.Status,
		Registered: d.Registered, Updated: d.Updated,
		PrivateFields: d.PrivateFields, StreamEpoch: d.StreamEpoch, StreamKeyAnnounced: d.StreamAnnounced,
	}
	for _, k := range d.OldKeys {
		out.OldKeys = append(out.OldKeys, apiwire.OldKey{Key: k.Key, Until: k.Until})
	}
	return out
}

// DeviceEvent is the wire form of a committed change of a device (the
// data of a "device" event, an item of GET /v1/devices/{id}/changes):
// what was done, the record it left, its block and, for private
// readings' actions, what access changed (nil: none).
func DeviceEvent(action string, d *state.Device, access *state.AccessChange, height int64) apiwire.DeviceEvent {
	return apiwire.DeviceEvent{Action: action, Device: Device(d), Height: height, Access: AccessChange(access)}
}

// AccessChange is the wire form of what a private readings' change of a
// device did; nil for nil.
func AccessChange(a *state.AccessChange) *apiwire.AccessChange {
	if a == nil {
		return nil
	}
	out := &apiwire.AccessChange{Consumer: a.Consumer, Epoch: a.Epoch, By: a.By, Why: a.Why}
	for _, r := range a.Epochs {
		out.Epochs = append(out.Epochs, apiwire.Range{From: r.From, To: r.To})
	}
	return out
}

// EncryptionKey is the wire form of an account's encryption key; nil for nil.
func EncryptionKey(k *state.EncryptionKey) *apiwire.EncryptionKey {
	if k == nil {
		return nil
	}
	return &apiwire.EncryptionKey{X25519: k.X25519, XWing: k.XWing, Height: k.Height, KEM: k.KEM()}
}

// epoch is the wire form of one epoch of a device.
func epoch(e *state.Epoch) apiwire.Epoch {
	out := apiwire.Epoch{Epoch: e.Number, StartedHeight: e.Started, Why: e.Why, By: e.By, AnnouncedHeight: e.Announced,
		Erased: e.Erased != 0, ErasedHeight: e.Erased, Recipients: make([]apiwire.Recipient, 0, len(e.Recipients))}
	for _, r := range e.Recipients {
		out.Recipients = append(out.Recipients, apiwire.Recipient{Account: r.Account, KEM: r.KEM, Commitment: r.Commitment, WrappedHeight: r.Height})
	}
	return out
}

// grant is the wire form of one consumer's grant history.
func grant(g *state.Grant) apiwire.Grant {
	out := apiwire.Grant{Consumer: g.Consumer, Open: g.OpenPeriod() != nil, Periods: make([]apiwire.GrantPeriod, 0, len(g.Periods)), DroppedPeriods: g.Dropped}
	for _, p := range g.Periods {
		out.Periods = append(out.Periods, apiwire.GrantPeriod{FromEpoch: p.From, GrantedHeight: p.Granted, GrantedBy: p.GrantedBy,
			ExtendedHeight: p.Extended, UntilEpoch: p.Until, RevokedHeight: p.Revoked, RevokedBy: p.RevokedBy})
	}
	return out
}

// DeviceActivity is the wire form of a device record with what the
// ledger holds of its readings (GET /v1/devices and /v1/devices/{id}).
func DeviceActivity(d *state.Device, a *query.Activity) apiwire.Device {
	out := Device(d)
	count, gaps := a.Count, a.Gaps
	out.Readings, out.Gaps, out.GapsTruncated = &count, &gaps, a.GapsTruncated
	if l := a.Last; l != nil {
		out.LastReading = &apiwire.LastReading{Seq: l.Seq, TimeMs: l.TimeMs, Index: l.Index, Height: l.Height,
			Receipt: verdict.ReceiptPath(out.ID, l.Seq)}
	}
	return out
}

// logReading is the wire form of a committed reading with its device.
func logReading(s *query.Stored) apiwire.LogReading {
	return apiwire.LogReading{Device: s.Device, ReadingEntry: readingEntry(s.Device, s)}
}

// BlockEvent is the wire form of the app's record of a block: the data of
// a "block" event, and the first fields of a Block.
func BlockEvent(b *state.Block) apiwire.BlockEvent {
	return apiwire.BlockEvent{
		Height: b.Height, TimeMs: b.Time, LogSize: b.LogSize, LogRoot: b.LogRoot,
		StateDigest: b.StateDigest, AppHash: b.AppHash, Readings: b.Readings, Txs: b.Txs,
	}
}

// Block is the wire form of a committed block as the node knows it.
func Block(b *BlockInfo) apiwire.Block {
	return apiwire.Block{BlockEvent: BlockEvent(&b.Block), Hash: b.Hash, Proposer: b.Proposer, NumTxs: b.NumTxs, Results: b.Results,
		Transactions: b.Txs}
}

// BlockTxs describes a block's transactions, given their bytes in block
// order, for BlockInfo.Txs.
func BlockTxs(raws [][]byte) []apiwire.BlockTx {
	out := make([]apiwire.BlockTx, 0, len(raws))
	for _, raw := range raws {
		h := sha256.Sum256(raw)
		bt := apiwire.BlockTx{Hash: h[:], Bytes: len(raw), Type: "undecodable"}
		if t, err := tx.Decode(raw); err == nil {
			switch {
			case t.Kind == tx.KindBatch:
				bt.Type, bt.Readings = "readings", len(t.Readings)
			case t.Signed != nil:
				bt.Type, bt.Signer, bt.Nonce = t.Signed.Type.String(), t.Signed.Account, apiwire.Uint64(t.Signed.Nonce)
			}
		}
		out = append(out, bt)
	}
	return out
}

// ContractEvent is the wire form of a contract's event: an item of
// ContractEvents and the data of a "contract_event" event.
func ContractEvent(e *state.Event) apiwire.ContractEvent {
	return apiwire.ContractEvent{
		Contract: e.Contract, N: e.N, Height: e.Height, Tx: e.Tx,
		Trigger: e.Trigger, Name: e.Name, Fields: object(e.Fields),
	}
}

// readingEntry is the wire form of a committed reading of device id.
func readingEntry(id string, s *query.Stored) apiwire.ReadingEntry {
	e := apiwire.ReadingEntry{
		Seq: s.Seq, Time: s.Timestamp(), TimeMs: s.Time, Data: object(s.Data),
		Index: s.Index, Height: s.Height, Receipt: verdict.ReceiptPath(id, s.Seq),
	}
	if sl := s.Sealed; sl != nil {
		e.Sealed = &apiwire.Sealed{Epoch: sl.Epoch, Nonce: sl.Nonce, Ciphertext: sl.Ciphertext}
	}
	return e
}

// gaps is the wire form of device id's progress record.
func gaps(id string, p *state.Progress) apiwire.Gaps {
	g := apiwire.Gaps{Device: id, Count: p.Count, MinSeq: p.MinSeq, MaxSeq: p.MaxSeq,
		Gaps: make([]apiwire.Range, 0, len(p.Gaps)), GapsTruncated: p.GapsTruncated}
	for _, r := range p.Gaps {
		g.Gaps = append(g.Gaps, apiwire.Range{From: r.From, To: r.To})
	}
	return g
}

// payment is the wire form of an entry of an account's history.
func payment(p *state.Payment) apiwire.Payment {
	return apiwire.Payment{Height: p.Height, Tx: p.Tx, Amount: apiwire.Int64(p.Amount), Counterparty: p.Counterparty,
		Memo: p.Memo, BalanceAfter: apiwire.Uint64(p.Balance), SignedBy: p.By}
}

// twinState is the wire form of one side of a twin.
func twinState(s state.TwinState) apiwire.TwinState {
	return apiwire.TwinState{Version: s.Version, Height: s.Height, State: object(s.State)}
}

// twinChange is the wire form of a version of one side of a twin.
func twinChange(c *state.TwinChange) apiwire.TwinChange {
	return apiwire.TwinChange{Version: c.Version, Height: c.Height, Tx: c.Tx, Set: c.Set, Unset: c.Unset,
		State: object(c.State), By: c.By}
}

// ContractSummary is the wire form of a contract in a list.
func ContractSummary(c *query.ContractInfo) apiwire.ContractSummary {
	return apiwire.ContractSummary{
		ID: c.ID, Number: c.Number, Owner: c.Owner, Name: c.Name, Status: c.Status,
		Deployed: c.Deployed, Stopped: c.Stopped, State: object(c.State), Events: c.Events,
		Balance: apiwire.Uint64(c.Balance), Token: c.Token,
	}
}

// Contract is the wire form of a contract with its document.
func Contract(c *query.ContractInfo) apiwire.Contract {
	return apiwire.Contract{ContractSummary: ContractSummary(c), Source: c.Source}
}

// object returns m, or an empty map for nil.
func object[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}
