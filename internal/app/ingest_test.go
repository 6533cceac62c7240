package app_test

import (
	"bytes"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

func TestQueryAccount(t *testing.T) {
	c := newChain(t)
	c.register(alice, sensor)
	for _, tt := range []struct {
		who  string
		want uint64
	}{{accountID(alice), 1}, {accountID(bob), 0}} {
		res, err := c.app.Query(t.Context(), &abci.QueryRequest{Path: "/accounts/" + tt.who})
		if err != nil || res.Code != 0 {
			t.Fatalf("Query %s: %v, code %d %q", tt.who, err, res.GetCode(), res.GetLog())
		}
		var a state.Account
		if err := json.Unmarshal(res.Value, &a); err != nil {
			t.Fatal(err)
		}
		if a.Address != tt.who || a.Nonce != tt.want || res.Height != c.height {
			t.Errorf("Query %s: %+v at height %d; want nonce %d at %d", tt.who, a, res.Height, tt.want, c.height)
		}
	}
	res, err := c.app.Query(t.Context(), &abci.QueryRequest{Path: "/nowhere"})
	if err != nil || res.Code == 0 {
		t.Errorf("Query of an unknown path: %v, %+v; want a non-zero code", err, res)
	}
}

// A batch ingest built with Batch executes exactly as the same bytes from
// anywhere else: the verified-transaction cache changes speed, never a
// result, even when the device's key changed in between.
func TestBatchCacheChangesNoResult(t *testing.T) {
	type run struct {
		hashes   map[int64][]byte
		outcomes [][]app.Outcome
	}
	play := func(cached bool) run {
		c := newChain(t)
		id := c.register(alice, sensor)
		c.register(alice, spare)
		bad := c.reading(spare, "", 1, c.nowMs()+1)
		bad[len(bad)-1] ^= 1
		first := [][]byte{c.reading(sensor, "", 1, c.nowMs()+1), bad, c.reading(sensor, "", 2, c.nowMs()+1)}
		second := [][]byte{c.reading(sensor, "", 3, c.nowMs()+2), c.reading(spare, "", 2, c.nowMs()+2)}
		batch := func(raws [][]byte) []byte {
			want := tx.NewBatch(raws)
			if !cached {
				return want
			}
			got := c.app.Batch(c.app.Precheck(raws, make([]verdict.Verdict, len(raws))).Readings)
			if !bytes.Equal(got, want) {
				t.Fatalf("Batch encodes % x..., tx.NewBatch % x...", got[:16], want[:16])
			}
			return got
		}
		b1, b2 := batch(first), batch(second)
		if r := c.checkTx(b2); r.Code != 0 {
			t.Fatalf("CheckTx of the second batch: code %d %q", r.Code, r.Log)
		}
		var out run
		c.block(b1)
		out.outcomes = append(out.outcomes, c.obs.outcomesAt(c.height))
		// The sensor's key changes after the second batch was built (and
		// checked): its reading must now be refused as signed by an old key.
		c.mustOK(c.rotateTx(alice, id, key(40), c.nonce(alice)))
		c.block(b2)
		out.outcomes = append(out.outcomes, c.obs.outcomesAt(c.height))
		out.hashes = c.appHashes
		return out
	}
	plain, cached := play(false), play(true)
	if d := cmp.Diff(cached, plain, cmp.AllowUnexported(run{})); d != "" {
		t.Fatalf("a cached batch executes differently (-cached +plain):\n%s", d)
	}
	want := []app.Code{app.CodeOK, app.CodeBadSignature, app.CodeOK}
	for i, o := range cached.outcomes[0] {
		if o.Code != want[i] {
			t.Errorf("first batch, reading %d: %v, want %v", i, o.Code, want[i])
		}
	}
	if got := cached.outcomes[1][0].Code; got != app.CodeKeyRotated {
		t.Errorf("second batch, the rotated sensor's reading: %v, want key_rotated", got)
	}
	if got := cached.outcomes[1][1].Code; got != app.CodeOK {
		t.Errorf("second batch, the other device's reading: %v, want ok", got)
	}
}

// The proposer orders signed transactions by account and nonce, leaves out
// one whose nonce does not follow (for a later block), and puts the
// batches after them; the block it proposes then executes every
// transaction it holds.
func TestPrepareProposalOrdersNonces(t *testing.T) {
	c := newChain(t)
	c.register(alice, sensor)
	n := c.nonce(alice)
	a0, a1, a2 := c.registerTx(alice, key(50), n), c.registerTx(alice, key(51), n+1), c.registerTx(alice, key(52), n+2)
	a4 := c.registerTx(alice, key(54), n+4) // nonce n+3 is missing
	b0 := c.registerTx(bob, key(60), c.nonce(bob))
	stale := c.registerTx(alice, key(61), n-1) // a nonce used already
	batch := tx.NewBatch([][]byte{c.reading(sensor, "", 1, c.nowMs())})
	in := [][]byte{batch, a2, a4, b0, a0, stale, a1}
	res, err := c.app.PrepareProposal(t.Context(), &abci.PrepareProposalRequest{Txs: in, MaxTxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{a0, a1, a2, b0, batch}
	if accountID(bob) < accountID(alice) {
		want = [][]byte{b0, a0, a1, a2, batch}
	}
	if d := cmp.Diff(res.Txs, want); d != "" {
		t.Fatalf("proposal (-got +want):\n%s", d)
	}
	c.mustOK(res.Txs...) // every transaction of the proposal succeeds
	// The left-out one goes in a later block, once its nonce comes.
	a3 := c.registerTx(alice, key(53), n+3)
	res, err = c.app.PrepareProposal(t.Context(), &abci.PrepareProposalRequest{Txs: [][]byte{a4, a3}, MaxTxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(res.Txs, [][]byte{a3, a4}); d != "" {
		t.Fatalf("second proposal (-got +want):\n%s", d)
	}
	// Like CometBFT's default, no more than MaxTxBytes.
	res, err = c.app.PrepareProposal(t.Context(), &abci.PrepareProposalRequest{Txs: [][]byte{a3, a4}, MaxTxBytes: int64(len(a3))})
	if err != nil || len(res.Txs) != 1 {
		t.Fatalf("proposal within %d bytes = %d txs, %v; want the first only", len(a3), len(res.Txs), err)
	}
}
