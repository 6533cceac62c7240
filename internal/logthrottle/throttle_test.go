package logthrottle_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/logthrottle"
)

// fixture is a throttled logger writing text lines without times to a
// buffer, on a clock the test moves, with the timers it sets kept for the
// test to fire.
type fixture struct {
	buf    bytes.Buffer
	now    time.Time
	timers []timer
	log    *slog.Logger
	h      *logthrottle.Handler
}

type timer struct {
	at time.Time
	f  func()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	x := &fixture{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	text := slog.NewTextHandler(&x.buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})
	x.h = logthrottle.New(text, logthrottle.Options{
		Now:       func() time.Time { return x.now },
		AfterFunc: func(d time.Duration, f func()) { x.timers = append(x.timers, timer{x.now.Add(d), f}) },
	})
	x.log = slog.New(x.h)
	return x
}

// advance moves the clock by d and fires the timers due by then.
func (x *fixture) advance(d time.Duration) {
	x.now = x.now.Add(d)
	var later []timer
	due := x.timers
	x.timers = nil
	for _, tm := range due {
		if tm.at.After(x.now) {
			later = append(later, tm)
			continue
		}
		tm.f()
	}
	x.timers = append(later, x.timers...)
}

// lines returns the lines written since the last call.
func (x *fixture) lines() []string {
	s := strings.TrimSuffix(x.buf.String(), "\n")
	x.buf.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestAStormOfOneErrorIsFiveLinesAndACount(t *testing.T) {
	x := newFixture(t)
	pebble := x.log.With("module", "pebble")
	// 4,000 a second for one second, as Pebble's flush retry did on a
	// full disk, with the file number changing. The count names the last
	// one held back (i = 3999).
	for i := range 4000 {
		pebble.Error(fmt.Sprintf("background error: flush: write 000%d.sst: no space left on device", 100+i%7))
		x.advance(250 * time.Microsecond)
	}
	got := x.lines()
	var want []string
	for i := range 5 {
		want = append(want, fmt.Sprintf("level=ERROR msg=\"background error: flush: write 000%d.sst: no space left on device\" module=pebble", 100+i))
	}
	want = append(want, `level=ERROR msg="background error: flush: write 000102.sst: no space left on device (3995 more like this in 1s, not shown)" module=pebble suppressed=3995`)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("lines (-got +want):\n%s", diff)
	}
}

func TestEveryWindowHasAtMostBurstLinesAndOneCount(t *testing.T) {
	x := newFixture(t)
	perSecond := map[int]int{}
	start := x.now
	for range 10 * 4000 { // ten seconds at 4,000 a second
		before := x.buf.Len()
		second := int(x.now.Sub(start) / time.Second)
		x.log.Error("store: write failed", "err", "no space left on device")
		x.advance(250 * time.Microsecond)
		perSecond[second] += bytes.Count(x.buf.Bytes()[before:], []byte("\n"))
	}
	x.advance(time.Second)
	lines := x.lines()
	counted, countLines := 0, 0
	for _, l := range lines {
		if strings.Contains(l, "more like this") {
			countLines++
			var n int
			if _, err := fmt.Sscanf(l[strings.Index(l, "suppressed="):], "suppressed=%d", &n); err != nil {
				t.Fatalf("count line %q: %v", l, err)
			}
			counted += n
		}
	}
	if got, want := len(lines)-countLines+counted, 40000; got != want {
		t.Errorf("lines shown (without counts) plus counted = %d, want every record accounted for: %d", got, want)
	}
	for s, n := range perSecond {
		if n > logthrottle.DefaultBurst+1 {
			t.Errorf("second %d: %d lines, want at most %d", s, n, logthrottle.DefaultBurst+1)
		}
	}
}

func TestMessagesAreToldApartByLevelModuleAndText(t *testing.T) {
	x := newFixture(t)
	for range 20 {
		x.log.Error("disk full")
		x.log.Warn("disk full")
		x.log.With("module", "cometbft").Error("disk full")
		x.log.Error("disk full", "component", "mqtt")
		x.log.Error("disk nearly full")
	}
	counts := map[string]int{}
	for _, l := range x.lines() {
		counts[l]++
	}
	want := map[string]int{
		`level=ERROR msg="disk full"`:                 5,
		`level=WARN msg="disk full"`:                  5,
		`level=ERROR msg="disk full" module=cometbft`: 5,
		`level=ERROR msg="disk full" component=mqtt`:  5,
		`level=ERROR msg="disk nearly full"`:          5,
	}
	if diff := cmp.Diff(counts, want); diff != "" {
		t.Errorf("lines (-got +want):\n%s", diff)
	}
}

func TestDebugAndInfoPassUntouched(t *testing.T) {
	x := newFixture(t)
	for range 100 {
		x.log.Info("committed block")
		x.log.Debug("added peer")
	}
	if got := len(x.lines()); got != 200 {
		t.Errorf("%d lines, want all 200", got)
	}
}

func TestTheCountIsWrittenWhenTheStormStops(t *testing.T) {
	x := newFixture(t)
	l := x.log.With("module", "pebble")
	for range 8 {
		l.Error("flush failed")
	}
	if got := len(x.lines()); got != 5 {
		t.Fatalf("%d lines, want 5", got)
	}
	x.advance(999 * time.Millisecond)
	if got := x.lines(); got != nil {
		t.Fatalf("before the window ends: %q, want nothing", got)
	}
	x.advance(time.Millisecond) // the timer set at the first held record fires
	want := []string{`level=ERROR msg="flush failed (3 more like this in 1s, not shown)" module=pebble suppressed=3`}
	if diff := cmp.Diff(x.lines(), want); diff != "" {
		t.Errorf("at the window's end (-got +want):\n%s", diff)
	}
	x.advance(time.Minute)
	if got := x.lines(); got != nil {
		t.Errorf("later: %q, want nothing more", got)
	}
	l.Error("flush failed")
	if diff := cmp.Diff(x.lines(), []string{`level=ERROR msg="flush failed" module=pebble`}); diff != "" {
		t.Errorf("a new window (-got +want):\n%s", diff)
	}
}

func TestTheNextRecordWritesADueCountBeforeTheTimer(t *testing.T) {
	x := newFixture(t)
	for range 7 {
		x.log.Error("a")
	}
	x.lines()
	x.now = x.now.Add(2 * time.Second) // the timer has not run yet
	x.log.Error("b")
	want := []string{
		`level=ERROR msg="a (2 more like this in 1s, not shown)" suppressed=2`,
		`level=ERROR msg=b`,
	}
	if diff := cmp.Diff(x.lines(), want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	x.advance(0) // the timer finds nothing left to write
	if got := x.lines(); got != nil {
		t.Errorf("timer wrote %q, want nothing: the count was written already", got)
	}
}

func TestFlushWritesEveryCount(t *testing.T) {
	x := newFixture(t)
	for range 6 {
		x.log.Error("a")
		x.log.Warn("b", "module", "m")
	}
	x.lines()
	x.h.Flush(context.Background())
	got := x.lines()
	want := []string{
		`level=ERROR msg="a (1 more like this in 1s, not shown)" suppressed=1`,
		`level=WARN msg="b (1 more like this in 1s, not shown)" suppressed=1`,
	}
	if len(got) == 2 && got[0] > got[1] {
		got[0], got[1] = got[1], got[0]
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
}
