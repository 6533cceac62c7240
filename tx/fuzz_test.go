package tx_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

var update = flag.Bool("update", false, "rewrite the seed corpus in testdata/fuzz")

// seeds returns the named seed inputs of FuzzDecode: valid transactions of
// each kind and type, and broken ones near them.
func seeds(t testing.TB) map[string][]byte {
	t.Helper()
	owner, dev, next := newKey(1), newKey(2), newKey(3)
	ownerPub := pubOf(owner)
	devID := address.Device(pubOf(dev))
	r, err := reading.Sign(reading.Reading{Seq: 1, Data: map[string]any{"temp": 21.5}}, dev)
	if err != nil {
		t.Fatal(err)
	}
	rotate := &tx.RotateDevice{Device: devID, Key: pubOf(next), DeviceSig: make([]byte, 64)}
	return map[string][]byte{
		"batch":          tx.NewBatch([][]byte{r, r}),
		"register":       mustSign(t, owner, tx.TypeRegisterDevice, 1, register(owner, dev, map[string]string{"site": "a"})),
		"revoke":         mustSign(t, owner, tx.TypeRevokeDevice, 2, &tx.RevokeDevice{Device: devID}),
		"rotate":         mustSign(t, owner, tx.TypeRotateDevice, 3, rotate),
		"empty_batch":    tx.NewBatch(nil),
		"unknown_kind":   enc(t, []any{3, [][]byte{r}}),
		"unknown_type":   signBody(t, owner, body(t, 99, ownerPub, map[int]any{1: devID})),
		"kid_mismatch":   signCOSE(t, owner, header(t, address.Account(pubOf(dev))), body(t, 2, ownerPub, map[int]any{1: devID})),
		"short_signer":   signCOSE(t, owner, header(t, address.Account(ownerPub[:31])), body(t, 2, ownerPub[:31], map[int]any{1: devID})),
		"bad_labels":     signBody(t, owner, body(t, 1, ownerPub, map[int]any{1: pubOf(dev), 2: map[string]string{"": "x"}, 3: []byte{1}})),
		"wrong_signer":   signCOSE(t, dev, header(t, address.Account(ownerPub)), body(t, 2, ownerPub, map[int]any{1: devID})),
		"transfer":       mustSign(t, owner, tx.TypeTransfer, 4, &tx.Transfer{From: devID, To: address.Account(ownerPub), Amount: 7, Memo: "kWh"}),
		"set_desired":    mustSign(t, owner, tx.TypeSetDesired, 5, &tx.TwinPatch{Device: devID, Set: map[string]any{"firmware": "1.3.0", "gain": 1.5}, Unset: []string{"old"}}),
		"report_state":   mustSign(t, dev, tx.TypeReportState, 0, &tx.TwinPatch{Device: devID, Set: map[string]any{"on": true, "n": -3}}),
		"bad_twin_value": signBody(t, owner, body(t, 5, ownerPub, map[int]any{1: devID, 2: map[string]any{"a": []int{1}}})),
		"deploy":         mustSign(t, owner, tx.TypeDeployContract, 6, &tx.DeployContract{Source: []byte("name: c\ntriggers: []\n"), Fund: 10}),
		"call":           mustSign(t, owner, tx.TypeCallContract, 7, &tx.CallContract{Contract: "ctr-1", Trigger: "deliver", Args: map[string]string{"note": "ok"}}),
		"fund":           mustSign(t, owner, tx.TypeFundContract, 8, &tx.FundContract{Contract: "ctr-1", Amount: 5}),
		"stop":           mustSign(t, owner, tx.TypeStopContract, 9, &tx.StopContract{Contract: "ctr-1"}),
		"device_status":  mustSign(t, owner, tx.TypeDeviceStatus, 10, &tx.DeviceStatus{Device: devID, Status: "quarantined"}),
		"bad_contract":   signBody(t, owner, body(t, 9, ownerPub, map[int]any{1: "acc1", 2: 5})),
		"propose_validator": mustSign(t, owner, tx.TypeProposeValidator, 11, &tx.ProposeValidator{
			ValidatorChange: tx.ValidatorChange{Action: tx.ValidatorAdd, Key: pubOf(next), Power: 10}, Consent: make([]byte, 64)}),
		"remove_validator": mustSign(t, owner, tx.TypeProposeValidator, 12, &tx.ProposeValidator{
			ValidatorChange: tx.ValidatorChange{Action: tx.ValidatorRemove, Key: pubOf(dev)}}),
		"approve_validator": mustSign(t, dev, tx.TypeApproveValidator, 0, &tx.ApproveValidator{
			Proposal: 3, ValidatorChange: tx.ValidatorChange{Action: tx.ValidatorPower, Key: pubOf(next), Power: 15}}),
		"bad_validator_power": signBody(t, owner, body(t, 12, ownerPub, map[int]any{1: "add", 2: pubOf(next), 3: 0, 4: make([]byte, 64)})),
		"set_encryption_key":  mustSign(t, owner, tx.TypeSetEncryptionKey, 13, &tx.SetEncryptionKey{X25519: bytes.Repeat([]byte{9}, tx.X25519KeySize), XWing: bytes.Repeat([]byte{10}, tx.XWingKeySize)}),
		"set_private_fields":  mustSign(t, owner, tx.TypeSetPrivateFields, 14, &tx.SetPrivateFields{Device: devID, Fields: []string{"temp", "hr"}}),
		"stream_key": mustSign(t, dev, tx.TypeStreamKey, 1, &tx.StreamKey{Device: devID, Epoch: 2, Wraps: []tx.KeyWrap{
			{Recipient: address.Account(ownerPub), KEM: tx.KEMXWing, Commitment: bytes.Repeat([]byte{1}, tx.CommitmentSize)},
			{Recipient: address.Account(pubOf(next)), KEM: tx.KEMX25519, Commitment: bytes.Repeat([]byte{2}, tx.CommitmentSize)}}}),
		"grant_access": mustSign(t, owner, tx.TypeGrantAccess, 15, &tx.GrantAccess{Device: devID, To: address.Account(pubOf(next)), FromEpoch: 1, Wraps: []tx.EpochWrap{
			{Epoch: 1, KEM: tx.KEMX25519, Commitment: bytes.Repeat([]byte{3}, tx.CommitmentSize)}}}),
		"revoke_access":      mustSign(t, owner, tx.TypeRevokeAccess, 16, &tx.RevokeAccess{Device: devID, From: address.Account(pubOf(next))}),
		"rotate_stream_key":  mustSign(t, owner, tx.TypeRotateStreamKey, 17, &tx.RotateStreamKey{Device: devID}),
		"erase_epochs":       mustSign(t, owner, tx.TypeEraseEpochs, 18, &tx.EraseEpochs{Device: devID, Epochs: []tx.EpochRange{{From: 1, To: 2}, {From: 4, To: 4}}}),
		"bad_wrap_kem":       signBody(t, owner, body(t, 16, ownerPub, map[int]any{1: devID, 2: 1, 3: []any{map[int]any{1: address.Account(ownerPub), 2: 7, 3: make([]byte, 32)}}})),
		"bad_erase_order":    signBody(t, owner, body(t, 20, ownerPub, map[int]any{1: devID, 2: []any{map[int]any{1: 4, 2: 5}, map[int]any{1: 1, 2: 2}}})),
		"bad_private_fields": signBody(t, owner, body(t, 15, ownerPub, map[int]any{1: devID, 2: []string{"a", "a"}})),
		"garbage":            []byte("not a transaction"),
		"truncated":          tx.NewBatch([][]byte{r})[:40],
		"noncanon_batch":     append([]byte{0x82, 0x01, 0x98, 0x01}, enc(t, r)...),
	}
}

// TestWriteFuzzCorpus rewrites testdata/fuzz/FuzzDecode with -update.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds(t) {
		data := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, "seed_"+name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzDecode: Decode never panics; its errors wrap ErrMalformed or ErrEmpty;
// what decodes is canonical (a batch re-encodes to the same bytes), decodes
// again to the same transaction, and a signed one verifies or not without
// panic.
func FuzzDecode(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := tx.Decode(raw)
		if err != nil {
			if got != nil {
				t.Fatalf("Decode returned a transaction and %v", err)
			}
			if !errors.Is(err, tx.ErrMalformed) && !errors.Is(err, tx.ErrEmpty) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		switch got.Kind {
		case tx.KindBatch:
			if len(got.Readings) == 0 || got.Signed != nil {
				t.Fatalf("batch = %+v", got)
			}
			if !bytes.Equal(tx.NewBatch(got.Readings), raw) {
				t.Fatalf("NewBatch(Readings) is not the bytes decoded")
			}
		case tx.KindSigned:
			s := got.Signed
			if s == nil || got.Readings != nil {
				t.Fatalf("signed = %+v", got)
			}
			if err := s.Verify(); err != nil && !errors.Is(err, tx.ErrSignature) {
				t.Fatalf("Verify = %v, want nil or ErrSignature", err)
			}
			if s.Account != address.Account(s.Signer) {
				t.Fatalf("Account %s is not the signer's", s.Account)
			}
			want := map[tx.Type]reflect.Type{
				tx.TypeRegisterDevice:   reflect.TypeFor[*tx.RegisterDevice](),
				tx.TypeRevokeDevice:     reflect.TypeFor[*tx.RevokeDevice](),
				tx.TypeRotateDevice:     reflect.TypeFor[*tx.RotateDevice](),
				tx.TypeTransfer:         reflect.TypeFor[*tx.Transfer](),
				tx.TypeSetDesired:       reflect.TypeFor[*tx.TwinPatch](),
				tx.TypeReportState:      reflect.TypeFor[*tx.TwinPatch](),
				tx.TypeDeployContract:   reflect.TypeFor[*tx.DeployContract](),
				tx.TypeCallContract:     reflect.TypeFor[*tx.CallContract](),
				tx.TypeFundContract:     reflect.TypeFor[*tx.FundContract](),
				tx.TypeStopContract:     reflect.TypeFor[*tx.StopContract](),
				tx.TypeDeviceStatus:     reflect.TypeFor[*tx.DeviceStatus](),
				tx.TypeProposeValidator: reflect.TypeFor[*tx.ProposeValidator](),
				tx.TypeApproveValidator: reflect.TypeFor[*tx.ApproveValidator](),
				tx.TypeSetEncryptionKey: reflect.TypeFor[*tx.SetEncryptionKey](),
				tx.TypeSetPrivateFields: reflect.TypeFor[*tx.SetPrivateFields](),
				tx.TypeStreamKey:        reflect.TypeFor[*tx.StreamKey](),
				tx.TypeGrantAccess:      reflect.TypeFor[*tx.GrantAccess](),
				tx.TypeRevokeAccess:     reflect.TypeFor[*tx.RevokeAccess](),
				tx.TypeRotateStreamKey:  reflect.TypeFor[*tx.RotateStreamKey](),
				tx.TypeEraseEpochs:      reflect.TypeFor[*tx.EraseEpochs](),
			}[s.Type]
			if reflect.TypeOf(s.Fields) != want {
				t.Fatalf("type %v with fields %T", s.Type, s.Fields)
			}
			again, err := tx.Decode(raw)
			if err != nil {
				t.Fatalf("second Decode = %v", err)
			}
			if d := cmp.Diff(again.Signed.Fields, s.Fields); d != "" || again.Signed.Body.Nonce != s.Nonce || again.Signed.Account != s.Account {
				t.Fatalf("second Decode differs:\n%s", d)
			}
		default:
			t.Fatalf("kind %d decoded", got.Kind)
		}
	})
}
