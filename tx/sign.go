package tx

import (
	"crypto/ed25519"
	"fmt"

	cose "github.com/veraison/go-cose"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/zip215"
)

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

// Verify checks the account's signature under ZIP 215.
func (s *Signed) Verify() error {
	if err := s.msg.Verify(nil, zip215.Verifier(s.Signer)); err != nil {
		return fmt.Errorf("%w: account %s", ErrSignature, s.Account)
	}
	return nil
}

// RegistrationMessage is what a device signs to consent to its registration.
func RegistrationMessage(chainID, owner string, deviceKey []byte) []byte {
	return mustEncode([]any{"iotledger/register/v1", chainID, owner, deviceKey})
}

// RotationMessage is what a device's new key signs to consent to a rotation.
func RotationMessage(chainID, device string, newKey []byte) []byte {
	return mustEncode([]any{"iotledger/rotate/v1", chainID, device, newKey})
}

// ValidatorConsentMessage is what a validator's new consensus key signs to
// consent to its addition on chain chainID. Its first bytes (a CBOR array
// and a text naming iotledger) can never begin what CometBFT signs with the
// same key (protobuf votes and proposals).
func ValidatorConsentMessage(chainID string, key []byte) []byte {
	return mustEncode([]any{"iotledger/validator-consent/v1", chainID, key})
}
