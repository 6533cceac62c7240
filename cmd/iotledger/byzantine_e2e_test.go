package main_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cmtcons "github.com/cometbft/cometbft/api/cometbft/consensus/v1"
	cmtcrypto "github.com/cometbft/cometbft/api/cometbft/crypto/v1"
	protomem "github.com/cometbft/cometbft/api/cometbft/mempool/v1"
	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/tmhash"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/p2p/conn"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
	"github.com/iotledger/iotledger/tx"
)

// Channels of CometBFT's reactors (internal/consensus and mempool
// declare them; the consensus ones are not importable).
const (
	chConsensusState = 0x20
	chConsensusData  = 0x21
	chConsensusVote  = 0x22
	chVoteSetBits    = 0x23
	chMempool        = 0x30
)

// byzReactor is the Byzantine peer's only reactor: it speaks on the
// consensus and mempool channels, ignores what it hears, and notes when
// the validator drops it.
type byzReactor struct {
	p2p.BaseReactor
	mu      sync.Mutex
	peer    p2p.Peer
	reasons []string // why each connection ended
}

func (r *byzReactor) GetChannels() []*conn.ChannelDescriptor {
	cons := func(id byte) *conn.ChannelDescriptor {
		return &conn.ChannelDescriptor{ID: id, Priority: 1, SendQueueCapacity: 100, RecvBufferCapacity: 1 << 20, RecvMessageCapacity: 1 << 20, MessageType: &cmtcons.Message{}}
	}
	return []*conn.ChannelDescriptor{cons(chConsensusState), cons(chConsensusData), cons(chConsensusVote), cons(chVoteSetBits),
		{ID: chMempool, Priority: 1, SendQueueCapacity: 100, RecvMessageCapacity: 16 << 20, MessageType: &protomem.Message{}}}
}

func (r *byzReactor) AddPeer(p p2p.Peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.peer = p
}

func (r *byzReactor) RemovePeer(p p2p.Peer, reason any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peer == p {
		r.peer = nil
		r.reasons = append(r.reasons, fmt.Sprint(reason))
	}
}

func (*byzReactor) Receive(p2p.Envelope) {}

func (r *byzReactor) connected() p2p.Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peer
}

// byzPeer is a peer of the chain built from CometBFT's own p2p library,
// with its own node key: it passes the secret handshake like any node,
// then sends what no honest node would.
type byzPeer struct {
	sw *p2p.Switch
	r  *byzReactor
}

func newByzPeer(t *testing.T, chainID string) *byzPeer {
	t.Helper()
	cfg := cmtcfg.DefaultP2PConfig()
	cfg.AllowDuplicateIP = true
	key := p2p.NodeKey{PrivKey: ed25519.GenPrivKey()}
	laddr := testonly.FreeAddr(t)
	r := &byzReactor{}
	r.BaseReactor = *p2p.NewBaseReactor("Byzantine", r)
	info := p2p.DefaultNodeInfo{
		ProtocolVersion: p2p.NewProtocolVersion(version.P2PProtocol, version.BlockProtocol, 0),
		DefaultNodeID:   key.ID(),
		ListenAddr:      laddr,
		Network:         chainID,
		Version:         version.CMTSemVer,
		Channels:        []byte{chConsensusState, chConsensusData, chConsensusVote, chVoteSetBits, chMempool},
		Moniker:         "byzantine",
	}
	tr := p2p.NewMultiplexTransport(info, key, p2p.MConnConfig(cfg))
	na, err := p2p.NewNetAddressString(p2p.IDAddressString(key.ID(), laddr))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Listen(*na); err != nil {
		t.Fatal(err)
	}
	sw := p2p.NewSwitch(cfg, tr)
	sw.SetLogger(log.NewNopLogger())
	sw.AddReactor("BYZANTINE", r)
	sw.SetNodeInfo(info)
	sw.SetNodeKey(&key)
	if err := sw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Stop() })
	return &byzPeer{sw: sw, r: r}
}

// connect dials a validator (id@host:port) and waits until both ends
// hold the connection.
func (b *byzPeer) connect(t *testing.T, ctx context.Context, id, addr string, rpc *rpchttp.HTTP) p2p.Peer {
	t.Helper()
	na, err := p2p.NewNetAddressString(id + "@" + addr)
	if err != nil {
		t.Fatal(err)
	}
	testonly.Poll(t, ctx, "the Byzantine peer connected", func() (bool, error) {
		if b.r.connected() == nil {
			if err := b.sw.DialPeerWithAddress(na); err != nil {
				return false, err
			}
		}
		ok, err := hasPeer(ctx, rpc, string(b.sw.NodeInfo().ID()))
		return ok && b.r.connected() != nil, err
	})
	return b.r.connected()
}

// dropped waits until the validator has cut the connection, on both ends,
// and returns how long that took and the reason our end saw.
func (b *byzPeer) dropped(t *testing.T, ctx context.Context, rpc *rpchttp.HTTP, what string) (time.Duration, string) {
	t.Helper()
	began := time.Now()
	testonly.Poll(t, ctx, "the validator to drop the peer that sent "+what, func() (bool, error) {
		ok, err := hasPeer(ctx, rpc, string(b.sw.NodeInfo().ID()))
		return err == nil && !ok && b.r.connected() == nil, err
	})
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	return time.Since(began), b.r.reasons[len(b.r.reasons)-1]
}

// hasPeer reports whether a node lists id among its peers (/net_info).
func hasPeer(ctx context.Context, rpc *rpchttp.HTTP, id string) (bool, error) {
	ni, err := rpc.NetInfo(ctx)
	if err != nil {
		return false, err
	}
	for _, p := range ni.Peers {
		if string(p.NodeInfo.ID()) == id {
			return true, nil
		}
	}
	return false, nil
}

// rawMsg is bytes sent as they are, whatever the channel expects.
type rawMsg []byte

func (rawMsg) Reset()                     {}
func (m rawMsg) String() string           { return fmt.Sprintf("%x", []byte(m)) }
func (rawMsg) ProtoMessage()              {}
func (m rawMsg) Marshal() ([]byte, error) { return m, nil }

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFaultByzantineInput is issue 5's sixth fault test. A peer with its
// own node key (CometBFT's p2p library in the test process) connects to a
// validator and sends malformed and oversized transactions, undecodable
// messages, an oversized block part and a proposal of a block no proposer
// signed: transactions CheckTx refuses are dropped and never reach a
// block (a valid one sent the same way is committed: the path works),
// protocol violations get the peer disconnected, and the four validators
// keep committing the same blocks, none crashing. A client that replays
// committed readings gets "duplicate" with the original's index, a
// replayed signed transaction is refused, and receipts of another chain,
// or with another reading swapped in, fail `iotledger verify` at a named
// check.
func TestFaultByzantineInput(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	const chainID = "e2e-byzantine"
	f := startFaultNet(t, ctx, 4, chainID, "sensor-a")
	l := startFaultLoad(ctx, f.clients[:1], f.keys, 1)
	defer l.stop()
	l.waitAcked(t, ctx, 40)

	const target = 1 // the validator the peer talks to
	st, err := f.clients[target].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rpc, err := rpchttp.New("http://" + f.nodes[target].RPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	byz := newByzPeer(t, chainID)
	peer := byz.connect(t, ctx, st.NodeID, f.nodes[target].P2PAddr, rpc)

	// 1. Transactions CheckTx refuses: garbage, a batch with a forged
	// signature, a 3 MiB blob (under the mempool's 4 MiB, over the app's
	// limits). And one valid batch, sent the same way, as the control.
	dev := f.keys[0]
	good, err := reading.Sign(reading.Reading{Seq: 5_000_000, Time: time.Now().UnixMilli(), Data: map[string]any{"via": "byzantine peer"}}, dev.Private)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := reading.Sign(reading.Reading{Seq: 5_000_001, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 99.9}}, dev.Private)
	if err != nil {
		t.Fatal(err)
	}
	forged[len(forged)-5] ^= 0x01 // a byte of the signature
	bad := [][]byte{randomBytes(t, 200), tx.NewBatch([][]byte{forged}), randomBytes(t, 3<<20)}
	h0 := maxHeight(t, ctx, f.clients, f.all)
	for _, b := range append(bad, tx.NewBatch([][]byte{good})) {
		if !peer.Send(p2p.Envelope{ChannelID: chMempool, Message: &protomem.Txs{Txs: [][]byte{b}}}) {
			t.Fatal("the Byzantine peer could not send a transaction")
		}
	}
	testonly.Poll(t, ctx, "the valid batch from the Byzantine peer committed", func() (bool, error) {
		got := committedReadings(t, ctx, f.clients[0], dev.DeviceID())
		_, ok := got[5_000_000]
		return ok, nil
	})
	h1 := maxHeight(t, ctx, f.clients, f.all) + 2
	waitHeights(t, ctx, f.clients, f.all, h1, "two more blocks")
	badHashes := map[string]bool{}
	for _, b := range bad {
		badHashes[fmt.Sprintf("%X", tmhash.Sum(b))] = true
	}
	for h := h0; h <= h1; h++ {
		blk, err := rpc.Block(ctx, &h)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range blk.Block.Txs {
			if badHashes[fmt.Sprintf("%X", x.Hash())] {
				t.Errorf("block %d holds a transaction CheckTx should have refused", h)
			}
		}
	}
	if got := committedReadings(t, ctx, f.clients[0], dev.DeviceID()); len(got) > 0 {
		if _, ok := got[5_000_001]; ok {
			t.Error("the reading with a forged signature was committed")
		}
	}
	stillConnected := byz.r.connected() != nil

	// 2. Protocol violations: the validator cuts the peer each time.
	type violation struct {
		what string
		send func(p p2p.Peer) bool
	}
	hNext := func() int64 { return maxHeight(t, ctx, f.clients, f.all) + 1 }
	violations := []violation{
		{"a 5 MiB transaction (over the channel's capacity)", func(p p2p.Peer) bool {
			return p.Send(p2p.Envelope{ChannelID: chMempool, Message: &protomem.Txs{Txs: [][]byte{randomBytes(t, 5<<20)}}})
		}},
		{"bytes that are no mempool message", func(p p2p.Peer) bool {
			return p.Send(p2p.Envelope{ChannelID: chMempool, Message: rawMsg(randomBytes(t, 64))})
		}},
		{"a consensus message on the mempool channel", func(p p2p.Peer) bool {
			return p.Send(p2p.Envelope{ChannelID: chMempool, Message: &cmtcons.HasVote{Height: 1, Round: 0, Type: cmtproto.PrevoteType}})
		}},
		{"a block part of 70 KiB (parts are at most 64 KiB)", func(p p2p.Peer) bool {
			return p.Send(p2p.Envelope{ChannelID: chConsensusData, Message: &cmtcons.BlockPart{Height: hNext(), Round: 0,
				Part: cmtproto.Part{Index: 0, Bytes: randomBytes(t, 70<<10), Proof: cmtcrypto.Proof{Total: 1, Index: 0, LeafHash: randomBytes(t, 32)}}}})
		}},
	}
	var drops []string
	for _, v := range violations {
		p := byz.connect(t, ctx, st.NodeID, f.nodes[target].P2PAddr, rpc)
		h := maxHeight(t, ctx, f.clients, f.all)
		if !v.send(p) {
			t.Fatalf("the Byzantine peer could not send %s", v.what)
		}
		took, reason := byz.dropped(t, ctx, rpc, v.what)
		waitHeights(t, ctx, f.clients, f.all, h+2, "blocks after "+v.what)
		drops = append(drops, fmt.Sprintf("%s: dropped in %.1f s (%s)", v.what, took.Seconds(), firstLine(reason)))
	}

	// 3. A proposal no proposer signed, for the next height, with a block
	// part of garbage: ignored; the chain commits other blocks.
	p := byz.connect(t, ctx, st.NodeID, f.nodes[target].P2PAddr, rpc)
	part := randomBytes(t, 1000)
	fakeID := types.BlockID{Hash: randomBytes(t, 32), PartSetHeader: types.PartSetHeader{Total: 1, Hash: tmhash.Sum(part)}}
	hp := hNext()
	prop := types.NewProposal(hp, 0, -1, fakeID, time.Now())
	pp := prop.ToProto()
	sig, err := ed25519.GenPrivKey().Sign(types.ProposalSignBytes(chainID, pp))
	if err != nil {
		t.Fatal(err)
	}
	pp.Signature = sig
	p.Send(p2p.Envelope{ChannelID: chConsensusData, Message: &cmtcons.Proposal{Proposal: *pp}})
	p.Send(p2p.Envelope{ChannelID: chConsensusData, Message: &cmtcons.BlockPart{Height: hp, Round: 0,
		Part: cmtproto.Part{Index: 0, Bytes: part, Proof: cmtcrypto.Proof{Total: 1, Index: 0, LeafHash: tmhash.Sum(part)}}}})
	waitHeights(t, ctx, f.clients, f.all, hp+1, "blocks after the forged proposal")
	if blk := block(t, ctx, f.clients[target], hp); bytes.Equal(blk.Hash, fakeID.Hash) {
		t.Errorf("block %d is the forged proposal's block", hp)
	}
	byz.sw.Stop()
	// CometBFT logs it when the proposal arrived in the round it names.
	sawForged := strings.Contains(f.nodes[target].Output(), "invalid proposal signature")

	// 4. A client replaying what it saw.
	replays := replayAsClient(t, ctx, f, l)

	l.stop()
	hEnd := maxHeight(t, ctx, f.clients, f.all) + 1
	waitHeights(t, ctx, f.clients, f.all, hEnd, "the last block")
	rep := checkNoLoss(t, ctx, f, l, f.all)
	sameBlocks(t, ctx, f.clients, f.all, hEnd)
	for _, n := range f.nodes {
		n.Stop(t) // each must still run and stop cleanly
	}
	t.Logf("fault test 6 (a Byzantine peer and a replaying client): %s; %d bad transactions sent by the peer, none in blocks %d-%d, "+
		"the valid control batch committed (peer still connected after them: %v); %s; a proposal signed by no validator ignored (node1 logged \"invalid proposal signature\": %v); %s; "+
		"blocks 1-%d identical on all 4 nodes, all 4 stopped cleanly; test took %.1f s",
		rep, len(bad), h0, h1, stillConnected, strings.Join(drops, "; "), sawForged, replays, hEnd, time.Since(began).Seconds())
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// replayAsClient replays, through node0's API and the CLI, what a client
// saw: committed readings, a committed signed transaction, and receipts,
// and checks each is refused without harm. It returns the figures.
func replayAsClient(t *testing.T, ctx context.Context, f *faultNet, l *faultLoad) string {
	t.Helper()
	c := f.clients[0]
	dev := f.keys[0]

	// Committed readings again: duplicate, with the original's index.
	// (Readings of blocks before the last: their receipts are complete.)
	h := maxHeight(t, ctx, f.clients, []int{0})
	l.mu.Lock()
	var seqs []uint64
	for seq, a := range l.acked[dev.DeviceID()] {
		if len(seqs) < 10 && a.height < h {
			seqs = append(seqs, seq)
		}
	}
	orig := map[uint64]ack{}
	for _, seq := range seqs {
		orig[seq] = l.acked[dev.DeviceID()][seq]
	}
	l.mu.Unlock()
	var raws [][]byte
	for _, seq := range seqs {
		r, err := c.Receipt(ctx, dev.DeviceID(), seq)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, r.Reading)
	}
	rs, err := c.Submit(ctx, raws, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Status != "duplicate" || r.Reason != "duplicate" || r.Index == nil || *r.Index != orig[seqs[i]].index {
			t.Errorf("replayed reading seq %d: %+v, want duplicate of log index %d", seqs[i], r, orig[seqs[i]].index)
		}
	}

	// A committed signed transaction again: refused.
	owner, err := keystore.Load(f.nodes[0].Home, "owner")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := c.Account(ctx, owner.Address(), 1, "")
	if err != nil {
		t.Fatal(err)
	}
	to := address.Account(ed25519.GenPrivKey().PubKey().Bytes())
	raw, err := tx.Sign(owner.Private, tx.TypeTransfer, f.chainID(t), uint64(acct.Nonce), &tx.Transfer{To: to, Amount: 7})
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.SubmitTx(ctx, raw)
	if err != nil || !first.Committed || first.Code != 0 {
		t.Fatalf("transfer: %+v, %v", first, err)
	}
	again, err := c.SubmitTx(ctx, raw)
	if err != nil {
		t.Fatalf("replayed transfer: %v, want a refusal with a result code", err)
	}
	if again.Committed || again.Code == 0 {
		t.Errorf("replayed transfer: %+v, want it refused", again)
	}
	if a, err := c.Account(ctx, to, 1, ""); err != nil || a.Balance != 7 {
		t.Errorf("payee after the replay: %+v, %v; want a balance of 7, paid once", a, err)
	}

	// Receipts: good against this chain's genesis; refused against another
	// chain's, and with another committed reading swapped in.
	dir := t.TempDir()
	rc, err := c.Receipt(ctx, dev.DeviceID(), seqs[0])
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "receipt.json")
	writeReceipt(t, good, rc)
	testonly.MustRun(t, "verify", good, "--genesis", f.genesis)
	_, other := testonly.Testnet(t, 1, "e2e-other-chain") // written, never started
	foreignOut, code := testonly.Run(t, "verify", good, "--genesis", filepath.Join(other[0].Home, "config", "genesis.json"))
	foreign := failedCheck(foreignOut)
	if code != 2 || foreign == "" {
		t.Errorf("verify against another chain's genesis: exit %d, want 2 and a named failed check:\n%s", code, foreignOut)
	}
	rc.Reading = raws[1] // another committed reading of the same device
	swapped := filepath.Join(dir, "swapped.json")
	writeReceipt(t, swapped, rc)
	swapOut, code := testonly.Run(t, "verify", swapped, "--genesis", f.genesis)
	swap := failedCheck(swapOut)
	if code != 2 || swap == "" {
		t.Errorf("verify with another reading swapped in: exit %d, want 2 and a named failed check:\n%s", code, swapOut)
	}
	// A receipt posted as if it were a reading: refused as malformed.
	b, _ := os.ReadFile(good)
	res, err := c.SubmitCOSE(ctx, b, true)
	if err != nil || res.Status != "rejected" {
		t.Errorf("a receipt posted as a reading: %+v, %v; want rejected", res, err)
	}
	return fmt.Sprintf("%d replayed readings answered duplicate with their original index; a replayed transfer refused (%s), paid once; "+
		"a receipt verified against another chain's genesis fails check %q, one with another reading swapped in fails check %q; "+
		"a receipt posted as a reading rejected (%s)", len(rs), again.Name, foreign, swap, res.Reason)
}

func writeReceipt(t *testing.T, path string, r *receipt.Receipt) {
	t.Helper()
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// failedCheck is the name of the check `iotledger verify` marks FAIL.
func failedCheck(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "FAIL "); ok {
			name, _, _ := strings.Cut(rest, ":")
			return name
		}
	}
	return ""
}

// chainID is the chain id of the net's genesis.
func (f *faultNet) chainID(t *testing.T) string {
	t.Helper()
	g, err := types.GenesisDocFromFile(f.genesis)
	if err != nil {
		t.Fatal(err)
	}
	return g.ChainID
}
