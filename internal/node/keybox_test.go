package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/keybox"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/private"
	"github.com/iotledger/iotledger/tx"
)

// privateFixture is a registered device with private fields, its owner's
// encryption key, and the nonces of their accounts.
type privateFixture struct {
	chainID    string
	owner      ed25519.PrivateKey
	ownerAddr  string
	ownerKey   *private.PrivateKey
	ownerNonce uint64
	dev        ed25519.PrivateKey
	devID      string
	devNonce   uint64
}

// sendTx signs fields as typ by key and waits for its block; a refusal
// fails the test.
func sendTx(t *testing.T, ctx context.Context, n *node.Node, key ed25519.PrivateKey, nonce *uint64, chainID string, typ tx.Type, fields any) int64 {
	t.Helper()
	raw, err := tx.Sign(key, typ, chainID, *nonce, fields)
	if err != nil {
		t.Fatal(err)
	}
	*nonce++
	res, err := n.RPC().BroadcastTxCommit(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if res.CheckTx.Code != 0 || res.TxResult.Code != 0 {
		t.Fatalf("%s: check %d %q, exec %d %q", typ, res.CheckTx.Code, res.CheckTx.Log, res.TxResult.Code, res.TxResult.Log)
	}
	return res.Height
}

// newPrivateDevice registers a device, publishes its owner's X25519
// encryption key and names its private fields: the device is at epoch 1.
func newPrivateDevice(t *testing.T, ctx context.Context, n *node.Node, chainID string) *privateFixture {
	t.Helper()
	f := &privateFixture{chainID: chainID, owner: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)), dev: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))}
	f.ownerAddr = address.Account(f.owner.Public().(ed25519.PublicKey))
	devPub := f.dev.Public().(ed25519.PublicKey)
	f.devID = address.Device(devPub)
	var err error
	if f.ownerKey, err = private.GenerateKey(false); err != nil {
		t.Fatal(err)
	}
	sendTx(t, ctx, n, f.owner, &f.ownerNonce, chainID, tx.TypeRegisterDevice,
		&tx.RegisterDevice{Key: devPub, DeviceSig: ed25519.Sign(f.dev, tx.RegistrationMessage(chainID, f.ownerAddr, devPub))})
	sendTx(t, ctx, n, f.owner, &f.ownerNonce, chainID, tx.TypeSetEncryptionKey, &tx.SetEncryptionKey{X25519: f.ownerKey.Public().X25519})
	sendTx(t, ctx, n, f.owner, &f.ownerNonce, chainID, tx.TypeSetPrivateFields, &tx.SetPrivateFields{Device: f.devID, Fields: []string{"hr", "temp"}})
	return f
}

// epochKey is what the device does at a new epoch: it makes the epoch's
// stream key, wraps it to the owner, uploads the wrapped key (held: its
// commitment is not on the ledger yet) and announces the commitment.
func (f *privateFixture) epochKey(t *testing.T, ctx context.Context, n *node.Node, epoch uint64) (private.StreamKey, []byte) {
	t.Helper()
	k, err := private.NewStreamKey()
	if err != nil {
		t.Fatal(err)
	}
	wrapped, commitment, err := private.Wrap(f.chainID, f.devID, epoch, f.ownerAddr, f.ownerKey.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	results := upload(t, n.APIURL(), f.devID, apiwire.StreamKeyItem{Epoch: epoch, Recipient: f.ownerAddr, Wrapped: wrapped})
	if results[0].Status != apiwire.StreamKeyHeld {
		t.Fatalf("upload before the announcement: %+v; want held", results[0])
	}
	sendTx(t, ctx, n, f.dev, &f.devNonce, f.chainID, tx.TypeStreamKey,
		&tx.StreamKey{Device: f.devID, Epoch: epoch, Wraps: []tx.KeyWrap{{Recipient: f.ownerAddr, KEM: tx.KEMX25519, Commitment: commitment[:]}}})
	return k, wrapped
}

// upload posts wrapped keys to a node's API.
func upload(t *testing.T, url, device string, items ...apiwire.StreamKeyItem) []apiwire.StreamKeyResult {
	t.Helper()
	body, err := json.Marshal(apiwire.StreamKeyUpload{Keys: items})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url+"/v1/devices/"+device+"/stream-keys", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out apiwire.StreamKeyResults
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || len(out.Results) != len(items) {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	return out.Results
}

// getStreamKey asks a node's API for a wrapped key: the key, or the
// problem's status and detail.
func getStreamKey(t *testing.T, url, device string, epoch uint64, recipient string) (*apiwire.StreamKey, int, string) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/v1/devices/%s/stream-keys/%d?recipient=%s", url, device, epoch, recipient))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var p apiwire.Problem
		json.Unmarshal(b, &p)
		return nil, resp.StatusCode, p.Type + ": " + p.Detail
	}
	var k apiwire.StreamKey
	if err := json.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	return &k, http.StatusOK, ""
}

// poll waits, bounded, until cond holds.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, not waiting for one
	}
}

// TestKeyboxErasureLeavesNoKeyOnDisk runs private readings' key path on a
// node: a wrapped key uploaded before its announcement is held, stored
// when the announcement commits, served, and opened by the owner's key;
// after erase_epochs commits, no byte of it is in any file of the node's
// home (CometBFT's block store, state store and WAL, the app's Pebble
// store and its WAL, the key box), while the key of an epoch not erased
// is, and the transactions' commitments are in CometBFT's stores (which
// shows the walk reads them).
func TestKeyboxErasureLeavesNoKeyOnDisk(t *testing.T) {
	n, home := startNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	f := newPrivateDevice(t, ctx, n, "test-chain")

	k1, w1 := f.epochKey(t, ctx, n, 1)
	slot1 := keybox.Slot{Device: f.devID, Epoch: 1, Recipient: f.ownerAddr}
	poll(t, "the held key is stored once its commitment commits", func() bool { return n.Keybox().Has(slot1) })
	got, status, detail := getStreamKey(t, n.APIURL(), f.devID, 1, f.ownerAddr)
	if status != http.StatusOK || !bytes.Equal(got.Wrapped, w1) {
		t.Fatalf("GET epoch 1's key: %d %s", status, detail)
	}
	if opened, err := private.Unwrap(f.chainID, f.devID, 1, f.ownerAddr, f.ownerKey, got.Wrapped); err != nil || opened != k1 {
		t.Fatalf("the owner opens epoch 1's key: %v", err)
	}

	sendTx(t, ctx, n, f.owner, &f.ownerNonce, f.chainID, tx.TypeRotateStreamKey, &tx.RotateStreamKey{Device: f.devID})
	_, w2 := f.epochKey(t, ctx, n, 2)
	slot2 := keybox.Slot{Device: f.devID, Epoch: 2, Recipient: f.ownerAddr}
	poll(t, "epoch 2's key is stored", func() bool { return n.Keybox().Has(slot2) })

	c1 := private.Commitment(w1)
	before := scanHome(t, home, map[string][]byte{"wrapped key 1": w1, "wrapped key 2": w2, "commitment 1": c1[:]})
	t.Logf("before the erasure: %v", before)
	if len(before["wrapped key 1"]) == 0 || len(before["wrapped key 2"]) == 0 {
		t.Fatalf("before the erasure the walk finds the wrapped keys in %v; want each in the key box", before)
	}
	if !inConsensusStores(before["commitment 1"]) {
		t.Fatalf("the commitment of epoch 1's key is in %v; want it in CometBFT's stores (the transaction carried it)", before["commitment 1"])
	}
	for _, p := range append(before["wrapped key 1"], before["wrapped key 2"]...) {
		if !strings.HasPrefix(p, filepath.Join("data", "keybox")+string(filepath.Separator)) {
			t.Errorf("a wrapped key is in %s, outside the key box", p)
		}
	}

	h := sendTx(t, ctx, n, f.owner, &f.ownerNonce, f.chainID, tx.TypeEraseEpochs, &tx.EraseEpochs{Device: f.devID, Epochs: []tx.EpochRange{{From: 1, To: 1}}})
	poll(t, "epoch 1's file is erased", func() bool { return !n.Keybox().Has(slot1) })
	if _, status, detail := getStreamKey(t, n.APIURL(), f.devID, 1, f.ownerAddr); status != http.StatusNotFound || !strings.Contains(detail, fmt.Sprintf("erased in block %d", h)) {
		t.Errorf("GET epoch 1's key after the erasure: %d %q; want 404 saying erased in block %d", status, detail, h)
	}
	if _, err := os.Stat(filepath.Join(node.KeyboxDir(home), f.devID, "1")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("epoch 1's folder: %v; want it removed", err)
	}
	// An upload for the erased epoch is refused, on every node the same way.
	if r := upload(t, n.APIURL(), f.devID, apiwire.StreamKeyItem{Epoch: 1, Recipient: f.ownerAddr, Wrapped: w1}); r[0].Status != apiwire.StreamKeyRefused || r[0].Problem == nil || !strings.HasSuffix(r[0].Problem.Type, "epoch-erased") {
		t.Errorf("upload for the erased epoch: %+v; want refused, epoch-erased", r[0])
	}

	ct1 := w1[len(w1)-48:] // the HPKE ciphertext of the stream key
	enc1, err := private.ParseWrapped(w1)
	if err != nil {
		t.Fatal(err)
	}
	after := scanHome(t, home, map[string][]byte{"wrapped key 1": w1, "its ciphertext": ct1, "its enc": enc1.Enc, "stream key 1": k1[:], "wrapped key 2": w2})
	for _, what := range []string{"wrapped key 1", "its ciphertext", "its enc", "stream key 1"} {
		if len(after[what]) > 0 {
			t.Errorf("after the erasure, %s remains in %v", what, after[what])
		}
	}
	if len(after["wrapped key 2"]) == 0 {
		t.Error("the key of epoch 2, not erased, is gone too")
	}
	// With nothing left to unwrap, the owner's key opens nothing of epoch 1:
	// no node serves its wrapped key, and no file holds it.

	resp, err := http.Get(n.APIURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{`iotledger_keybox_keys_total{event="stored"} 2`, `iotledger_keybox_keys_total{event="held"} 2`,
		`iotledger_keybox_keys_total{event="erased"} 1`, `iotledger_keybox_keys_total{event="refused"} 1`, `iotledger_keybox_held_keys 0`} {
		if !strings.Contains(string(metrics), line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

// scanHome returns, for each named byte string, the files under home
// (relative paths) that hold it anywhere.
func scanHome(t *testing.T, home string, needles map[string][]byte) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	err := filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(home, p)
		for name, needle := range needles {
			if bytes.Contains(b, needle) {
				found[name] = append(found[name], rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// inConsensusStores reports whether a path is in CometBFT's block store,
// state store or consensus WAL.
func inConsensusStores(paths []string) bool {
	for _, p := range paths {
		for _, dir := range []string{"blockstore.db", "state.db", "cs.wal", "tx_index.db"} {
			if strings.HasPrefix(p, filepath.Join("data", dir)) {
				return true
			}
		}
	}
	return false
}

// startTestnet writes a testnet of validators and nodes that are not
// validators, on free loopback ports, and starts every node in process.
func startTestnet(t *testing.T, validators, others int, chainID string) ([]*node.Node, []string) {
	t.Helper()
	dir := t.TempDir()
	var nodes []node.TestnetNode
	var err error
	for try := 0; ; try++ { // Testnet checks its ports are free; other tests run beside this one
		nodes, _, err = node.Testnet(filepath.Join(dir, fmt.Sprintf("net%d", try)), node.TestnetOptions{
			Validators: validators, NonValidators: others, ChainID: chainID, BasePort: 21200 + rand.IntN(1200)*10})
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "is taken") || try == 5 {
			t.Fatal(err)
		}
	}
	var ns []*node.Node
	var homes []string
	for _, tn := range nodes {
		homes = append(homes, tn.Home)
		ns = append(ns, startHome(t, tn.Home))
	}
	return ns, homes
}

// startHome starts the node of a home with its configuration.
func startHome(t *testing.T, home string) *node.Node {
	t.Helper()
	cfg, err := node.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(t.Context(), home, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestKeyboxBetweenNodes: a wrapped key uploaded to one node reaches the
// other through the key box's reactor on CometBFT's switch; a node that
// was down when the erasure committed erases the epoch's file when it
// catches up, and no byte of the erased key is left in either home.
func TestKeyboxBetweenNodes(t *testing.T) {
	ns, homes := startTestnet(t, 1, 1, "keybox-net")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	f := newPrivateDevice(t, ctx, ns[0], "keybox-net")
	_, w1 := f.epochKey(t, ctx, ns[0], 1)
	slot1 := keybox.Slot{Device: f.devID, Epoch: 1, Recipient: f.ownerAddr}
	poll(t, "node1 got epoch 1's key from node0", func() bool { return ns[1].Keybox().Has(slot1) })
	got, status, detail := getStreamKey(t, ns[1].APIURL(), f.devID, 1, f.ownerAddr)
	if status != http.StatusOK || !bytes.Equal(got.Wrapped, w1) {
		t.Fatalf("GET from node1: %d %s; want the key uploaded to node0", status, detail)
	}
	if st := ns[1].KeyboxReactor().Stats(); st.KeysStored == 0 {
		t.Errorf("node1's reactor stats %+v: no key stored from a peer", st)
	}

	// node1 is down while epoch 1 is erased.
	ns[1].Close()
	h := sendTx(t, ctx, ns[0], f.owner, &f.ownerNonce, f.chainID, tx.TypeEraseEpochs, &tx.EraseEpochs{Device: f.devID, Epochs: []tx.EpochRange{{From: 1, To: 1}}})
	poll(t, "node0 erased epoch 1's file", func() bool { return !ns[0].Keybox().Has(slot1) })
	if !fileExists(filepath.Join(node.KeyboxDir(homes[1]), f.devID, "1", f.ownerAddr)) {
		t.Fatal("node1, down, lost its file before it learnt of the erasure: the test shows nothing")
	}
	// node0 restarts too: in one process, node0's redial can reach node1's
	// listener while node1 stops and keep a connection nobody closes, so
	// that node0 would refuse node1's new one as a duplicate for minutes.
	ns[0].Close()
	startHome(t, homes[0])
	n1 := startHome(t, homes[1])
	poll(t, "node1 caught up with the erasure", func() bool { return n1.App().Meta().Height >= h })
	poll(t, "node1 erased epoch 1's file", func() bool { return !n1.Keybox().Has(slot1) })
	if _, status, detail := getStreamKey(t, n1.APIURL(), f.devID, 1, f.ownerAddr); status != http.StatusNotFound || !strings.Contains(detail, fmt.Sprintf("erased in block %d", h)) {
		t.Errorf("GET from node1 after the erasure: %d %q; want 404 saying erased in block %d", status, detail, h)
	}
	for i, home := range homes {
		if found := scanHome(t, home, map[string][]byte{"wrapped key 1": w1, "its ciphertext": w1[len(w1)-48:]}); len(found) > 0 {
			t.Errorf("node%d: after the erasure, %v", i, found)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
