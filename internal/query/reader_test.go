package query_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/internal/query/querytest"
	"github.com/iotledger/iotledger/internal/state"
)

// batchKV writes records into a Pebble batch, as Commit does.
type batchKV struct {
	t *testing.T
	b *pebble.Batch
}

func (k batchKV) Get([]byte) ([]byte, error) { return nil, nil }
func (k batchKV) Set(key, v []byte) {
	if err := k.b.Set(key, v, nil); err != nil {
		k.t.Fatal(err)
	}
}

// store returns a store holding what write wrote, committed.
func store(t *testing.T, write func(kv state.KV)) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := db.NewBatch()
	write(batchKV{t, b})
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	return db
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := dcbor.EncMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Open reads a stopped node's store: its meta, records and history,
// without the app.
func TestOpenReadsAStore(t *testing.T) {
	devs := []string{"dev1a", "dev1b", "dev1c"}
	db := store(t, func(kv state.KV) {
		kv.Set([]byte(state.KeyMeta), encode(t, &state.Meta{ChainID: "c", Height: 3, Contracts: 0}))
		kv.Set(state.BlockKey(3), encode(t, &state.Block{Height: 3, LogSize: 0, Txs: 2}))
		for _, id := range devs {
			state.PutDevice(kv, &state.Device{ID: id, Owner: "acc1o", Status: state.StatusActive, Registered: 1})
		}
		state.PutAccount(kv, &state.Account{Address: "acc1o", Nonce: 3, Balance: 90})
		state.PutPayment(kv, "acc1o", 0, &state.Payment{Height: 1, Amount: 100, Counterparty: state.Genesis, Balance: 100})
		state.PutPayment(kv, "acc1o", 1, &state.Payment{Height: 2, Amount: -10, Counterparty: "dev1a", Balance: 90})
	})
	r, err := query.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Meta(); m.Height != 3 || m.ChainID != "c" || r.Token() != state.DefaultToken {
		t.Errorf("meta %+v, token %q; want height 3 of chain c, token %s", m, r.Token(), state.DefaultToken)
	}
	if b, err := r.Block(3); err != nil || b == nil || b.Txs != 2 {
		t.Errorf("Block(3) = %+v, %v; want the record of 2 txs", b, err)
	}
	if b, err := r.Block(4); err != nil || b != nil {
		t.Errorf("Block(4) = %+v, %v; want none", b, err)
	}

	var got []string
	for after := ""; ; {
		page, err := r.Devices(after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, d := range page {
			got = append(got, d.ID)
		}
		after = page[len(page)-1].ID
	}
	if diff := cmp.Diff(got, devs); diff != "" {
		t.Errorf("devices over pages of 2 (-got +want):\n%s", diff)
	}
	if d, err := r.Device("dev1b"); err != nil || d == nil || d.Owner != "acc1o" {
		t.Errorf("Device(dev1b) = %+v, %v", d, err)
	}
	if d, err := r.Device("dev1z"); err != nil || d != nil {
		t.Errorf("Device(dev1z) = %+v, %v; want none", d, err)
	}

	a, err := r.Account("acc1o")
	if err != nil || a == nil || a.Balance != 90 || a.Nonce != 3 {
		t.Errorf("Account = %+v, %v", a, err)
	}
	first, next, err := r.History("acc1o", nil, 1)
	if err != nil || len(first) != 1 || first[0].Amount != -10 || next == nil {
		t.Fatalf("History page 1 = %+v, next %x, %v; want the newest payment and a cursor", first, next, err)
	}
	second, next, err := r.History("acc1o", next, 1)
	if err != nil || len(second) != 1 || second[0].Counterparty != state.Genesis || next != nil {
		t.Errorf("History page 2 = %+v, next %x, %v; want the genesis allocation, last", second, next, err)
	}
	if s, err := r.Reading("dev1a", 1); err != nil || s != nil {
		t.Errorf("Reading of a device that sent nothing = %+v, %v; want none", s, err)
	}
}

// An empty store opens as the state before block 1.
func TestOpenEmptyStore(t *testing.T) {
	r, err := query.Open(store(t, func(state.KV) {}))
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Meta(); m.Height != 0 || r.Log().Size() != 0 {
		t.Errorf("meta height %d, log size %d; want 0, 0", m.Height, r.Log().Size())
	}
}

// The read side depends neither on block execution nor on the node, the
// API or CometBFT: whatever reads the ledger can use it alone.
func TestReadSideDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/iotledger/iotledger/internal/query").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/iotledger/iotledger/internal/app", "github.com/iotledger/iotledger/internal/node",
			"github.com/iotledger/iotledger/internal/api", "github.com/iotledger/iotledger/internal/ingest", "github.com/cometbft/"} {
			if dep == bad || strings.HasPrefix(dep, bad) && strings.HasSuffix(bad, "/") {
				t.Errorf("package query depends on %s", dep)
			}
		}
	}
}

// TestReadingsWhileCommitting: Commit writes a block's seq records in its
// batch, then moves the log's size; a read between the two sees a seq
// record past the log. The reading is not committed yet to readers: the
// device's list leaves it out and the single read finds nothing, where
// both failed with an internal error before (an HTTP 500 that CI met under
// load in TestFaultByzantineInput).
func TestReadingsWhileCommitting(t *testing.T) {
	s := querytest.New(t, querytest.Options{Devices: 2, Senders: 1, Readings: 3})
	d := s.Devices[0]
	size := s.Reader.LogSize()
	// Seq 9 of device 0, recorded at the next log index, which the log
	// does not hold yet.
	b := s.DB.NewBatch()
	p := &state.Progress{}
	state.Record(batchKV{t, b}, d.ID, 9, state.SeqEntry{Index: size, Height: 9, Time: querytest.GenesisMs}, p)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	got, next, err := s.Reader.Readings(d.ID, query.ReadingRange{From: 1, To: ^uint64(0), Limit: 100})
	if err != nil {
		t.Fatalf("readings while a block commits: %v", err)
	}
	var seqs []uint64
	for _, r := range got {
		seqs = append(seqs, r.Seq)
	}
	if diff := cmp.Diff(seqs, []uint64{1, 2, 4}); diff != "" || next != nil {
		t.Errorf("readings while a block commits: seqs (-got +want):\n%s(next %v)", diff, next)
	}
	r, err := s.Reader.Reading(d.ID, 9)
	if err != nil || r != nil {
		t.Errorf("seq 9 while its block commits: %v, %v; want nothing yet", r, err)
	}
}
