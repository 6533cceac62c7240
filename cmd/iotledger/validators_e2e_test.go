package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/reading"
)

// TestValidatorSetChanges runs the real binary as a network of four
// validators and a fifth node that shares their genesis but is not a
// validator (`iotledger testnet -n 4 --non-validators 1`), and changes the
// set as operators would, with the `iotledger validator` commands on each
// validator's home: (a) adds the fifth node, (b) raises a validator's
// power, (c) removes a validator. A proposal with too few approvals does
// not take effect; commits continue through every change, and the new
// validator signs blocks; receipts of readings committed before, between
// and after the changes verify with `iotledger verify --genesis`, and a
// receipt whose validator trace is changed fails with a clear message.
func TestValidatorSetChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	nodes := testnetWithSpares(t, 4, 1, "e2e-valset")
	clients := make([]*client.Client, len(nodes))
	for i, n := range nodes {
		n.Start(t, "start")
		clients[i] = client.New(n.URL())
	}
	validators := []int{0, 1, 2, 3}
	waitHeights(t, ctx, clients, validators, 2, "the first blocks")
	home := func(i int) string { return nodes[i].Home }
	run := func(i int, args ...string) string {
		t.Helper()
		return testonly.MustRun(t, append(args, "--home", home(i))...)
	}
	refused := func(i int, want string, args ...string) {
		t.Helper()
		out, code := testonly.Run(t, append(args, "--home", home(i))...)
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("iotledger %s on node%d: exit %d, want a refusal saying %q:\n%s", strings.Join(args, " "), i, code, want, out)
		}
	}
	addrs := map[int]string{}
	for i := range nodes {
		addrs[i] = validatorAddress(t, home(i))
	}

	// A device, and one reading before any change.
	run(0, "keys", "new", "sensor")
	run(0, "device", "register", "--owner", "owner", "--key", "sensor")
	k, err := keystore.Load(home(0), "sensor")
	if err != nil {
		t.Fatal(err)
	}
	send := func(seq uint64) int64 {
		t.Helper()
		raw, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 20 + float64(seq)}}, k.Private)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := clients[0].Submit(ctx, [][]byte{raw}, true)
		if err != nil || rs[0].Status != "accepted" {
			t.Fatalf("reading %d: %+v, %v", seq, rs, err)
		}
		return rs[0].Height
	}
	committed := map[uint64]int64{1: send(1)}

	// Too few approvals: node0 alone proposes node2's power to 20 (10 of
	// 40). It stays open and changes nothing. Nobody approves twice, and
	// the fifth node, not a validator, cannot approve.
	out := run(0, "validator", "propose", "--set-power", addrs[2], "--power", "20")
	if !strings.Contains(out, "proposed validator change 1") || !strings.Contains(out, "approvals hold 10 of 40 voting power, 27 needed") {
		t.Errorf("proposal 1:\n%s", out)
	}
	refused(0, "(already_approved): validator "+addrs[0]+" approved proposal 1 already", "validator", "approve", "1")
	refused(4, "(not_validator): the signer "+addrs[4], "validator", "approve", "1")

	// (a) Add node4: its operator's consent, node0's proposal, node1's and
	// node2's approvals: 30 of 40.
	consent := run(4, "validator", "consent")
	m := regexp.MustCompile(`iotledger validator propose --add (\S+) --power 10 --consent (\S+)`).FindStringSubmatch(consent)
	if m == nil {
		t.Fatalf("consent does not print the command to propose:\n%s", consent)
	}
	run(0, "validator", "propose", "--add", m[1], "--power", "10", "--consent", m[2])
	run(1, "validator", "approve", "2")
	added := effective(t, run(2, "validator", "approve", "2"))
	// The commits of the blocks before it have no slot for node4; of the
	// first three it validates, node4 signs at least one.
	waitHeights(t, ctx, clients, []int{0, 1, 2, 3, 4}, added+3, "blocks after node4 joined the set")
	if _, in := signatures(t, ctx, nodes[0], added-1)[addrs[4]]; in {
		t.Errorf("the commit of block %d, before the change, has a slot for node4", added-1)
	}
	signed := 0
	for h := added; h < added+3; h++ {
		if signatures(t, ctx, nodes[0], h)[addrs[4]] == 2 {
			signed++
		}
	}
	if signed == 0 {
		t.Errorf("node4 signed none of blocks %d to %d", added, added+2)
	}
	committed[2] = send(2)

	// (b) node1's power to 15: node0's proposal, three approvals, 40 of 50.
	run(0, "validator", "propose", "--set-power", addrs[1], "--power", "15")
	run(1, "validator", "approve", "3")
	run(2, "validator", "approve", "3")
	powered := effective(t, run(4, "validator", "approve", "3"))
	waitHeights(t, ctx, clients, validators, powered+1, "blocks after the power change")
	committed[3] = send(3)

	// (c) Remove node3: 35 of 55 is not enough, 45 is.
	run(0, "validator", "propose", "--remove", addrs[3])
	run(1, "validator", "approve", "4")
	if out := run(2, "validator", "approve", "4"); !strings.Contains(out, "approvals hold 35 of 55 voting power, 37 needed") {
		t.Errorf("after two approvals of proposal 4:\n%s", out)
	}
	removed := effective(t, run(4, "validator", "approve", "4"))
	waitHeights(t, ctx, clients, []int{0, 1, 2, 4}, removed+1, "blocks after node3 left the set")
	// node3 is a full node now: stopped, the chain goes on without it.
	nodes[3].Stop(t)
	h := maxHeight(t, ctx, clients, []int{0, 1, 2, 4})
	waitHeights(t, ctx, clients, []int{0, 1, 2, 4}, h+3, "blocks without node3")
	committed[4] = send(4)

	list := run(0, "validator", "list")
	for _, want := range []string{
		fmt.Sprintf("4 validators, total power 45, signing since block %d", removed),
		fmt.Sprintf("change from block %d: proposals 2, 5 validators, total power 50", added),
		fmt.Sprintf("change from block %d: proposals 3, 5 validators, total power 55", powered),
		fmt.Sprintf("change from block %d: proposals 4, 4 validators, total power 45", removed),
	} {
		if !strings.Contains(list, want) {
			t.Errorf("validator list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, addrs[3]) || !strings.Contains(list, addrs[4]) {
		t.Errorf("validator list: want node4 in, node3 out:\n%s", list)
	}
	// Proposal 1 never had enough approvals: still open, node2 at 10.
	props := run(0, "validator", "proposals", "--all")
	if !strings.Contains(props, "1    open     set the power of validator "+addrs[2]+" to 20: approvals 1 (10 of 45 voting power, 31 needed)") ||
		!regexp.MustCompile(`(?m)^\s+`+addrs[2]+`\s+10\s`).MatchString(list) {
		t.Errorf("proposal 1 or node2's power changed:\n%s\n%s", props, list)
	}

	// Receipts before, between and after the changes verify from genesis;
	// the one after carries the three changes. node4 serves them too, once
	// it has the block after the last reading's (node0 answered for it).
	waitHeights(t, ctx, clients, []int{0, 4}, committed[4]+1, "the block after the last reading's")
	genesis := filepath.Join(home(0), "config", "genesis.json")
	dir := t.TempDir()
	want := map[uint64]string{
		1: "the genesis set of 4 validators",
		2: fmt.Sprintf("1 change (at block %d)", added),
		3: fmt.Sprintf("2 changes (at blocks %d, %d)", added, powered),
		4: fmt.Sprintf("3 changes (at blocks %d, %d, %d)", added, powered, removed),
	}
	for seq := uint64(1); seq <= 4; seq++ {
		for _, from := range []int{0, 4} { // any node serves receipts, the new validator too
			file := filepath.Join(dir, fmt.Sprintf("r%d-node%d.json", seq, from))
			run(from, "receipt", k.DeviceID(), strconv.FormatUint(seq, 10), "-o", file)
			out := testonly.MustRun(t, "verify", file, "--genesis", genesis)
			if !strings.Contains(out, "ok   validator set followed from genesis: "+want[seq]) ||
				!strings.Contains(out, fmt.Sprintf("receipt verifies: reading of device %s committed in block %d", k.DeviceID(), committed[seq])) {
				t.Errorf("receipt of seq %d from node%d:\n%s", seq, from, out)
			}
		}
	}

	// A receipt whose trace was changed fails, naming the check.
	r4, err := os.ReadFile(filepath.Join(dir, "r4-node0.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(r map[string]any)
		saying string
	}{{
		name: "a validator's power in the trace raised",
		change: func(r map[string]any) {
			vs := r["validator_trace"].([]any)[1].(map[string]any)["validator_set"].(map[string]any)["validators"].([]any)
			vs[0].(map[string]any)["voting_power"] = "30"
		},
		saying: "FAIL validator set followed from genesis: receipt: the validator trace does not lead from the genesis validator set to the receipt's block: trace entry 2 of 6",
	}, {
		name: "the blocks of the first change left out",
		change: func(r map[string]any) {
			tr := r["validator_trace"].([]any)
			r["validator_trace"] = tr[2:]
		},
		saying: "is not signed by the genesis validator set",
	}} {
		var r map[string]any
		if err := json.Unmarshal(r4, &r); err != nil {
			t.Fatal(err)
		}
		if n := len(r["validator_trace"].([]any)); n != 6 {
			t.Fatalf("the receipt of seq 4 has a trace of %d blocks, want 6 (two per change)", n)
		}
		tc.change(r)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "tampered.json")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, code := testonly.Run(t, "verify", file, "--genesis", genesis)
		if code != 2 || !strings.Contains(out, tc.saying) || strings.Contains(out, "receipt verifies") {
			t.Errorf("%s: exit %d, want 2 and %q:\n%s", tc.name, code, tc.saying, out)
		}
	}

	// The nodes still running agree on every block.
	sameAppHash(t, ctx, []*client.Client{clients[0], clients[1], clients[2], clients[4]})
	t.Logf("validator set changes on 4+1 nodes: added node4 from block %d, node1 at power 15 from block %d, node3 out from block %d; "+
		"4 receipts verified from 2 nodes each (traces of 0 to 6 blocks); test took %.1f s", added, powered, removed, time.Since(began).Seconds())
	for i, n := range nodes {
		if i != 3 {
			n.Stop(t)
		}
	}
}

// effective reads from a propose or approve command's output the first
// block the new set signs, and fails unless the change was applied.
func effective(t *testing.T, out string) int64 {
	t.Helper()
	m := regexp.MustCompile(`applied at the end of block \d+, the new set signs from block (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the change was not applied:\n%s", out)
	}
	h, _ := strconv.ParseInt(m[1], 10, 64)
	return h
}

// validatorAddress is the CometBFT address of a home's validator key.
func validatorAddress(t *testing.T, home string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "config", "priv_validator_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(b, &k); err != nil || k.Address == "" {
		t.Fatalf("%s: no address (%v)", home, err)
	}
	return k.Address
}

// signatures returns, through CometBFT's RPC of n, the validators that
// have a slot in the commit of block h, with their vote (2: for the block).
func signatures(t *testing.T, ctx context.Context, n *testonly.Node, h int64) map[string]int {
	t.Helper()
	var c struct {
		Result struct {
			SignedHeader struct {
				Commit struct {
					Signatures []struct {
						ValidatorAddress string `json:"validator_address"`
						BlockIDFlag      int    `json:"block_id_flag"`
					} `json:"signatures"`
				} `json:"commit"`
			} `json:"signed_header"`
		} `json:"result"`
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/commit?height=%d", n.RPCAddr, h), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil {
		t.Fatalf("commit of block %d: %v", h, err)
	}
	out := map[string]int{}
	for _, s := range c.Result.SignedHeader.Commit.Signatures {
		out[s.ValidatorAddress] = s.BlockIDFlag
	}
	return out
}

// testnetWithSpares runs `iotledger testnet -n validators --non-validators
// spares` into a temporary folder and returns its nodes, not started, as
// testonly.Testnet does for validators only.
func testnetWithSpares(t *testing.T, validators, spares int, chainID string) []*testonly.Node {
	t.Helper()
	var dir, out string
	for try := 0; ; try++ {
		dir = filepath.Join(t.TempDir(), "testnet")
		base := 20000 + rand.IntN(1200)*10
		var code int
		out, code = testonly.Run(t, "testnet", "-n", strconv.Itoa(validators), "--non-validators", strconv.Itoa(spares),
			"--out", dir, "--chain-id", chainID, "--base-port", strconv.Itoa(base))
		if code == 0 {
			break
		}
		if !strings.Contains(out, "is taken") || try == 5 {
			t.Fatalf("iotledger testnet: exit %d\n%s", code, out)
		}
	}
	nodes := make([]*testonly.Node, validators+spares)
	for i := range nodes {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		var cmt struct {
			RPC struct{ Laddr string } `toml:"rpc"`
			P2P struct{ Laddr string } `toml:"p2p"`
		}
		var own struct {
			API  struct{ Addr string } `toml:"api"`
			MQTT struct{ Addr string } `toml:"mqtt"`
		}
		if _, err := toml.DecodeFile(filepath.Join(home, "config", "config.toml"), &cmt); err != nil {
			t.Fatal(err)
		}
		if _, err := toml.DecodeFile(filepath.Join(home, "config", "iotledger.toml"), &own); err != nil {
			t.Fatal(err)
		}
		nodes[i] = &testonly.Node{Home: home, APIAddr: own.API.Addr, MQTTAddr: own.MQTT.Addr,
			RPCAddr: strings.TrimPrefix(cmt.RPC.Laddr, "tcp://"), P2PAddr: strings.TrimPrefix(cmt.P2P.Laddr, "tcp://")}
	}
	return nodes
}
