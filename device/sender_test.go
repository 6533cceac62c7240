package device_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/reading"
)

// fakeTransport hands each Send to the test as a call on a channel and
// answers with what the test replies: the test decides every answer, and
// in which order things happen.
type fakeTransport struct {
	calls chan call
}

type call struct {
	seqs  []uint64
	raws  [][]byte
	reply chan<- reply
}

type reply struct {
	answers []device.Answer
	err     error
}

func newFake() *fakeTransport { return &fakeTransport{calls: make(chan call)} }

func (f *fakeTransport) Send(ctx context.Context, raws [][]byte) ([]device.Answer, error) {
	c := call{raws: raws}
	for _, raw := range raws {
		r, err := reading.Decode(raw)
		if err != nil {
			return nil, err
		}
		c.seqs = append(c.seqs, r.Seq)
	}
	rc := make(chan reply, 1)
	c.reply = rc
	select {
	case f.calls <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-rc:
		return r.answers, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// next returns the next Send. The timeout only guards against a hang; it
// orders nothing.
func (f *fakeTransport) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no Send within 10 s")
		return call{}
	}
}

// expect takes the next Send, checks that it carries want, and answers it.
func (f *fakeTransport) expect(t *testing.T, want []uint64, r reply) {
	t.Helper()
	c := f.next(t)
	if diff := cmp.Diff(c.seqs, want); diff != "" {
		t.Fatalf("Send carried seqs (-got +want):\n%s", diff)
	}
	c.reply <- r
}

// all answers n readings with a.
func all(n int, a device.Answer) reply {
	r := reply{answers: make([]device.Answer, n)}
	for i := range r.answers {
		r.answers[i] = a
	}
	return r
}

var (
	accepted  = device.Answer{Status: device.Accepted}
	duplicate = device.Answer{Status: device.Duplicate}
	pending   = device.Answer{Status: device.Pending}
)

func rejected(reason string) device.Answer {
	return device.Answer{Status: device.Rejected, Reason: reason, Detail: "because " + reason}
}

// backoffs records the Backoff calls of a Sender and waits for none.
type backoffs chan backoffCall

type backoffCall struct {
	Attempt int
	Hint    time.Duration
}

func (b backoffs) fn(attempt int, hint time.Duration) time.Duration {
	b <- backoffCall{attempt, hint}
	return 0
}

// drained returns the calls made so far.
func (b backoffs) drained() []backoffCall {
	var out []backoffCall
	for {
		select {
		case c := <-b:
			out = append(out, c)
		default:
			return out
		}
	}
}

type senderEnv struct {
	dir      string
	tr       *fakeTransport
	backoffs backoffs
}

func newEnv(t *testing.T) *senderEnv {
	return &senderEnv{dir: t.TempDir(), tr: newFake(), backoffs: make(backoffs, 100)}
}

func (e *senderEnv) options() device.Options {
	return device.Options{Key: newKey(1), Dir: e.dir, Transport: e.tr, Backoff: e.backoffs.fn}
}

// open makes a Sender on the env's folder with o; Close at cleanup.
func (e *senderEnv) open(t *testing.T, o device.Options) *device.Sender {
	t.Helper()
	s, err := device.NewSender(o)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func start(t *testing.T, s *device.Sender) {
	t.Helper()
	if err := s.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

func record(t *testing.T, s *device.Sender, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for range n {
		seq, err := s.Record(t.Context(), map[string]any{"temp": 21.5}, readingTime)
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

func flush(t *testing.T, s *device.Sender) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// files lists the names in a folder of the state.
func files(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSenderRecordWritesOutboxBeforeSending(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, e.options())
	if diff := cmp.Diff(record(t, s, 3), []uint64{1, 2, 3}); diff != "" {
		t.Errorf("Record seqs (-got +want):\n%s", diff)
	}
	// Not started: nothing was offered, and everything is on disk.
	want := []string{"00000000000000000001.cose", "00000000000000000002.cose", "00000000000000000003.cose"}
	if diff := cmp.Diff(files(t, filepath.Join(e.dir, "outbox")), want); diff != "" {
		t.Errorf("outbox (-got +want):\n%s", diff)
	}
	if got, want := readFile(t, filepath.Join(e.dir, "seq")), "4\n"; got != want {
		t.Errorf("seq file holds %q, want %q", got, want)
	}
	raw, err := os.ReadFile(filepath.Join(e.dir, "outbox", want[1]))
	if err != nil {
		t.Fatal(err)
	}
	r, err := reading.Decode(raw)
	if err != nil {
		t.Fatalf("outbox file is not a reading: %v", err)
	}
	if err := r.Verify(pubOf(newKey(1))); err != nil || r.Seq != 2 || r.Device != s.ID() {
		t.Errorf("outbox file 2 holds seq %d of %s (verify: %v), want seq 2 of %s signed by the device", r.Seq, r.Device, err, s.ID())
	}
	if got, want := s.Stats(), (device.Stats{Recorded: 3, Outbox: 3}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestSenderOutboxSurvivesRestart(t *testing.T) {
	// The first Sender records three readings, offers them, and learns
	// only that the first was committed before it goes. A new Sender on
	// the same folder sends the other two, then continues the numbering.
	e := newEnv(t)
	first := e.open(t, e.options())
	record(t, first, 3)
	start(t, first)
	e.tr.expect(t, []uint64{1, 2, 3}, reply{answers: []device.Answer{accepted, pending, pending}})
	e.tr.next(t) // the retry of 2 and 3, never answered
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := e.open(t, e.options())
	if got, want := second.Stats(), (device.Stats{Recovered: 2, Outbox: 2}); got != want {
		t.Errorf("Stats of the new Sender = %+v, want %+v", got, want)
	}
	if got, want := second.Next(), uint64(4); got != want {
		t.Errorf("Next = %d, want %d", got, want)
	}
	start(t, second)
	e.tr.expect(t, []uint64{2, 3}, all(2, duplicate))
	record(t, second, 1)
	e.tr.expect(t, []uint64{4}, all(1, accepted))
	flush(t, second)
	if got := files(t, filepath.Join(e.dir, "outbox")); len(got) != 0 {
		t.Errorf("outbox after Flush holds %q, want nothing", got)
	}
	want := device.Stats{Recorded: 1, Recovered: 2, Sent: 3, Acknowledged: 3, Duplicates: 2}
	if got := second.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestSenderAnswers(t *testing.T) {
	busy := &client.Error{Status: 503, Title: "Service Unavailable", RetryAfter: 2 * time.Second}
	tests := []struct {
		name  string
		first reply
		// resent: the reading is kept and sent again (and then accepted);
		// backoff is the call to Backoff that comes before.
		resent  bool
		backoff backoffCall
		dead    []device.DeadLetter
		want    device.Stats
	}{
		{
			name:  "accepted leaves the outbox",
			first: all(1, accepted),
			want:  device.Stats{Recorded: 1, Sent: 1, Acknowledged: 1},
		},
		{
			name:  "duplicate leaves the outbox",
			first: all(1, duplicate),
			want:  device.Stats{Recorded: 1, Sent: 1, Acknowledged: 1, Duplicates: 1},
		},
		{
			name:  "rejected goes to the dead letters with its reason",
			first: all(1, rejected("bad_signature")),
			dead:  []device.DeadLetter{{Seq: 1, Reason: "bad_signature", Detail: "because bad_signature"}},
			want:  device.Stats{Recorded: 1, Sent: 1, Rejected: 1},
		},
		{
			name:    "rate limited is sent again",
			first:   all(1, rejected("rate_limited")),
			resent:  true,
			backoff: backoffCall{Attempt: 1},
			want:    device.Stats{Recorded: 1, Sent: 2, Acknowledged: 1, Retries: 1},
		},
		{
			name:    "pending is sent again after the wait it asks for",
			first:   all(1, device.Answer{Status: device.Pending, RetryAfter: 3 * time.Second}),
			resent:  true,
			backoff: backoffCall{Attempt: 1, Hint: 3 * time.Second},
			want:    device.Stats{Recorded: 1, Sent: 2, Acknowledged: 1, Retries: 1},
		},
		{
			name:    "a status the sender does not know is sent again",
			first:   all(1, device.Answer{Status: "queued"}),
			resent:  true,
			backoff: backoffCall{Attempt: 1},
			want:    device.Stats{Recorded: 1, Sent: 2, Acknowledged: 1, Retries: 1},
		},
		{
			name:    "busy node is sent again after its Retry-After",
			first:   reply{err: &device.RetryError{Err: busy, After: busy.RetryAfter}},
			resent:  true,
			backoff: backoffCall{Attempt: 1, Hint: 2 * time.Second},
			want:    device.Stats{Recorded: 1, Sent: 2, Acknowledged: 1, Retries: 1},
		},
		{
			name:    "network error is sent again",
			first:   reply{err: errors.New("dial tcp 127.0.0.1:1: connection refused")},
			resent:  true,
			backoff: backoffCall{Attempt: 1},
			want:    device.Stats{Recorded: 1, Sent: 2, Acknowledged: 1, Retries: 1},
		},
		{
			name:    "a transport that answers too few is sent again",
			first:   reply{},
			resent:  true,
			backoff: backoffCall{Attempt: 1},
			want:    device.Stats{Recorded: 1, Sent: 2, Acknowledged: 1, Retries: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			s := e.open(t, e.options())
			start(t, s)
			record(t, s, 1)
			e.tr.expect(t, []uint64{1}, tt.first)
			if tt.resent {
				e.tr.expect(t, []uint64{1}, all(1, accepted))
			}
			flush(t, s)

			var wantBackoffs []backoffCall
			if tt.resent {
				wantBackoffs = []backoffCall{tt.backoff}
			}
			if diff := cmp.Diff(e.backoffs.drained(), wantBackoffs); diff != "" {
				t.Errorf("Backoff calls (-got +want):\n%s", diff)
			}
			if got := s.Stats(); got != tt.want {
				t.Errorf("Stats = %+v, want %+v", got, tt.want)
			}
			if got := files(t, filepath.Join(e.dir, "outbox")); len(got) != 0 {
				t.Errorf("outbox after Flush holds %q, want nothing", got)
			}
			dead, err := s.DeadLetters()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(dead, tt.dead, cmpopts.IgnoreFields(device.DeadLetter{}, "Raw")); diff != "" {
				t.Errorf("DeadLetters (-got +want):\n%s", diff)
			}
			for _, d := range dead {
				if r, err := reading.Decode(d.Raw); err != nil || r.Seq != d.Seq {
					t.Errorf("dead letter %d: the reading does not decode to its seq: %v", d.Seq, err)
				}
			}
		})
	}
}

func TestSenderMixedBatch(t *testing.T) {
	// Each reading of a batch meets its own fate; the kept ones are sent
	// again first, before the readings recorded after them.
	e := newEnv(t)
	o := e.options()
	o.BatchSize = 5
	s := e.open(t, o)
	record(t, s, 6)
	start(t, s)
	e.tr.expect(t, []uint64{1, 2, 3, 4, 5}, reply{answers: []device.Answer{
		accepted, duplicate, rejected("revoked_device"), rejected("rate_limited"), pending,
	}})
	e.tr.expect(t, []uint64{4, 5, 6}, all(3, accepted))
	flush(t, s)
	want := device.Stats{Recorded: 6, Sent: 8, Acknowledged: 5, Duplicates: 1, Rejected: 1, Retries: 2}
	if got := s.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	want2 := []string{"00000000000000000003.cose", "00000000000000000003.json"}
	if diff := cmp.Diff(files(t, filepath.Join(e.dir, "dead")), want2); diff != "" {
		t.Errorf("dead letters folder (-got +want):\n%s", diff)
	}
}

func TestSenderBatchesInSequenceOrder(t *testing.T) {
	e := newEnv(t)
	o := e.options()
	o.BatchSize = 2
	s := e.open(t, o)
	record(t, s, 5)
	start(t, s)
	e.tr.expect(t, []uint64{1, 2}, all(2, accepted))
	e.tr.expect(t, []uint64{3, 4}, all(2, accepted))
	e.tr.expect(t, []uint64{5}, all(1, accepted))
	flush(t, s)
}

func TestSenderBackoffGrowsAndResets(t *testing.T) {
	// attempt counts the failed rounds of the head of the outbox in a
	// row; a round that keeps nothing starts the count again.
	e := newEnv(t)
	s := e.open(t, e.options())
	start(t, s)
	down := errors.New("network is unreachable")
	record(t, s, 1)
	e.tr.expect(t, []uint64{1}, reply{err: down})
	e.tr.expect(t, []uint64{1}, reply{err: down})
	e.tr.expect(t, []uint64{1}, all(1, accepted))
	flush(t, s)
	record(t, s, 1)
	e.tr.expect(t, []uint64{2}, reply{err: down})
	e.tr.expect(t, []uint64{2}, all(1, accepted))
	flush(t, s)
	want := []backoffCall{{Attempt: 1}, {Attempt: 2}, {Attempt: 1}}
	if diff := cmp.Diff(e.backoffs.drained(), want); diff != "" {
		t.Errorf("Backoff calls (-got +want):\n%s", diff)
	}
}

func TestSenderFlushWaitsForTheOutbox(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, e.options())
	flush(t, s) // nothing recorded: returns at once
	record(t, s, 1)
	// Not started: nothing leaves the outbox, and Flush gives up with ctx.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush of an unstarted Sender = %v, want %v", err, context.Canceled)
	}
	start(t, s)
	done := make(chan error, 1)
	go func() { done <- s.Flush(t.Context()) }()
	e.tr.expect(t, []uint64{1}, all(1, accepted))
	if err := <-done; err != nil {
		t.Errorf("Flush = %v, want nil", err)
	}
}

func TestSenderRestoresSequenceInvariant(t *testing.T) {
	// A crash after a reading reached the outbox but before the next
	// number was saved: the outbox holds seq 3 and the state says 3.
	e := newEnv(t)
	key := newKey(1)
	raw, err := reading.Sign(reading.Reading{Seq: 3, Time: readingTime.UnixMilli(), Data: map[string]any{"temp": 1.0}}, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(e.dir, "outbox"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(e.dir, "seq"), "3\n")
	writeFile(t, filepath.Join(e.dir, "outbox", "00000000000000000003.cose"), string(raw))
	// And a write cut short before its rename.
	writeFile(t, filepath.Join(e.dir, "outbox", "00000000000000000004.cose.tmp"), "half")

	s := e.open(t, e.options())
	if got, want := s.Next(), uint64(4); got != want {
		t.Errorf("Next = %d, want %d (above the reading in the outbox)", got, want)
	}
	if got, want := readFile(t, filepath.Join(e.dir, "seq")), "4\n"; got != want {
		t.Errorf("seq file holds %q, want %q", got, want)
	}
	if diff := cmp.Diff(files(t, filepath.Join(e.dir, "outbox")), []string{"00000000000000000003.cose"}); diff != "" {
		t.Errorf("outbox (-got +want):\n%s", diff)
	}
	start(t, s)
	e.tr.expect(t, []uint64{3}, all(1, accepted))
	if got := record(t, s, 1); got[0] != 4 {
		t.Errorf("Record after recovery gave seq %d, want 4", got[0])
	}
}

func TestSenderRefusedDataUsesNoNumber(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, e.options())
	seq, err := s.Record(t.Context(), map[string]any{"temp": math.NaN()}, readingTime)
	if !errors.Is(err, reading.ErrData) || seq != 0 {
		t.Fatalf("Record with NaN = %d, %v; want 0 and %v", seq, err, reading.ErrData)
	}
	if got := files(t, filepath.Join(e.dir, "outbox")); len(got) != 0 {
		t.Errorf("outbox holds %q after a refused reading, want nothing", got)
	}
	if got := record(t, s, 1); got[0] != 1 {
		t.Errorf("next Record gave seq %d, want 1", got[0])
	}
}

func TestSenderOwnsItsFolder(t *testing.T) {
	e := newEnv(t)
	first := e.open(t, e.options())
	if _, err := device.NewSender(e.options()); !errors.Is(err, device.ErrInUse) {
		t.Errorf("a second NewSender on the folder: %v, want %v", err, device.ErrInUse)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := e.open(t, e.options())
	second.Close()
}

func TestSenderClosed(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, e.options())
	start(t, s)
	if err := s.Start(t.Context()); err == nil {
		t.Error("second Start: no error, want one")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := s.Record(t.Context(), map[string]any{"temp": 1.0}, readingTime); !errors.Is(err, device.ErrClosed) {
		t.Errorf("Record after Close = %v, want %v", err, device.ErrClosed)
	}
	if err := s.Flush(t.Context()); err != nil {
		t.Errorf("Flush of an empty outbox after Close = %v, want nil", err)
	}
	if err := s.Start(t.Context()); !errors.Is(err, device.ErrClosed) {
		t.Errorf("Start after Close = %v, want %v", err, device.ErrClosed)
	}
}

func TestSenderCloseStopsASend(t *testing.T) {
	// Close cancels the Send in flight and waits for the drainer; the
	// reading stays in the outbox.
	e := newEnv(t)
	s := e.open(t, e.options())
	start(t, s)
	record(t, s, 1)
	e.tr.next(t) // never answered
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, filepath.Join(e.dir, "outbox")); len(got) != 1 {
		t.Errorf("outbox after Close holds %q, want the reading", got)
	}
	if err := s.Flush(t.Context()); !errors.Is(err, device.ErrClosed) {
		t.Errorf("Flush after Close with a reading kept = %v, want %v", err, device.ErrClosed)
	}
}

func TestSenderOptions(t *testing.T) {
	tr := newFake()
	tests := []struct {
		name string
		edit func(*device.Options)
		want string
	}{
		{"no key", func(o *device.Options) { o.Key = nil }, "Options.Key"},
		{"no folder", func(o *device.Options) { o.Dir = "" }, "Options.Dir"},
		{"no transport", func(o *device.Options) { o.Transport = nil }, "Options.Transport"},
		{"negative batch", func(o *device.Options) { o.BatchSize = -1 }, "Options.BatchSize"},
		{"negative timeout", func(o *device.Options) { o.SendTimeout = -time.Second }, "Options.SendTimeout"},
		{"bad id", func(o *device.Options) { o.ID = "sensor-1" }, "sensor-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := device.Options{Key: newKey(1), Dir: t.TempDir(), Transport: tr}
			tt.edit(&o)
			s, err := device.NewSender(o)
			if err == nil {
				s.Close()
				t.Fatalf("NewSender: no error, want one naming %s", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewSender error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestDefaultBackoff(t *testing.T) {
	tests := []struct {
		attempt  int
		hint     time.Duration
		min, max time.Duration
	}{
		{1, 0, 125 * time.Millisecond, 250 * time.Millisecond},
		{2, 0, 250 * time.Millisecond, 500 * time.Millisecond},
		{5, 0, 2 * time.Second, 4 * time.Second},
		{9, 0, 15 * time.Second, 30 * time.Second},
		{1000, 0, 15 * time.Second, 30 * time.Second},
		{1, 5 * time.Second, 5 * time.Second, 5 * time.Second},
		{9, time.Minute, time.Minute, time.Minute},
	}
	for _, tt := range tests {
		for range 100 {
			if got := device.DefaultBackoff(tt.attempt, tt.hint); got < tt.min || got > tt.max {
				t.Errorf("DefaultBackoff(%d, %v) = %v, want within [%v, %v]", tt.attempt, tt.hint, got, tt.min, tt.max)
				break
			}
		}
	}
}

func TestSenderStoppedByContext(t *testing.T) {
	// The drainer ends with the context given to Start; Flush says so
	// rather than waiting for ever.
	e := newEnv(t)
	s := e.open(t, e.options())
	ctx, cancel := context.WithCancel(t.Context())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	record(t, s, 1)
	e.tr.next(t) // never answered
	cancel()
	if err := s.Flush(t.Context()); !errors.Is(err, device.ErrStopped) {
		t.Errorf("Flush after Start's context ended = %v, want %v", err, device.ErrStopped)
	}
	if got := s.Stats().Outbox; got != 1 {
		t.Errorf("outbox holds %d readings, want the one kept", got)
	}
}
