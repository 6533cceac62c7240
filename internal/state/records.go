package state

import (
	"errors"
	"fmt"
	"sort"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// KV is the staged key-value view of one block (or of committed state for
// queries and CheckTx, where Set is not called).
type KV interface {
	Get(key []byte) ([]byte, error) // nil, nil when absent
	Set(key, value []byte)
}

// Device statuses.
const (
	StatusActive      = "active"
	StatusQuarantined = "quarantined" // readings refused until reactivated
	StatusRevoked     = "revoked"
)

// Device is a device's record on the ledger.
type Device struct {
	ID         string            `cbor:"1,keyasint"`
	Key        []byte            `cbor:"2,keyasint"`
	Owner      string            `cbor:"3,keyasint"`
	Labels     map[string]string `cbor:"4,keyasint,omitempty"`
	Status     string            `cbor:"5,keyasint"`
	OldKeys    []OldKey          `cbor:"6,keyasint,omitempty"`
	Registered int64             `cbor:"7,keyasint"`
	Updated    int64             `cbor:"8,keyasint"`
	// PrivateFields are the names of the data fields the device seals
	// (set_private_fields), sorted; StreamEpoch is its current epoch (0
	// until its owner first names private fields, then 1, 2, ...).
	PrivateFields []string `cbor:"9,keyasint,omitempty"`
	StreamEpoch   uint64   `cbor:"10,keyasint,omitempty"`
	// StreamAnnounced says the current epoch's stream key is announced
	// (its Epoch record has the commitments): sealed readings of the
	// epoch are taken from then on.
	StreamAnnounced bool `cbor:"11,keyasint,omitempty"`
}

// OldKey is a key rotated out at height Until.
type OldKey struct {
	Key   []byte `cbor:"1,keyasint"`
	Until int64  `cbor:"2,keyasint"`
}

// Account is an account's record: an Ed25519 key's account (acc1...), which
// exists from its first signed transaction or first payment received, or a
// device's account (its id, dev1...), which holds the device's balance and
// is spent by the device's key or by its owner.
type Account struct {
	Address string `cbor:"1,keyasint"`
	Key     []byte `cbor:"2,keyasint"` // nil for a device's account and before an account signs
	Nonce   uint64 `cbor:"3,keyasint"`
	Balance uint64 `cbor:"4,keyasint,omitempty"`
}

// Payment is one entry of an account's history: a transfer in or out.
type Payment struct {
	Height int64  `cbor:"1,keyasint"`
	Tx     uint32 `cbor:"2,keyasint"` // index of the transaction in its block
	// Amount is positive for money in, negative for money out.
	Amount int64 `cbor:"3,keyasint"`
	// Counterparty is the other account, or "genesis" for an allocation.
	Counterparty string `cbor:"4,keyasint"`
	Memo         string `cbor:"5,keyasint,omitempty"`
	Balance      uint64 `cbor:"6,keyasint"`
	By           string `cbor:"7,keyasint,omitempty"` // the signer, when not the payer itself
}

// Twin is a device's twin: the state its owner wants it in (desired) and
// the state it reports (reported), each versioned.
type Twin struct {
	Desired  TwinState `cbor:"1,keyasint"`
	Reported TwinState `cbor:"2,keyasint"`
}

// TwinState is one side of a twin. Version counts its changes; Height is
// the block of the last one.
type TwinState struct {
	Version uint64         `cbor:"1,keyasint"`
	Height  int64          `cbor:"2,keyasint"`
	State   map[string]any `cbor:"3,keyasint"`
}

// Sides of a twin, in TwinLogKey.
const (
	SideDesired  = "desired"
	SideReported = "reported"
)

// TwinChange is one version of one side of a twin, as kept in its history:
// the patch and the whole state after it.
type TwinChange struct {
	Version uint64         `cbor:"1,keyasint"`
	Height  int64          `cbor:"2,keyasint"`
	Tx      uint32         `cbor:"3,keyasint"`
	Set     map[string]any `cbor:"4,keyasint,omitempty"`
	Unset   []string       `cbor:"5,keyasint,omitempty"`
	State   map[string]any `cbor:"6,keyasint"`
	By      string         `cbor:"7,keyasint"` // the signer (or, later, a contract)
}

// GetTwin returns a device's twin; empty if nothing was ever set.
func GetTwin(kv KV, id string) (*Twin, error) {
	t, err := get[Twin](kv, TwinKey(id))
	if t == nil && err == nil {
		t = &Twin{}
	}
	return t, err
}

// PutTwin stores a device's twin.
func PutTwin(kv KV, id string, t *Twin) { put(kv, TwinKey(id), t) }

// PutTwinChange records a version in a side's history. slot numbers the
// block's history writes, so two changes in one transaction (a contract's)
// keep apart.
func PutTwinChange(kv KV, id, side string, slot uint32, c *TwinChange) {
	put(kv, TwinLogKey(id, side, c.Height, slot), c)
}

// DecodeTwinChange decodes a stored history entry.
func DecodeTwinChange(b []byte) (*TwinChange, error) {
	c := new(TwinChange)
	if err := dcbor.DecMode.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%w: twin change: %v", ErrCorrupt, err)
	}
	return c, nil
}

// Counterparty of genesis allocations.
const Genesis = "genesis"

// PutPayment records a history entry of addr at the block's history slot.
func PutPayment(kv KV, addr string, slot uint32, p *Payment) {
	put(kv, HistoryKey(addr, p.Height, slot), p)
}

// DecodePayment decodes a stored history entry.
func DecodePayment(b []byte) (*Payment, error) {
	p := new(Payment)
	if err := dcbor.DecMode.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("%w: payment: %v", ErrCorrupt, err)
	}
	return p, nil
}

// Progress is what the ledger knows of a device's sequence numbers.
type Progress struct {
	Count  uint64  `cbor:"1,keyasint"`
	MinSeq uint64  `cbor:"2,keyasint"`
	MaxSeq uint64  `cbor:"3,keyasint"`
	Gaps   []Range `cbor:"4,keyasint,omitempty"`
	// GapsTruncated is set when more than MaxGaps gaps were open; the lowest
	// (oldest) were dropped from the list.
	GapsTruncated bool `cbor:"5,keyasint,omitempty"`
	// LastHeight is the block of the device's last accepted reading.
	LastHeight int64 `cbor:"6,keyasint,omitempty"`
	// Bucket is the device's rate limit.
	Bucket
}

// Bucket is a token bucket for a per-device rate limit: Allowance in
// thousandths of a reading, as of time AllowanceMs (unix ms; 0: never used).
// (Allowance was under key 6, which Progress.LastHeight also has: the outer
// field won, so Allowance was never stored and every block began a
// device's bucket empty. A record from then has no key 8: Allowance 0, as
// it was read before.)
type Bucket struct {
	Allowance   int64 `cbor:"8,keyasint,omitempty"`
	AllowanceMs int64 `cbor:"7,keyasint,omitempty"`
}

// Take applies the per-device rate limit, a token bucket driven by block
// time (the app) or the wall clock (ingest's early check): it refills at rate readings a second up to burst, and each reading
// takes one. It reports whether a reading at block time nowMs is allowed,
// and if so takes it. Integer arithmetic only, so every validator agrees.
// A rate of 0 means no limit.
func (p *Bucket) Take(nowMs, rate, burst int64) bool {
	if rate <= 0 {
		return true
	}
	full := burst * 1000
	switch {
	case p.AllowanceMs == 0:
		p.Allowance = full
	case nowMs > p.AllowanceMs:
		p.Allowance = min(full, p.Allowance+min(nowMs-p.AllowanceMs, full)*rate)
	}
	if nowMs > p.AllowanceMs {
		p.AllowanceMs = nowMs
	}
	if p.Allowance < 1000 {
		return false
	}
	p.Allowance -= 1000
	return true
}

// Range is an inclusive range of sequence numbers.
type Range struct {
	From uint64 `cbor:"1,keyasint"`
	To   uint64 `cbor:"2,keyasint"`
}

// Seen reports whether seq is among the sequence numbers p records as
// committed. known is false when p cannot tell (gaps were truncated and seq
// lies where a dropped gap may have been): the caller then looks the
// (device, seq) index up. Progress and the index are written together by
// Record, so a sure answer is the index's answer without a store read.
func (p *Progress) Seen(seq uint64) (seen, known bool) {
	if p.Count == 0 || seq < p.MinSeq || seq > p.MaxSeq {
		return false, true
	}
	// Gaps are sorted and disjoint: find the first gap that ends at or after seq.
	i := sort.Search(len(p.Gaps), func(i int) bool { return p.Gaps[i].To >= seq })
	if i < len(p.Gaps) && p.Gaps[i].From <= seq {
		return false, true
	}
	if p.GapsTruncated {
		return false, false
	}
	return true, true
}

// MaxGaps bounds the gap list kept per device.
const MaxGaps = 1024

// SeqEntry locates a committed reading: its log index, block and device time.
type SeqEntry struct {
	Index  uint64 `cbor:"1,keyasint"`
	Height int64  `cbor:"2,keyasint"`
	Time   int64  `cbor:"3,keyasint"`
}

// encode is e in the core deterministic encoding, as EncMode writes it:
// the map {1: index, 2: height, 3: time}.
func (e SeqEntry) encode() []byte {
	b := make([]byte, 0, 1+3*10)
	b = append(b, 0xa3, 0x01)
	b = dcbor.AppendHead(b, 0, e.Index)
	b = append(b, 0x02)
	b = dcbor.AppendInt(b, e.Height)
	b = append(b, 0x03)
	return dcbor.AppendInt(b, e.Time)
}

// ErrCorrupt means a stored record does not decode: the store is damaged.
var ErrCorrupt = errors.New("state: corrupt record")

func get[T any](kv KV, key []byte) (*T, error) {
	b, err := kv.Get(key)
	if err != nil || b == nil {
		return nil, err
	}
	v := new(T)
	if err := dcbor.DecMode.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	return v, nil
}

func put(kv KV, key []byte, v any) {
	b, err := dcbor.EncMode.Marshal(v)
	if err != nil {
		panic("state: encode " + string(key) + ": " + err.Error()) // plain structs always encode
	}
	kv.Set(key, b)
}

// GetDevice returns a device's record, or nil if it is not registered.
func GetDevice(kv KV, id string) (*Device, error) { return get[Device](kv, DeviceKey(id)) }

// PutDevice stores a device's record.
func PutDevice(kv KV, d *Device) { put(kv, DeviceKey(d.ID), d) }

// GetAccount returns an account, or nil if it has never sent a transaction.
func GetAccount(kv KV, addr string) (*Account, error) { return get[Account](kv, AccountKey(addr)) }

// PutAccount stores an account.
func PutAccount(kv KV, a *Account) { put(kv, AccountKey(a.Address), a) }

// GetSeq returns where (device, seq) was committed, or nil.
func GetSeq(kv KV, id string, seq uint64) (*SeqEntry, error) {
	return get[SeqEntry](kv, SeqKey(id, seq))
}

// FindSeq looks (device id, seq) up in the (device, seq) index, asking the
// device's progress p first: for a new reading, the usual case, that
// answers without a store read. Nil if (id, seq) was never committed.
func FindSeq(kv KV, p *Progress, id string, seq uint64) (*SeqEntry, error) {
	if was, known := p.Seen(seq); known && !was {
		return nil, nil
	}
	return GetSeq(kv, id, seq)
}

// GetProgress returns a device's progress; zero if it has sent nothing.
func GetProgress(kv KV, id string) (*Progress, error) {
	p, err := get[Progress](kv, ProgressKey(id))
	if p == nil && err == nil {
		p = &Progress{}
	}
	return p, err
}

// Record notes that (device, seq) was committed at e and updates the
// device's progress p (which the caller writes back with PutProgress once per
// block). The caller has checked that (device, seq) is new.
func Record(kv KV, id string, seq uint64, e SeqEntry, p *Progress) {
	kv.Set(SeqKey(id, seq), e.encode()) // one per reading: by hand, not by reflection
	switch {
	case p.Count == 0:
		p.MinSeq, p.MaxSeq = seq, seq
	case seq > p.MaxSeq:
		if seq > p.MaxSeq+1 {
			p.Gaps = append(p.Gaps, Range{p.MaxSeq + 1, seq - 1})
		}
		p.MaxSeq = seq
	case seq < p.MinSeq:
		if seq < p.MinSeq-1 {
			p.Gaps = append([]Range{{seq + 1, p.MinSeq - 1}}, p.Gaps...)
		}
		p.MinSeq = seq
	default: // a late reading inside [MinSeq, MaxSeq] closes (part of) a gap
		p.Gaps = closeGap(p.Gaps, seq)
	}
	// Any of the cases above may add a gap (splitting one adds one too).
	if len(p.Gaps) > MaxGaps {
		p.Gaps = append(p.Gaps[:0], p.Gaps[len(p.Gaps)-MaxGaps:]...)
		p.GapsTruncated = true
	}
	p.Count++
	p.LastHeight = e.Height
}

func closeGap(gaps []Range, seq uint64) []Range {
	for i, g := range gaps {
		if seq < g.From || seq > g.To {
			continue
		}
		switch {
		case g.From == g.To:
			return append(gaps[:i], gaps[i+1:]...)
		case seq == g.From:
			gaps[i].From++
		case seq == g.To:
			gaps[i].To--
		default:
			gaps = append(gaps[:i+1], gaps[i:]...)
			gaps[i] = Range{g.From, seq - 1}
			gaps[i+1] = Range{seq + 1, g.To}
		}
		return gaps
	}
	return gaps
}

// PutProgress stores a device's progress.
func PutProgress(kv KV, id string, p *Progress) { put(kv, ProgressKey(id), p) }

// Contract is a deployed contract. Its escrow is the balance of the account
// whose address is the contract's id. State holds the document's declared
// fields (int64, float64, string, bool or []string values).
type Contract struct {
	ID       string         `cbor:"1,keyasint"` // ctr-<Number>
	Number   uint64         `cbor:"2,keyasint"`
	Owner    string         `cbor:"3,keyasint"`
	Name     string         `cbor:"4,keyasint"`
	Source   []byte         `cbor:"5,keyasint"`
	Status   string         `cbor:"6,keyasint"` // ContractActive or ContractStopped
	Deployed int64          `cbor:"7,keyasint"`
	Stopped  int64          `cbor:"8,keyasint,omitempty"`
	State    map[string]any `cbor:"9,keyasint"`
	Events   uint64         `cbor:"10,keyasint"` // events emitted so far; the next is numbered Events+1
}

// Contract statuses.
const (
	ContractActive  = "active"
	ContractStopped = "stopped"
)

// ContractID is the id of the n-th contract deployed on a chain.
func ContractID(n uint64) string { return fmt.Sprintf("ctr-%d", n) }

// GetContract returns a contract, or nil if there is none of that id.
func GetContract(kv KV, id string) (*Contract, error) { return get[Contract](kv, ContractKey(id)) }

// PutContract stores a contract.
func PutContract(kv KV, c *Contract) { put(kv, ContractKey(c.ID), c) }

// DecodeContract decodes a stored contract record.
func DecodeContract(b []byte) (*Contract, error) {
	c := new(Contract)
	if err := dcbor.DecMode.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%w: contract: %v", ErrCorrupt, err)
	}
	return c, nil
}

// Event is something a contract did: an emit action's event, or a trigger
// whose run failed (Name "failed", Fields error and trigger), its effects
// discarded.
type Event struct {
	Contract string         `cbor:"1,keyasint"`
	N        uint64         `cbor:"2,keyasint"` // 1, 2, ... per contract
	Height   int64          `cbor:"3,keyasint"`
	Tx       int32          `cbor:"4,keyasint"` // index of the transaction in its block; -1 for end of block
	Trigger  string         `cbor:"5,keyasint"`
	Name     string         `cbor:"6,keyasint"`
	Fields   map[string]any `cbor:"7,keyasint"`
}

// PutEvent stores an event.
func PutEvent(kv KV, e *Event) { put(kv, EventKey(e.Contract, e.N), e) }

// DecodeDevice decodes a stored device record (its key names it in errors).
func DecodeDevice(key, b []byte) (*Device, error) {
	d := new(Device)
	if err := dcbor.DecMode.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	return d, nil
}

// DecodeProgress decodes a stored progress record (its key names it in errors).
func DecodeProgress(key, b []byte) (*Progress, error) {
	p := new(Progress)
	if err := dcbor.DecMode.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	return p, nil
}

// DecodeEvent decodes a stored event.
func DecodeEvent(b []byte) (*Event, error) {
	e := new(Event)
	if err := dcbor.DecMode.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("%w: event: %v", ErrCorrupt, err)
	}
	return e, nil
}
