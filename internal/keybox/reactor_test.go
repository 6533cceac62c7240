package keybox_test

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	gogotypes "github.com/cosmos/gogoproto/types"

	"github.com/iotledger/iotledger/internal/keybox"
	"github.com/iotledger/iotledger/internal/keybox/keyboxtest"
)

// net is nodes whose key boxes' reactors are connected by CometBFT's own
// switches (over net.Pipe), each with a ledger of its own.
type net struct {
	ledgers  []*keyboxtest.Ledger
	boxes    []*keybox.Box
	reactors []*keybox.Reactor
	switches []*p2p.Switch
	logs     []*logBuffer
}

func newNet(t *testing.T, n int, opts keybox.ReactorOptions) *net {
	t.Helper()
	nt := &net{}
	for i := 0; i < n; i++ {
		l := keyboxtest.NewLedger()
		b, logs := open(t, t.TempDir(), l, keybox.Options{})
		nt.ledgers, nt.boxes, nt.logs = append(nt.ledgers, l), append(nt.boxes, b), append(nt.logs, logs)
		nt.reactors = append(nt.reactors, keybox.NewReactor(b, l, slog.New(slog.NewTextHandler(logs, nil)), opts))
	}
	nt.switches = p2p.MakeConnectedSwitches(config.DefaultP2PConfig(), n, func(i int, sw *p2p.Switch) *p2p.Switch {
		sw.AddReactor("KEYBOX", nt.reactors[i])
		return sw
	}, p2p.Connect2Switches)
	t.Cleanup(func() {
		for _, sw := range nt.switches {
			sw.Stop()
		}
	})
	return nt
}

// commit records a slot's commitment on the given nodes' ledgers.
func (nt *net) commit(s keybox.Slot, wrapped []byte, h int64, nodes ...int) {
	for _, i := range nodes {
		nt.ledgers[i].Commit(s, wrapped, h)
	}
}

// mustGet returns node i's wrapped key of s.
func (nt *net) mustGet(t *testing.T, i int, s keybox.Slot) []byte {
	t.Helper()
	k, err := nt.boxes[i].Get(s)
	if err != nil {
		t.Fatal(err)
	}
	return k.Wrapped
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not waiting for one
	}
}

func TestReactorPassesKeys(t *testing.T) {
	nt := newNet(t, 3, keybox.ReactorOptions{ScanEvery: time.Hour})
	s := slot(1, owner)
	w := keyboxtest.Wrap(t, s, true)
	nt.commit(s, w, 3, 0, 1, 2)
	if o, err := nt.boxes[0].Put(s, w); err != nil || o != keybox.Stored {
		t.Fatalf("Put: %v, %v", o, err)
	}
	for i := 1; i < 3; i++ {
		eventually(t, "node's key box has the key", func() bool { return nt.boxes[i].Has(s) })
		k, err := nt.boxes[i].Get(s)
		if err != nil || !bytes.Equal(k.Wrapped, w) {
			t.Errorf("node %d: Get %v; want the key node 0 took", i, err)
		}
	}
	if st := nt.reactors[0].Stats(); st.KeysSent < 2 {
		t.Errorf("node 0 sent %d keys; want one to each peer", st.KeysSent)
	}
}

func TestReactorRefusesKeysWithoutCommitment(t *testing.T) {
	nt := newNet(t, 2, keybox.ReactorOptions{ScanEvery: time.Hour})
	// Node 1's ledger knows the epoch, without this recipient's commitment.
	s := slot(1, owner)
	w := keyboxtest.Wrap(t, s, false)
	nt.commit(s, w, 3, 0)
	nt.ledgers[1].Start(dev, 1, owner)
	// And a commitment that differs from the key node 0 sends.
	s2 := slot(2, owner)
	w2 := keyboxtest.Wrap(t, s2, false)
	nt.commit(s2, w2, 4, 0)
	nt.commit(s2, keyboxtest.Wrap(t, s2, false), 4, 1)

	for _, k := range []struct {
		s keybox.Slot
		w []byte
	}{{s, w}, {s2, w2}} {
		if o, err := nt.boxes[0].Put(k.s, k.w); err != nil || o != keybox.Stored {
			t.Fatalf("Put %v: %v, %v", k.s, o, err)
		}
	}
	eventually(t, "node 1 refused both keys", func() bool { return nt.reactors[1].Stats().KeysRefused == 2 })
	if nt.boxes[1].Has(s) || nt.boxes[1].Has(s2) {
		t.Error("node 1 took a key whose commitment is not on its ledger")
	}
	if c, _ := nt.boxes[1].HeldCount(); c != 0 {
		t.Errorf("node 1 holds %d keys from a peer; want none (a peer's key is never held)", c)
	}
	logs := nt.logs[1].String()
	if !bytes.Contains([]byte(logs), []byte("refused a wrapped key from a peer")) || !bytes.Contains([]byte(logs), []byte("commitment on the ledger")) {
		t.Errorf("node 1's log does not name the refused key:\n%s", logs)
	}
}

// TestReactorAsksForLackingKeys: a node whose ledger commits a commitment
// after a peer sent the key (and it refused it) asks for it after the
// block; and its scan finds a key it lacks with no block to say so.
func TestReactorAsksForLackingKeys(t *testing.T) {
	nt := newNet(t, 2, keybox.ReactorOptions{ScanEvery: time.Hour, ScanSoon: time.Hour})
	s := slot(1, owner)
	w := keyboxtest.Wrap(t, s, false)
	nt.commit(s, w, 3, 0)
	nt.ledgers[1].Start(dev, 1, owner)
	if _, err := nt.boxes[0].Put(s, w); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node 1 refused the key", func() bool { return nt.reactors[1].Stats().KeysRefused == 1 })

	// Node 1 commits the block: it asks its peers, and node 0 answers.
	nt.commit(s, w, 3, 1)
	nt.boxes[1].Apply(keybox.Commit{Height: 3, Committed: []keybox.Span{{Device: dev, From: 1, To: 1}}})
	eventually(t, "node 1 got the key it asked for", func() bool { return nt.boxes[1].Has(s) })
	if st := nt.reactors[1].Stats(); st.WantsSent == 0 {
		t.Errorf("node 1's stats %+v: no want sent", st)
	}
}

func TestReactorScanFindsLackingKeys(t *testing.T) {
	nt := newNet(t, 2, keybox.ReactorOptions{ScanEvery: 50 * time.Millisecond, ScanSoon: 10 * time.Millisecond, ScanEpochs: 2})
	var want []keybox.Slot
	for n := uint64(1); n <= 5; n++ {
		s := slot(n, owner)
		w := keyboxtest.Wrap(t, s, false)
		nt.commit(s, w, int64(n), 0)
		if _, err := nt.boxes[0].Put(s, w); err != nil { // node 1 has no commitment for it yet: refused
			t.Fatal(err)
		}
		want = append(want, s)
	}
	eventually(t, "node 1 refused the keys", func() bool { return nt.reactors[1].Stats().KeysRefused == 5 })
	for i, s := range want {
		nt.commit(s, nt.mustGet(t, 0, s), int64(i+1), 1) // then committed there, without a word to node 1's box
	}
	for _, s := range want {
		eventually(t, "node 1's scan found "+s.String(), func() bool { return nt.boxes[1].Has(s) })
	}
}

func TestReactorStopsPeerThatBreaksProtocol(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"not CBOR", []byte{0xff, 0x00}},
		{"empty", []byte{0xa0}},
		{"bad slot", encodeWants(t, keybox.Slot{Device: "../etc", Epoch: 1, Recipient: owner})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nt := newNet(t, 2, keybox.ReactorOptions{ScanEvery: time.Hour})
			peer := nt.switches[0].Peers().Copy()[0]
			if !peer.Send(p2p.Envelope{ChannelID: keybox.Channel, Message: &gogotypes.BytesValue{Value: tc.msg}}) {
				t.Fatal("send failed")
			}
			eventually(t, "node 1 disconnected node 0", func() bool { return nt.switches[1].Peers().Size() == 0 })
			if st := nt.reactors[1].Stats(); st.Malformed != 1 {
				t.Errorf("stats %+v; want 1 malformed", st)
			}
		})
	}
}

func TestReactorRateLimitsPeers(t *testing.T) {
	frozen := time.Unix(1000, 0) // no token comes back
	nt := newNet(t, 2, keybox.ReactorOptions{ScanEvery: time.Hour, PeerRate: 1, PeerBurst: 2, Now: func() time.Time { return frozen }})
	peer := nt.switches[0].Peers().Copy()[0]
	want := encodeWants(t, slot(1, owner))
	for range 5 {
		if !peer.Send(p2p.Envelope{ChannelID: keybox.Channel, Message: &gogotypes.BytesValue{Value: want}}) {
			t.Fatal("send failed")
		}
	}
	eventually(t, "node 1 dropped what exceeds the rate", func() bool { return nt.reactors[1].Stats().Dropped == 3 })
	if st := nt.reactors[1].Stats(); st.WantsReceived != 2 {
		t.Errorf("stats %+v; want the burst's 2 wants taken", st)
	}
	if nt.switches[1].Peers().Size() != 1 {
		t.Error("a peer over its rate was disconnected; its messages are only dropped")
	}
}

// encodeWants is a want message, as the reactor writes it.
func encodeWants(t *testing.T, slots ...keybox.Slot) []byte {
	t.Helper()
	return keybox.EncodeWants(slots)
}
