// Package dcbor is the CBOR that iotledger hashes, signs and stores: one
// encoder in the core deterministic encoding of RFC 8949 section 4.2.1, the
// strict decoders that read it back, and hand-written appenders for the
// hot paths that write CBOR without reflection.
//
// Every package of this module that encodes or decodes CBOR uses these
// modes, so that one value has one encoding everywhere (a reading's
// payload, a transaction body, a stored record, the app hash's input) and
// one set of limits applies to everything a node decodes. The modes are
// built once, when the package is initialised, and are safe for concurrent
// use; using one costs no more than calling the library directly.
//
// EncMode writes map keys sorted bytewise by their encoding, integers,
// lengths and floats in their shortest form, NaN as 0xf97e00 and no
// indefinite lengths. DecMode refuses duplicate map keys, indefinite
// lengths, tags, invalid UTF-8, unknown struct fields and integers that do
// not fit the target, and bounds nesting (8), arrays (65,536 elements) and
// maps (4,096 pairs). DecMode accepts encodings that are valid but not
// deterministic: callers that need the deterministic form (a COSE_Sign1
// around a reading or a transaction) re-encode and compare.
//
// Changing an option here changes the bytes of signed and hashed data:
// every app hash, leaf hash and signature of an existing chain. Do not.
// The tests of this package pin the encoding; the golden trace of
// internal/app pins the app hashes.
package dcbor

import (
	"encoding/binary"

	"github.com/fxamacker/cbor/v2"
)

// EncMode is the core deterministic CBOR encoding (RFC 8949 section
// 4.2.1), used for everything iotledger hashes, signs or stores.
var EncMode = must(cbor.CoreDetEncOptions().EncMode())

// decOptions are DecMode's options; DecModeAnyInt changes one.
func decOptions() cbor.DecOptions {
	return cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   8,
		MaxArrayElements:  1 << 16,
		MaxMapPairs:       1 << 12,
		IntDec:            cbor.IntDecConvertSignedOrFail,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}
}

// DecMode is a strict CBOR decoder: no duplicate map keys, no indefinite
// lengths, no tags, bounded nesting and sizes. An integer decoded into an
// interface becomes an int64 (an unsigned one above the int64 range is
// an error).
var DecMode = must(decOptions().DecMode())

// DecModeAnyInt is DecMode except that integers decoded into an interface
// (any) keep their CBOR major type: uint64 for unsigned, int64 for
// negative, so that unsigned values above the int64 range decode too.
var DecModeAnyInt = func() cbor.DecMode {
	opts := decOptions()
	opts.IntDec = cbor.IntDecConvertNone
	return must(opts.DecMode())
}()

// must returns a mode built from constant options; an error there is a
// programming error, found by any test that loads the package.
func must[M any](m M, err error) M {
	if err != nil {
		panic("dcbor: " + err.Error())
	}
	return m
}

// AppendBytes appends b as a CBOR byte string in the core deterministic
// encoding (its length in the shortest form).
func AppendBytes(dst, b []byte) []byte {
	return append(AppendHead(dst, 2, uint64(len(b))), b...)
}

// AppendInt appends v as a CBOR integer in the core deterministic encoding.
func AppendInt(dst []byte, v int64) []byte {
	if v < 0 {
		return AppendHead(dst, 1, uint64(-1-v))
	}
	return AppendHead(dst, 0, uint64(v))
}

// AppendHead appends the head of a CBOR data item of the given major type
// (0 to 7) and argument, in the shortest form.
func AppendHead(dst []byte, major byte, n uint64) []byte {
	major <<= 5
	switch {
	case n < 24:
		return append(dst, major|byte(n))
	case n <= 0xff:
		return append(dst, major|24, byte(n))
	case n <= 0xffff:
		return append(dst, major|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(dst, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, major|27), n)
}

// HeadLen is the length of the shortest CBOR head for an argument n.
func HeadLen(n int) int {
	switch {
	case n < 24:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case uint64(n) <= 0xffffffff:
		return 5
	}
	return 9
}

// BytesLen is the length of a byte string of n bytes in the deterministic
// encoding: its head and its content.
func BytesLen(n int) int { return HeadLen(n) + n }
