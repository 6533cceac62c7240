package app

import "github.com/iotledger/iotledger/verdict"

// Code is an ABCI result code: every rule the ledger enforces has its own,
// for a transaction (CheckTx, ExecTxResult) and for each reading of a
// batch. The numbers and their names are the public vocabulary, in package
// verdict (never renumber them); the constants below are the same codes
// under the names block execution uses.
type Code = verdict.Code

// Result codes (see verdict for what each means).
const (
	CodeOK                  = verdict.CodeOK
	CodeMalformedTx         = verdict.CodeMalformedTx
	CodeTxTooLarge          = verdict.CodeTxTooLarge
	CodeBatchTooLarge       = verdict.CodeBatchTooLarge
	CodeMalformedReading    = verdict.CodeMalformedReading
	CodeReadingTooLarge     = verdict.CodeReadingTooLarge
	CodeUnregisteredDevice  = verdict.CodeUnregisteredDevice
	CodeRevokedDevice       = verdict.CodeRevokedDevice
	CodeBadSignature        = verdict.CodeBadSignature
	CodeKeyRotated          = verdict.CodeKeyRotated
	CodeDuplicate           = verdict.CodeDuplicate
	CodeTimeOutOfWindow     = verdict.CodeTimeOutOfWindow
	CodeWrongChainID        = verdict.CodeWrongChainID
	CodeWrongNonce          = verdict.CodeWrongNonce
	CodeNotOwner            = verdict.CodeNotOwner
	CodeDeviceExists        = verdict.CodeDeviceExists
	CodeBadDeviceSignature  = verdict.CodeBadDeviceSignature
	CodeBadTxSignature      = verdict.CodeBadTxSignature
	CodeRateLimited         = verdict.CodeRateLimited
	CodeNodeStopping        = verdict.CodeNodeStopping
	CodeInsufficientFunds   = verdict.CodeInsufficientFunds
	CodeBalanceOverflow     = verdict.CodeBalanceOverflow
	CodeInvalidAmount       = verdict.CodeInvalidAmount
	CodeInvalidRecipient    = verdict.CodeInvalidRecipient
	CodeNotController       = verdict.CodeNotController
	CodeTwinTooLarge        = verdict.CodeTwinTooLarge
	CodeQuarantinedDevice   = verdict.CodeQuarantinedDevice
	CodeInvalidContract     = verdict.CodeInvalidContract
	CodeUnknownContract     = verdict.CodeUnknownContract
	CodeContractStopped     = verdict.CodeContractStopped
	CodeBadCall             = verdict.CodeBadCall
	CodeContractFailed      = verdict.CodeContractFailed
	CodeConditionFalse      = verdict.CodeConditionFalse
	CodeInvalidStatus       = verdict.CodeInvalidStatus
	CodeNotValidator        = verdict.CodeNotValidator
	CodeUnknownProposal     = verdict.CodeUnknownProposal
	CodeProposalClosed      = verdict.CodeProposalClosed
	CodeAlreadyApproved     = verdict.CodeAlreadyApproved
	CodeApprovalMismatch    = verdict.CodeApprovalMismatch
	CodeValidatorExists     = verdict.CodeValidatorExists
	CodeUnknownValidator    = verdict.CodeUnknownValidator
	CodeNoValidatorLeft     = verdict.CodeNoValidatorLeft
	CodeBadValidatorConsent = verdict.CodeBadValidatorConsent
	CodeInvalidPower        = verdict.CodeInvalidPower
	CodeTooManyProposals    = verdict.CodeTooManyProposals
	CodeSeqReused           = verdict.CodeSeqReused
	CodeNoEncryptionKey     = verdict.CodeNoEncryptionKey
	CodeStaleEpoch          = verdict.CodeStaleEpoch
	CodeNoStreamKey         = verdict.CodeNoStreamKey
	CodePrivateInClear      = verdict.CodePrivateInClear
	CodeBadWraps            = verdict.CodeBadWraps
	CodeEpochAnnounced      = verdict.CodeEpochAnnounced
	CodeAlreadyGranted      = verdict.CodeAlreadyGranted
	CodeNoGrant             = verdict.CodeNoGrant
	CodeUnknownEpoch        = verdict.CodeUnknownEpoch
	CodeEpochErased         = verdict.CodeEpochErased
	CodeTooManyGrants       = verdict.CodeTooManyGrants
	CodeNotPrivate          = verdict.CodeNotPrivate
)

// Codes lists every code in order, for metrics and documentation.
func Codes() []Code { return verdict.Codes() }
