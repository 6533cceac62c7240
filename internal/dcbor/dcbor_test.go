package dcbor_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/iotledger/iotledger/internal/dcbor"
)

// EncMode writes the core deterministic encoding: these bytes are what
// every signature and hash of a chain was made over, so they must not
// change.
func TestEncModeBytes(t *testing.T) {
	type record struct {
		B string `cbor:"2,keyasint"`
		A uint64 `cbor:"1,keyasint"`
		C []byte `cbor:"10,keyasint,omitempty"`
	}
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"small uint", uint64(23), "17"},
		{"uint in one byte", uint64(24), "1818"},
		{"largest uint", uint64(math.MaxUint64), "1bffffffffffffffff"},
		{"negative", int64(-25), "3818"},
		{"smallest int", int64(math.MinInt64), "3b7fffffffffffffff"},
		{"float as half", 1.5, "f93e00"},
		{"float as single", 100000.0, "fa47c35000"},
		{"float as double", 1.1, "fb3ff199999999999a"},
		{"NaN", math.NaN(), "f97e00"},
		{"infinity", math.Inf(-1), "f9fc00"},
		{"text", "a\u00fc", "6361c3bc"},
		{"bytes of 24", bytes.Repeat([]byte{1}, 24), "5818" + strings.Repeat("01", 24)},
		// RFC 8949 section 4.2.1's example order: keys sorted by their encoding.
		{"map keys in bytewise order", map[any]any{false: 0, "aa": 0, "z": 0, -1: 0, 100: 0, 10: 0},
			"a6" + "0a00" + "186400" + "2000" + "617a00" + "62616100" + "f400"},
		{"struct fields by key, empty omitted", record{B: "x", A: 7}, "a2" + "0107" + "026178"},
		{"array", []any{"iotledger/app/v1", uint64(1), []byte{}}, "83" + "70696f746c65646765722f6170702f7631" + "01" + "40"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := dcbor.EncMode.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.want {
				t.Errorf("EncMode.Marshal(%v) = %s, want %s", tc.v, got, tc.want)
			}
		})
	}
}

// DecMode refuses each form the strict decoder exists to refuse, with the
// library's typed error where it has one.
func TestDecModeRefuses(t *testing.T) {
	type record struct {
		A uint64 `cbor:"1,keyasint"`
	}
	nest := func(n int) string { return strings.Repeat("81", n) + "00" }
	for _, tc := range []struct {
		name string
		in   string
		into func() any
		is   func(error) bool
	}{
		{"duplicate map key", "a2010101" + "02", func() any { return new(map[int]int) }, as[*cbor.DupMapKeyError]},
		{"indefinite length", "9f01ff", func() any { return new([]int) }, as[*cbor.IndefiniteLengthError]},
		{"tag", "c11a514b67b0", func() any { return new(any) }, as[*cbor.TagsMdError]},
		{"invalid UTF-8", "62fffe", func() any { return new(string) }, as[*cbor.SemanticError]},
		{"nested 9 deep", nest(9), func() any { return new(any) }, as[*cbor.MaxNestedLevelError]},
		{"array of 65,537", "9a00010001", func() any { return new([]int) }, as[*cbor.MaxArrayElementsError]},
		{"map of 4,097 pairs", "ba00001001", func() any { return new(map[int]int) }, as[*cbor.MaxMapPairsError]},
		{"unknown field", "a20101" + "0202", func() any { return new(record) }, as[*cbor.UnknownFieldError]},
		{"uint above int64 into any", "1bffffffffffffffff", func() any { return new(any) }, as[*cbor.UnmarshalTypeError]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			err = dcbor.DecMode.Unmarshal(b, tc.into())
			if err == nil || !tc.is(err) {
				t.Errorf("DecMode.Unmarshal(%s) = %v (%T), want the library's error for %s", tc.in, err, err, tc.name)
			}
		})
	}
	// The limits themselves are accepted.
	for _, in := range []string{nest(7), "a2010102" + "02", "1b7fffffffffffffff"} {
		b, _ := hex.DecodeString(in)
		var v any
		if err := dcbor.DecMode.Unmarshal(b, &v); err != nil {
			t.Errorf("DecMode.Unmarshal(%s) = %v, want it accepted", in, err)
		}
	}
}

func as[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}

// Integers decoded into an interface: DecMode makes them int64 and fails
// above the int64 range; DecModeAnyInt keeps their major type.
func TestIntoInterface(t *testing.T) {
	for _, tc := range []struct {
		in             string
		dec, decAnyInt any
	}{
		{"07", int64(7), uint64(7)},
		{"1b7fffffffffffffff", int64(math.MaxInt64), uint64(math.MaxInt64)},
		{"20", int64(-1), int64(-1)},
		{"1bffffffffffffffff", nil, uint64(math.MaxUint64)},
	} {
		b, _ := hex.DecodeString(tc.in)
		var v any
		err := dcbor.DecMode.Unmarshal(b, &v)
		if tc.dec == nil {
			if err == nil {
				t.Errorf("DecMode.Unmarshal(%s) = %v (%T), want an error", tc.in, v, v)
			}
		} else if err != nil || v != tc.dec {
			t.Errorf("DecMode.Unmarshal(%s) = %v (%T), %v; want %v (%T)", tc.in, v, v, err, tc.dec, tc.dec)
		}
		v = nil
		if err := dcbor.DecModeAnyInt.Unmarshal(b, &v); err != nil || v != tc.decAnyInt {
			t.Errorf("DecModeAnyInt.Unmarshal(%s) = %v (%T), %v; want %v (%T)", tc.in, v, v, err, tc.decAnyInt, tc.decAnyInt)
		}
	}
	// Otherwise the two modes are the same.
	a, b := dcbor.DecMode.DecOptions(), dcbor.DecModeAnyInt.DecOptions()
	a.IntDec, b.IntDec = 0, 0
	if a != b {
		t.Errorf("DecModeAnyInt's options differ from DecMode's beyond IntDec:\n%+v\n%+v", a, b)
	}
}

// AppendInt and AppendBytes write what EncMode writes, at every head size
// and sign, and HeadLen and BytesLen give the lengths they write.
func TestAppend(t *testing.T) {
	for _, v := range []int64{0, 1, 23, 24, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64, -1, -24, -25, -256, -257, -65537, math.MinInt64} {
		want, err := dcbor.EncMode.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := dcbor.AppendInt([]byte{9}, v); !bytes.Equal(got[1:], want) || got[0] != 9 {
			t.Errorf("AppendInt(%d) = % x, want % x after the prefix", v, got, want)
		}
		if v >= 0 {
			if got := dcbor.HeadLen(int(v)); got != len(want) {
				t.Errorf("HeadLen(%d) = %d, want %d", v, got, len(want))
			}
		}
	}
	for _, n := range []int{0, 23, 24, 255, 256, 65535, 65536} {
		b := bytes.Repeat([]byte{7}, n)
		want, err := dcbor.EncMode.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := dcbor.AppendBytes(nil, b); !bytes.Equal(got, want) {
			t.Errorf("AppendBytes of %d bytes = % x..., want % x...", n, got[:min(len(got), 12)], want[:min(len(want), 12)])
		}
		if got := dcbor.BytesLen(n); got != len(want) {
			t.Errorf("BytesLen(%d) = %d, want %d", n, got, len(want))
		}
	}
	for major := range byte(8) {
		want := []byte{major<<5 | 25, 0x12, 0x34}
		if got := dcbor.AppendHead(nil, major, 0x1234); !bytes.Equal(got, want) {
			t.Errorf("AppendHead(major %d, 0x1234) = % x, want % x", major, got, want)
		}
	}
}
