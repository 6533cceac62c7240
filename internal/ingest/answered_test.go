package ingest_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/verdict"
)

// answers records what OnAnswered reports.
type answers struct {
	mu  sync.Mutex
	got []verdict.Verdict
}

func (a *answers) add(r verdict.Verdict) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, r)
}

func (a *answers) codes() []app.Code {
	a.mu.Lock()
	defer a.mu.Unlock()
	var cs []app.Code
	for _, r := range a.got {
		cs = append(cs, r.Code)
	}
	return cs
}

// TestOnAnsweredAtSubmit: the readings ingest answers itself are reported,
// those that go into a block are not (the block reports them), so the node
// counts each reading once.
func TestOnAnsweredAtSubmit(t *testing.T) {
	l := newLedger(t)
	in := l.ingest(ingest.Config{MaxBatch: 2, MaxDelay: time.Hour, QueueSize: 10})
	var a answers
	in.OnAnswered(a.add)
	in.Start()
	first := l.reading(sensor, 1)
	if _, err := in.Submit(t.Context(), [][]byte{first, l.reading(sensor, 2)}, true); err != nil {
		t.Fatal(err)
	}
	if got := a.codes(); got != nil {
		t.Fatalf("answered %v for readings that went into a block, want nothing", got)
	}
	if _, err := in.Submit(t.Context(), [][]byte{first, l.reading(spare, 1), []byte("not a reading")}, true); err != nil {
		t.Fatal(err)
	}
	want := []app.Code{app.CodeDuplicate, app.CodeUnregisteredDevice, app.CodeMalformedReading}
	if diff := cmp.Diff(a.codes(), want); diff != "" {
		t.Errorf("answered (-got +want):\n%s", diff)
	}
}

// TestOnAnsweredCheckTxRefusal: a reading CheckTx refuses when sent alone
// never reaches a block; it is reported.
func TestOnAnsweredCheckTxRefusal(t *testing.T) {
	l := newLedger(t)
	doomed := l.reading(sensor, 2)
	l.refuse = func(readings [][]byte) (uint32, string) {
		switch {
		case len(readings) > 1:
			return uint32(app.CodeBadSignature), "reading 1: signature does not verify"
		case bytes.Equal(readings[0], doomed):
			return uint32(app.CodeRevokedDevice), "device was revoked by its owner"
		}
		return 0, ""
	}
	in := l.ingest(ingest.Config{MaxBatch: 3, MaxDelay: time.Hour, QueueSize: 10})
	var a answers
	in.OnAnswered(a.add)
	in.Start()
	if _, err := in.Submit(t.Context(), [][]byte{l.reading(sensor, 1), doomed, l.reading(sensor, 3)}, true); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.codes(), []app.Code{app.CodeRevokedDevice}); diff != "" {
		t.Errorf("answered (-got +want):\n%s", diff)
	}
}
