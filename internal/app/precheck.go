package app

import (
	"fmt"

	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/verdict"
)

// Checked is what Precheck learned of a call's readings besides their
// verdicts.
type Checked struct {
	// Readings are the call's readings as decoded, in its order: Batch
	// takes those ingest queues (Hash matches each to its Outcome).
	Readings []Decoded
	// RatePerS and Burst are the chain's per-device rate limit
	// (params.device_rate_per_s and device_burst; a rate of 0: none),
	// which ingest applies early, on the wall clock.
	RatePerS, Burst int64
	// Err is a store read that failed while looking for a reading among
	// the committed ones; the readings it concerned were checked as new
	// (block execution applies the rule again). For the log.
	Err error
}

// Precheck looks at a call's readings once, for ingest: it decodes raws
// and verifies them in bulk, over all cores (what verifies fills the
// verify cache, so CheckTx and the block do not verify them again), then
// applies to each the rules committed state decides, and writes its
// verdict into out[i] (len(out) must be len(raws)):
//
//   - a reading that does not decode: Rejected, malformed_reading or
//     reading_too_large, with no device or seq;
//   - the same bytes as a committed (device, seq): Duplicate, with the
//     original's index and block;
//   - a device that is not registered, revoked or quarantined, or a
//     signature that does not verify with the device's current key:
//     Rejected with that rule's code;
//   - other bytes, signed by the device, under a committed (device, seq):
//     Rejected seq_reused, with the original's index and block;
//   - sealed under an epoch before the device's current one: Rejected
//     stale_epoch, naming the current epoch;
//   - anything else: Pending, to be queued. The rules of the block (the
//     time window, the rate limit on block time, a seq taken by an earlier
//     reading in flight, a sealed epoch's key announced, a private field
//     in clear) are applied when it executes.
//
// It reads committed state only and is safe to call from any goroutine.
func (a *App) Precheck(raws [][]byte, out []verdict.Verdict) Checked {
	kv := a.committed()
	dec := a.decodeAll(raws)
	devices := a.verifyDevices(kv, dec)
	p := a.Meta().Params
	c := Checked{Readings: dec, RatePerS: p.DeviceRatePerS, Burst: p.DeviceBurst}
	for i := range dec {
		out[i] = a.precheck(kv, &dec[i], devices, &c)
	}
	return c
}

// precheck applies the rules of committed state to one decoded reading.
func (a *App) precheck(kv state.KV, d *Decoded, devices map[string]deviceRead, c *Checked) verdict.Verdict {
	s := d.s
	if s == nil {
		return verdict.Verdict{Status: verdict.Rejected, Code: readingCode(d.err), Detail: d.err.Error()}
	}
	v := verdict.Verdict{Device: s.Device, Seq: s.Seq, Status: verdict.Pending}
	prev, err := a.committedSeq(kv, s.Device, s.Seq)
	same := false
	if err == nil && prev != nil {
		same, err = sameReading(a.log.Leaf, prev.Index, d.raw)
	}
	if err != nil {
		c.Err, prev = err, nil // checked as new: the block decides
	}
	if same {
		v.Status, v.Code, v.Index, v.Height = verdict.Duplicate, verdict.CodeDuplicate, prev.Index, prev.Height
		v.Detail = fmt.Sprintf("device %s seq %d was committed at log index %d in block %d", s.Device, s.Seq, prev.Index, prev.Height)
		return v
	}
	dr := devices[s.Device]
	if dr.err != nil {
		v.Status, v.Code, v.Detail = verdict.Rejected, verdict.CodeMalformedTx, dr.err.Error()
		return v
	}
	if f := a.checkReading(*d, dr.dev); f != nil {
		v.Status, v.Code, v.Detail = verdict.Rejected, f.code, f.msg
		return v
	}
	if sl := s.Sealed; sl != nil && prev == nil && sl.Epoch < dr.dev.StreamEpoch {
		// Sealed under an epoch the device has left: epochs only move on,
		// so the block would refuse it too. (Whether the current epoch's
		// key is announced, or a field is in clear, the block decides: a
		// transaction ahead of the reading may change it.)
		f, err := checkPrivate(kv, s, dr.dev)
		if err != nil {
			c.Err = err
		} else if f != nil {
			v.Status, v.Code, v.Detail = verdict.Rejected, f.code, f.msg
			return v
		}
	}
	if prev != nil {
		// Other bytes under a committed seq, signed by the device: new
		// data the ledger cannot store, not a resend (the block would
		// answer the same).
		v.Status, v.Code, v.Index, v.Height = verdict.Rejected, verdict.CodeSeqReused, prev.Index, prev.Height
		v.Detail = verdict.SeqReusedDetail(s.Device, s.Seq, prev.Index, prev.Height)
	}
	return v
}

// committedSeq looks (device id, seq) up among the committed readings.
func (a *App) committedSeq(kv state.KV, id string, seq uint64) (*state.SeqEntry, error) {
	p, err := a.kv.SharedProgress(id) // decoded once and shared: not to be changed
	if err != nil {
		return nil, err
	}
	return state.FindSeq(kv, p, id, seq)
}
