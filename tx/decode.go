package tx

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	cose "github.com/veraison/go-cose"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/zip215"
)

// Decode parses a transaction. It does not check signatures. The readings
// of a batch are sub-slices of raw, not copies: raw must not change while
// they are in use.
func Decode(raw []byte) (*Tx, error) {
	if rs, ok := decodeBatchFast(raw); ok {
		return &Tx{Kind: KindBatch, Readings: rs}, nil
	}
	return decodeSlow(raw)
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
	case TypeSetEncryptionKey:
		f := new(SetEncryptionKey)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.check()
		}
		s.Fields = f
	case TypeSetPrivateFields:
		f := new(SetPrivateFields)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.check()
		}
		s.Fields = f
	case TypeStreamKey:
		f := new(StreamKey)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.check()
		}
		s.Fields = f
	case TypeGrantAccess:
		f := new(GrantAccess)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.check()
		}
		s.Fields = f
	case TypeRevokeAccess:
		f := new(RevokeAccess)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.check()
		}
		s.Fields = f
	case TypeRotateStreamKey:
		f := new(RotateStreamKey)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.check()
		}
		s.Fields = f
	case TypeEraseEpochs:
		f := new(EraseEpochs)
		if err = dcbor.DecMode.Unmarshal(s.Body.Fields, f); err == nil {
			err = f.check()
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
