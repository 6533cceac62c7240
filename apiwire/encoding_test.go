package apiwire_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/apiwire"
)

func TestUint64(t *testing.T) {
	for _, n := range []uint64{0, 1, 1<<53 + 1, math.MaxUint64} {
		b, err := json.Marshal(apiwire.Uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		var back apiwire.Uint64
		if err := json.Unmarshal(b, &back); err != nil || uint64(back) != n || b[0] != '"' {
			t.Errorf("%d: wrote %s, read back %d (%v)", n, b, back, err)
		}
	}
	var bare apiwire.Uint64
	if err := json.Unmarshal([]byte("9007199254740993"), &bare); err != nil || bare != 1<<53+1 {
		t.Errorf("a bare number: %d, %v", bare, err)
	}
	for _, bad := range []string{`"-1"`, `"1.5"`, `"x"`, `true`, `"18446744073709551616"`} {
		if err := json.Unmarshal([]byte(bad), &bare); err == nil || !strings.Contains(err.Error(), "decimal string") {
			t.Errorf("%s: error %v, want one that names the form", bad, err)
		}
	}
}

func TestInt64(t *testing.T) {
	for _, n := range []int64{0, -7, -(1<<53 + 1), math.MinInt64, math.MaxInt64} {
		b, err := json.Marshal(apiwire.Int64(n))
		if err != nil {
			t.Fatal(err)
		}
		var back apiwire.Int64
		if err := json.Unmarshal(b, &back); err != nil || int64(back) != n || b[0] != '"' {
			t.Errorf("%d: wrote %s, read back %d (%v)", n, b, back, err)
		}
	}
	var bare apiwire.Int64
	if err := json.Unmarshal([]byte("-250"), &bare); err != nil || bare != -250 {
		t.Errorf("a bare number: %d, %v", bare, err)
	}
}

func TestHex(t *testing.T) {
	b, err := json.Marshal(struct{ H apiwire.Hex }{apiwire.Hex{0xAB, 0x01}})
	if err != nil || string(b) != `{"H":"ab01"}` {
		t.Errorf("wrote %s (%v), want lowercase hex", b, err)
	}
	var h apiwire.Hex
	if err := json.Unmarshal([]byte(`"AB01"`), &h); err != nil || string(h) != "\xab\x01" {
		t.Errorf("read %x (%v)", h, err)
	}
	if err := json.Unmarshal([]byte(`"q83v"`), &h); err == nil {
		t.Error("base64 read as hex")
	}
}
