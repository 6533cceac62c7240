// Package tx is the format of iotledger transactions.
//
// A transaction is a CBOR array [kind, content]:
//
//   - kind 1, a readings batch: content is an array of readings (byte strings,
//     each a COSE_Sign1 of package reading). The batch has no outer signature:
//     anyone may batch readings, since each carries its device's signature and
//     is checked on its own.
//   - kind 2, a signed transaction: content is a COSE_Sign1 (EdDSA) by an
//     account key whose payload is a [Body]: type, chain id, account nonce,
//     the signer's public key and the type's fields. The kid is the account
//     address.
//
// Everything is encoded in the core deterministic CBOR encoding (RFC 8949),
// and [Decode] refuses anything else outside the signed payload (including a
// non-empty COSE unprotected header), so a transaction's bytes, and its hash,
// cannot be changed by whoever relays it.
// Registering a device needs, besides the owner's signature, the device's own
// signature over [RegistrationMessage], so nobody registers a key they do not
// hold; a rotation carries the new key's signature over [RotationMessage].
package tx

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/fxamacker/cbor/v2"
	cose "github.com/veraison/go-cose"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/zip215"
)

// Kinds of transaction.
const (
	KindBatch  = 1
	KindSigned = 2
)

// Type is the type of a signed transaction.
type Type uint

// Types of signed transaction.
const (
	TypeRegisterDevice   Type = 1
	TypeRevokeDevice     Type = 2
	TypeRotateDevice     Type = 3
	TypeTransfer         Type = 4
	TypeSetDesired       Type = 5
	TypeReportState      Type = 6
	TypeDeployContract   Type = 7
	TypeCallContract     Type = 8
	TypeFundContract     Type = 9
	TypeStopContract     Type = 10
	TypeDeviceStatus     Type = 11
	TypeProposeValidator Type = 12
	TypeApproveValidator Type = 13
)

func (t Type) String() string {
	switch t {
	case TypeRegisterDevice:
		return "register_device"
	case TypeRevokeDevice:
		return "revoke_device"
	case TypeRotateDevice:
		return "rotate_device"
	case TypeTransfer:
		return "transfer"
	case TypeSetDesired:
		return "set_desired"
	case TypeReportState:
		return "report_state"
	case TypeDeployContract:
		return "deploy_contract"
	case TypeCallContract:
		return "call_contract"
	case TypeFundContract:
		return "fund_contract"
	case TypeStopContract:
		return "stop_contract"
	case TypeDeviceStatus:
		return "device_status"
	case TypeProposeValidator:
		return "propose_validator"
	case TypeApproveValidator:
		return "approve_validator"
	}
	return fmt.Sprintf("type(%d)", uint(t))
}

// MaxLabels bounds a device's labels; MaxLabelLen bounds each key and value.
const (
	MaxLabels   = 32
	MaxLabelLen = 128
)

// Errors of Decode and Verify.
var (
	ErrMalformed = errors.New("tx: malformed transaction")
	ErrSignature = errors.New("tx: signature does not verify")
	ErrEmpty     = errors.New("tx: empty readings batch")
)

// Body is the signed payload of a signed transaction.
type Body struct {
	Type    Type            `cbor:"1,keyasint"`
	ChainID string          `cbor:"2,keyasint"`
	Nonce   uint64          `cbor:"3,keyasint"`
	Signer  []byte          `cbor:"4,keyasint"` // the account's Ed25519 public key
	Fields  cbor.RawMessage `cbor:"5,keyasint"`
}

// RegisterDevice registers a device owned by the signing account.
type RegisterDevice struct {
	Key       []byte            `cbor:"1,keyasint"` // the device's Ed25519 public key
	Labels    map[string]string `cbor:"2,keyasint,omitempty"`
	DeviceSig []byte            `cbor:"3,keyasint"` // device key over RegistrationMessage
}

// RevokeDevice revokes a device; only its owner may.
type RevokeDevice struct {
	Device string `cbor:"1,keyasint"`
}

// RotateDevice replaces a device's key; only its owner may. Readings signed by
// the old key are refused from the next transaction on, in the same block too.
type RotateDevice struct {
	Device    string `cbor:"1,keyasint"`
	Key       []byte `cbor:"2,keyasint"` // the new key
	DeviceSig []byte `cbor:"3,keyasint"` // new key over RotationMessage
}

// Transfer moves Amount of the chain's token from an account to another.
// From is the paying account: empty for the signer's own account, or a
// device id (dev1...) whose key signs or whose owner signs, so a machine can
// pay a machine. To is an account address (acc1...) or a registered
// device's id.
type Transfer struct {
	From   string `cbor:"1,keyasint,omitempty"`
	To     string `cbor:"2,keyasint"`
	Amount uint64 `cbor:"3,keyasint"`
	Memo   string `cbor:"4,keyasint,omitempty"`
}

// MaxMemoLen bounds a transfer's memo, in bytes.
const MaxMemoLen = 256

func (f *Transfer) check() error {
	if err := checkAddress(f.To); err != nil {
		return fmt.Errorf("to: %v", err)
	}
	if f.From != "" {
		if err := checkAddress(f.From); err != nil {
			return fmt.Errorf("from: %v", err)
		}
	}
	if len(f.Memo) > MaxMemoLen {
		return fmt.Errorf("memo is %d bytes, at most %d", len(f.Memo), MaxMemoLen)
	}
	return nil
}

// TwinPatch changes a device twin: the desired state (TypeSetDesired,
// signed by the device's owner) or the reported state (TypeReportState,
// signed by the device's current key). Set puts fields, Unset removes them.
type TwinPatch struct {
	Device string         `cbor:"1,keyasint"`
	Set    map[string]any `cbor:"2,keyasint,omitempty"`
	Unset  []string       `cbor:"3,keyasint,omitempty"`
}

// Limits of twin fields: a state holds at most MaxTwinFields fields, each
// name 1 to MaxTwinKeyLen bytes, each text value at most MaxTwinTextLen.
const (
	MaxTwinFields  = 64
	MaxTwinKeyLen  = 64
	MaxTwinTextLen = 256
)

func (f *TwinPatch) check() error {
	if err := address.ParseDevice(f.Device); err != nil {
		return fmt.Errorf("device: %v", err)
	}
	if len(f.Set)+len(f.Unset) == 0 {
		return errors.New("the patch sets and unsets nothing; give at least one field")
	}
	if len(f.Set) > MaxTwinFields || len(f.Unset) > MaxTwinFields {
		return fmt.Errorf("the patch names %d fields to set and %d to unset, at most %d each", len(f.Set), len(f.Unset), MaxTwinFields)
	}
	keys := make([]string, 0, len(f.Set))
	for k := range f.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys) // report the first bad field in a stable order
	for _, k := range keys {
		if k == "" || len(k) > MaxTwinKeyLen {
			return fmt.Errorf("field name %q must be 1 to %d bytes", k, MaxTwinKeyLen)
		}
		switch v := f.Set[k].(type) {
		case int64, uint64, bool:
		case string:
			if len(v) > MaxTwinTextLen {
				return fmt.Errorf("field %q is %d bytes of text, at most %d", k, len(v), MaxTwinTextLen)
			}
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("field %q is %v; give a finite number", k, v)
			}
		default:
			return fmt.Errorf("field %q has type %T; values are numbers, text or bool", k, v)
		}
	}
	seen := map[string]bool{}
	for _, k := range f.Unset {
		if k == "" || len(k) > MaxTwinKeyLen {
			return fmt.Errorf("field name %q to unset must be 1 to %d bytes", k, MaxTwinKeyLen)
		}
		if _, ok := f.Set[k]; ok || seen[k] {
			return fmt.Errorf("field %q is named twice; set it or unset it once", k)
		}
		seen[k] = true
	}
	return nil
}

// DeployContract deploys a contract document (YAML or JSON, see package
// internal/contract) owned by the signer, with Fund moved from the signer's
// account into its escrow.
type DeployContract struct {
	Source []byte `cbor:"1,keyasint"`
	Fund   uint64 `cbor:"2,keyasint,omitempty"`
}

// MaxContractBytes bounds a contract document.
const MaxContractBytes = 64 << 10

// CallContract runs a contract's call trigger (Trigger may be empty when
// the contract has exactly one). Args are text; the contract declares each
// argument's type and the ledger converts them. Pay moves that much from
// the signer into the contract's escrow with the call (the trigger sees it
// as payment); it goes back if the call does nothing.
type CallContract struct {
	Contract string            `cbor:"1,keyasint"`
	Trigger  string            `cbor:"2,keyasint,omitempty"`
	Args     map[string]string `cbor:"3,keyasint,omitempty"`
	Pay      uint64            `cbor:"4,keyasint,omitempty"`
}

// FundContract moves Amount from the signer's account into a contract's escrow.
type FundContract struct {
	Contract string `cbor:"1,keyasint"`
	Amount   uint64 `cbor:"2,keyasint"`
}

// StopContract stops a contract for good; only its owner may. What is left
// in its escrow goes back to the owner.
type StopContract struct {
	Contract string `cbor:"1,keyasint"`
}

// DeviceStatus sets a device's status: "quarantined" (readings refused
// until reactivated), "active" (reactivate) or "revoked" (final). Only the
// device's owner may.
type DeviceStatus struct {
	Device string `cbor:"1,keyasint"`
	Status string `cbor:"2,keyasint"`
}

// Validator set changes: the actions of a ValidatorChange.
const (
	ValidatorAdd    = "add"    // a new validator with Power
	ValidatorRemove = "remove" // the validator leaves the set
	ValidatorPower  = "power"  // the validator's voting power becomes Power
)

// MaxValidatorPower bounds one validator's voting power (CometBFT bounds the
// set's total at 2^60).
const MaxValidatorPower = 1_000_000_000_000

// ValidatorChange is a change of the validator set: Action on the validator
// whose Ed25519 consensus public key is Key (the key of its
// priv_validator_key.json), with Power for add and power (0 for remove).
type ValidatorChange struct {
	Action string `cbor:"1,keyasint"`
	Key    []byte `cbor:"2,keyasint"`
	Power  int64  `cbor:"3,keyasint,omitempty"`
}

func (c *ValidatorChange) check() error {
	if len(c.Key) != ed25519.PublicKeySize {
		return fmt.Errorf("validator key is %d bytes, want an Ed25519 public key of %d", len(c.Key), ed25519.PublicKeySize)
	}
	switch c.Action {
	case ValidatorAdd, ValidatorPower:
		if c.Power < 1 || c.Power > MaxValidatorPower {
			return fmt.Errorf("power %d: give 1 to %d (to take a validator out, remove it)", c.Power, int64(MaxValidatorPower))
		}
	case ValidatorRemove:
		if c.Power != 0 {
			return fmt.Errorf("power %d with remove: a removal names no power", c.Power)
		}
	default:
		return fmt.Errorf("action %q: use %s, %s or %s", c.Action, ValidatorAdd, ValidatorRemove, ValidatorPower)
	}
	return nil
}

// ProposeValidator proposes a change of the validator set. It must be
// signed by a current validator's consensus key (the transaction's signer
// is that key, its account the key's account), and counts as that
// validator's approval. Adding a validator needs Consent: the new key's
// signature over ValidatorConsentMessage, so nobody adds a key that nobody
// holds, which would stall the chain.
type ProposeValidator struct {
	ValidatorChange
	Consent []byte `cbor:"4,keyasint,omitempty"`
}

// ApproveValidator approves proposal number Proposal, signed by a current
// validator's consensus key. It repeats the change the validator approves,
// which must be the proposal's: an approval cannot be turned into one of
// another change.
type ApproveValidator struct {
	Proposal uint64 `cbor:"5,keyasint"`
	ValidatorChange
}

// ValidatorConsentMessage is what a validator's new consensus key signs to
// consent to its addition on chain chainID. Its first bytes (a CBOR array
// and a text naming iotledger) can never begin what CometBFT signs with the
// same key (protobuf votes and proposals).
func ValidatorConsentMessage(chainID string, key []byte) []byte {
	return mustEncode([]any{"iotledger/validator-consent/v1", chainID, key})
}

// MaxArgs bounds a call's arguments; MaxArgLen each name and value.
const (
	MaxArgs   = 32
	MaxArgLen = 256
)

func checkContractID(id string) error {
	if !strings.HasPrefix(id, "ctr-") || len(id) > 24 {
		return fmt.Errorf("contract %q: a contract id looks like ctr-7", id)
	}
	return nil
}

func (f *CallContract) check() error {
	if err := checkContractID(f.Contract); err != nil {
		return err
	}
	if len(f.Trigger) > MaxArgLen {
		return fmt.Errorf("trigger name is %d bytes, at most %d", len(f.Trigger), MaxArgLen)
	}
	if len(f.Args) > MaxArgs {
		return fmt.Errorf("%d arguments, at most %d", len(f.Args), MaxArgs)
	}
	for k, v := range f.Args {
		if k == "" || len(k) > MaxArgLen || len(v) > MaxArgLen {
			return fmt.Errorf("argument %.32q: names are 1 to %d bytes, values at most %d", k, MaxArgLen, MaxArgLen)
		}
	}
	return nil
}

// checkAddress accepts an account address or a device id.
func checkAddress(a string) error {
	if address.ParseAccount(a) == nil || address.ParseDevice(a) == nil {
		return nil
	}
	return fmt.Errorf("%q is neither an account address (acc1...) nor a device id (dev1...)", a)
}

// RegistrationMessage is what a device signs to consent to its registration.
func RegistrationMessage(chainID, owner string, deviceKey []byte) []byte {
	return mustEncode([]any{"iotledger/register/v1", chainID, owner, deviceKey})
}

// RotationMessage is what a device's new key signs to consent to a rotation.
func RotationMessage(chainID, device string, newKey []byte) []byte {
	return mustEncode([]any{"iotledger/rotate/v1", chainID, device, newKey})
}

func mustEncode(v any) []byte {
	b, err := dcbor.EncMode.Marshal(v)
	if err != nil {
		panic("tx: encode: " + err.Error())
	}
	return b
}

// Tx is a decoded transaction.
type Tx struct {
	Kind     int
	Readings [][]byte // KindBatch: the raw readings, in order
	Signed   *Signed  // KindSigned
}

// Signed is a decoded signed transaction. Its signature is checked by Verify.
type Signed struct {
	Body
	Account   string // address of Body.Signer
	Fields    any    // a pointer to the type's fields struct: *RegisterDevice, *Transfer, ...
	msg       cose.Sign1Message
	signedRaw []byte
}

type envelope struct {
	_       struct{} `cbor:",toarray"`
	Kind    int
	Content cbor.RawMessage
}

// NewBatch encodes readings as a batch transaction.
func NewBatch(readings [][]byte) []byte {
	return mustEncode([]any{KindBatch, readings})
}

// Sign builds a signed transaction of type typ with the given fields.
func Sign(key ed25519.PrivateKey, typ Type, chainID string, nonce uint64, fields any) ([]byte, error) {
	f, err := dcbor.EncMode.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("tx: encode fields: %w", err)
	}
	pub := key.Public().(ed25519.PublicKey)
	body, err := dcbor.EncMode.Marshal(Body{Type: typ, ChainID: chainID, Nonce: nonce, Signer: pub, Fields: f})
	if err != nil {
		return nil, fmt.Errorf("tx: encode body: %w", err)
	}
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, key)
	if err != nil {
		return nil, fmt.Errorf("tx: %w", err)
	}
	headers := cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm: cose.AlgorithmEdDSA,
		cose.HeaderLabelKeyID:     []byte(address.Account(pub)),
	}}
	msg, err := cose.Sign1(nil, signer, headers, body, nil)
	if err != nil {
		return nil, fmt.Errorf("tx: sign: %w", err)
	}
	return dcbor.EncMode.Marshal([]any{KindSigned, msg})
}

// Decode parses a transaction. It does not check signatures. The readings
// of a batch are sub-slices of raw, not copies: raw must not change while
// they are in use.
func Decode(raw []byte) (*Tx, error) {
	if rs, ok := decodeBatchFast(raw); ok {
		return &Tx{Kind: KindBatch, Readings: rs}, nil
	}
	return decodeSlow(raw)
}

// maxBatchElems is the most readings decodeSlow's CBOR decoder takes in one
// array (dcbor.DecMode's MaxArrayElements).
const maxBatchElems = 1 << 16

// decodeBatchFast splits a batch in the core deterministic encoding,
// [1, [bstr, ...]] with at least one reading, into its readings without
// copying them. It accepts nothing that decodeSlow refuses and returns the
// same readings; ok is false for any other input, which decodeSlow then
// judges. Batches are most of the bytes a node decodes: decodeSlow copies
// each one three times (the envelope, the readings, the re-encoding it
// compares with).
func decodeBatchFast(raw []byte) (rs [][]byte, ok bool) {
	if len(raw) < 3 || raw[0] != 0x82 || raw[1] != KindBatch { // array of 2, kind 1
		return nil, false
	}
	n, p, ok := cborHead(raw, 2, 4) // an array
	if !ok || n == 0 || n > maxBatchElems || n > uint64(len(raw)-p) {
		return nil, false
	}
	rs = make([][]byte, n)
	for i := range rs {
		l, q, ok := cborHead(raw, p, 2) // a byte string
		if !ok || l > uint64(len(raw)-q) {
			return nil, false
		}
		end := q + int(l)
		rs[i] = raw[q:end:end]
		p = end
	}
	return rs, p == len(raw)
}

// cborHead reads the head of a data item of the given major type at raw[p:]
// and returns its argument and where its content starts. ok is false unless
// the head is there, of that type, with a definite length in its shortest
// form (as the core deterministic encoding requires).
func cborHead(raw []byte, p int, major byte) (arg uint64, next int, ok bool) {
	if p >= len(raw) || raw[p]>>5 != major {
		return 0, 0, false
	}
	info := raw[p] & 0x1f
	p++
	var size int
	switch {
	case info < 24:
		return uint64(info), p, true
	case info == 24:
		size = 1
	case info == 25:
		size = 2
	case info == 26:
		size = 4
	case info == 27:
		size = 8
	default: // reserved, or an indefinite length
		return 0, 0, false
	}
	if len(raw)-p < size {
		return 0, 0, false
	}
	for _, b := range raw[p : p+size] {
		arg = arg<<8 | uint64(b)
	}
	// Shortest form: a 1-byte argument is at least 24, a longer one needs
	// more than the next smaller size holds.
	if (size == 1 && arg < 24) || (size > 1 && arg>>(4*size) == 0) {
		return 0, 0, false
	}
	return arg, p + size, true
}

// decodeSlow decodes any transaction with the CBOR library: the reference
// for decodeBatchFast, and where every refusal gets its message.
func decodeSlow(raw []byte) (*Tx, error) {
	var env envelope
	if err := dcbor.DecMode.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("%w: %v; want the CBOR array [kind, content]", ErrMalformed, err)
	}
	switch env.Kind {
	case KindBatch:
		var rs [][]byte
		if err := dcbor.DecMode.Unmarshal(env.Content, &rs); err != nil {
			return nil, fmt.Errorf("%w: batch: %v; want an array of COSE_Sign1 byte strings", ErrMalformed, err)
		}
		if len(rs) == 0 {
			return nil, ErrEmpty
		}
		if !bytes.Equal(raw, NewBatch(rs)) {
			return nil, fmt.Errorf("%w: batch is not in the core deterministic encoding (RFC 8949 section 4.2.1)", ErrMalformed)
		}
		return &Tx{Kind: KindBatch, Readings: rs}, nil
	case KindSigned:
		var signed []byte
		if err := dcbor.DecMode.Unmarshal(env.Content, &signed); err != nil {
			return nil, fmt.Errorf("%w: signed content: %v", ErrMalformed, err)
		}
		if !bytes.Equal(raw, mustEncode([]any{KindSigned, signed})) {
			return nil, fmt.Errorf("%w: transaction is not in the core deterministic encoding (RFC 8949 section 4.2.1)", ErrMalformed)
		}
		s, err := decodeSigned(signed)
		if err != nil {
			return nil, err
		}
		return &Tx{Kind: KindSigned, Signed: s}, nil
	}
	return nil, fmt.Errorf("%w: unknown kind %d; want 1 (readings batch) or 2 (signed)", ErrMalformed, env.Kind)
}

func decodeSigned(raw []byte) (*Signed, error) {
	s := &Signed{signedRaw: raw}
	if err := s.msg.UnmarshalCBOR(raw); err != nil {
		return nil, fmt.Errorf("%w: %v; want a tagged COSE_Sign1", ErrMalformed, err)
	}
	if alg, err := s.msg.Headers.Protected.Algorithm(); err != nil || alg != cose.AlgorithmEdDSA {
		return nil, fmt.Errorf("%w: algorithm %v, want EdDSA (-8)", ErrMalformed, alg)
	}
	if _, ok := s.msg.Headers.Protected[cose.HeaderLabelCritical]; ok {
		return nil, fmt.Errorf("%w: protected header lists critical parameters (label 2), which iotledger does not understand", ErrMalformed)
	}
	if err := checkCanonical(raw, &s.msg); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := dcbor.DecMode.Unmarshal(s.msg.Payload, &s.Body); err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrMalformed, err)
	}
	if len(s.Signer) != zip215.PublicKeySize {
		return nil, fmt.Errorf("%w: signer key is %d bytes, want %d", ErrMalformed, len(s.Signer), zip215.PublicKeySize)
	}
	s.Account = address.Account(s.Signer)
	if kid, _ := s.msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte); string(kid) != s.Account {
		return nil, fmt.Errorf("%w: kid %q is not the signer's address %s", ErrMalformed, kid, s.Account)
	}
	var err error
	switch s.Type {
	case TypeRegisterDevice:
		f := new(RegisterDevice)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.check()
		}
		s.Fields = f
	case TypeRevokeDevice:
		f := new(RevokeDevice)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = address.ParseDevice(f.Device)
		}
		s.Fields = f
	case TypeRotateDevice:
		f := new(RotateDevice)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = address.ParseDevice(f.Device)
		}
		if err == nil && len(f.Key) != zip215.PublicKeySize {
			err = fmt.Errorf("new key is %d bytes, want %d", len(f.Key), zip215.PublicKeySize)
		}
		s.Fields = f
	case TypeTransfer:
		f := new(Transfer)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.check()
		}
		s.Fields = f
	case TypeSetDesired, TypeReportState:
		f := new(TwinPatch)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.check()
		}
		s.Fields = f
	case TypeDeployContract:
		f := new(DeployContract)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil && (len(f.Source) == 0 || len(f.Source) > MaxContractBytes) {
			err = fmt.Errorf("the document is %d bytes; give 1 to %d", len(f.Source), MaxContractBytes)
		}
		s.Fields = f
	case TypeCallContract:
		f := new(CallContract)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.check()
		}
		s.Fields = f
	case TypeFundContract:
		f := new(FundContract)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = checkContractID(f.Contract)
		}
		s.Fields = f
	case TypeStopContract:
		f := new(StopContract)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = checkContractID(f.Contract)
		}
		s.Fields = f
	case TypeProposeValidator:
		f := new(ProposeValidator)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.ValidatorChange.check()
		}
		if err == nil && f.Action == ValidatorAdd && len(f.Consent) != ed25519.SignatureSize {
			err = fmt.Errorf("consent is %d bytes, want an Ed25519 signature of %d by the new validator's key (iotledger validator consent)", len(f.Consent), ed25519.SignatureSize)
		}
		if err == nil && f.Action != ValidatorAdd && len(f.Consent) > 0 {
			err = fmt.Errorf("a consent signature goes only with %s", ValidatorAdd)
		}
		s.Fields = f
	case TypeApproveValidator:
		f := new(ApproveValidator)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.ValidatorChange.check()
		}
		if err == nil && f.Proposal == 0 {
			err = errors.New("proposal 0: proposals are numbered from 1")
		}
		s.Fields = f
	case TypeDeviceStatus:
		f := new(DeviceStatus)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = address.ParseDevice(f.Device)
		}
		if err == nil && f.Status != "active" && f.Status != "quarantined" && f.Status != "revoked" {
			err = fmt.Errorf("status %q: use active, quarantined or revoked", f.Status)
		}
		s.Fields = f
	default:
		return nil, fmt.Errorf("%w: unknown type %d", ErrMalformed, s.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s fields: %v", ErrMalformed, s.Type, err)
	}
	return s, nil
}

// checkCanonical checks that raw, which msg was decoded from, holds no byte
// the signature does not cover: the unprotected header is empty and the
// message is in the core deterministic encoding. Otherwise anyone relaying a
// transaction could change its bytes, and so its hash, without breaking its
// signature.
func checkCanonical(raw []byte, msg *cose.Sign1Message) error {
	if !bytes.Equal(msg.Headers.RawUnprotected, []byte{0xa0}) {
		return errors.New("unprotected header is not empty")
	}
	var protected []byte
	if err := dcbor.DecMode.Unmarshal(msg.Headers.RawProtected, &protected); err != nil {
		return fmt.Errorf("protected header: %v", err)
	}
	canonical, err := dcbor.EncMode.Marshal(cbor.Tag{
		Number:  cose.CBORTagSign1Message,
		Content: []any{protected, map[int]int{}, msg.Payload, msg.Signature},
	})
	if err != nil {
		return fmt.Errorf("re-encode: %v", err)
	}
	if !bytes.Equal(raw, canonical) {
		return errors.New("COSE_Sign1 is not in the core deterministic encoding (RFC 8949 section 4.2.1)")
	}
	return nil
}

func (f *RegisterDevice) check() error {
	if len(f.Key) != zip215.PublicKeySize {
		return fmt.Errorf("device key is %d bytes, want %d", len(f.Key), zip215.PublicKeySize)
	}
	if len(f.Labels) > MaxLabels {
		return fmt.Errorf("%d labels, at most %d", len(f.Labels), MaxLabels)
	}
	keys := make([]string, 0, len(f.Labels))
	for k := range f.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys) // report the first bad label in a stable order
	for _, k := range keys {
		if v := f.Labels[k]; k == "" || len(k) > MaxLabelLen || len(v) > MaxLabelLen {
			return fmt.Errorf("label %q=%q: key 1 to %d bytes, value at most %d", k, v, MaxLabelLen, MaxLabelLen)
		}
	}
	return nil
}

// Verify checks the account's signature under ZIP 215.
func (s *Signed) Verify() error {
	if err := s.msg.Verify(nil, zip215.Verifier(s.Signer)); err != nil {
		return fmt.Errorf("%w: account %s", ErrSignature, s.Account)
	}
	return nil
}
