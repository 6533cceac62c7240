package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

// ignoreDetail compares results without their human-readable detail, which
// tests check for the facts it must mention.
var ignoreDetail = cmpopts.IgnoreFields(verdict.Verdict{}, "Detail")

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*ingest.Config)
		wantErr string // part of the error; "" means valid
	}{
		{"default", func(*ingest.Config) {}, ""},
		{"batch of one", func(c *ingest.Config) { c.MaxBatch, c.QueueSize = 1, 1 }, ""},
		{"no batch", func(c *ingest.Config) { c.MaxBatch = 0 }, "ingest.max_batch is 0"},
		{"no delay", func(c *ingest.Config) { c.MaxDelay = 0 }, "ingest.max_delay is 0s"},
		{"negative delay", func(c *ingest.Config) { c.MaxDelay = -time.Second }, "ingest.max_delay is -1s"},
		{"queue below batch", func(c *ingest.Config) { c.MaxBatch, c.QueueSize = 10, 9 }, "ingest.queue_size 9 is below max_batch 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ingest.DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate(%+v): %v, want nil", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate(%+v) = %v, want an error containing %q", c, err, tt.wantErr)
			}
		})
	}
}

func TestSubmitAccepted(t *testing.T) {
	l := newLedger(t)
	in := l.ingest(ingest.Config{MaxBatch: 3, MaxDelay: time.Hour, QueueSize: 10})
	in.Start()
	r1, r2, r3 := l.reading(sensor, 1), l.reading(sensor, 2), l.reading(sensor, 3)
	h := l.lastHeight() + 1

	// r1 twice in one call: sent once, both callers answered.
	got, err := in.Submit(t.Context(), [][]byte{r1, r2, r3, r1}, true)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	want := []verdict.Verdict{accepted(1, 0, h), accepted(2, 1, h), accepted(3, 2, h), accepted(1, 0, h)}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("results (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(l.batchSizes(), []int{3}); diff != "" {
		t.Errorf("batch sizes (-got +want):\n%s", diff)
	}
	for seq := uint64(1); seq <= 3; seq++ {
		l.wantCommitted(seq, seq-1, h)
	}
	if n := in.QueueLen(); n != 0 {
		t.Errorf("QueueLen after commit = %d, want 0", n)
	}
}

// TestSubmitDuplicateAnsweredAtOnce: a reading whose (device, seq) is
// committed is answered at once, without a block: duplicate for the same
// bytes, seq_reused for other bytes the device signed.
func TestSubmitDuplicateAnsweredAtOnce(t *testing.T) {
	l := newLedger(t)
	in := l.ingest(ingest.Config{MaxBatch: 1, MaxDelay: time.Hour, QueueSize: 10})
	in.Start()
	first := l.reading(sensor, 1)
	h := l.lastHeight() + 1
	if _, err := in.Submit(t.Context(), [][]byte{first}, true); err != nil {
		t.Fatal(err)
	}
	l.wantCommitted(1, 0, h)
	sent := l.batchSizes()

	// The same bytes; other bytes for the same (device, seq), signed by the
	// device (new data under a used number: seq_reused, not a duplicate);
	// and other bytes signed by another key (bad_signature: only the device
	// can be told it reused a number). The context has ended: an answer
	// that needed the chain would be "pending".
	again := l.readingData(sensor, 1, map[string]any{"temp": 99.0})
	forged := mustSign(t, reading.Reading{Device: deviceID(sensor), Seq: 1, Time: genesisTime.UnixMilli()}, spare)
	got, err := in.Submit(cancelled(t), [][]byte{first, again, forged}, true)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	dup := verdict.Verdict{Device: deviceID(sensor), Seq: 1, Status: "duplicate", Code: app.CodeDuplicate, Index: 0, Height: h}
	reused := verdict.Verdict{Device: deviceID(sensor), Seq: 1, Status: "rejected", Code: app.CodeSeqReused, Index: 0, Height: h}
	bad := verdict.Verdict{Device: deviceID(sensor), Seq: 1, Status: "rejected", Code: app.CodeBadSignature}
	if diff := cmp.Diff(got, []verdict.Verdict{dup, reused, bad}, ignoreDetail); diff != "" {
		t.Errorf("results (-got +want):\n%s", diff)
	}
	for i, r := range got[:2] {
		for _, hint := range []string{deviceID(sensor), "seq 1", "log index 0", fmt.Sprintf("block %d", h)} {
			if !strings.Contains(r.Detail, hint) {
				t.Errorf("result %d: detail %q does not mention %q", i, r.Detail, hint)
			}
		}
	}
	for _, hint := range []string{"other data", "not stored", "/v1/devices/" + deviceID(sensor) + "/readings/1/receipt"} {
		if !strings.Contains(got[1].Detail, hint) {
			t.Errorf("seq_reused detail %q does not mention %q", got[1].Detail, hint)
		}
	}
	if diff := cmp.Diff(l.batchSizes(), sent); diff != "" {
		t.Errorf("a duplicate reached Broadcast: batch sizes (-got +want):\n%s", diff)
	}
	if n := in.QueueLen(); n != 0 {
		t.Errorf("QueueLen = %d, want 0", n)
	}
}

func TestSubmitRejectedAtOnce(t *testing.T) {
	l := newLedger(t)
	// Not started: nothing is ever sent, so every answer comes from Submit's
	// own checks; the context has ended, so nothing waits either.
	in := l.ingest(ingest.Config{MaxBatch: 1, MaxDelay: time.Hour, QueueSize: 10})
	badSig := l.reading(sensor, 5)
	badSig[len(badSig)-1] ^= 1
	tests := []struct {
		name  string
		raw   []byte
		want  verdict.Verdict
		hints []string // facts the detail must mention
	}{
		{
			name:  "bad signature",
			raw:   badSig,
			want:  verdict.Verdict{Device: deviceID(sensor), Seq: 5, Status: "rejected", Code: app.CodeBadSignature},
			hints: []string{deviceID(sensor), "seq 5"},
		},
		{
			name:  "signed by another key",
			raw:   mustSign(t, reading.Reading{Device: deviceID(sensor), Seq: 6, Time: genesisTime.UnixMilli()}, spare),
			want:  verdict.Verdict{Device: deviceID(sensor), Seq: 6, Status: "rejected", Code: app.CodeBadSignature},
			hints: []string{deviceID(sensor), "seq 6"},
		},
		{
			name:  "unregistered device",
			raw:   l.reading(spare, 1),
			want:  verdict.Verdict{Device: deviceID(spare), Seq: 1, Status: "rejected", Code: app.CodeUnregisteredDevice},
			hints: []string{deviceID(spare), "iotledger device register"},
		},
		{
			name:  "revoked device",
			raw:   l.reading(retired, 1),
			want:  verdict.Verdict{Device: deviceID(retired), Seq: 1, Status: "rejected", Code: app.CodeRevokedDevice},
			hints: []string{deviceID(retired), "revoked"},
		},
		{
			name:  "not a reading",
			raw:   []byte("temp=21.5"),
			want:  verdict.Verdict{Status: "rejected", Code: app.CodeMalformedReading},
			hints: []string{"COSE_Sign1"},
		},
		{
			name:  "too large",
			raw:   make([]byte, reading.MaxSize+1),
			want:  verdict.Verdict{Status: "rejected", Code: app.CodeReadingTooLarge},
			hints: []string{"4097 bytes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := in.Submit(cancelled(t), [][]byte{tt.raw}, true)
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			if diff := cmp.Diff(got, []verdict.Verdict{tt.want}, ignoreDetail); diff != "" {
				t.Errorf("result (-got +want):\n%s", diff)
			}
			for _, hint := range tt.hints {
				if !strings.Contains(got[0].Detail, hint) {
					t.Errorf("detail %q does not mention %q", got[0].Detail, hint)
				}
			}
			if n := in.QueueLen(); n != 0 {
				t.Errorf("QueueLen = %d, want 0: a refused reading was queued", n)
			}
		})
	}
}

func mustSign(t *testing.T, r reading.Reading, k []byte) []byte {
	t.Helper()
	raw, err := reading.Sign(r, k)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestSubmitMixed(t *testing.T) {
	// Each reading of one call gets its own answer, in order.
	l := newLedger(t)
	in := l.ingest(ingest.Config{MaxBatch: 2, MaxDelay: time.Hour, QueueSize: 10})
	in.Start()
	h := l.lastHeight() + 1
	got, err := in.Submit(t.Context(), [][]byte{l.reading(sensor, 1), l.reading(spare, 1), l.reading(sensor, 2)}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []verdict.Verdict{
		accepted(1, 0, h),
		{Device: deviceID(spare), Seq: 1, Status: "rejected", Code: app.CodeUnregisteredDevice},
		accepted(2, 1, h),
	}
	if diff := cmp.Diff(got, want, ignoreDetail); diff != "" {
		t.Errorf("results (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(l.batchSizes(), []int{2}); diff != "" {
		t.Errorf("batch sizes (-got +want):\n%s", diff)
	}
}

func TestMaxBatchCutsBatches(t *testing.T) {
	t.Run("full batches go without waiting", func(t *testing.T) {
		// MaxDelay is an hour: only the batch size can cut these.
		l := newLedger(t)
		in := l.ingest(ingest.Config{MaxBatch: 3, MaxDelay: time.Hour, QueueSize: 100})
		in.Start()
		var raws [][]byte
		for seq := uint64(1); seq <= 6; seq++ {
			raws = append(raws, l.reading(sensor, seq))
		}
		h := l.lastHeight() + 1
		got, err := in.Submit(t.Context(), raws, true)
		if err != nil {
			t.Fatal(err)
		}
		want := []verdict.Verdict{
			accepted(1, 0, h), accepted(2, 1, h), accepted(3, 2, h),
			accepted(4, 3, h+1), accepted(5, 4, h+1), accepted(6, 5, h+1),
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("results (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(l.batchSizes(), []int{3, 3}); diff != "" {
			t.Errorf("batch sizes (-got +want):\n%s", diff)
		}
	})
	t.Run("the rest goes after MaxDelay", func(t *testing.T) {
		l := newLedger(t)
		in := l.ingest(ingest.Config{MaxBatch: 3, MaxDelay: 100 * time.Millisecond, QueueSize: 100})
		// Queue all seven before the batcher runs, so it finds them waiting:
		// it takes three at a time without pause (only a stall of MaxDelay
		// between two receives could cut a batch short), and the seventh
		// goes when its MaxDelay is up.
		var raws [][]byte
		for seq := uint64(1); seq <= 7; seq++ {
			raws = append(raws, l.reading(sensor, seq))
		}
		got, err := in.Submit(t.Context(), raws, false)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			if diff := cmp.Diff(r, pending(uint64(i+1))); diff != "" {
				t.Errorf("result %d without wait (-got +want):\n%s", i, diff)
			}
		}
		if n := in.QueueLen(); n != 7 {
			t.Errorf("QueueLen before Start = %d, want 7", n)
		}
		h := l.lastHeight() + 1
		in.Start()
		l.waitReadings(7)
		if diff := cmp.Diff(l.batchSizes(), []int{3, 3, 1}); diff != "" {
			t.Errorf("batch sizes (-got +want):\n%s", diff)
		}
		for seq := uint64(1); seq <= 7; seq++ {
			l.wantCommitted(seq, seq-1, h+int64(seq-1)/3)
		}
	})
}

func TestQueueFull(t *testing.T) {
	l := newLedger(t)
	// Not started until the end: nothing leaves the queue.
	in := l.ingest(ingest.Config{MaxBatch: 1, MaxDelay: time.Hour, QueueSize: 2})
	r1, r2, r3 := l.reading(sensor, 1), l.reading(sensor, 2), l.reading(sensor, 3)

	got, err := in.Submit(t.Context(), [][]byte{r1, r2, r3}, false)
	if !errors.Is(err, ingest.ErrBusy) {
		t.Fatalf("Submit of 3 readings to a queue of 2 = %v, %v; want %v", got, err, ingest.ErrBusy)
	}
	if n := in.QueueLen(); n != 0 {
		t.Errorf("QueueLen after ErrBusy = %d, want 0: part of a refused call was queued", n)
	}

	// A retry that fits is queued in full.
	got, err = in.Submit(t.Context(), [][]byte{r1, r2}, false)
	if err != nil {
		t.Fatalf("Submit of 2 readings to an empty queue of 2: %v", err)
	}
	if diff := cmp.Diff(got, []verdict.Verdict{pending(1), pending(2)}); diff != "" {
		t.Errorf("results (-got +want):\n%s", diff)
	}
	if n := in.QueueLen(); n != 2 {
		t.Errorf("QueueLen = %d, want 2", n)
	}
	if _, err := in.Submit(t.Context(), [][]byte{r3}, false); !errors.Is(err, ingest.ErrBusy) {
		t.Fatalf("Submit to a full queue: %v, want %v", err, ingest.ErrBusy)
	}
	if n := in.QueueLen(); n != 2 {
		t.Errorf("QueueLen after ErrBusy = %d, want 2", n)
	}

	// Once the queue drains, the refused reading goes through.
	h := l.lastHeight() + 1
	in.Start()
	l.waitReadings(2)
	l.wantCommitted(1, 0, h)
	l.wantCommitted(2, 1, h+1)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err = in.Submit(ctx, [][]byte{r3}, true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []verdict.Verdict{accepted(3, 2, h+2)}); diff != "" {
		t.Errorf("retry after ErrBusy (-got +want):\n%s", diff)
	}
}

// TestMempoolFullPausesBatching: while the mempool is over its bound the
// batcher sends nothing, the queue fills and Submit answers ErrBusy; the
// next committed block lets it go on.
func TestMempoolFullPausesBatching(t *testing.T) {
	l := newLedger(t)
	in := l.ingest(ingest.Config{MaxBatch: 1, MaxDelay: time.Hour, QueueSize: 2, MaxMempoolBytes: 100})
	var full atomic.Bool
	full.Store(true)
	asked := make(chan struct{}, 1)
	in.WatchMempool(func() int64 {
		select {
		case asked <- struct{}{}:
		default:
		}
		if full.Load() {
			return 100
		}
		return 99
	})
	in.Start()
	r1, r2, r3, r4 := l.reading(sensor, 1), l.reading(sensor, 2), l.reading(sensor, 3), l.reading(sensor, 4)
	if _, err := in.Submit(t.Context(), [][]byte{r1}, false); err != nil {
		t.Fatal(err)
	}
	<-asked // the batcher holds r1 and found the mempool full
	if _, err := in.Submit(t.Context(), [][]byte{r2, r3}, false); err != nil {
		t.Fatalf("Submit into the queue's free places: %v", err)
	}
	if _, err := in.Submit(t.Context(), [][]byte{r4}, false); !errors.Is(err, ingest.ErrBusy) {
		t.Fatalf("Submit while the mempool is full and the queue too: %v, want %v", err, ingest.ErrBusy)
	}
	if got := l.batchSizes(); len(got) != 0 {
		t.Fatalf("batches %v were sent while the mempool was full", got)
	}
	full.Store(false)
	in.Committed(nil) // a block: the batcher looks again
	l.waitReadings(3)
	if diff := cmp.Diff(l.batchSizes(), []int{1, 1, 1}); diff != "" {
		t.Errorf("batch sizes after the block (-got +want):\n%s", diff)
	}
}

// While the mempool takes nothing (the node catches up, or its mempool is
// full), the batcher keeps the batch and tries again: nothing queued is
// dropped or answered "pending", and the batch goes whole once it can.
func TestBatchWaitsWhileTheMempoolTakesNothing(t *testing.T) {
	l := newLedger(t)
	var tries atomic.Int32
	l.notNow = func() error {
		if tries.Add(1) <= 3 {
			return fmt.Errorf("%w: endpoint is closed while node is catching up", ingest.ErrNotNow)
		}
		return nil
	}
	in := l.ingest(ingest.Config{MaxBatch: 2, MaxDelay: time.Hour, QueueSize: 10})
	in.Start()
	h := l.lastHeight() + 1
	got, err := in.Submit(t.Context(), [][]byte{l.reading(sensor, 1), l.reading(sensor, 2)}, true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []verdict.Verdict{accepted(1, 0, h), accepted(2, 1, h)}); diff != "" {
		t.Errorf("results (-got +want):\n%s", diff)
	}
	if n := tries.Load(); n != 4 {
		t.Errorf("%d broadcasts, want 3 refused and 1 taken", n)
	}
	if diff := cmp.Diff(l.batchSizes(), []int{2}); diff != "" {
		t.Errorf("batch sizes (-got +want):\n%s", diff)
	}
}

func TestRefusedBatchSentOneByOne(t *testing.T) {
	l := newLedger(t)
	doomed := l.reading(sensor, 2)
	// CheckTx refuses every batch of more than one reading, as if a reading
	// in it had gone bad since Submit checked it, and refuses doomed alone.
	l.refuse = func(readings [][]byte) (uint32, string) {
		switch {
		case len(readings) > 1:
			return uint32(app.CodeBadSignature), "reading 1: signature does not verify"
		case bytes.Equal(readings[0], doomed):
			return uint32(app.CodeRevokedDevice), "device was revoked by its owner"
		}
		return 0, ""
	}
	in := l.ingest(ingest.Config{MaxBatch: 4, MaxDelay: time.Hour, QueueSize: 10})
	in.Start()
	h := l.lastHeight() + 1
	got, err := in.Submit(t.Context(), [][]byte{l.reading(sensor, 1), doomed, l.reading(sensor, 3), l.reading(sensor, 4)}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []verdict.Verdict{
		accepted(1, 0, h),
		{Device: deviceID(sensor), Seq: 2, Status: "rejected", Code: app.CodeRevokedDevice, Detail: "device was revoked by its owner"},
		accepted(3, 1, h+1),
		accepted(4, 2, h+2),
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("results (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(l.batchSizes(), []int{4, 1, 1, 1, 1}); diff != "" {
		t.Errorf("batch sizes (-got +want):\n%s", diff)
	}
}

func TestSubmitWithoutWait(t *testing.T) {
	l := newLedger(t)
	in := l.ingest(ingest.Config{MaxBatch: 1, MaxDelay: time.Hour, QueueSize: 10})
	in.Start()
	r1 := l.reading(sensor, 1)
	h := l.lastHeight() + 1
	got, err := in.Submit(t.Context(), [][]byte{r1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []verdict.Verdict{pending(1)}); diff != "" {
		t.Errorf("result without wait (-got +want):\n%s", diff)
	}

	// It is still sent and committed; asking again finds it.
	l.waitReadings(1)
	l.wantCommitted(1, 0, h)
	got, err = in.Submit(t.Context(), [][]byte{r1}, true)
	if err != nil {
		t.Fatal(err)
	}
	dup := verdict.Verdict{Device: deviceID(sensor), Seq: 1, Status: "duplicate", Code: app.CodeDuplicate, Index: 0, Height: h}
	if diff := cmp.Diff(got, []verdict.Verdict{dup}, ignoreDetail); diff != "" {
		t.Errorf("result of the resend (-got +want):\n%s", diff)
	}
}

func TestSubmitContextEnds(t *testing.T) {
	tests := []struct {
		name string
		ctx  func(t *testing.T) context.Context
	}{
		{"ended before", cancelled},
		{"ends while waiting", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(t)
			// Not started: nothing is committed while Submit waits.
			in := l.ingest(ingest.Config{MaxBatch: 1, MaxDelay: time.Hour, QueueSize: 10})
			r1 := l.reading(sensor, 1)
			got, err := in.Submit(tt.ctx(t), [][]byte{r1}, true)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, []verdict.Verdict{pending(1)}); diff != "" {
				t.Errorf("result (-got +want):\n%s", diff)
			}

			// The reading stays queued, once, however often it is sent again.
			if _, err := in.Submit(t.Context(), [][]byte{r1, r1}, false); err != nil {
				t.Fatal(err)
			}
			if n := in.QueueLen(); n != 1 {
				t.Errorf("QueueLen = %d, want 1", n)
			}
			h := l.lastHeight() + 1
			in.Start()
			l.waitReadings(1)
			l.wantCommitted(1, 0, h)
			if diff := cmp.Diff(l.batchSizes(), []int{1}); diff != "" {
				t.Errorf("batch sizes (-got +want):\n%s", diff)
			}
		})
	}
}

func TestCloseAnswersPending(t *testing.T) {
	l := newLedger(t)
	// A mempool that never answers until ingest gives up on it.
	entered := make(chan int, 10)
	hang := func(ctx context.Context, raw []byte) (uint32, string, error) {
		t, err := tx.Decode(raw)
		if err != nil {
			return 0, "", err
		}
		entered <- len(t.Readings)
		<-ctx.Done()
		return 0, "", ctx.Err()
	}
	in := ingest.New(l.app, hang, ingest.Config{MaxBatch: 2, MaxDelay: time.Hour, QueueSize: 10}, slog.New(slog.DiscardHandler))
	in.Start()
	t.Cleanup(in.Close)

	type answer struct {
		rs  []verdict.Verdict
		err error
	}
	done := make(chan answer, 1)
	go func() {
		rs, err := in.Submit(t.Context(), [][]byte{l.reading(sensor, 1), l.reading(sensor, 2), l.reading(sensor, 3)}, true)
		done <- answer{rs, err}
	}()
	// Seq 1 and 2 are in Broadcast; seq 3 waits in the queue behind them.
	select {
	case n := <-entered:
		if n != 2 {
			t.Fatalf("first broadcast holds %d readings, want 2", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no broadcast within 10s")
	}
	in.Close()

	select {
	case a := <-done:
		if a.err != nil {
			t.Fatal(a.err)
		}
		if diff := cmp.Diff(a.rs, []verdict.Verdict{pending(1), pending(2), pending(3)}, ignoreDetail); diff != "" {
			t.Errorf("results after Close (-got +want):\n%s", diff)
		}
		for i, r := range a.rs[:2] {
			if !strings.Contains(r.Detail, "could not reach the mempool") {
				t.Errorf("result %d: detail %q, want it to say the mempool was not reached", i, r.Detail)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Submit still waiting 10s after Close")
	}
}

func TestConcurrentSubmitters(t *testing.T) {
	l := newLedger(t)
	in := l.ingest(ingest.Config{MaxBatch: 8, MaxDelay: 5 * time.Millisecond, QueueSize: 100})
	in.Start()
	const submitters, each = 4, 10
	results := make([][]verdict.Verdict, submitters)
	errs := make([]error, submitters)
	var wg sync.WaitGroup
	for g := range submitters {
		raws := make([][]byte, each)
		for i := range raws {
			raws[i] = l.reading(sensor, uint64(g*each+i+1))
		}
		wg.Go(func() { results[g], errs[g] = in.Submit(t.Context(), raws, true) })
	}
	wg.Wait()
	seen := map[uint64]uint64{} // log index -> seq
	for g := range submitters {
		if errs[g] != nil {
			t.Fatalf("submitter %d: %v", g, errs[g])
		}
		for i, r := range results[g] {
			seq := uint64(g*each + i + 1)
			if r.Status != "accepted" || r.Seq != seq {
				t.Errorf("submitter %d reading %d: %+v, want seq %d accepted", g, i, r, seq)
				continue
			}
			if other, ok := seen[r.Index]; ok {
				t.Errorf("seq %d and %d both got log index %d", seq, other, r.Index)
			}
			seen[r.Index] = seq
			l.wantCommitted(seq, r.Index, r.Height)
		}
	}
	if got, want := len(seen), submitters*each; got != want {
		t.Errorf("%d distinct log indexes, want %d", got, want)
	}
}

// A device flooding faster than the chain's rate limit is refused at ingest,
// before its readings take mempool or block space.
func TestSubmitRateLimitedEarly(t *testing.T) {
	l := newLedger(t, func(p *state.Params) { p.DeviceRatePerS, p.DeviceBurst = 1, 2 })
	in := l.ingest(ingest.Config{MaxBatch: 10, MaxDelay: time.Hour, QueueSize: 100})
	in.Start()
	var raws [][]byte
	for seq := uint64(1); seq <= 4; seq++ {
		raws = append(raws, l.reading(sensor, seq))
	}
	rs, err := in.Submit(t.Context(), raws, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		limited := r.Status == "rejected" && r.Code == app.CodeRateLimited
		if want := i >= 2; limited != want {
			t.Errorf("reading %d: %s %s %q; rate limited: got %v, want %v", i+1, r.Status, r.Code, r.Detail, limited, want)
		}
		if limited && !strings.Contains(r.Detail, "1 readings a second (burst 2)") {
			t.Errorf("reading %d: detail %q does not name the limit", i+1, r.Detail)
		}
	}
}

// TestSubmitWhileHalted: while the node reports its consensus halted,
// Submit returns that HaltedError and takes nothing of the call (nothing
// queued, in flight or broadcast), with or without wait; once the halt
// clears, the same readings go through.
func TestSubmitWhileHalted(t *testing.T) {
	l := newLedger(t)
	in := l.ingest(ingest.Config{MaxBatch: 1, MaxDelay: time.Millisecond, QueueSize: 10})
	var halt atomic.Pointer[ingest.HaltedError]
	in.WatchHalt(halt.Load)
	in.Start()
	want := &ingest.HaltedError{Since: genesisTime, Reason: "consensus failure: disk full; free space, then restart the node"}
	halt.Store(want)
	r1, r2 := l.reading(sensor, 1), l.reading(sensor, 2)
	for _, wait := range []bool{false, true} {
		got, err := in.Submit(t.Context(), [][]byte{r1, r2}, wait)
		var h *ingest.HaltedError
		if !errors.As(err, &h) || h != want {
			t.Fatalf("Submit(wait=%v) while halted = %v, %v; want %v", wait, got, err, want)
		}
		if got != nil {
			t.Errorf("Submit(wait=%v) while halted returned results %v with its error", wait, got)
		}
	}
	if q, f := in.QueueLen(), in.InFlight(); q != 0 || f != 0 {
		t.Errorf("after Submit while halted: %d queued, %d in flight; want none", q, f)
	}
	if b := l.batchSizes(); len(b) != 0 {
		t.Errorf("batches broadcast while halted: %v", b)
	}
	if msg := want.Error(); !strings.Contains(msg, "2025-03-14T09:26:53Z") || !strings.Contains(msg, want.Reason) {
		t.Errorf("HaltedError text %q lacks the time or the reason", msg)
	}

	halt.Store(nil)
	h := l.lastHeight() + 1
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := in.Submit(ctx, [][]byte{r1, r2}, true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []verdict.Verdict{accepted(1, 0, h), accepted(2, 1, h+1)}); diff != "" {
		t.Errorf("after the halt cleared (-got +want):\n%s", diff)
	}
}
