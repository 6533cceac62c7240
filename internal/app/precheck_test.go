package app_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/verdict"
)

// TestPrecheck: one call answers every rule that committed state decides,
// in the order block execution applies them (a resend before the device
// rules, the device rules before seq_reused), and queues the rest; it
// hands back what Batch needs and the chain's rate limit.
func TestPrecheck(t *testing.T) {
	c := newChain(t, func(p *state.Params) { p.DeviceRatePerS, p.DeviceBurst = 7, 9 })
	id := c.register(alice, sensor)
	gone := c.register(alice, meter)
	first := c.reading(sensor, "", 1, c.nowMs())
	o := c.sendOne(first)
	wantOutcome(t, "first reading", o, app.CodeOK)
	c.mustOK(c.revokeTx(alice, gone, c.nonce(alice)))

	forged := c.reading(sensor, "", 2, c.nowMs())
	forged[len(forged)-1] ^= 1
	reused := c.reading(sensor, "", 1, c.nowMs()+1) // other data under the committed seq 1
	reusedForged := bytes.Clone(reused)
	reusedForged[len(reusedForged)-1] ^= 1
	fresh := c.reading(sensor, "", 2, c.nowMs())
	cases := []struct {
		name   string
		raw    []byte
		want   verdict.Verdict
		detail string // a part of the detail
	}{
		{"new", fresh, verdict.Verdict{Device: id, Seq: 2, Status: verdict.Pending}, ""},
		{"resend", first, verdict.Verdict{Device: id, Seq: 1, Status: verdict.Duplicate, Code: verdict.CodeDuplicate, Index: o.Index, Height: o.Height},
			fmt.Sprintf("device %s seq 1 was committed at log index %d in block %d", id, o.Index, o.Height)},
		{"seq reused", reused, verdict.Verdict{Device: id, Seq: 1, Status: verdict.Rejected, Code: verdict.CodeSeqReused, Index: o.Index, Height: o.Height},
			verdict.SeqReusedDetail(id, 1, o.Index, o.Height)},
		{"seq reused, forged", reusedForged, verdict.Verdict{Device: id, Seq: 1, Status: verdict.Rejected, Code: verdict.CodeBadSignature}, "signature does not verify"},
		{"bad signature", forged, verdict.Verdict{Device: id, Seq: 2, Status: verdict.Rejected, Code: verdict.CodeBadSignature}, "seq 2"},
		{"unregistered", c.reading(spare, "", 1, c.nowMs()), verdict.Verdict{Device: deviceID(spare), Seq: 1, Status: verdict.Rejected, Code: verdict.CodeUnregisteredDevice}, "register it"},
		{"revoked", c.reading(meter, "", 1, c.nowMs()), verdict.Verdict{Device: gone, Seq: 1, Status: verdict.Rejected, Code: verdict.CodeRevokedDevice}, "revoked"},
		{"malformed", []byte("not a reading"), verdict.Verdict{Status: verdict.Rejected, Code: verdict.CodeMalformedReading}, "COSE_Sign1"},
		{"too large", bytes.Repeat([]byte{0xd2}, 5000), verdict.Verdict{Status: verdict.Rejected, Code: verdict.CodeReadingTooLarge}, "5000 bytes"},
	}
	raws := make([][]byte, len(cases))
	for i, tt := range cases {
		raws[i] = tt.raw
	}
	out := make([]verdict.Verdict, len(raws))
	checked := c.app.Precheck(raws, out)
	if checked.Err != nil {
		t.Errorf("Precheck: store error %v", checked.Err)
	}
	if checked.RatePerS != 7 || checked.Burst != 9 {
		t.Errorf("Precheck gave the rate limit %d/s (burst %d), want the chain's 7/s (burst 9)", checked.RatePerS, checked.Burst)
	}
	if len(checked.Readings) != len(raws) {
		t.Fatalf("Precheck gave %d readings for %d", len(checked.Readings), len(raws))
	}
	for i, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(out[i], tt.want, cmpopts.IgnoreFields(verdict.Verdict{}, "Detail")); d != "" {
				t.Errorf("verdict (-got +want):\n%s", d)
			}
			if !strings.Contains(out[i].Detail, tt.detail) {
				t.Errorf("detail %q does not say %q", out[i].Detail, tt.detail)
			}
			if h := checked.Readings[i].Hash(); h != sha256.Sum256(tt.raw) {
				t.Errorf("Hash %x, want the SHA-256 of the reading", h[:4])
			}
		})
	}

	// The reading it queued goes into a batch that CheckTx takes and the
	// block commits.
	batch := c.app.Batch(checked.Readings[:1])
	if r := c.checkTx(batch); r.Code != 0 {
		t.Fatalf("CheckTx of the batch: code %d %q", r.Code, r.Log)
	}
	c.block(batch)
	wantOutcome(t, "the queued reading", c.obs.outcomesAt(c.height)[0], app.CodeOK)
	// Now committed, it is a resend.
	checked = c.app.Precheck([][]byte{fresh}, out[:1])
	if out[0].Status != verdict.Duplicate || out[0].Height != c.height {
		t.Errorf("after its block: %+v, want a duplicate of block %d", out[0], c.height)
	}
}

// TestPrecheckVerifiesOnce: the signatures Precheck verified are not
// verified again by CheckTx and the block of the batch built from them.
func TestPrecheckVerifiesOnce(t *testing.T) {
	c := newChain(t)
	c.register(alice, sensor)
	raws := [][]byte{c.reading(sensor, "", 1, c.nowMs()), c.reading(sensor, "", 2, c.nowMs())}
	before := c.obs.verified()
	checked := c.app.Precheck(raws, make([]verdict.Verdict, len(raws)))
	if got := c.obs.verified() - before; got != len(raws) {
		t.Fatalf("Precheck verified %d signatures, want %d", got, len(raws))
	}
	batch := c.app.Batch(checked.Readings)
	if r := c.checkTx(batch); r.Code != 0 {
		t.Fatalf("CheckTx: code %d %q", r.Code, r.Log)
	}
	c.block(batch)
	if got := c.obs.verified() - before; got != len(raws) {
		t.Errorf("%d signatures verified from Precheck to commit, want %d: each once", got, len(raws))
	}
}
