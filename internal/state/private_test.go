package state_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/state"
)

// A device record without private fields encodes as before they existed
// (keys 9 and 10 absent), so chains from before keep their app hashes; one
// with them round-trips.
func TestDevicePrivateFieldsEncoding(t *testing.T) {
	d := state.Device{ID: dev, Key: []byte{1}, Owner: "acc1x", Status: state.StatusActive, Registered: 1, Updated: 2}
	b, err := dcbor.EncMode.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	old := struct {
		ID         string `cbor:"1,keyasint"`
		Key        []byte `cbor:"2,keyasint"`
		Owner      string `cbor:"3,keyasint"`
		Status     string `cbor:"5,keyasint"`
		Registered int64  `cbor:"7,keyasint"`
		Updated    int64  `cbor:"8,keyasint"`
	}{d.ID, d.Key, d.Owner, d.Status, d.Registered, d.Updated}
	want, err := dcbor.EncMode.Marshal(&old)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("device record\n got %s\nwant %s (the encoding from before private fields)", hex.EncodeToString(b), hex.EncodeToString(want))
	}

	kv := memKV{}
	d.PrivateFields, d.StreamEpoch = []string{"hr", "temp"}, 3
	state.PutDevice(kv, &d)
	got, err := state.GetDevice(kv, dev)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, &d); diff != "" {
		t.Errorf("device round trip (-got +want):\n%s", diff)
	}
	for _, f := range []struct {
		name string
		want bool
	}{{"hr", true}, {"temp", true}, {"site", false}, {"", false}} {
		if got.Private(f.name) != f.want {
			t.Errorf("Private(%q) = %v, want %v", f.name, !f.want, f.want)
		}
	}
}

func TestPrivateRecordsRoundTrip(t *testing.T) {
	kv := memKV{}
	k := &state.EncryptionKey{X25519: make([]byte, 32), XWing: make([]byte, 1216), Height: 4}
	state.PutEncryptionKey(kv, "acc1x", k)
	e := &state.Epoch{Number: 2, Started: 5, Why: state.EpochRevoked, By: "acc1x", Announced: 6,
		Recipients: []state.Recipient{{Account: "acc1a", KEM: state.KEMXWing, Commitment: make([]byte, 32), Height: 6}, {Account: "acc1b"}}}
	state.PutEpoch(kv, dev, e)
	g := &state.Grant{Device: dev, Consumer: "acc1b", Periods: []state.GrantPeriod{{From: 1, Granted: 3, GrantedBy: "acc1x", Until: 1, Revoked: 5, RevokedBy: "ctr-1"}}}
	state.PutGrant(kv, g)
	state.PutPrivateName(kv, "hr", &state.PrivateName{Devices: 2})

	gotK, err := state.GetEncryptionKey(kv, "acc1x")
	if err != nil || !cmp.Equal(gotK, k) {
		t.Errorf("encryption key = %+v, %v; want %+v", gotK, err, k)
	}
	gotE, err := state.GetEpoch(kv, dev, 2)
	if err != nil || !cmp.Equal(gotE, e) {
		t.Errorf("epoch = %+v, %v; want %+v", gotE, err, e)
	}
	gotG, err := state.GetGrant(kv, dev, "acc1b")
	if err != nil || !cmp.Equal(gotG, g) {
		t.Errorf("grant = %+v, %v; want %+v", gotG, err, g)
	}
	if n, err := state.GetPrivateName(kv, "hr"); err != nil || n.Devices != 2 {
		t.Errorf("private name hr = %+v, %v; want 2 devices", n, err)
	}
	if n, err := state.GetPrivateName(kv, "temp"); err != nil || n.Devices != 0 {
		t.Errorf("private name temp = %+v, %v; want 0 devices", n, err)
	}
	for _, absent := range []func() (any, error){
		func() (any, error) { return state.GetEncryptionKey(kv, "acc1y") },
		func() (any, error) { return state.GetEpoch(kv, dev, 3) },
		func() (any, error) { return state.GetGrant(kv, dev, "acc1a") },
	} {
		if v, err := absent(); err != nil || fmt.Sprint(v) != "<nil>" {
			t.Errorf("absent record = %v, %v; want nil", v, err)
		}
	}
	// Epochs of a device sort by number, under the device's prefix.
	if a, b := state.EpochKey(dev, 255), state.EpochKey(dev, 256); bytes.Compare(a, b) >= 0 || !bytes.HasPrefix(b, state.EpochPrefix(dev)) {
		t.Errorf("epoch keys %x, %x: want numeric order under %q", a, b, state.EpochPrefix(dev))
	}
}

func TestEncryptionKeyKEM(t *testing.T) {
	if got := (&state.EncryptionKey{X25519: make([]byte, 32)}).KEM(); got != state.KEMX25519 {
		t.Errorf("KEM of an X25519 key = %#x, want 0x0020", got)
	}
	if got := (&state.EncryptionKey{X25519: make([]byte, 32), XWing: make([]byte, 1216)}).KEM(); got != state.KEMXWing {
		t.Errorf("KEM of a key with X-Wing = %#x, want 0x647a", got)
	}
}

func TestEpochRecipients(t *testing.T) {
	var e state.Epoch
	for _, a := range []string{"acc1m", "acc1c", "acc1x", "acc1c", "acc1a"} {
		e.AddRecipient(a)
	}
	var got []string
	for _, r := range e.Recipients {
		got = append(got, r.Account)
	}
	if diff := cmp.Diff(got, []string{"acc1a", "acc1c", "acc1m", "acc1x"}); diff != "" {
		t.Errorf("recipients (-got +want):\n%s", diff)
	}
	r := e.Recipient("acc1m")
	if r == nil || r.Account != "acc1m" {
		t.Fatalf("Recipient(acc1m) = %+v", r)
	}
	r.KEM = state.KEMX25519 // the entry is the record's own
	if e.Recipients[2].KEM != state.KEMX25519 {
		t.Error("Recipient returned a copy, not the record's entry")
	}
	if e.Recipient("acc1b") != nil {
		t.Error("Recipient of a non-recipient is not nil")
	}
}

func TestGrantPeriods(t *testing.T) {
	g := &state.Grant{Device: dev, Consumer: "acc1c"}
	if g.OpenPeriod() != nil {
		t.Fatal("a new grant has an open period")
	}
	g.Open(3, 10, "acc1o")
	g.Open(1, 11, "acc1o") // gives earlier epochs: the open period moves back
	if p := g.OpenPeriod(); p == nil || p.From != 1 || p.Granted != 10 || p.Extended != 11 || len(g.Periods) != 1 {
		t.Fatalf("after a grant from 3 and one from 1: %+v", g.Periods)
	}
	g.Close(4, 12, "ctr-2")
	if g.OpenPeriod() != nil {
		t.Fatal("closed grant still open")
	}
	want := state.GrantPeriod{From: 1, Granted: 10, GrantedBy: "acc1o", Extended: 11, Until: 4, Revoked: 12, RevokedBy: "ctr-2"}
	if diff := cmp.Diff(g.Periods[0], want); diff != "" {
		t.Errorf("closed period (-got +want):\n%s", diff)
	}
	g.Close(9, 13, "acc1o") // nothing open: nothing changes
	if diff := cmp.Diff(g.Periods[0], want); diff != "" {
		t.Errorf("closing again changed the period (-got +want):\n%s", diff)
	}
	for i := range state.MaxGrantPeriods + 5 {
		g.Open(uint64(10+i), int64(20+i), "acc1o")
		g.Close(uint64(10+i), int64(20+i), "acc1o")
	}
	g.Open(100, 200, "acc1o")
	if len(g.Periods) != state.MaxGrantPeriods || g.Dropped != 7 {
		t.Errorf("%d periods, %d dropped; want %d kept and 7 dropped", len(g.Periods), g.Dropped, state.MaxGrantPeriods)
	}
	if p := g.OpenPeriod(); p == nil || p.From != 100 {
		t.Errorf("the newest period is not the open one: %+v", p)
	}
}
