package ratelimit_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/ratelimit"
)

// TestTake: a bucket gives its burst at once, then a token every
// 1/perSecond; Take says how long the next one is, and takes nothing then.
// A table at its bound drops the buckets that have refilled; with Reset,
// one full of keys in debt starts over.
func TestTake(t *testing.T) {
	start := time.Unix(1000, 0)
	l := ratelimit.New[string](2, 3, 2, ratelimit.Reset)
	var got []time.Duration
	for range 4 {
		got = append(got, l.Take("a", start))
	}
	got = append(got, l.Take("a", start.Add(500*time.Millisecond)))  // one token back
	got = append(got, l.Take("a", start.Add(500*time.Millisecond)))  // none left: the next in half a second
	got = append(got, l.Take("a", start.Add(750*time.Millisecond)))  // half a token: the next in a quarter
	got = append(got, l.Take("b", start.Add(500*time.Millisecond)))  // a bucket of its own
	got = append(got, l.Take("c", start.Add(time.Hour)))             // table full: full buckets go
	got = append(got, l.Take("a", start.Add(time.Hour)))             // a full bucket again
	got = append(got, l.Take("a", start.Add(time.Hour-time.Second))) // time going back gives nothing
	want := []time.Duration{0, 0, 0, 500 * time.Millisecond, 0, 500 * time.Millisecond, 250 * time.Millisecond, 0, 0, 0, 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Take (-want +got):\n%s", diff)
	}
	if n := l.Len(); n > 2 {
		t.Errorf("%d buckets, want at most 2", n)
	}
	if ratelimit.New[string](0, 0, 1, ratelimit.Reset).Take("a", start) != 0 {
		t.Error("rate 0 limited a request")
	}
}

// TestFull: at its bound, with every key in debt, Share has newcomers
// share one bucket and Reset starts the table over.
func TestFull(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		full ratelimit.Full
		want []bool // taken: a, b, then newcomers c and d
		len  int
	}{
		{ratelimit.Share, []bool{true, true, true, false}, 2},
		{ratelimit.Reset, []bool{true, true, true, true}, 2},
	} {
		l := ratelimit.New[string](1, 1, 2, tt.full)
		var got []bool
		for _, key := range []string{"a", "b", "c", "d"} {
			got = append(got, l.Take(key, now) == 0)
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("full %d: taken (-want +got):\n%s", tt.full, d)
		}
		if n := l.Len(); n != tt.len {
			t.Errorf("full %d: %d buckets, want %d", tt.full, n, tt.len)
		}
	}
}

// TestWaitFloor: a bucket a hair short of a token still answers a wait,
// never 0, which would read as taken.
func TestWaitFloor(t *testing.T) {
	start := time.Unix(1000, 0)
	l := ratelimit.New[int](1, 1, 1, ratelimit.Reset)
	l.Take(1, start)
	if d := l.Take(1, start.Add(time.Second-time.Microsecond)); d != time.Millisecond {
		t.Errorf("Take a microsecond before the token = %v, want the floor of 1ms", d)
	}
	if d := l.Take(1, start.Add(time.Second)); d != 0 {
		t.Errorf("Take when the token came = %v, want 0", d)
	}
}
