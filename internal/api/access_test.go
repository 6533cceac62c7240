package api_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/query"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

// The node's reader serves the access lists and encryption keys.
var _ api.PrivateReader = (*query.Reader)(nil)

// privateChain runs a real app through the life of a private device: the
// owner and a consumer publish encryption keys (the consumer's with
// X-Wing), the owner names private fields (epoch 1), the device announces
// epoch 1, the owner grants the consumer epoch 1, rotates (epoch 2), the
// device announces epoch 2, the owner revokes the consumer (epoch 3) and
// erases epoch 1; a second device of the owner's keeps no field private.
type privateFixture struct {
	app                       *app.App
	owner, consumer, stranger string
	device, plain             string // plain has no private fields
	height                    int64
	sealed                    *reading.Sealed // of the device's reading seq 1, in block 7
}

func privateChain(t *testing.T) *privateFixture {
	t.Helper()
	key := func(b byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)) }
	pub := func(k ed25519.PrivateKey) []byte { return k.Public().(ed25519.PublicKey) }
	owner, consumer, dev, plain := key(1), key(3), key(10), key(11)
	f := &privateFixture{owner: address.Account(pub(owner)), consumer: address.Account(pub(consumer)), stranger: address.Account(pub(key(9))),
		device: address.Device(pub(dev)), plain: address.Device(pub(plain))}

	db, err := pebble.Open(t.TempDir(), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a, err := app.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.app = a
	genesis, err := json.Marshal(app.DefaultGenesis())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const chain = "iotledger-api-test"
	if _, err := a.InitChain(t.Context(), &abci.InitChainRequest{ChainId: chain, InitialHeight: 1, Time: start, AppStateBytes: genesis}); err != nil {
		t.Fatal(err)
	}
	nonces := map[string]uint64{}
	sign := func(k ed25519.PrivateKey, typ tx.Type, fields any) []byte {
		acct := address.Account(pub(k))
		raw, err := tx.Sign(k, typ, chain, nonces[acct], fields)
		if err != nil {
			t.Fatal(err)
		}
		nonces[acct]++
		return raw
	}
	block := func(txs ...[]byte) {
		t.Helper()
		f.height++
		res, err := a.FinalizeBlock(t.Context(), &abci.FinalizeBlockRequest{Height: f.height, Time: start.Add(time.Duration(f.height) * time.Second), Txs: txs})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res.TxResults {
			if r.Code != 0 {
				t.Fatalf("block %d tx %d: %s %q", f.height, i, app.Code(r.Code), r.Log)
			}
		}
		if _, err := a.Commit(t.Context(), &abci.CommitRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	commit := func(parts ...string) []byte {
		h := sha256.Sum256([]byte(f.device + " " + parts[0] + " " + parts[1]))
		return h[:]
	}
	register := func(k ed25519.PrivateKey) []byte {
		return sign(owner, tx.TypeRegisterDevice, &tx.RegisterDevice{Key: pub(k), Labels: map[string]string{"site": "lab"},
			DeviceSig: ed25519.Sign(k, tx.RegistrationMessage(chain, f.owner, pub(k)))})
	}
	block(register(dev), register(plain))
	block(sign(owner, tx.TypeSetEncryptionKey, &tx.SetEncryptionKey{X25519: bytes.Repeat([]byte{1}, 32)}),
		sign(consumer, tx.TypeSetEncryptionKey, &tx.SetEncryptionKey{X25519: bytes.Repeat([]byte{3}, 32), XWing: bytes.Repeat([]byte{3}, tx.XWingKeySize)}))
	block(sign(owner, tx.TypeSetPrivateFields, &tx.SetPrivateFields{Device: f.device, Fields: []string{"temp", "hr"}}))
	block(sign(dev, tx.TypeStreamKey, &tx.StreamKey{Device: f.device, Epoch: 1, Wraps: []tx.KeyWrap{{Recipient: f.owner, KEM: tx.KEMX25519, Commitment: commit("1", "owner")}}}))
	block(sign(owner, tx.TypeGrantAccess, &tx.GrantAccess{Device: f.device, To: f.consumer, Wraps: []tx.EpochWrap{{Epoch: 1, KEM: tx.KEMXWing, Commitment: commit("1", "consumer")}}}))
	block(sign(owner, tx.TypeRotateStreamKey, &tx.RotateStreamKey{Device: f.device}))
	// The device announces epoch 2 and, in the same block, sends seq 1
	// with temp and hr sealed under it (the ledger does not open them:
	// the bytes stand for a ciphertext).
	f.sealed = &reading.Sealed{Epoch: 2, Nonce: bytes.Repeat([]byte{7}, reading.NonceSize), Ciphertext: bytes.Repeat([]byte{8}, 40)}
	sealedReading, err := reading.Sign(reading.Reading{Seq: 1, Time: start.Add(7 * time.Second).UnixMilli(), Data: map[string]any{"site": "lab"}, Sealed: f.sealed}, dev)
	if err != nil {
		t.Fatal(err)
	}
	block(sign(dev, tx.TypeStreamKey, &tx.StreamKey{Device: f.device, Epoch: 2, Wraps: []tx.KeyWrap{
		{Recipient: f.owner, KEM: tx.KEMX25519, Commitment: commit("2", "owner")}, {Recipient: f.consumer, KEM: tx.KEMXWing, Commitment: commit("2", "consumer")}}}),
		tx.NewBatch([][]byte{sealedReading}))
	block(sign(owner, tx.TypeRevokeAccess, &tx.RevokeAccess{Device: f.device, From: f.consumer}))
	block(sign(owner, tx.TypeEraseEpochs, &tx.EraseEpochs{Device: f.device, Epochs: []tx.EpochRange{{From: 1, To: 1}}}))
	return f
}

// TestDeviceAccess: GET /v1/devices/{id}/access on a real app's committed
// state: grants in consumer order, then epochs newest first, with their
// recipients' KEMs and commitments and the erased mark, paged by
// page_token (every answer checked against the OpenAPI document); the
// device, account and changes answers carry the private readings' fields.
func TestDeviceAccess(t *testing.T) {
	f := privateChain(t)
	e := newReaderEnv(t, f.app.Reader())
	hash := func(epoch, who string) apiwire.Hex {
		h := sha256.Sum256([]byte(f.device + " " + epoch + " " + who))
		return h[:]
	}

	var all apiwire.DeviceAccess
	e.get(t, "/v1/devices/"+f.device+"/access").ok(t, &all)
	want := apiwire.DeviceAccess{
		Device: f.device, PrivateFields: []string{"hr", "temp"}, StreamEpoch: 3,
		Grants: []apiwire.Grant{{Consumer: f.consumer, Periods: []apiwire.GrantPeriod{{FromEpoch: 1, GrantedHeight: 5, GrantedBy: f.owner, UntilEpoch: 2, RevokedHeight: 8, RevokedBy: f.owner}}}},
		Epochs: []apiwire.Epoch{
			{Epoch: 3, StartedHeight: 8, Why: "revoked", By: f.owner, Recipients: []apiwire.Recipient{{Account: f.owner}}},
			{Epoch: 2, StartedHeight: 6, Why: "rotated", By: f.owner, AnnouncedHeight: 7, Recipients: sortRecipients(
				apiwire.Recipient{Account: f.owner, KEM: 0x0020, Commitment: hash("2", "owner"), WrappedHeight: 7},
				apiwire.Recipient{Account: f.consumer, KEM: 0x647a, Commitment: hash("2", "consumer"), WrappedHeight: 7})},
			{Epoch: 1, StartedHeight: 3, Why: "private_fields", By: f.owner, AnnouncedHeight: 4, Erased: true, ErasedHeight: 9, Recipients: sortRecipients(
				apiwire.Recipient{Account: f.owner, KEM: 0x0020, Commitment: hash("1", "owner"), WrappedHeight: 4},
				apiwire.Recipient{Account: f.consumer, KEM: 0x647a, Commitment: hash("1", "consumer"), WrappedHeight: 5})},
		},
	}
	if diff := cmp.Diff(all, want); diff != "" {
		t.Errorf("access (-got +want):\n%s", diff)
	}

	// Two items a page: the grant and epoch 3, then epochs 2 and 1.
	var p1, p2 apiwire.DeviceAccess
	a := e.get(t, "/v1/devices/"+f.device+"/access?limit=2")
	a.ok(t, &p1)
	if len(p1.Grants) != 1 || len(p1.Epochs) != 1 || p1.Epochs[0].Epoch != 3 || p1.NextPageToken == "" {
		t.Fatalf("first page: %d grants, epochs %+v, next %q; want the grant, epoch 3 and a next page", len(p1.Grants), p1.Epochs, p1.NextPageToken)
	}
	if link := a.Header.Get("Link"); link == "" {
		t.Error("first page has no Link header")
	}
	e.get(t, "/v1/devices/"+f.device+"/access?limit=2&page_token="+p1.NextPageToken).ok(t, &p2)
	if len(p2.Grants) != 0 || len(p2.Epochs) != 2 || p2.Epochs[0].Epoch != 2 || p2.Epochs[1].Epoch != 1 || p2.NextPageToken != "" {
		t.Errorf("second page: %+v; want epochs 2 and 1, last", p2)
	}
	// One a page: the grant alone, then each epoch.
	var got []uint64
	token := ""
	for range 5 {
		var p apiwire.DeviceAccess
		path := "/v1/devices/" + f.device + "/access?limit=1"
		if token != "" {
			path += "&page_token=" + token
		}
		e.get(t, path).ok(t, &p)
		for _, ep := range p.Epochs {
			got = append(got, ep.Epoch)
		}
		if token == "" && (len(p.Grants) != 1 || len(p.Epochs) != 0) {
			t.Errorf("first page of one: %+v, want the grant alone", p)
		}
		if token = p.NextPageToken; token == "" {
			break
		}
	}
	if diff := cmp.Diff(got, []uint64{3, 2, 1}); diff != "" {
		t.Errorf("epochs one a page (-got +want):\n%s", diff)
	}

	e.get(t, "/v1/devices/"+unknownDevice+"/access").problem(t, http.StatusNotFound, api.KindNotFound)
	e.get(t, "/v1/devices/"+f.device+"/access?page_token=AQE").problem(t, http.StatusBadRequest, api.KindInvalidParameter)
	e.get(t, "/v1/devices/"+f.device+"/access?limit=0").problem(t, http.StatusBadRequest, api.KindInvalidParameter)

	// The device answer names its private fields and epoch.
	var d apiwire.Device
	e.get(t, "/v1/devices/"+f.device).ok(t, &d)
	if diff := cmp.Diff(d.PrivateFields, []string{"hr", "temp"}); diff != "" || d.StreamEpoch != 3 || d.StreamKeyAnnounced {
		t.Errorf("device: private %v, epoch %d, announced %v; want [hr temp], 3, not announced", d.PrivateFields, d.StreamEpoch, d.StreamKeyAnnounced)
	}
	// The accounts' answers carry their encryption keys.
	var owner, consumer, stranger apiwire.Account
	e.get(t, "/v1/accounts/"+f.owner).ok(t, &owner)
	e.get(t, "/v1/accounts/"+f.consumer).ok(t, &consumer)
	e.get(t, "/v1/accounts/"+f.stranger).ok(t, &stranger)
	if k := owner.EncryptionKey; k == nil || !bytes.Equal(k.X25519, bytes.Repeat([]byte{1}, 32)) || k.XWing != nil || k.KEM != 0x0020 || k.Height != 2 {
		t.Errorf("owner's key = %+v; want X25519 only, published at 2", k)
	}
	if k := consumer.EncryptionKey; k == nil || len(k.XWing) != tx.XWingKeySize || k.KEM != 0x647a {
		t.Errorf("consumer's key = %+v; want one with X-Wing", k)
	}
	if stranger.EncryptionKey != nil {
		t.Errorf("an account without a key has %+v", stranger.EncryptionKey)
	}
	// The changes tell the grant, the revocation, the epochs and the erasure.
	var ch apiwire.DeviceChanges
	e.get(t, "/v1/devices/"+f.device+"/changes").ok(t, &ch)
	var actions []string
	for _, c := range ch.Changes {
		actions = append(actions, c.Action)
	}
	wantActions := []string{"epochs_erased", "epoch_moved", "access_revoked", "stream_key_announced", "epoch_moved", "access_granted",
		"stream_key_announced", "epoch_moved", "private_fields_set", "registered"}
	if diff := cmp.Diff(actions, wantActions); diff != "" {
		t.Errorf("changes, newest first (-got +want):\n%s", diff)
	}
	if a := ch.Changes[0].Access; a == nil || len(a.Epochs) != 1 || a.Epochs[0] != (apiwire.Range{From: 1, To: 1}) || a.By != f.owner {
		t.Errorf("erasure's access = %+v; want epochs 1-1 by the owner", a)
	}
	if a := ch.Changes[2].Access; a == nil || a.Consumer != f.consumer || a.Epoch != 2 {
		t.Errorf("revocation's access = %+v; want the consumer, last epoch 2", a)
	}
	if c := ch.Changes[1]; c.Access == nil || c.Access.Why != "revoked" || c.Access.Epoch != 3 || c.Device.StreamEpoch != 3 {
		t.Errorf("epoch move = %+v; want epoch 3 for the revocation", c)
	}
}

func sortRecipients(rs ...apiwire.Recipient) []apiwire.Recipient {
	if len(rs) == 2 && rs[0].Account > rs[1].Account {
		rs[0], rs[1] = rs[1], rs[0]
	}
	return rs
}

// A device without private fields has an empty access list, and its
// answer no private fields; a Reader that is no PrivateReader (the fake)
// answers the route 404.
func TestDeviceAccessNone(t *testing.T) {
	f := privateChain(t)
	e := newReaderEnv(t, f.app.Reader())
	var got apiwire.DeviceAccess
	e.get(t, "/v1/devices/"+f.plain+"/access").ok(t, &got)
	want := apiwire.DeviceAccess{Device: f.plain, PrivateFields: []string{}, Grants: []apiwire.Grant{}, Epochs: []apiwire.Epoch{}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("access of a device without private fields (-got +want):\n%s", diff)
	}
	a := e.get(t, "/v1/devices/"+f.plain)
	a.ok(t, nil)
	if bytes.Contains(a.body, []byte("private_fields")) || bytes.Contains(a.body, []byte("stream_epoch")) {
		t.Errorf("device without private fields: %s; want no private_fields or stream_epoch", a.body)
	}

	fake := newEnv(t, api.Options{})
	p := fake.get(t, "/v1/devices/"+fake.ledger.DeviceList[0].ID+"/access").problem(t, http.StatusNotFound, api.KindNotFound)
	if !strings.Contains(p.Detail, "access lists") {
		t.Errorf("detail %q does not say the node serves no access lists", p.Detail)
	}
}

// TestSealedReadingAnswer: a reading with sealed fields is answered with
// its public data and its sealed part (epoch, nonce, ciphertext in base64),
// in the device's readings, the log's newest and its block's readings,
// every answer checked against the OpenAPI document.
func TestSealedReadingAnswer(t *testing.T) {
	f := privateChain(t)
	e := newReaderEnv(t, f.app.Reader())
	want := &apiwire.Sealed{Epoch: f.sealed.Epoch, Nonce: f.sealed.Nonce, Ciphertext: f.sealed.Ciphertext}
	var own apiwire.ReadingPage
	e.get(t, "/v1/devices/"+f.device+"/readings").ok(t, &own)
	if len(own.Readings) != 1 {
		t.Fatalf("the device's readings: %+v, want seq 1", own.Readings)
	}
	got := own.Readings[0]
	if diff := cmp.Diff(got.Sealed, want); diff != "" {
		t.Errorf("sealed (-got +want):\n%s", diff)
	}
	if fmt.Sprint(got.Data) != "map[site:lab]" {
		t.Errorf("data %v, want the public site=lab alone", got.Data)
	}
	var newest apiwire.LogReadingPage
	e.get(t, "/v1/readings").ok(t, &newest)
	if len(newest.Readings) != 1 || !cmp.Equal(newest.Readings[0].Sealed, want) {
		t.Errorf("the log's newest readings: %+v, want seq 1 with its sealed part", newest.Readings)
	}
	raw := e.get(t, "/v1/devices/"+f.device+"/readings")
	if !strings.Contains(string(raw.body), `"sealed":{"epoch":2,"nonce":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH"`) {
		t.Errorf("the sealed part is not epoch 2 and a base64 nonce: %s", raw.body)
	}
}
