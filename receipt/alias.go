package receipt

import "github.com/iotledger/iotledger/receipt/format"

// The receipt's format lives in package receipt/format, which needs no
// CometBFT: a device or a client that only fetches and stores receipts
// imports that; this package adds offline verification. The names below
// are the same as there.

// Receipt holds everything needed to check one reading offline; see
// format.Receipt.
type Receipt = format.Receipt

// LightBlock is one block of a validator trace; see format.LightBlock.
type LightBlock = format.LightBlock

// Limits and versions of the format.
const (
	Version      = format.Version
	VersionTrace = format.VersionTrace
	MaxSize      = format.MaxSize
	MaxProof     = format.MaxProof
	MaxTrace     = format.MaxTrace
)

// Errors that Parse returns.
var (
	ErrTooLarge  = format.ErrTooLarge
	ErrMalformed = format.ErrMalformed
	ErrVersion   = format.ErrVersion
)

// Parse decodes a receipt from its JSON form; see format.Parse.
func Parse(data []byte) (*Receipt, error) { return format.Parse(data) }

// Leaf is the log leaf of a reading verified with key; see format.Leaf.
func Leaf(key, raw []byte) []byte { return format.Leaf(key, raw) }

// LeafHash is the RFC 6962 leaf hash of a leaf.
func LeafHash(leaf []byte) []byte { return format.LeafHash(leaf) }

// AppHash is the application hash a block commits to; see format.AppHash.
func AppHash(size uint64, root, digest []byte) []byte { return format.AppHash(size, root, digest) }
