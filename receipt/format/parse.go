package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/iotledger/iotledger/reading"
)

// MaxSize is the largest receipt, in bytes, that Parse reads. A receipt of a
// chain with a hundred validators is about 60 KB; each block of a validator
// trace adds about as much as the receipt's own header and set.
const MaxSize = 4 << 20

// MaxTrace is the most blocks a validator trace may hold: two per change of
// the validator set before the reading's block.
const MaxTrace = 256

// MaxProof is the longest inclusion proof: one hash per level of a tree of
// 2^64 leaves.
const MaxProof = 64

// Errors that Parse returns; callers branch on them with errors.Is.
var (
	ErrTooLarge  = errors.New("receipt: too large")
	ErrMalformed = errors.New("receipt: malformed")
	ErrVersion   = errors.New("receipt: unsupported version")
)

// Parse decodes a receipt from its JSON form. It refuses input larger than
// MaxSize; fields it does not know, which includes a known name in another
// letter case, and a field given twice, in the receipt and in each block of
// its trace; a byte string not in canonical base64; anything after the
// receipt; a version other than Version and VersionTrace (and a version 1
// receipt with a trace); a reading larger
// than reading.MaxSize, a proof longer than MaxProof and a trace longer than
// MaxTrace. It checks nothing else: that is Verify's job.
func Parse(data []byte) (*Receipt, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Receipt
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the receipt", ErrMalformed)
	}
	if r.Version != Version && r.Version != VersionTrace {
		return nil, fmt.Errorf("%w: version %d, this verifier reads versions %d and %d", ErrVersion, r.Version, Version, VersionTrace)
	}
	if r.Version == Version && len(r.Trace) > 0 {
		return nil, fmt.Errorf("%w: a version %d receipt carries a validator trace; a trace needs version %d", ErrMalformed, Version, VersionTrace)
	}
	if len(r.Reading) > reading.MaxSize {
		return nil, fmt.Errorf("%w: reading of %d bytes, at most %d", ErrTooLarge, len(r.Reading), reading.MaxSize)
	}
	if len(r.Proof) > MaxProof {
		return nil, fmt.Errorf("%w: inclusion proof of %d hashes, at most %d", ErrTooLarge, len(r.Proof), MaxProof)
	}
	if len(r.Trace) > MaxTrace {
		return nil, fmt.Errorf("%w: validator trace of %d blocks, at most %d", ErrTooLarge, len(r.Trace), MaxTrace)
	}
	return &r, nil
}

// Marshal encodes the receipt as indented JSON, ending with a newline.
func (r *Receipt) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("receipt: encode: %w", err)
	}
	return append(b, '\n'), nil
}
