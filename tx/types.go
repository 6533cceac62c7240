package tx

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	cose "github.com/veraison/go-cose"

	"github.com/iotledger/iotledger/internal/dcbor"
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
	TypeSetEncryptionKey Type = 14
	TypeSetPrivateFields Type = 15
	TypeStreamKey        Type = 16
	TypeGrantAccess      Type = 17
	TypeRevokeAccess     Type = 18
	TypeRotateStreamKey  Type = 19
	TypeEraseEpochs      Type = 20
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
	case TypeSetEncryptionKey:
		return "set_encryption_key"
	case TypeSetPrivateFields:
		return "set_private_fields"
	case TypeStreamKey:
		return "stream_key"
	case TypeGrantAccess:
		return "grant_access"
	case TypeRevokeAccess:
		return "revoke_access"
	case TypeRotateStreamKey:
		return "rotate_stream_key"
	case TypeEraseEpochs:
		return "erase_epochs"
	}
	return fmt.Sprintf("type(%d)", uint(t))
}

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

func mustEncode(v any) []byte {
	b, err := dcbor.EncMode.Marshal(v)
	if err != nil {
		panic("tx: encode: " + err.Error())
	}
	return b
}
