// Package zip215 verifies Ed25519 signatures under one set of rules, ZIP 215,
// everywhere in iotledger: in the node (single and batch verification), in the
// receipt verifier and in the device SDK's self-checks.
//
// Ed25519 implementations disagree on edge cases (small-order points,
// non-canonical encodings). On a ledger every validator must accept exactly the
// same signatures, or a crafted reading splits the network, so all
// verification goes through this package, which uses curve25519-voi with
// VerifyOptionsZIP_215.
//
// [Verify] checks one signature. [Batch] checks many at once and [KeyCache]
// keeps keys in expanded form; both are only faster, never different: for
// every entry a batch returns exactly what Verify returns, whatever else is
// in the batch and whatever randomness the batch equation draws.
//
// The package is internal: third parties check readings with package
// reading (Signed.Verify) and receipts with package receipt, which apply
// these rules for them.
package zip215

import (
	"errors"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	cose "github.com/veraison/go-cose"
)

// Sizes of Ed25519 keys and signatures.
const (
	PublicKeySize = ed25519.PublicKeySize
	SignatureSize = ed25519.SignatureSize
)

// ErrSignature means a signature does not verify under the given key.
var ErrSignature = errors.New("zip215: signature does not verify")

var options = &ed25519.Options{Verify: ed25519.VerifyOptionsZIP_215}

// Verify reports whether sig is a valid signature of msg by pub under ZIP 215.
// A key or signature of the wrong length is invalid, never a panic.
func Verify(pub, msg, sig []byte) bool {
	if len(pub) != PublicKeySize || len(sig) != SignatureSize {
		return false
	}
	return ed25519.VerifyWithOptions(ed25519.PublicKey(pub), msg, sig, options)
}

// Verifier is a COSE verifier for algorithm EdDSA (-8) that applies ZIP 215.
type Verifier []byte

var _ cose.Verifier = Verifier(nil)

// Algorithm returns EdDSA.
func (Verifier) Algorithm() cose.Algorithm { return cose.AlgorithmEdDSA }

// Verify checks the signature over the COSE Sig_structure.
func (v Verifier) Verify(content, signature []byte) error {
	if !Verify(v, content, signature) {
		return ErrSignature
	}
	return nil
}
