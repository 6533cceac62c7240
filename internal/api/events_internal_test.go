package api

import (
	"strings"
	"testing"
)

// FuzzParseEventID: an id ParseEventID takes prints back as itself
// (decimal, no sign, no leading zeros aside) and compares equal to its
// reparse; anything else is refused with an error, never a panic.
func FuzzParseEventID(f *testing.F) {
	for _, s := range []string{"1-0", "42-3", "9223372036854775807-4294967295", "0-1", "-1-1", "1-", "-", "", "+1-1", "1-+1", "1--1", "01-02", "1-4294967296", "1-2-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseEventID(s)
		if err != nil {
			if !strings.Contains(err.Error(), "is not an event id") {
				t.Errorf("ParseEventID(%q): error %q does not say what is wrong", s, err)
			}
			return
		}
		if id.Height < 1 {
			t.Errorf("ParseEventID(%q) = %+v: height below 1", s, id)
		}
		again, err := ParseEventID(id.String())
		if err != nil || again != id || again.Compare(id) != 0 {
			t.Errorf("ParseEventID(%q) = %+v, whose String %q parses to %+v, %v", s, id, id.String(), again, err)
		}
	})
}

func TestEventIDCompare(t *testing.T) {
	ids := []EventID{{1, 0}, {1, 1}, {1, 2}, {2, 0}, {10, 0}}
	for i, a := range ids {
		for j, b := range ids {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%s.Compare(%s) = %d, want %d", a, b, got, want)
			}
		}
	}
}
