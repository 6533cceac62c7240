package ingest

import (
	"testing"
	"time"

	"github.com/iotledger/iotledger/verdict"
)

// A reading whose transaction the mempool dropped gets no outcome: after
// InFlightTTL a resend queues it again, and sweep forgets it.
func TestLostReadingIsQueuedAgainAfterTTL(t *testing.T) {
	in := &Ingest{waiters: map[[32]byte]*flight{}}
	h := [32]byte{7}
	a := make(chan verdict.Verdict, 1)
	if !in.addWaiter(h, a) {
		t.Fatal("first submission not queued")
	}
	if in.addWaiter(h, make(chan verdict.Verdict, 1)) {
		t.Fatal("a resend while in flight was queued twice")
	}
	in.waiters[h].since = time.Now().Add(-InFlightTTL - time.Second)
	if !in.addWaiter(h, make(chan verdict.Verdict, 1)) {
		t.Fatal("a resend after InFlightTTL was not queued again")
	}

	lost := [32]byte{8}
	in.addWaiter(lost, a)
	in.removeWaiter(lost, a)
	in.sweep(time.Now())
	if in.waiters[lost] == nil {
		t.Fatal("sweep dropped a reading still within InFlightTTL")
	}
	in.sweep(time.Now().Add(InFlightTTL + time.Second))
	if in.waiters[lost] != nil {
		t.Fatal("sweep kept a reading nobody waits for past InFlightTTL")
	}
	if in.waiters[h] == nil {
		t.Fatal("sweep dropped a reading somebody waits for")
	}
}
