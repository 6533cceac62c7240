package tx_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/internal/zip215"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

const chainID = "iotledger-test"

func newKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func pubOf(key ed25519.PrivateKey) ed25519.PublicKey { return key.Public().(ed25519.PublicKey) }

func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := dcbor.EncMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cat concatenates CBOR items: []byte parts as they are, other values encoded.
func cat(t testing.TB, parts ...any) []byte {
	t.Helper()
	var out []byte
	for _, p := range parts {
		if b, ok := p.([]byte); ok {
			out = append(out, b...)
		} else {
			out = append(out, enc(t, p)...)
		}
	}
	return out
}

func mustSign(t testing.TB, key ed25519.PrivateKey, typ tx.Type, nonce uint64, fields any) []byte {
	t.Helper()
	raw, err := tx.Sign(key, typ, chainID, nonce, fields)
	if err != nil {
		t.Fatalf("Sign = %v", err)
	}
	return raw
}

// register returns RegisterDevice fields for devKey, owned by owner's
// account, with the device's consent.
func register(owner, devKey ed25519.PrivateKey, labels map[string]string) *tx.RegisterDevice {
	acc := address.Account(pubOf(owner))
	return &tx.RegisterDevice{
		Key:       pubOf(devKey),
		Labels:    labels,
		DeviceSig: ed25519.Sign(devKey, tx.RegistrationMessage(chainID, acc, pubOf(devKey))),
	}
}

// header is the serialized protected header {alg: EdDSA, kid: kid}.
func header(t testing.TB, kid string) []byte {
	t.Helper()
	return enc(t, map[int]any{1: -8, 4: []byte(kid)})
}

// body encodes a transaction body; fields is a value or raw CBOR.
func body(t testing.TB, typ any, signer []byte, fields any) []byte {
	t.Helper()
	if raw, ok := fields.([]byte); ok {
		fields = cbor.RawMessage(raw)
	}
	return enc(t, map[int]any{1: typ, 2: chainID, 3: 1, 4: signer, 5: fields})
}

// signCOSE makes a signed transaction by hand, with a valid signature by key
// over whatever protected header and body it is given.
func signCOSE(t testing.TB, key ed25519.PrivateKey, protected, payload []byte) []byte {
	t.Helper()
	sig := ed25519.Sign(key, enc(t, []any{"Signature1", protected, []byte{}, payload}))
	msg := enc(t, cbor.Tag{Number: 18, Content: []any{protected, map[int]int{}, payload, sig}})
	return enc(t, []any{tx.KindSigned, msg})
}

// signBody signs body by hand with key, kid the key's account.
func signBody(t testing.TB, key ed25519.PrivateKey, payload []byte) []byte {
	t.Helper()
	return signCOSE(t, key, header(t, address.Account(pubOf(key))), payload)
}

func TestBatchRoundTrip(t *testing.T) {
	dev := newKey(9)
	var readings [][]byte
	for i := range 3 {
		r, err := reading.Sign(reading.Reading{Seq: uint64(i), Data: map[string]any{"i": i}}, dev)
		if err != nil {
			t.Fatal(err)
		}
		readings = append(readings, r)
	}
	for _, rs := range [][][]byte{readings[:1], readings, {[]byte("opaque: readings are checked one by one later")}} {
		raw := tx.NewBatch(rs)
		got, err := tx.Decode(raw)
		if err != nil {
			t.Fatalf("Decode(NewBatch) = %v", err)
		}
		want := &tx.Tx{Kind: tx.KindBatch, Readings: rs}
		if d := cmp.Diff(got, want); d != "" {
			t.Errorf("Decode(NewBatch) (-got +want):\n%s", d)
		}
	}
}

func TestSignedRoundTrip(t *testing.T) {
	owner, dev, next := newKey(1), newKey(2), newKey(3)
	acc := address.Account(pubOf(owner))
	devID := address.Device(pubOf(dev))
	for _, tc := range []struct {
		name   string
		typ    tx.Type
		nonce  uint64
		fields any
		want   any
	}{{
		name:   "register device",
		typ:    tx.TypeRegisterDevice,
		nonce:  1,
		fields: register(owner, dev, map[string]string{"site": "plant-3", "kind": "thermometer"}),
		want:   register(owner, dev, map[string]string{"site": "plant-3", "kind": "thermometer"}),
	}, {
		name:   "register device, fields by value, no labels",
		typ:    tx.TypeRegisterDevice,
		nonce:  2,
		fields: *register(owner, dev, nil),
		want:   register(owner, dev, nil),
	}, {
		name:   "register device, as many labels as allowed",
		typ:    tx.TypeRegisterDevice,
		nonce:  3,
		fields: register(owner, dev, manyLabels(tx.MaxLabels, tx.MaxLabelLen)),
		want:   register(owner, dev, manyLabels(tx.MaxLabels, tx.MaxLabelLen)),
	}, {
		name:   "revoke device",
		typ:    tx.TypeRevokeDevice,
		nonce:  1 << 40,
		fields: &tx.RevokeDevice{Device: devID},
		want:   &tx.RevokeDevice{Device: devID},
	}, {
		name:   "transfer",
		typ:    tx.TypeTransfer,
		nonce:  7,
		fields: &tx.Transfer{To: devID, Amount: 42, Memo: strings.Repeat("m", tx.MaxMemoLen)},
		want:   &tx.Transfer{To: devID, Amount: 42, Memo: strings.Repeat("m", tx.MaxMemoLen)},
	}, {
		name:   "transfer from a device",
		typ:    tx.TypeTransfer,
		nonce:  8,
		fields: &tx.Transfer{From: devID, To: acc, Amount: 1},
		want:   &tx.Transfer{From: devID, To: acc, Amount: 1},
	}, {
		name:   "set desired",
		typ:    tx.TypeSetDesired,
		nonce:  9,
		fields: &tx.TwinPatch{Device: devID, Set: map[string]any{"firmware": "1.3.0", "interval": int64(60), "on": true, "gain": 1.5}, Unset: []string{"old"}},
		want:   &tx.TwinPatch{Device: devID, Set: map[string]any{"firmware": "1.3.0", "interval": int64(60), "on": true, "gain": 1.5}, Unset: []string{"old"}},
	}, {
		name:  "rotate device",
		typ:   tx.TypeRotateDevice,
		nonce: 0,
		fields: &tx.RotateDevice{Device: devID, Key: pubOf(next),
			DeviceSig: ed25519.Sign(next, tx.RotationMessage(chainID, devID, pubOf(next)))},
		want: &tx.RotateDevice{Device: devID, Key: pubOf(next),
			DeviceSig: ed25519.Sign(next, tx.RotationMessage(chainID, devID, pubOf(next)))},
	}, {
		name:  "propose a validator",
		typ:   tx.TypeProposeValidator,
		nonce: 3,
		fields: &tx.ProposeValidator{ValidatorChange: tx.ValidatorChange{Action: tx.ValidatorAdd, Key: pubOf(next), Power: tx.MaxValidatorPower},
			Consent: ed25519.Sign(next, tx.ValidatorConsentMessage(chainID, pubOf(next)))},
		want: &tx.ProposeValidator{ValidatorChange: tx.ValidatorChange{Action: tx.ValidatorAdd, Key: pubOf(next), Power: tx.MaxValidatorPower},
			Consent: ed25519.Sign(next, tx.ValidatorConsentMessage(chainID, pubOf(next)))},
	}, {
		name:   "propose a removal",
		typ:    tx.TypeProposeValidator,
		nonce:  4,
		fields: tx.ProposeValidator{ValidatorChange: tx.ValidatorChange{Action: tx.ValidatorRemove, Key: pubOf(dev)}},
		want:   &tx.ProposeValidator{ValidatorChange: tx.ValidatorChange{Action: tx.ValidatorRemove, Key: pubOf(dev)}},
	}, {
		name:   "approve a power change",
		typ:    tx.TypeApproveValidator,
		nonce:  5,
		fields: &tx.ApproveValidator{Proposal: 7, ValidatorChange: tx.ValidatorChange{Action: tx.ValidatorPower, Key: pubOf(dev), Power: 1}},
		want:   &tx.ApproveValidator{Proposal: 7, ValidatorChange: tx.ValidatorChange{Action: tx.ValidatorPower, Key: pubOf(dev), Power: 1}},
	}, {
		name:   "set encryption key, x25519 only",
		typ:    tx.TypeSetEncryptionKey,
		nonce:  20,
		fields: &tx.SetEncryptionKey{X25519: bytes.Repeat([]byte{7}, tx.X25519KeySize)},
		want:   &tx.SetEncryptionKey{X25519: bytes.Repeat([]byte{7}, tx.X25519KeySize)},
	}, {
		name:   "set encryption key, with x-wing",
		typ:    tx.TypeSetEncryptionKey,
		nonce:  21,
		fields: &tx.SetEncryptionKey{X25519: bytes.Repeat([]byte{7}, tx.X25519KeySize), XWing: bytes.Repeat([]byte{8}, tx.XWingKeySize)},
		want:   &tx.SetEncryptionKey{X25519: bytes.Repeat([]byte{7}, tx.X25519KeySize), XWing: bytes.Repeat([]byte{8}, tx.XWingKeySize)},
	}, {
		name:   "set private fields",
		typ:    tx.TypeSetPrivateFields,
		nonce:  22,
		fields: &tx.SetPrivateFields{Device: devID, Fields: []string{"temp", "hr"}},
		want:   &tx.SetPrivateFields{Device: devID, Fields: []string{"temp", "hr"}},
	}, {
		name:  "stream key",
		typ:   tx.TypeStreamKey,
		nonce: 23,
		fields: &tx.StreamKey{Device: devID, Epoch: 3, Wraps: []tx.KeyWrap{
			{Recipient: acc, KEM: tx.KEMXWing, Commitment: bytes.Repeat([]byte{1}, 32)},
			{Recipient: address.Account(pubOf(next)), KEM: tx.KEMX25519, Commitment: bytes.Repeat([]byte{2}, 32)}}},
		want: &tx.StreamKey{Device: devID, Epoch: 3, Wraps: []tx.KeyWrap{
			{Recipient: acc, KEM: tx.KEMXWing, Commitment: bytes.Repeat([]byte{1}, 32)},
			{Recipient: address.Account(pubOf(next)), KEM: tx.KEMX25519, Commitment: bytes.Repeat([]byte{2}, 32)}}},
	}, {
		name:  "grant access from an epoch",
		typ:   tx.TypeGrantAccess,
		nonce: 24,
		fields: &tx.GrantAccess{Device: devID, To: address.Account(pubOf(next)), FromEpoch: 2, Wraps: []tx.EpochWrap{
			{Epoch: 2, KEM: tx.KEMX25519, Commitment: bytes.Repeat([]byte{3}, 32)}, {Epoch: 3, KEM: tx.KEMX25519, Commitment: bytes.Repeat([]byte{4}, 32)}}},
		want: &tx.GrantAccess{Device: devID, To: address.Account(pubOf(next)), FromEpoch: 2, Wraps: []tx.EpochWrap{
			{Epoch: 2, KEM: tx.KEMX25519, Commitment: bytes.Repeat([]byte{3}, 32)}, {Epoch: 3, KEM: tx.KEMX25519, Commitment: bytes.Repeat([]byte{4}, 32)}}},
	}, {
		name:   "grant access from the current epoch, nothing announced",
		typ:    tx.TypeGrantAccess,
		nonce:  25,
		fields: &tx.GrantAccess{Device: devID, To: address.Account(pubOf(next))},
		want:   &tx.GrantAccess{Device: devID, To: address.Account(pubOf(next))},
	}, {
		name:   "revoke access",
		typ:    tx.TypeRevokeAccess,
		nonce:  26,
		fields: &tx.RevokeAccess{Device: devID, From: address.Account(pubOf(next))},
		want:   &tx.RevokeAccess{Device: devID, From: address.Account(pubOf(next))},
	}, {
		name:   "rotate stream key",
		typ:    tx.TypeRotateStreamKey,
		nonce:  27,
		fields: &tx.RotateStreamKey{Device: devID},
		want:   &tx.RotateStreamKey{Device: devID},
	}, {
		name:   "erase epochs",
		typ:    tx.TypeEraseEpochs,
		nonce:  28,
		fields: &tx.EraseEpochs{Device: devID, Epochs: []tx.EpochRange{{From: 1, To: 3}, {From: 5, To: 5}, {From: 6, To: 1028 - 4}}},
		want:   &tx.EraseEpochs{Device: devID, Epochs: []tx.EpochRange{{From: 1, To: 3}, {From: 5, To: 5}, {From: 6, To: 1028 - 4}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			raw := mustSign(t, owner, tc.typ, tc.nonce, tc.fields)
			got, err := tx.Decode(raw)
			if err != nil {
				t.Fatalf("Decode = %v", err)
			}
			if got.Kind != tx.KindSigned || got.Signed == nil || got.Readings != nil {
				t.Fatalf("Decode = %+v, want a signed transaction", got)
			}
			s := got.Signed
			if s.Type != tc.typ || s.ChainID != chainID || s.Nonce != tc.nonce || !bytes.Equal(s.Signer, pubOf(owner)) || s.Account != acc {
				t.Errorf("body = type %v chain %q nonce %d signer %x account %s; want %v %q %d %x %s",
					s.Type, s.ChainID, s.Nonce, s.Signer, s.Account, tc.typ, chainID, tc.nonce, pubOf(owner), acc)
			}
			if d := cmp.Diff(s.Fields, tc.want); d != "" {
				t.Errorf("fields (-got +want):\n%s", d)
			}
			if err := s.Verify(); err != nil {
				t.Errorf("Verify = %v", err)
			}
			if again := mustSign(t, owner, tc.typ, tc.nonce, tc.fields); !bytes.Equal(again, raw) {
				t.Errorf("Sign is not deterministic")
			}
		})
	}
}

// TestConsentMessages: the device's consent verifies under ZIP 215 and binds
// chain, owner and key.
func TestConsentMessages(t *testing.T) {
	owner, dev := newKey(1), newKey(2)
	f := register(owner, dev, nil)
	acc := address.Account(pubOf(owner))
	if !zip215.Verify(f.Key, tx.RegistrationMessage(chainID, acc, f.Key), f.DeviceSig) {
		t.Fatal("device consent does not verify")
	}
	for _, m := range [][]byte{
		tx.RegistrationMessage("other-chain", acc, f.Key),
		tx.RegistrationMessage(chainID, address.Account(pubOf(newKey(4))), f.Key),
		tx.RotationMessage(chainID, acc, f.Key),
	} {
		if zip215.Verify(f.Key, m, f.DeviceSig) {
			t.Errorf("consent verifies over %x", m)
		}
	}
}

// TestValidatorConsentMessage: a new validator's consent binds chain and
// key, and begins unlike anything CometBFT signs with a consensus key.
func TestValidatorConsentMessage(t *testing.T) {
	k := newKey(5)
	m := tx.ValidatorConsentMessage(chainID, pubOf(k))
	sig := ed25519.Sign(k, m)
	for _, other := range [][]byte{
		tx.ValidatorConsentMessage("other-chain", pubOf(k)),
		tx.ValidatorConsentMessage(chainID, pubOf(newKey(6))),
		tx.RegistrationMessage(chainID, address.Account(pubOf(k)), pubOf(k)),
	} {
		if zip215.Verify(pubOf(k), other, sig) {
			t.Errorf("consent verifies over %x", other)
		}
	}
	// CometBFT's sign bytes are a varint length, then a field tag: 0x08
	// (votes, proposals) or 0x0A (vote extensions). 0x83 starts a varint of
	// two bytes, so the tag would be the third byte.
	if m[0] != 0x83 || m[1] >= 0x80 || m[2] == 0x08 || m[2] == 0x0a {
		t.Errorf("consent message begins %x: want a CBOR array of 3 (0x83), then no protobuf field tag where CometBFT's sign bytes have one", m[:3])
	}
}

// manyNames returns n distinct field names.
func manyNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("f%d", i)
	}
	return out
}

// wrapTo is a stream_key wrap as CBOR, with a commitment of size bytes.
func wrapTo(recipient string, kem uint64, size int) map[int]any {
	return map[int]any{1: recipient, 2: kem, 3: make([]byte, size)}
}

// epochWrap is a grant_access wrap as CBOR, with a commitment of size bytes.
func epochWrap(epoch uint64, size int) map[int]any {
	return map[int]any{1: epoch, 2: tx.KEMX25519, 3: make([]byte, size)}
}

// manyWraps returns n stream_key wraps to distinct accounts.
func manyWraps(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = wrapTo(address.Account(pubOf(newKey(byte(i)))), tx.KEMX25519, 32)
	}
	return out
}

func manyLabels(n, l int) map[string]string {
	out := map[string]string{}
	for i := range n {
		k := fmt.Sprintf("%03d", i)
		out[k+strings.Repeat("k", l-len(k))] = strings.Repeat("v", l)
	}
	return out
}

func TestDecodeRejects(t *testing.T) {
	owner, dev, other := newKey(1), newKey(2), newKey(3)
	ownerPub := pubOf(owner)
	acc := address.Account(ownerPub)
	devID := address.Device(pubOf(dev))
	good := mustSign(t, owner, tx.TypeRevokeDevice, 1, &tx.RevokeDevice{Device: devID})
	if _, err := tx.Decode(good); err != nil {
		t.Fatalf("Decode(good) = %v", err)
	}
	revoke := map[int]any{1: devID}
	signed := func(typ any, fields any) []byte { return signBody(t, owner, body(t, typ, ownerPub, fields)) }
	withLabels := func(labels map[string]string) []byte {
		f := register(owner, dev, nil)
		return signed(1, map[int]any{1: f.Key, 2: labels, 3: f.DeviceSig})
	}
	var inner []byte // the COSE_Sign1 inside [2, h'...']
	if err := dcbor.DecMode.Unmarshal(good[2:], &inner); err != nil {
		t.Fatal(err)
	}
	tooMany := manyLabels(tx.MaxLabels+1, 4)

	for _, tc := range []struct {
		name string
		raw  []byte
		want error
	}{
		// Envelope.
		{"empty", nil, tx.ErrMalformed},
		{"garbage", []byte("not a transaction"), tx.ErrMalformed},
		{"truncated", good[:len(good)-1], tx.ErrMalformed},
		{"trailing byte", append(bytes.Clone(good), 0), tx.ErrMalformed},
		{"not an array", enc(t, map[int]int{1: 2}), tx.ErrMalformed},
		{"array of 1", enc(t, []any{1}), tx.ErrMalformed},
		{"array of 3", enc(t, []any{1, [][]byte{{1}}, 3}), tx.ErrMalformed},
		{"kind as text", enc(t, []any{"batch", [][]byte{{1}}}), tx.ErrMalformed},
		{"unknown kind 0", enc(t, []any{0, [][]byte{{1}}}), tx.ErrMalformed},
		{"unknown kind 3", enc(t, []any{3, inner}), tx.ErrMalformed},
		{"negative kind", enc(t, []any{-1, inner}), tx.ErrMalformed},
		{"kind in 2 bytes", cat(t, []byte{0x82, 0x18, 0x01}, [][]byte{{1}}), tx.ErrMalformed},

		// Batch.
		{"empty batch", tx.NewBatch(nil), tx.ErrEmpty},
		{"empty batch, explicit", enc(t, []any{1, []any{}}), tx.ErrEmpty},
		{"batch null", enc(t, []any{1, nil}), tx.ErrEmpty},
		{"batch not an array", enc(t, []any{1, []byte{1, 2}}), tx.ErrMalformed},
		{"batch of text", enc(t, []any{1, []string{"a"}}), tx.ErrMalformed},
		{"batch of integer arrays", enc(t, []any{1, [][]int{{1, 2}}}), tx.ErrMalformed},
		{"batch of maps", enc(t, []any{1, []any{map[int]int{1: 1}}}), tx.ErrMalformed},
		{"batch length in 2 bytes", cat(t, []byte{0x82, 0x01, 0x98, 0x01}, []byte{0x41, 0x01}), tx.ErrMalformed},
		{"batch reading length in 2 bytes", cat(t, []byte{0x82, 0x01, 0x81, 0x58, 0x01, 0x01}), tx.ErrMalformed},

		// Signed envelope.
		{"signed content not a byte string", cat(t, []byte{0x82, 0x02}, inner), tx.ErrMalformed},
		{"signed content garbage", enc(t, []any{2, []byte("garbage")}), tx.ErrMalformed},
		{"signed content untagged", enc(t, []any{2, inner[1:]}), tx.ErrMalformed},
		{"signed content length not shortest", cat(t, []byte{0x82, 0x02, 0x5a, 0, 0, byte(len(inner) >> 8), byte(len(inner))}, inner), tx.ErrMalformed},
		{"unprotected header not empty", enc(t, []any{2, cat(t, inner[:bytes.Index(inner, []byte{0xa0})], map[int]int{99: 1}, inner[bytes.Index(inner, []byte{0xa0})+1:])}), tx.ErrMalformed},

		// Protected header.
		{"algorithm ES256", signCOSE(t, owner, enc(t, map[int]any{1: -7, 4: []byte(acc)}), body(t, 2, ownerPub, revoke)), tx.ErrMalformed},
		{"no algorithm", signCOSE(t, owner, enc(t, map[int]any{4: []byte(acc)}), body(t, 2, ownerPub, revoke)), tx.ErrMalformed},
		{"critical parameters", signCOSE(t, owner, enc(t, map[int]any{1: -8, 2: []int{4}, 4: []byte(acc)}), body(t, 2, ownerPub, revoke)), tx.ErrMalformed},
		{"no kid", signCOSE(t, owner, enc(t, map[int]any{1: -8}), body(t, 2, ownerPub, revoke)), tx.ErrMalformed},
		{"kid of another account", signCOSE(t, owner, header(t, address.Account(pubOf(other))), body(t, 2, ownerPub, revoke)), tx.ErrMalformed},
		{"kid is the signer's device id", signCOSE(t, owner, header(t, address.Device(ownerPub)), body(t, 2, ownerPub, revoke)), tx.ErrMalformed},

		// Body.
		{"body not a map", signBody(t, owner, enc(t, []any{2, chainID, 1, ownerPub})), tx.ErrMalformed},
		{"unknown body key", signBody(t, owner, enc(t, map[int]any{1: 2, 2: chainID, 3: 1, 4: ownerPub, 5: revoke, 6: "x"})), tx.ErrMalformed},
		{"duplicate body key", signBody(t, owner, cat(t, []byte{0xa6}, 1, 2, 2, chainID, 3, 1, 4, enc(t, []byte(ownerPub)), 5, revoke, 1, 3)), tx.ErrMalformed},
		{"signer key 31 bytes", signCOSE(t, owner, header(t, address.Account(ownerPub[:31])), body(t, 2, ownerPub[:31], revoke)), tx.ErrMalformed},
		{"signer key 33 bytes", signCOSE(t, owner, header(t, address.Account(append(bytes.Clone(ownerPub), 0))), body(t, 2, append(bytes.Clone(ownerPub), 0), revoke)), tx.ErrMalformed},
		{"no signer key", signBody(t, owner, enc(t, map[int]any{1: 2, 2: chainID, 3: 1, 5: revoke})), tx.ErrMalformed},
		{"unknown type 0", signed(0, revoke), tx.ErrMalformed},
		{"unknown type 5", signed(5, revoke), tx.ErrMalformed},
		{"transfer without to", signed(4, map[int]any{3: 5}), tx.ErrMalformed},
		{"transfer to a bad address", signed(4, map[int]any{2: "acc1nope", 3: 5}), tx.ErrMalformed},
		{"transfer from a bad address", signed(4, map[int]any{1: "bob", 2: acc, 3: 5}), tx.ErrMalformed},
		{"transfer memo too long", signed(4, map[int]any{2: acc, 3: 5, 4: strings.Repeat("m", tx.MaxMemoLen+1)}), tx.ErrMalformed},
		{"transfer negative amount", signed(4, map[int]any{2: acc, 3: -5}), tx.ErrMalformed},
		{"twin patch empty", signed(5, map[int]any{1: devID}), tx.ErrMalformed},
		{"twin patch bad device", signed(5, map[int]any{1: acc, 2: map[string]any{"a": 1}}), tx.ErrMalformed},
		{"twin patch nested value", signed(6, map[int]any{1: devID, 2: map[string]any{"a": []int{1}}}), tx.ErrMalformed},
		{"twin patch set and unset", signed(5, map[int]any{1: devID, 2: map[string]any{"a": 1}, 3: []string{"a"}}), tx.ErrMalformed},
		{"twin patch unset twice", signed(5, map[int]any{1: devID, 3: []string{"a", "a"}}), tx.ErrMalformed},
		{"twin patch long text", signed(5, map[int]any{1: devID, 2: map[string]any{"a": strings.Repeat("x", tx.MaxTwinTextLen+1)}}), tx.ErrMalformed},
		{"twin patch empty name", signed(5, map[int]any{1: devID, 2: map[string]any{"": 1}}), tx.ErrMalformed},
		{"type as text", signed("revoke_device", revoke), tx.ErrMalformed},
		{"negative nonce", signBody(t, owner, enc(t, map[int]any{1: 2, 2: chainID, 3: -1, 4: ownerPub, 5: revoke})), tx.ErrMalformed},
		{"no fields", signBody(t, owner, enc(t, map[int]any{1: 2, 2: chainID, 3: 1, 4: ownerPub})), tx.ErrMalformed},

		// Fields of each type.
		{"register: key 31 bytes", signed(1, map[int]any{1: pubOf(dev)[:31], 3: []byte{1}}), tx.ErrMalformed},
		{"register: no key", signed(1, map[int]any{3: []byte{1}}), tx.ErrMalformed},
		{"register: unknown field", signed(1, map[int]any{1: pubOf(dev), 3: []byte{1}, 4: 1}), tx.ErrMalformed},
		{"register: too many labels", withLabels(tooMany), tx.ErrMalformed},
		{"register: empty label key", withLabels(map[string]string{"": "v"}), tx.ErrMalformed},
		{"register: long label key", withLabels(map[string]string{strings.Repeat("k", tx.MaxLabelLen+1): "v"}), tx.ErrMalformed},
		{"register: long label value", withLabels(map[string]string{"k": strings.Repeat("v", tx.MaxLabelLen+1)}), tx.ErrMalformed},
		{"register: label value not text", signed(1, map[int]any{1: pubOf(dev), 2: map[string]int{"k": 1}, 3: []byte{1}}), tx.ErrMalformed},
		{"register: duplicate label", signed(1, cat(t, []byte{0xa3}, 1, enc(t, []byte(pubOf(dev))), 2, []byte{0xa2}, "k", "a", "k", "b", 3, enc(t, []byte{1}))), tx.ErrMalformed},
		{"register: revoke fields", signed(1, revoke), tx.ErrMalformed},
		{"revoke: device id malformed", signed(2, map[int]any{1: "dev1nope"}), tx.ErrMalformed},
		{"revoke: account address", signed(2, map[int]any{1: acc}), tx.ErrMalformed},
		{"revoke: no device", signed(2, map[int]any{}), tx.ErrMalformed},
		{"rotate: device id malformed", signed(3, map[int]any{1: "dev1nope", 2: pubOf(other), 3: []byte{1}}), tx.ErrMalformed},
		{"rotate: key 31 bytes", signed(3, map[int]any{1: devID, 2: pubOf(other)[:31], 3: []byte{1}}), tx.ErrMalformed},
		{"rotate: no key", signed(3, map[int]any{1: devID, 3: []byte{1}}), tx.ErrMalformed},
		{"propose: unknown action", signed(12, map[int]any{1: "promote", 2: pubOf(other), 3: 10}), tx.ErrMalformed},
		{"propose: key 31 bytes", signed(12, map[int]any{1: "remove", 2: pubOf(other)[:31]}), tx.ErrMalformed},
		{"propose: add without power", signed(12, map[int]any{1: "add", 2: pubOf(other), 4: make([]byte, 64)}), tx.ErrMalformed},
		{"propose: add with negative power", signed(12, map[int]any{1: "add", 2: pubOf(other), 3: -10, 4: make([]byte, 64)}), tx.ErrMalformed},
		{"propose: power above the maximum", signed(12, map[int]any{1: "power", 2: pubOf(other), 3: tx.MaxValidatorPower + 1}), tx.ErrMalformed},
		{"propose: add without consent", signed(12, map[int]any{1: "add", 2: pubOf(other), 3: 10}), tx.ErrMalformed},
		{"propose: consent of 63 bytes", signed(12, map[int]any{1: "add", 2: pubOf(other), 3: 10, 4: make([]byte, 63)}), tx.ErrMalformed},
		{"propose: remove with a power", signed(12, map[int]any{1: "remove", 2: pubOf(other), 3: 10}), tx.ErrMalformed},
		{"propose: remove with a consent", signed(12, map[int]any{1: "remove", 2: pubOf(other), 4: make([]byte, 64)}), tx.ErrMalformed},
		{"propose: unknown field", signed(12, map[int]any{1: "remove", 2: pubOf(other), 9: 1}), tx.ErrMalformed},
		{"approve: proposal 0", signed(13, map[int]any{1: "remove", 2: pubOf(other)}), tx.ErrMalformed},
		{"approve: no change", signed(13, map[int]any{5: 1}), tx.ErrMalformed},
		{"approve: with a consent", signed(13, map[int]any{5: 1, 1: "remove", 2: pubOf(other), 4: make([]byte, 64)}), tx.ErrMalformed},

		// Private readings.
		{"encryption key: x25519 31 bytes", signed(14, map[int]any{1: make([]byte, 31)}), tx.ErrMalformed},
		{"encryption key: no x25519", signed(14, map[int]any{2: make([]byte, tx.XWingKeySize)}), tx.ErrMalformed},
		{"encryption key: x-wing 1215 bytes", signed(14, map[int]any{1: make([]byte, 32), 2: make([]byte, tx.XWingKeySize-1)}), tx.ErrMalformed},
		{"encryption key: x-wing empty", signed(14, map[int]any{1: make([]byte, 32), 2: []byte{}}), tx.ErrMalformed},
		{"encryption key: x-wing not an ML-KEM key", signed(14, map[int]any{1: make([]byte, 32), 2: bytes.Repeat([]byte{0xff}, tx.XWingKeySize)}), tx.ErrMalformed},
		{"encryption key: unknown field", signed(14, map[int]any{1: make([]byte, 32), 3: 1}), tx.ErrMalformed},
		{"private fields: none", signed(15, map[int]any{1: devID, 2: []string{}}), tx.ErrMalformed},
		{"private fields: missing", signed(15, map[int]any{1: devID}), tx.ErrMalformed},
		{"private fields: empty name", signed(15, map[int]any{1: devID, 2: []string{"temp", ""}}), tx.ErrMalformed},
		{"private fields: long name", signed(15, map[int]any{1: devID, 2: []string{strings.Repeat("f", reading.MaxFieldLen+1)}}), tx.ErrMalformed},
		{"private fields: twice", signed(15, map[int]any{1: devID, 2: []string{"hr", "temp", "hr"}}), tx.ErrMalformed},
		{"private fields: too many", signed(15, map[int]any{1: devID, 2: manyNames(reading.MaxFields + 1)}), tx.ErrMalformed},
		{"private fields: account for device", signed(15, map[int]any{1: acc, 2: []string{"hr"}}), tx.ErrMalformed},
		{"stream key: epoch 0", signed(16, map[int]any{1: devID, 2: 0, 3: []any{wrapTo(acc, tx.KEMX25519, 32)}}), tx.ErrMalformed},
		{"stream key: no wraps", signed(16, map[int]any{1: devID, 2: 1, 3: []any{}}), tx.ErrMalformed},
		{"stream key: recipient a device", signed(16, map[int]any{1: devID, 2: 1, 3: []any{wrapTo(devID, tx.KEMX25519, 32)}}), tx.ErrMalformed},
		{"stream key: recipient twice", signed(16, map[int]any{1: devID, 2: 1, 3: []any{wrapTo(acc, tx.KEMX25519, 32), wrapTo(acc, tx.KEMXWing, 32)}}), tx.ErrMalformed},
		{"stream key: unknown kem", signed(16, map[int]any{1: devID, 2: 1, 3: []any{wrapTo(acc, 0x0021, 32)}}), tx.ErrMalformed},
		{"stream key: kem past 16 bits", signed(16, map[int]any{1: devID, 2: 1, 3: []any{wrapTo(acc, 1<<20, 32)}}), tx.ErrMalformed},
		{"stream key: commitment 31 bytes", signed(16, map[int]any{1: devID, 2: 1, 3: []any{wrapTo(acc, tx.KEMX25519, 31)}}), tx.ErrMalformed},
		{"stream key: a wrapped key instead of its commitment", signed(16, map[int]any{1: devID, 2: 1, 3: []any{map[int]any{1: acc, 2: tx.KEMX25519, 3: make([]byte, 32), 4: make([]byte, 80)}}}), tx.ErrMalformed},
		{"stream key: too many wraps", signed(16, map[int]any{1: devID, 2: 1, 3: manyWraps(tx.MaxRecipients + 1)}), tx.ErrMalformed},
		{"grant: to a device", signed(17, map[int]any{1: devID, 2: devID}), tx.ErrMalformed},
		{"grant: no to", signed(17, map[int]any{1: devID}), tx.ErrMalformed},
		{"grant: wrap for epoch 0", signed(17, map[int]any{1: devID, 2: acc, 4: []any{epochWrap(0, 32)}}), tx.ErrMalformed},
		{"grant: wrap before from_epoch", signed(17, map[int]any{1: devID, 2: acc, 3: 3, 4: []any{epochWrap(2, 32)}}), tx.ErrMalformed},
		{"grant: epoch twice", signed(17, map[int]any{1: devID, 2: acc, 4: []any{epochWrap(2, 32), epochWrap(2, 32)}}), tx.ErrMalformed},
		{"grant: commitment 33 bytes", signed(17, map[int]any{1: devID, 2: acc, 4: []any{epochWrap(2, 33)}}), tx.ErrMalformed},
		{"revoke access: from a device", signed(18, map[int]any{1: devID, 2: devID}), tx.ErrMalformed},
		{"revoke access: no from", signed(18, map[int]any{1: devID}), tx.ErrMalformed},
		{"rotate stream key: bad device", signed(19, map[int]any{1: "dev1nope"}), tx.ErrMalformed},
		{"erase: no ranges", signed(20, map[int]any{1: devID, 2: []any{}}), tx.ErrMalformed},
		{"erase: epoch 0", signed(20, map[int]any{1: devID, 2: []any{map[int]any{1: 0, 2: 2}}}), tx.ErrMalformed},
		{"erase: range backwards", signed(20, map[int]any{1: devID, 2: []any{map[int]any{1: 3, 2: 2}}}), tx.ErrMalformed},
		{"erase: ranges overlap", signed(20, map[int]any{1: devID, 2: []any{map[int]any{1: 1, 2: 3}, map[int]any{1: 3, 2: 4}}}), tx.ErrMalformed},
		{"erase: ranges out of order", signed(20, map[int]any{1: devID, 2: []any{map[int]any{1: 5, 2: 6}, map[int]any{1: 1, 2: 2}}}), tx.ErrMalformed},
		{"erase: too many epochs", signed(20, map[int]any{1: devID, 2: []any{map[int]any{1: 1, 2: 1000}, map[int]any{1: 1002, 2: 1030}}}), tx.ErrMalformed},
		{"erase: every epoch", signed(20, map[int]any{1: devID, 2: []any{map[int]any{1: 1, 2: uint64(1<<64 - 1)}}}), tx.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tx.Decode(tc.raw)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %+v, %v; want %v", got, err, tc.want)
			}
			if got != nil {
				t.Errorf("Decode returned a transaction with its error")
			}
			t.Log(err)
		})
	}
}

func TestLabelErrorIsStable(t *testing.T) {
	owner, dev := newKey(1), newKey(2)
	labels := map[string]string{}
	for i := range 10 {
		labels[fmt.Sprintf("bad%d", i)] = strings.Repeat("v", tx.MaxLabelLen+1)
	}
	f := register(owner, dev, labels)
	raw := signBody(t, owner, body(t, 1, pubOf(owner), map[int]any{1: f.Key, 2: labels, 3: f.DeviceSig}))
	_, first := tx.Decode(raw)
	for range 20 {
		if _, err := tx.Decode(raw); err == nil || err.Error() != first.Error() {
			t.Fatalf("Decode error changes between runs: %v, then %v", first, err)
		}
	}
}

// A call with several bad arguments is refused naming the same one every
// time (the first in name order), as every validator must.
func TestCallArgErrorIsStable(t *testing.T) {
	owner := newKey(1)
	args := map[string]string{}
	for i := range 10 {
		args[fmt.Sprintf("bad%d", i)] = strings.Repeat("v", tx.MaxArgLen+1)
	}
	raw := signBody(t, owner, body(t, 8, pubOf(owner), map[int]any{1: "ctr-1", 3: args}))
	for range 20 {
		_, err := tx.Decode(raw)
		if err == nil || !strings.Contains(err.Error(), `argument "bad0"`) {
			t.Fatalf("Decode = %v; want the refusal of argument \"bad0\", the first in name order", err)
		}
	}
}

func TestVerify(t *testing.T) {
	owner, dev := newKey(1), newKey(2)
	raw := mustSign(t, owner, tx.TypeRegisterDevice, 5, register(owner, dev, map[string]string{"site": "a"}))
	got, err := tx.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Signed.Verify(); err != nil {
		t.Fatalf("Verify = %v", err)
	}

	t.Run("signed by another key", func(t *testing.T) {
		// The body names owner's key, the signature is by dev.
		raw := signCOSE(t, dev, header(t, address.Account(pubOf(owner))), body(t, 2, pubOf(owner), map[int]any{1: address.Device(pubOf(dev))}))
		got, err := tx.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := got.Signed.Verify(); !errors.Is(err, tx.ErrSignature) {
			t.Errorf("Verify = %v, want ErrSignature", err)
		}
	})
	t.Run("flipped signature byte", func(t *testing.T) {
		bad := bytes.Clone(raw)
		bad[len(bad)-1] ^= 0x80
		got, err := tx.Decode(bad)
		if err != nil {
			t.Fatal(err)
		}
		if err := got.Signed.Verify(); !errors.Is(err, tx.ErrSignature) {
			t.Errorf("Verify = %v, want ErrSignature", err)
		}
	})
	t.Run("flipped body byte", func(t *testing.T) {
		i := bytes.Index(raw, []byte(chainID))
		bad := bytes.Clone(raw)
		bad[i] ^= 0x01
		got, err := tx.Decode(bad)
		if err != nil {
			t.Fatal(err)
		}
		if got.Signed.ChainID == chainID {
			t.Fatal("the flip did not reach the chain id")
		}
		if err := got.Signed.Verify(); !errors.Is(err, tx.ErrSignature) {
			t.Errorf("Verify = %v, want ErrSignature", err)
		}
	})
	// No single-bit change yields a transaction that decodes and verifies.
	t.Run("every bit flipped", func(t *testing.T) {
		decoded := 0
		for i := range len(raw) * 8 {
			bad := bytes.Clone(raw)
			bad[i/8] ^= 1 << (i % 8)
			got, err := tx.Decode(bad)
			if err != nil {
				continue
			}
			decoded++
			if got.Kind != tx.KindSigned {
				t.Fatalf("byte %d bit %d flipped: kind %d", i/8, i%8, got.Kind)
			}
			if err := got.Signed.Verify(); err == nil {
				t.Errorf("byte %d bit %d flipped: decodes and verifies", i/8, i%8)
			}
		}
		t.Logf("%d of %d mutations decode; none verifies", decoded, len(raw)*8)
	})
}
