package verdict

import "fmt"

// Code is a result code: every rule the ledger enforces has its own, for a
// transaction (CheckTx, a block's transaction results) and for each reading
// of a batch. A code's name (String) is what the API and the MQTT answers
// call the reason, and what metrics label refusals with. Codes are part of
// the interface: never renumber them; a new rule takes the next number.
type Code uint32

// Result codes. The comment says what the rule is; the package comment says
// what a client does about the codes a reading can get.
const (
	CodeOK                  Code = 0
	CodeMalformedTx         Code = 1  // the transaction is not valid CBOR/COSE
	CodeTxTooLarge          Code = 2  // the transaction is larger than max_tx_bytes
	CodeBatchTooLarge       Code = 3  // more readings than max_batch_readings
	CodeMalformedReading    Code = 4  // a reading is not a valid COSE_Sign1 reading
	CodeReadingTooLarge     Code = 5  // a reading is over 4096 bytes
	CodeUnregisteredDevice  Code = 6  // no device with that id is registered
	CodeRevokedDevice       Code = 7  // the device was revoked by its owner
	CodeBadSignature        Code = 8  // the signature does not verify with the device key
	CodeKeyRotated          Code = 9  // signed by a key the device rotated out
	CodeDuplicate           Code = 10 // the same reading (byte for byte) was already committed; or a signed transaction sent again while it waits in the mempool
	CodeTimeOutOfWindow     Code = 11 // reading time too far from block time
	CodeWrongChainID        Code = 12 // signed for another chain
	CodeWrongNonce          Code = 13 // account nonce is not the next one
	CodeNotOwner            Code = 14 // only the device's owner may do this
	CodeDeviceExists        Code = 15 // the device (or key) is already registered
	CodeBadDeviceSignature  Code = 16 // the device's consent signature does not verify
	CodeBadTxSignature      Code = 17 // the account's signature does not verify
	CodeRateLimited         Code = 18 // the device sends faster than params.device_rate_per_s
	CodeNodeStopping        Code = 19 // the node is shutting down; send again later
	CodeInsufficientFunds   Code = 20 // the paying account holds less than the amount
	CodeBalanceOverflow     Code = 21 // the payee's balance would pass 2^64-1
	CodeInvalidAmount       Code = 22 // the amount is 0 or above 2^63-1
	CodeInvalidRecipient    Code = 23 // the payee is the payer, or an unregistered device
	CodeNotController       Code = 24 // the signer may not spend from the paying account, or report for the device
	CodeTwinTooLarge        Code = 25 // the twin state would hold more than 64 fields
	CodeQuarantinedDevice   Code = 26 // the device is quarantined: readings refused until reactivated
	CodeInvalidContract     Code = 27 // the contract document does not parse or check, or names a device its owner does not own
	CodeUnknownContract     Code = 28 // no contract has that id
	CodeContractStopped     Code = 29 // the contract was stopped by its owner
	CodeBadCall             Code = 30 // no such call trigger, or arguments missing or of the wrong type
	CodeContractFailed      Code = 31 // the called trigger failed at run time; its effects were discarded (see the contract's events)
	CodeConditionFalse      Code = 32 // the called trigger's condition (when) is false; nothing happened
	CodeInvalidStatus       Code = 33 // the device status change is not allowed (revoked is final, or no change)
	CodeNotValidator        Code = 34 // only a current validator, signing with its consensus key, may propose or approve a validator set change
	CodeUnknownProposal     Code = 35 // no validator set change proposal has that number
	CodeProposalClosed      Code = 36 // the proposal was applied, expired or dropped
	CodeAlreadyApproved     Code = 37 // this validator approved the proposal already
	CodeApprovalMismatch    Code = 38 // the approval names another change than the proposal
	CodeValidatorExists     Code = 39 // the key to add is a validator already
	CodeUnknownValidator    Code = 40 // the key to remove or change is not a validator
	CodeNoValidatorLeft     Code = 41 // removing the validator would leave the set empty
	CodeBadValidatorConsent Code = 42 // the new validator key's consent signature does not verify
	CodeInvalidPower        Code = 43 // the power is the validator's already, or the set's total would pass CometBFT's bound
	CodeTooManyProposals    Code = 44 // the validator has MaxOpenProposals open proposals already
	CodeSeqReused           Code = 45 // (device, seq) was committed with other bytes: this reading's data is refused; the answer locates the original
	// Private readings (docs/PRIVATE.md).
	CodeNoEncryptionKey Code = 46 // the account (a grantee, or the device's owner) has published no encryption key
	CodeStaleEpoch      Code = 47 // the epoch is not the device's current one: it moved on (the answer names the current epoch)
	CodeNoStreamKey     Code = 48 // the sealed reading's epoch has no announced stream key yet, or the device has no private fields
	CodePrivateInClear  Code = 49 // a field the device lists as private is in the reading's clear data
	CodeBadWraps        Code = 50 // the wraps are not one per recipient (or epoch), each with the KEM the recipient's key calls for
	CodeEpochAnnounced  Code = 51 // the epoch's stream key was announced already (once per epoch)
	CodeAlreadyGranted  Code = 52 // the account holds access to the device from that epoch, or an earlier one, already
	CodeNoGrant         Code = 53 // the account holds no grant of the device to revoke
	CodeUnknownEpoch    Code = 54 // the epoch is after the device's current one
	CodeEpochErased     Code = 55 // the epochs are erased already
	CodeTooManyGrants   Code = 56 // the device has as many open grants as an epoch may have recipients
	CodeNotPrivate      Code = 57 // the device has no private fields: its owner names them first (set_private_fields)
)

// names are the codes' stable names, indexed by code.
var names = [...]string{
	CodeOK:                  "ok",
	CodeMalformedTx:         "malformed_tx",
	CodeTxTooLarge:          "tx_too_large",
	CodeBatchTooLarge:       "batch_too_large",
	CodeMalformedReading:    "malformed_reading",
	CodeReadingTooLarge:     "reading_too_large",
	CodeUnregisteredDevice:  "unregistered_device",
	CodeRevokedDevice:       "revoked_device",
	CodeBadSignature:        "bad_signature",
	CodeKeyRotated:          "key_rotated",
	CodeDuplicate:           "duplicate",
	CodeTimeOutOfWindow:     "time_out_of_window",
	CodeWrongChainID:        "wrong_chain_id",
	CodeWrongNonce:          "wrong_nonce",
	CodeNotOwner:            "not_owner",
	CodeDeviceExists:        "device_exists",
	CodeBadDeviceSignature:  "bad_device_signature",
	CodeBadTxSignature:      "bad_tx_signature",
	CodeRateLimited:         "rate_limited",
	CodeNodeStopping:        "node_stopping",
	CodeInsufficientFunds:   "insufficient_funds",
	CodeBalanceOverflow:     "balance_overflow",
	CodeInvalidAmount:       "invalid_amount",
	CodeInvalidRecipient:    "invalid_recipient",
	CodeNotController:       "not_controller",
	CodeTwinTooLarge:        "twin_too_large",
	CodeQuarantinedDevice:   "quarantined_device",
	CodeInvalidContract:     "invalid_contract",
	CodeUnknownContract:     "unknown_contract",
	CodeContractStopped:     "contract_stopped",
	CodeBadCall:             "bad_call",
	CodeContractFailed:      "contract_failed",
	CodeConditionFalse:      "condition_false",
	CodeInvalidStatus:       "invalid_status",
	CodeNotValidator:        "not_validator",
	CodeUnknownProposal:     "unknown_proposal",
	CodeProposalClosed:      "proposal_closed",
	CodeAlreadyApproved:     "already_approved",
	CodeApprovalMismatch:    "approval_mismatch",
	CodeValidatorExists:     "validator_exists",
	CodeUnknownValidator:    "unknown_validator",
	CodeNoValidatorLeft:     "no_validator_left",
	CodeBadValidatorConsent: "bad_validator_consent",
	CodeInvalidPower:        "invalid_power",
	CodeTooManyProposals:    "too_many_proposals",
	CodeSeqReused:           "seq_reused",
	CodeNoEncryptionKey:     "no_encryption_key",
	CodeStaleEpoch:          "stale_epoch",
	CodeNoStreamKey:         "no_stream_key",
	CodePrivateInClear:      "private_in_clear",
	CodeBadWraps:            "bad_wraps",
	CodeEpochAnnounced:      "epoch_announced",
	CodeAlreadyGranted:      "already_granted",
	CodeNoGrant:             "no_grant",
	CodeUnknownEpoch:        "unknown_epoch",
	CodeEpochErased:         "epoch_erased",
	CodeTooManyGrants:       "too_many_grants",
	CodeNotPrivate:          "not_private",
}

// String is the code's stable name, such as bad_signature; "unknown" for a
// number no code has (yet).
func (c Code) String() string {
	if int(c) < len(names) {
		return names[c]
	}
	return "unknown"
}

// Codes lists every code in number order, for metrics and documentation.
func Codes() []Code {
	cs := make([]Code, len(names))
	for i := range cs {
		cs[i] = Code(i)
	}
	return cs
}

// ParseCode returns the code named name (see String).
func ParseCode(name string) (Code, bool) {
	for i, n := range names {
		if n == name {
			return Code(i), true
		}
	}
	return 0, false
}

// MarshalText writes the code as its name (String): in JSON a code is its
// name, as the "reason" of a reading event.
func (c Code) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a code's name.
func (c *Code) UnmarshalText(b []byte) error {
	code, ok := ParseCode(string(b))
	if !ok {
		return fmt.Errorf("verdict: %q names no result code this version knows", b)
	}
	*c = code
	return nil
}
