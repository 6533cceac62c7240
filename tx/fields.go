package tx

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/zip215"
)

// MaxLabels bounds a device's labels; MaxLabelLen bounds each key and value.
const (
	MaxLabels   = 32
	MaxLabelLen = 128
)

// RegisterDevice registers a device owned by the signing account.
type RegisterDevice struct {
	Key       []byte            `cbor:"1,keyasint"` // the device's Ed25519 public key
	Labels    map[string]string `cbor:"2,keyasint,omitempty"`
	DeviceSig []byte            `cbor:"3,keyasint"` // device key over RegistrationMessage
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
	keys := make([]string, 0, len(f.Args))
	for k := range f.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys) // report the first bad argument in a stable order
	for _, k := range keys {
		if v := f.Args[k]; k == "" || len(k) > MaxArgLen || len(v) > MaxArgLen {
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
