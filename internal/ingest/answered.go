package ingest

import "github.com/iotledger/iotledger/verdict"

// OnAnswered has f told of each reading ingest answers itself, without a
// block: refused or found a duplicate at Submit (decoding, the device
// rules, the rate limit, a reading committed before), or refused by
// CheckTx when sent alone. What becomes of a reading in a block comes
// through the app's Observer instead, so the two together count each
// reading once. A call answered ErrBusy reports nothing (its readings are
// sent again). The node counts them for /metrics. Call it before Start;
// f must not block.
func (in *Ingest) OnAnswered(f func(verdict.Verdict)) { in.answered = f }

func (in *Ingest) answer(r verdict.Verdict) {
	if in.answered != nil {
		in.answered(r)
	}
}
