package state_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/state"
)

// memKV is a KV in a map.
type memKV map[string][]byte

func (m memKV) Get(key []byte) ([]byte, error) { return m[string(key)], nil }
func (m memKV) Set(key, value []byte)          { m[string(key)] = value }

const dev = "dev1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq" // Record does not parse ids

// record feeds seqs to Record in order, as the app does for accepted
// readings, and returns the progress as stored.
func record(t *testing.T, kv memKV, seqs ...uint64) *state.Progress {
	t.Helper()
	p, err := state.GetProgress(kv, dev)
	if err != nil {
		t.Fatal(err)
	}
	for i, seq := range seqs {
		if e, _ := state.GetSeq(kv, dev, seq); e != nil {
			t.Fatalf("test feeds seq %d twice", seq)
		}
		state.Record(kv, dev, seq, state.SeqEntry{Index: uint64(i), Height: 7, Time: int64(seq) * 10}, p)
	}
	state.PutProgress(kv, dev, p)
	got, err := state.GetProgress(kv, dev)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

type gaps = []state.Range

func TestRecordGaps(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint64
		want state.Progress
	}{
		{"nothing yet", nil, state.Progress{}},
		{"first reading", []uint64{5}, state.Progress{Count: 1, MinSeq: 5, MaxSeq: 5}},
		{"first reading is seq 0", []uint64{0}, state.Progress{Count: 1}},
		{"in order", []uint64{1, 2, 3}, state.Progress{Count: 3, MinSeq: 1, MaxSeq: 3}},
		{"gap at the top", []uint64{1, 2, 5}, state.Progress{Count: 3, MinSeq: 1, MaxSeq: 5, Gaps: gaps{{3, 4}}}},
		{"two gaps", []uint64{1, 3, 6}, state.Progress{Count: 3, MinSeq: 1, MaxSeq: 6, Gaps: gaps{{2, 2}, {4, 5}}}},
		{"late reading closes a one-seq gap", []uint64{1, 3, 2}, state.Progress{Count: 3, MinSeq: 1, MaxSeq: 3}},
		{"late reading at a gap's start", []uint64{1, 2, 5, 3}, state.Progress{Count: 4, MinSeq: 1, MaxSeq: 5, Gaps: gaps{{4, 4}}}},
		{"late reading at a gap's end", []uint64{1, 2, 5, 4}, state.Progress{Count: 4, MinSeq: 1, MaxSeq: 5, Gaps: gaps{{3, 3}}}},
		{"late reading splits a gap", []uint64{1, 10, 5}, state.Progress{Count: 3, MinSeq: 1, MaxSeq: 10, Gaps: gaps{{2, 4}, {6, 9}}}},
		{"split, then both halves shrink", []uint64{1, 10, 5, 2, 9, 4, 6}, state.Progress{Count: 7, MinSeq: 1, MaxSeq: 10, Gaps: gaps{{3, 3}, {7, 8}}}},
		{"split among other gaps", []uint64{1, 3, 9, 11, 6}, state.Progress{Count: 5, MinSeq: 1, MaxSeq: 11, Gaps: gaps{{2, 2}, {4, 5}, {7, 8}, {10, 10}}}},
		{"every gap closed", []uint64{1, 4, 2, 7, 3, 6, 5}, state.Progress{Count: 7, MinSeq: 1, MaxSeq: 7}},
		{"below MinSeq, adjacent", []uint64{5, 4}, state.Progress{Count: 2, MinSeq: 4, MaxSeq: 5}},
		{"below MinSeq opens a gap", []uint64{5, 2}, state.Progress{Count: 2, MinSeq: 2, MaxSeq: 5, Gaps: gaps{{3, 4}}}},
		{"below MinSeq, before other gaps", []uint64{5, 8, 2}, state.Progress{Count: 3, MinSeq: 2, MaxSeq: 8, Gaps: gaps{{3, 4}, {6, 7}}}},
		{"below MinSeq down to 0", []uint64{3, 0}, state.Progress{Count: 2, MinSeq: 0, MaxSeq: 3, Gaps: gaps{{1, 2}}}},
		{"below MinSeq, then filled", []uint64{5, 2, 3, 4}, state.Progress{Count: 4, MinSeq: 2, MaxSeq: 5}},
		{"largest seq", []uint64{0, math.MaxUint64}, state.Progress{Count: 2, MinSeq: 0, MaxSeq: math.MaxUint64, Gaps: gaps{{1, math.MaxUint64 - 1}}}},
		{"late reading in a huge gap", []uint64{0, math.MaxUint64, 1 << 40}, state.Progress{Count: 3, MinSeq: 0, MaxSeq: math.MaxUint64, Gaps: gaps{{1, 1<<40 - 1}, {1<<40 + 1, math.MaxUint64 - 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv := memKV{}
			got := record(t, kv, tt.seqs...)
			if len(tt.seqs) > 0 {
				tt.want.LastHeight = 7 // the height record gives every entry
			}
			if diff := cmp.Diff(got, &tt.want); diff != "" {
				t.Errorf("progress after %v (-got +want):\n%s", tt.seqs, diff)
			}
			for i, seq := range tt.seqs {
				e, err := state.GetSeq(kv, dev, seq)
				if err != nil {
					t.Fatal(err)
				}
				if want := (state.SeqEntry{Index: uint64(i), Height: 7, Time: int64(seq) * 10}); e == nil || *e != want {
					t.Errorf("GetSeq(%d) = %+v, want %+v", seq, e, want)
				}
			}
		})
	}
}

// checkGaps checks the invariants of a gap list against the seqs recorded:
// gaps are ordered, disjoint, inside [MinSeq, MaxSeq], at most MaxGaps, and
// hold no recorded seq; unless truncated, every unrecorded seq in
// [MinSeq, MaxSeq] is in a gap.
func checkGaps(t *testing.T, p *state.Progress, recorded map[uint64]bool) {
	t.Helper()
	if len(p.Gaps) > state.MaxGaps {
		t.Fatalf("%d gaps, at most %d may be kept", len(p.Gaps), state.MaxGaps)
	}
	inGap := map[uint64]bool{}
	for i, g := range p.Gaps {
		if g.From > g.To || g.From <= p.MinSeq || g.To >= p.MaxSeq {
			t.Fatalf("gap %d %v is empty or outside (%d, %d)", i, g, p.MinSeq, p.MaxSeq)
		}
		if i > 0 && g.From <= p.Gaps[i-1].To+1 {
			t.Fatalf("gap %d %v does not follow gap %v with a recorded seq between", i, g, p.Gaps[i-1])
		}
		for s := g.From; s <= g.To; s++ {
			if recorded[s] {
				t.Fatalf("gap %v holds recorded seq %d", g, s)
			}
			inGap[s] = true
		}
	}
	// Seen must give the index's answer whenever it claims to know.
	for s := range p.MaxSeq + 3 {
		seen, known := p.Seen(s)
		if !known {
			if !p.GapsTruncated || s < p.MinSeq || s > p.MaxSeq {
				t.Fatalf("Seen(%d) does not know; only seqs inside a truncated gap list may be unknown", s)
			}
			continue
		}
		if seen != recorded[s] {
			t.Fatalf("Seen(%d) = %v, recorded %v; gaps %v", s, seen, recorded[s], p.Gaps)
		}
	}
	if p.GapsTruncated {
		return
	}
	for s := p.MinSeq; s <= p.MaxSeq; s++ {
		if !recorded[s] && !inGap[s] {
			t.Fatalf("seq %d is neither recorded nor in a gap; gaps %v", s, p.Gaps)
		}
	}
}

func TestRecordRandomOrder(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 1))
		seqs := r.Perm(40)[:10+r.IntN(30)]
		kv := memKV{}
		p := &state.Progress{}
		recorded := map[uint64]bool{}
		for _, s := range seqs {
			seq := uint64(s)
			state.Record(kv, dev, seq, state.SeqEntry{}, p)
			recorded[seq] = true
			checkGaps(t, p, recorded)
		}
		if p.Count != uint64(len(seqs)) || p.GapsTruncated {
			t.Fatalf("seed %d: count %d truncated %v after %d seqs", seed, p.Count, p.GapsTruncated, len(seqs))
		}
	}
}

func TestRecordMaxGaps(t *testing.T) {
	const n = state.MaxGaps + 5
	tests := []struct {
		name string
		seqs func() []uint64
	}{
		{"gaps opened at the top", func() []uint64 {
			var s []uint64
			for i := range uint64(n + 1) {
				s = append(s, 2*i) // 0, 2, 4, ...: a one-seq gap after each
			}
			return s
		}},
		{"gaps split in the middle", func() []uint64 {
			s := []uint64{0, 4 * n}
			for i := uint64(1); i <= n; i++ {
				s = append(s, 2*i) // each splits the gap above the previous one
			}
			return s
		}},
		{"gaps opened below MinSeq", func() []uint64 {
			var s []uint64
			for i := uint64(0); i <= n; i++ {
				s = append(s, 4*n-2*i) // descending by 2
			}
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv := memKV{}
			p := &state.Progress{}
			recorded := map[uint64]bool{}
			for _, seq := range tt.seqs() {
				state.Record(kv, dev, seq, state.SeqEntry{}, p)
				recorded[seq] = true
				if len(p.Gaps) > state.MaxGaps {
					t.Fatalf("after seq %d: %d gaps, at most %d may be kept", seq, len(p.Gaps), state.MaxGaps)
				}
			}
			checkGaps(t, p, recorded)
			if len(p.Gaps) != state.MaxGaps || !p.GapsTruncated {
				t.Errorf("%d gaps, truncated %v; want %d and true", len(p.Gaps), p.GapsTruncated, state.MaxGaps)
			}
			// The newest (highest) gaps are kept.
			if got, want := p.Gaps[len(p.Gaps)-1].To, p.MaxSeq-1; got != want {
				t.Errorf("highest gap ends at %d, want %d", got, want)
			}
		})
	}
	t.Run("truncated list still closes gaps", func(t *testing.T) {
		kv := memKV{}
		var seqs []uint64
		for i := range uint64(n + 1) {
			seqs = append(seqs, 2*i)
		}
		p := record(t, kv, seqs...)
		last := p.Gaps[len(p.Gaps)-1]
		state.Record(kv, dev, last.From, state.SeqEntry{}, p)
		if len(p.Gaps) != state.MaxGaps-1 || p.Gaps[len(p.Gaps)-1] == last {
			t.Errorf("after filling %v: %d gaps, last %v", last, len(p.Gaps), p.Gaps[len(p.Gaps)-1])
		}
		// A seq in a gap that was dropped from the list changes nothing.
		before := append(gaps(nil), p.Gaps...)
		state.Record(kv, dev, 1, state.SeqEntry{}, p)
		if diff := cmp.Diff(p.Gaps, before); diff != "" {
			t.Errorf("filling a dropped gap changed the list (-got +want):\n%s", diff)
		}
	})
}

func TestRecordsRoundTrip(t *testing.T) {
	kv := memKV{}
	d := &state.Device{ID: dev, Key: make([]byte, 32), Owner: "acc1x", Labels: map[string]string{"a": "b"}, Status: state.StatusActive,
		OldKeys: []state.OldKey{{Key: make([]byte, 32), Until: 3}}, Registered: 1, Updated: 3}
	state.PutDevice(kv, d)
	got, err := state.GetDevice(kv, dev)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, d); diff != "" {
		t.Errorf("device round trip (-got +want):\n%s", diff)
	}
	if d, err := state.GetDevice(kv, "dev1other"); d != nil || err != nil {
		t.Errorf("GetDevice of an unknown id = %v, %v; want nil, nil", d, err)
	}
	kv.Set(state.AccountKey("acc1x"), []byte{0xff})
	if _, err := state.GetAccount(kv, "acc1x"); err == nil {
		t.Error("GetAccount of a corrupt record: no error")
	}
}

// A device's progress keeps its rate-limit bucket from block to block.
func TestProgressRoundTrip(t *testing.T) {
	kv := memKV{}
	p := &state.Progress{Count: 3, MinSeq: 1, MaxSeq: 4, Gaps: []state.Range{{From: 2, To: 2}}, LastHeight: 7,
		Bucket: state.Bucket{Allowance: 995_000, AllowanceMs: 1767225600000}}
	state.PutProgress(kv, dev, p)
	got, err := state.GetProgress(kv, dev)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, p); diff != "" {
		t.Errorf("progress round trip (-got +want):\n%s", diff)
	}
}
