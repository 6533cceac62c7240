package main_test

// Shared setup of issue 5's fault tests (RELIABILITY.md lists them): a
// four-validator testnet of the real binary, readings sent by several
// senders that record what was acknowledged, and the checks every fault
// test ends with (no acknowledged reading lost, the same blocks on every
// node, every commit signed by more than two thirds of the power).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt"
)

// faultNet is a running testnet of the binary with registered devices.
type faultNet struct {
	dir     string
	nodes   []*testonly.Node
	clients []*client.Client
	keys    []*keystore.Key // devices, registered by node0's owner key
	genesis string          // path of the genesis file
	all     []int           // 0 .. n-1
}

// startFaultNet writes a testnet of n validators, starts every node, and
// registers devices through node0 as a user would.
func startFaultNet(t *testing.T, ctx context.Context, n int, chainID string, devices ...string) *faultNet {
	t.Helper()
	began := time.Now()
	defer func() {
		t.Logf("testnet of %d up with %d devices in %.1f s", n, len(devices), time.Since(began).Seconds())
	}()
	dir, nodes := testonly.Testnet(t, n, chainID)
	f := &faultNet{dir: dir, nodes: nodes, clients: make([]*client.Client, n), genesis: filepath.Join(nodes[0].Home, "config", "genesis.json")}
	testonly.StartAll(t, nodes, "start")
	for i, nd := range nodes {
		f.clients[i] = client.New(nd.URL())
		f.all = append(f.all, i)
	}
	waitHeights(t, ctx, f.clients, f.all, 2, "the first blocks")
	home0 := nodes[0].Home
	for _, name := range devices {
		testonly.MustRun(t, "keys", "new", name, "--home", home0)
		testonly.MustRun(t, "device", "register", "--owner", "owner", "--key", name, "--home", home0)
		k, err := keystore.Load(home0, name)
		if err != nil {
			t.Fatal(err)
		}
		f.keys = append(f.keys, k)
	}
	return f
}

// except returns the node numbers of the net other than those given.
func (f *faultNet) except(out ...int) []int {
	var in []int
	for _, i := range f.all {
		skip := false
		for _, o := range out {
			skip = skip || i == o
		}
		if !skip {
			in = append(in, i)
		}
	}
	return in
}

// ack is a reading acknowledged as committed.
type ack struct {
	index  uint64
	height int64
	at     time.Time
}

// faultLoad sends signed readings of each device through the given nodes
// (sender s of device d uses node (d*senders+s) mod len(clients)), in
// batches of 20 that wait for commit, until stopped. A sender whose node
// is down backs off and sends the next batch, with new sequence numbers.
type faultLoad struct {
	stopOnce sync.Once
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu      sync.Mutex
	err     error // signing failed
	sent    int
	failed  int                            // requests that got no answer (the node was down)
	acked   map[string]map[uint64]ack      // device -> seq -> where it was committed
	pending map[string]map[uint64]struct{} // answered "pending": in the node, not yet committed
	answers map[string]int                 // answers by status (and reason)
}

func startFaultLoad(ctx context.Context, clients []*client.Client, keys []*keystore.Key, senders int) *faultLoad {
	ctx, cancel := context.WithCancel(ctx)
	l := &faultLoad{cancel: cancel, acked: map[string]map[uint64]ack{}, pending: map[string]map[uint64]struct{}{}, answers: map[string]int{}}
	for d, k := range keys {
		l.acked[k.DeviceID()] = map[uint64]ack{}
		l.pending[k.DeviceID()] = map[uint64]struct{}{}
		for s := range senders {
			c := clients[(d*senders+s)%len(clients)]
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				// Disjoint sequence numbers per sender: a late (lower)
				// sequence number is accepted, a repeated one is not.
				seq := uint64(1 + s*1_000_000)
				for ctx.Err() == nil {
					var raws [][]byte
					for range 20 {
						r, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": float64(seq%1000) / 10}}, k.Private)
						if err != nil {
							l.mu.Lock()
							l.err = err
							l.mu.Unlock()
							return
						}
						raws = append(raws, r)
						seq++
					}
					rs, err := c.Submit(ctx, raws, true)
					now := time.Now()
					l.mu.Lock()
					l.sent += len(raws)
					if err != nil && ctx.Err() == nil {
						l.failed++
					}
					if err != nil && len(rs) == 0 {
						l.answers["no answer"] += len(raws)
					}
					for _, r := range rs {
						d := r.Detail
						if len(d) > 40 {
							d = d[:40]
						}
						l.answers[strings.Join(strings.Fields(string(r.Status)+" "+r.Reason+" "+d), " ")]++
						switch {
						case r.Status == "accepted" && r.Index != nil:
							l.acked[k.DeviceID()][r.Seq] = ack{*r.Index, r.Height, now}
							delete(l.pending[k.DeviceID()], r.Seq)
						case r.Status == "pending":
							l.pending[k.DeviceID()][r.Seq] = struct{}{}
						}
					}
					l.mu.Unlock()
					if err != nil && ctx.Err() == nil {
						select { // the node is down or busy: back off a little
						case <-ctx.Done():
						case <-time.After(200 * time.Millisecond):
						}
					}
				}
			}()
		}
	}
	return l
}

func (l *faultLoad) stop() {
	l.stopOnce.Do(func() {
		l.cancel()
		l.wg.Wait()
	})
}

func (l *faultLoad) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.acked {
		n += len(m)
	}
	return n
}

func (l *faultLoad) waitAcked(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	testonly.Poll(t, ctx, fmt.Sprintf("%d readings acknowledged", n), func() (bool, error) { return l.ackedCount() >= n, nil })
}

// lossReport is what a fault test prints: readings sent, acknowledged as
// committed, found committed on every node, and acknowledged but missing.
type lossReport struct {
	sent, acked, committed, lost int
}

func (r lossReport) String() string {
	return fmt.Sprintf("readings sent %d, acknowledged %d, committed %d, lost %d", r.sent, r.acked, r.committed, r.lost)
}

// checkNoLoss stops the load and checks, on each node in which, that every
// acknowledged reading is committed at the log index it was acknowledged
// with, and that the nodes hold the same readings.
func checkNoLoss(t *testing.T, ctx context.Context, f *faultNet, l *faultLoad, which []int) lossReport {
	t.Helper()
	l.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	rep := lossReport{sent: l.sent}
	for _, m := range l.acked {
		rep.acked += len(m)
	}
	var first map[string]map[uint64]uint64
	for _, i := range which {
		all := map[string]map[uint64]uint64{}
		for _, k := range f.keys {
			got := committedReadings(t, ctx, f.clients[i], k.DeviceID())
			all[k.DeviceID()] = got
			for seq, a := range l.acked[k.DeviceID()] {
				if idx, ok := got[seq]; !ok || idx != a.index {
					rep.lost++
					t.Errorf("node%d: %s seq %d acknowledged at log index %d in block %d; committed: %v, at %d", i, k.DeviceID(), seq, a.index, a.height, ok, idx)
				}
			}
		}
		if first == nil {
			first = all
			for _, m := range all {
				rep.committed += len(m)
			}
		} else if diff := cmp.Diff(all, first); diff != "" {
			t.Errorf("node%d holds other readings than node%d (-node%d +node%d):\n%s", i, which[0], i, which[0], diff)
		}
	}
	if l.err != nil {
		t.Error(l.err)
	}
	return rep
}

// sameBlocks checks that the nodes in which have the same block record
// (app hash, log root and size, state digest, block hash) at every height
// from 1 to h: no fork, no divergent state.
func sameBlocks(t *testing.T, ctx context.Context, clients []*client.Client, which []int, h int64) {
	t.Helper()
	for height := int64(1); height <= h; height++ {
		want := block(t, ctx, clients[which[0]], height)
		for _, i := range which[1:] {
			if diff := cmp.Diff(block(t, ctx, clients[i], height), want); diff != "" {
				t.Fatalf("block %d: node%d differs from node%d (-node%d +node%d):\n%s", height, i, which[0], i, which[0], diff)
			}
		}
	}
}

// commitsSigned checks with CometBFT's own commit verification that the
// commit of every block from 1 to h carries valid signatures of more than
// two thirds of that height's voting power, and returns the fewest
// validators that signed one.
func commitsSigned(t *testing.T, ctx context.Context, rpcAddr string, hc *http.Client, h int64) int {
	t.Helper()
	var rpc *rpchttp.HTTP
	var err error
	if hc != nil {
		rpc, err = rpchttp.NewWithClient("http://"+rpcAddr, hc)
	} else {
		rpc, err = rpchttp.New("http://" + rpcAddr)
	}
	if err != nil {
		t.Fatal(err)
	}
	fewest := -1
	for height := int64(1); height <= h; height++ {
		c, err := rpc.Commit(ctx, &height)
		if err != nil {
			t.Fatalf("commit of block %d: %v", height, err)
		}
		vr, err := rpc.Validators(ctx, &height, nil, nil)
		if err != nil {
			t.Fatalf("validators of block %d: %v", height, err)
		}
		vals := types.NewValidatorSet(vr.Validators)
		if err := vals.VerifyCommit(c.ChainID, c.Commit.BlockID, height, c.Commit); err != nil {
			t.Fatalf("block %d: commit does not carry more than two thirds of the power: %v", height, err)
		}
		signed := 0
		for _, s := range c.Commit.Signatures {
			if s.BlockIDFlag == types.BlockIDFlagCommit {
				signed++
			}
		}
		if fewest < 0 || signed < fewest {
			fewest = signed
		}
	}
	return fewest
}

// roundOf returns the consensus height and round a node is at, from
// CometBFT's RPC (/consensus_state).
func roundOf(ctx context.Context, rpc *rpchttp.HTTP) (int64, int, error) {
	cs, err := rpc.ConsensusState(ctx)
	if err != nil {
		return 0, 0, err
	}
	var rs struct {
		HRS string `json:"height/round/step"`
	}
	if err := json.Unmarshal(cs.RoundState, &rs); err != nil {
		return 0, 0, err
	}
	parts := strings.Split(rs.HRS, "/")
	if len(parts) != 3 {
		return 0, 0, fmt.Errorf("consensus state %q", rs.HRS)
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	r, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("consensus state %q", rs.HRS)
	}
	return h, r, nil
}

// noCommitsFor watches the nodes in which for the window while consensus
// cannot reach two thirds, and fails as soon as one reports a committed
// height above h. The chain commits about a block a second when it can,
// so a window of several seconds without a new block shows the stop. It
// returns the height they stay at and the consensus round they reached
// (CometBFT waits in a round for votes that cannot come).
func noCommitsFor(t *testing.T, ctx context.Context, clients []*client.Client, rpcs []*rpchttp.HTTP, which []int, h int64, window time.Duration) (int64, int) {
	t.Helper()
	deadline := time.Now().Add(window)
	var stuck int64
	round := 0
	for time.Now().Before(deadline) {
		for _, i := range which {
			st, err := clients[i].Status(ctx)
			if err != nil {
				t.Fatalf("node%d status: %v", i, err)
			}
			if st.Height > h {
				t.Fatalf("node%d committed block %d without two thirds of the validators (at most %d expected)", i, st.Height, h)
			}
			stuck = max(stuck, st.Height)
			if _, r, err := roundOf(ctx, rpcs[i]); err == nil {
				round = max(round, r)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("watching for commits: %v", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return stuck, round
}

// verifyReceipts fetches the receipt of every acknowledged reading from a
// node and checks it offline against the genesis file (package receipt:
// the reading's signature, its inclusion in the log, the app hash and the
// commit signatures). It returns how many it verified.
func verifyReceipts(t *testing.T, ctx context.Context, c *client.Client, genesis string, l *faultLoad) int {
	t.Helper()
	gen, err := types.GenesisDocFromFile(genesis)
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for dev, m := range l.acked {
		for seq, a := range m {
			r, err := c.Receipt(ctx, dev, seq)
			if err != nil {
				t.Fatalf("receipt of %s seq %d: %v", dev, seq, err)
			}
			if r.LeafIndex != a.index {
				t.Errorf("receipt of %s seq %d is for log index %d, acknowledged at %d", dev, seq, r.LeafIndex, a.index)
			}
			if _, err := receipt.Verify(r, gen); err != nil {
				t.Errorf("receipt of %s seq %d does not verify: %v", dev, seq, err)
			}
			n++
		}
	}
	return n
}

// audit runs `iotledger audit --home` on a stopped node and returns its
// output and exit code.
func audit(t *testing.T, home string) (string, int) {
	t.Helper()
	return testonly.Run(t, "audit", "--home", home)
}

// validatorState is the last height, round and step a validator signed
// (data/priv_validator_state.json): it moves whenever the node signs.
func validatorState(t *testing.T, home string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "data", "priv_validator_state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Height string `json:"height"`
		Round  int    `json:"round"`
		Step   int    `json:"step"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s/%d/%d", s.Height, s.Round, s.Step)
}

// pendingNow returns the readings answered pending so far (not
// acknowledged, held by a node), by device.
func (l *faultLoad) pendingNow() map[string][]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]uint64{}
	for dev, m := range l.pending {
		for seq := range m {
			out[dev] = append(out[dev], seq)
		}
	}
	return out
}

// missingOf checks that the readings were committed (on node0 of the
// net) and returns how many there were and how many are missing.
func missingOf(t *testing.T, ctx context.Context, f *faultNet, readings map[string][]uint64, what string) (total, missing int) {
	t.Helper()
	for dev, seqs := range readings {
		got := committedReadings(t, ctx, f.clients[0], dev)
		for _, seq := range seqs {
			total++
			if _, ok := got[seq]; !ok {
				missing++
				t.Errorf("%s seq %d, %s, is not committed", dev, seq, what)
			}
		}
	}
	return total, missing
}
