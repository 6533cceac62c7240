package app_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/state"
	"github.com/iotledger/iotledger/private"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
	"github.com/iotledger/iotledger/verdict"
)

// Consumers of private readings in the tests (and carol, who publishes an
// X-Wing key).
var (
	dave = key(4) // publishes an X25519 key
	erin = key(5) // publishes a key late
)

// privateKey is the encryption key pair of seed (package private's): an
// X25519 key, and an X-Wing one when xwing is set.
func privateKey(seed byte, xwing bool) *private.PrivateKey {
	var xwingSeed []byte
	if xwing {
		xwingSeed = bytes.Repeat([]byte{seed ^ 0x5a}, private.XWingSeedSize)
	}
	k, err := private.NewPrivateKey(bytes.Repeat([]byte{seed}, private.X25519KeySize), xwingSeed)
	if err != nil {
		panic("a key from 32 bytes of seed: " + err.Error())
	}
	return k
}

// encryptionKey is the public half of privateKey, as set_encryption_key
// publishes it.
func encryptionKey(seed byte, xwing bool) *tx.SetEncryptionKey {
	pk := privateKey(seed, xwing).Public()
	return &tx.SetEncryptionKey{X25519: pk.X25519, XWing: pk.XWing}
}

func (c *testChain) publishTx(acct ed25519.PrivateKey, xwing bool) []byte {
	c.t.Helper()
	return c.sign(acct, c.nonce(acct), tx.TypeSetEncryptionKey, encryptionKey(pub(acct)[0], xwing))
}

func (c *testChain) privateTx(owner ed25519.PrivateKey, id string, fields ...string) []byte {
	c.t.Helper()
	return c.sign(owner, c.nonce(owner), tx.TypeSetPrivateFields, &tx.SetPrivateFields{Device: id, Fields: fields})
}

// commitment is a stand-in for the SHA-256 of a wrapped key: the ledger
// never sees the wrapped key.
func commitment(parts ...any) []byte {
	h := sha256.Sum256(fmt.Append(nil, parts...))
	return h[:]
}

// kemOf is the KEM the ledger expects for account: X-Wing if it published
// an X-Wing key, else X25519.
func (c *testChain) kemOf(account string) uint64 {
	c.t.Helper()
	k, err := c.app.Reader().EncryptionKey(account)
	if err != nil {
		c.t.Fatal(err)
	}
	if k != nil && len(k.XWing) > 0 {
		return tx.KEMXWing
	}
	return tx.KEMX25519
}

// wraps are the wraps the device's current epoch needs, as the ledger
// lists its recipients, each with the KEM its key calls for.
func (c *testChain) wraps(id string) (uint64, []tx.KeyWrap) {
	c.t.Helper()
	d, err := c.app.Reader().Device(id)
	if err != nil || d == nil {
		c.t.Fatalf("Device(%s) = %v, %v", id, d, err)
	}
	e, err := c.app.Reader().Epoch(id, d.StreamEpoch)
	if err != nil || e == nil {
		c.t.Fatalf("Epoch(%s, %d) = %v, %v", id, d.StreamEpoch, e, err)
	}
	var ws []tx.KeyWrap
	for _, r := range e.Recipients {
		ws = append(ws, tx.KeyWrap{Recipient: r.Account, KEM: c.kemOf(r.Account), Commitment: commitment(id, e.Number, r.Account)})
	}
	return e.Number, ws
}

// announceTx is dev's stream_key for its current epoch, wrapped to exactly
// its recipients.
func (c *testChain) announceTx(dev ed25519.PrivateKey, id string) []byte {
	c.t.Helper()
	n, ws := c.wraps(id)
	return c.sign(dev, c.nonce(dev), tx.TypeStreamKey, &tx.StreamKey{Device: id, Epoch: n, Wraps: ws})
}

func (c *testChain) streamKeyTx(dev ed25519.PrivateKey, id string, epoch uint64, ws ...tx.KeyWrap) []byte {
	c.t.Helper()
	return c.sign(dev, c.nonce(dev), tx.TypeStreamKey, &tx.StreamKey{Device: id, Epoch: epoch, Wraps: ws})
}

func (c *testChain) grantTx(owner ed25519.PrivateKey, id string, to ed25519.PrivateKey, from uint64, ws ...tx.EpochWrap) []byte {
	c.t.Helper()
	return c.sign(owner, c.nonce(owner), tx.TypeGrantAccess, &tx.GrantAccess{Device: id, To: accountID(to), FromEpoch: from, Wraps: ws})
}

func (c *testChain) revokeAccessTx(owner ed25519.PrivateKey, id string, from ed25519.PrivateKey) []byte {
	c.t.Helper()
	return c.sign(owner, c.nonce(owner), tx.TypeRevokeAccess, &tx.RevokeAccess{Device: id, From: accountID(from)})
}

func (c *testChain) rotateStreamTx(owner ed25519.PrivateKey, id string) []byte {
	c.t.Helper()
	return c.sign(owner, c.nonce(owner), tx.TypeRotateStreamKey, &tx.RotateStreamKey{Device: id})
}

func (c *testChain) eraseTx(owner ed25519.PrivateKey, id string, ranges ...tx.EpochRange) []byte {
	c.t.Helper()
	return c.sign(owner, c.nonce(owner), tx.TypeEraseEpochs, &tx.EraseEpochs{Device: id, Epochs: ranges})
}

func wrapTo(k ed25519.PrivateKey, kem uint64) tx.KeyWrap {
	return tx.KeyWrap{Recipient: accountID(k), KEM: kem, Commitment: commitment("wrap", accountID(k))}
}

func epochWrap(epoch, kem uint64) tx.EpochWrap {
	return tx.EpochWrap{Epoch: epoch, KEM: kem, Commitment: commitment("epoch", epoch)}
}

// sealed signs a reading of device id with key dev whose private fields
// are sealed under epoch (the ledger does not open them).
func (c *testChain) sealed(dev ed25519.PrivateKey, id string, seq, epoch uint64, clear map[string]any) []byte {
	c.t.Helper()
	raw, err := reading.Sign(reading.Reading{Device: id, Seq: seq, Time: c.nowMs(), Data: clear,
		Sealed: &reading.Sealed{Epoch: epoch, Nonce: bytes.Repeat([]byte{byte(seq)}, reading.NonceSize), Ciphertext: bytes.Repeat([]byte{0xc7}, 40)}}, dev)
	if err != nil {
		c.t.Fatalf("reading.Sign: %v", err)
	}
	return raw
}

// clear signs a reading of device id with key dev, all its data in clear.
func (c *testChain) clear(dev ed25519.PrivateKey, id string, seq uint64, data map[string]any) []byte {
	c.t.Helper()
	raw, err := reading.Sign(reading.Reading{Device: id, Seq: seq, Time: c.nowMs(), Data: data}, dev)
	if err != nil {
		c.t.Fatalf("reading.Sign: %v", err)
	}
	return raw
}

func (c *testChain) device(id string) *state.Device {
	c.t.Helper()
	d, err := c.app.Reader().Device(id)
	if err != nil || d == nil {
		c.t.Fatalf("Device(%s) = %v, %v", id, d, err)
	}
	return d
}

func (c *testChain) epoch(id string, n uint64) *state.Epoch {
	c.t.Helper()
	e, err := c.app.Reader().Epoch(id, n)
	if err != nil || e == nil {
		c.t.Fatalf("Epoch(%s, %d) = %v, %v", id, n, e, err)
	}
	return e
}

// recipientsOf lists an epoch's recipients as "account kem" (kem 0: not
// wrapped yet).
func recipientsOf(e *state.Epoch) []string {
	var out []string
	for _, r := range e.Recipients {
		out = append(out, fmt.Sprintf("%s %#x", r.Account, r.KEM))
	}
	return out
}

func recipient(k ed25519.PrivateKey, kem uint16) string {
	return fmt.Sprintf("%s %#x", accountID(k), kem)
}

// step is one transaction of a scenario, in a block of its own, with the
// code it must get and what its message must name; check, when set, looks
// at the state after it.
type privateStep struct {
	name  string
	raw   func(c *testChain) []byte
	want  app.Code
	hints []string
	check func(t *testing.T, c *testChain)
}

func runSteps(t *testing.T, c *testChain, steps []privateStep) {
	t.Helper()
	for _, s := range steps {
		r := c.block(s.raw(c)).TxResults[0]
		wantCode(t, s.name, r.Code, r.Log, s.want, s.hints...)
		if app.Code(r.Code) != s.want {
			t.FailNow() // the steps after it build on this one
		}
		if s.check != nil {
			s.check(t, c)
		}
	}
}

// TestPrivateTransactions: every rule of the private transactions, in the
// order a device's life meets them: encryption keys, private fields (epoch
// 1), grants before and after the key is announced, announcements that
// miss, add or mis-wrap a recipient, rotation, revocation, erasure of a
// past and of the current epoch, a grant that gives earlier epochs.
func TestPrivateTransactions(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	c.register(bob, meter)
	owner := accountID(alice)
	X, XW := state.KEMX25519, state.KEMXWing

	runSteps(t, c, []privateStep{{
		name: "private fields before the owner has an encryption key",
		raw:  func(c *testChain) []byte { return c.privateTx(alice, id, "temp", "hr") },
		want: app.CodeNoEncryptionKey, hints: []string{owner, "the owner of device " + id, "set_encryption_key"},
	}, {
		name: "the owner publishes an X25519 key",
		raw:  func(c *testChain) []byte { return c.publishTx(alice, false) },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			k, err := c.app.Reader().EncryptionKey(owner)
			if err != nil || k == nil || !bytes.Equal(k.X25519, encryptionKey(pub(alice)[0], false).X25519) || k.XWing != nil || k.Height != c.height {
				t.Errorf("EncryptionKey(%s) = %+v, %v; want the X25519 key, published at %d", owner, k, err, c.height)
			}
		},
	}, {
		name: "carol publishes an X-Wing key", raw: func(c *testChain) []byte { return c.publishTx(carol, true) }, want: app.CodeOK,
	}, {
		name: "dave publishes an X25519 key", raw: func(c *testChain) []byte { return c.publishTx(dave, false) }, want: app.CodeOK,
	}, {
		name: "private fields of another's device",
		raw:  func(c *testChain) []byte { return c.privateTx(bob, id, "temp") },
		want: app.CodeNotOwner, hints: []string{id, owner},
	}, {
		name: "private fields of an unknown device",
		raw:  func(c *testChain) []byte { return c.privateTx(alice, deviceID(spare), "temp") },
		want: app.CodeUnregisteredDevice, hints: []string{deviceID(spare)},
	}, {
		name: "stream key of a device without private fields",
		raw:  func(c *testChain) []byte { return c.streamKeyTx(sensor, id, 1, wrapTo(alice, tx.KEMX25519)) },
		want: app.CodeNotPrivate, hints: []string{id, "set_private_fields"},
	}, {
		name: "grant on a device without private fields",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, dave, 0) },
		want: app.CodeNotPrivate, hints: []string{id},
	}, {
		name: "the owner names the private fields: epoch 1",
		raw:  func(c *testChain) []byte { return c.privateTx(alice, id, "temp", "hr") },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			d := c.device(id)
			if diff := cmp.Diff(d.PrivateFields, []string{"hr", "temp"}); diff != "" || d.StreamEpoch != 1 || d.StreamAnnounced {
				t.Errorf("device: private %v (diff %s), epoch %d, announced %v; want [hr temp] at epoch 1, not announced", d.PrivateFields, diff, d.StreamEpoch, d.StreamAnnounced)
			}
			e := c.epoch(id, 1)
			if e.Started != c.height || e.Why != state.EpochPrivateFields || e.By != owner || e.Announced != 0 {
				t.Errorf("epoch 1 = %+v; want started now, for private_fields, by the owner, not announced", e)
			}
			if diff := cmp.Diff(recipientsOf(e), []string{recipient(alice, 0)}); diff != "" {
				t.Errorf("epoch 1 recipients (-got +want):\n%s", diff)
			}
		},
	}, {
		name: "a grant before the key is announced lists the consumer, unwrapped",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, dave, 0) },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			want := sortStrings(recipient(alice, 0), recipient(dave, 0))
			if diff := cmp.Diff(recipientsOf(c.epoch(id, 1)), want); diff != "" {
				t.Errorf("epoch 1 recipients (-got +want):\n%s", diff)
			}
		},
	}, {
		name: "a stream key signed by the owner, not the device",
		raw: func(c *testChain) []byte {
			return c.streamKeyTx(alice, id, 1, wrapTo(alice, tx.KEMX25519), wrapTo(dave, tx.KEMX25519))
		},
		want: app.CodeNotController, hints: []string{id, owner},
	}, {
		name: "a stream key that misses a recipient",
		raw:  func(c *testChain) []byte { return c.streamKeyTx(sensor, id, 1, wrapTo(alice, tx.KEMX25519)) },
		want: app.CodeBadWraps, hints: []string{"no wrap for " + accountID(dave), "epoch 1", owner},
	}, {
		name: "a stream key wrapped to one who is not a recipient",
		raw: func(c *testChain) []byte {
			return c.streamKeyTx(sensor, id, 1, wrapTo(alice, tx.KEMX25519), wrapTo(dave, tx.KEMX25519), wrapTo(carol, tx.KEMXWing))
		},
		want: app.CodeBadWraps, hints: []string{accountID(carol), "not a recipient", "epoch 1"},
	}, {
		name: "a stream key with the wrong KEM for a recipient",
		raw: func(c *testChain) []byte {
			return c.streamKeyTx(sensor, id, 1, wrapTo(alice, tx.KEMX25519), wrapTo(dave, tx.KEMXWing))
		},
		want: app.CodeBadWraps, hints: []string{accountID(dave), "X-Wing (0x647a)", "calls for X25519 (0x0020)"},
	}, {
		name: "a stream key for an epoch not started",
		raw: func(c *testChain) []byte {
			return c.streamKeyTx(sensor, id, 2, wrapTo(alice, tx.KEMX25519), wrapTo(dave, tx.KEMX25519))
		},
		want: app.CodeUnknownEpoch, hints: []string{"epoch 2", "current epoch 1"},
	}, {
		name: "the device announces epoch 1's key to the owner and dave",
		raw:  func(c *testChain) []byte { return c.announceTx(sensor, id) },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			e := c.epoch(id, 1)
			if e.Announced != c.height || !c.device(id).StreamAnnounced {
				t.Errorf("epoch 1 announced at %d (device says %v), want %d", e.Announced, c.device(id).StreamAnnounced, c.height)
			}
			for _, r := range e.Recipients {
				if !bytes.Equal(r.Commitment, commitment(id, uint64(1), r.Account)) || r.Height != c.height || r.KEM != X {
					t.Errorf("recipient %+v: want the device's commitment, X25519, wrapped at %d", r, c.height)
				}
			}
		},
	}, {
		name: "the key of an epoch announced twice",
		raw:  func(c *testChain) []byte { return c.announceTx(sensor, id) },
		want: app.CodeEpochAnnounced, hints: []string{id, "epoch 1", "once per epoch"},
	}, {
		name: "a grant to an account without an encryption key",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, erin, 0) },
		want: app.CodeNoEncryptionKey, hints: []string{accountID(erin), "set_encryption_key"},
	}, {
		name: "a grant to the owner",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, alice, 0) },
		want: app.CodeAlreadyGranted, hints: []string{owner, "owns device"},
	}, {
		name: "a grant from an epoch not started",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, carol, 2) },
		want: app.CodeUnknownEpoch, hints: []string{"from_epoch 2", "current epoch 1"},
	}, {
		name: "a grant without the wrap of the announced epoch",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, carol, 0) },
		want: app.CodeBadWraps, hints: []string{"no wrap for epoch 1", accountID(carol)},
	}, {
		name: "a grant whose wrap has the wrong KEM",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, carol, 0, epochWrap(1, tx.KEMX25519)) },
		want: app.CodeBadWraps, hints: []string{"epoch 1", "calls for X-Wing (0x647a)"},
	}, {
		name: "a grant by another account",
		raw:  func(c *testChain) []byte { return c.grantTx(bob, id, carol, 0, epochWrap(1, tx.KEMXWing)) },
		want: app.CodeNotOwner, hints: []string{id, owner},
	}, {
		name: "the owner grants carol the announced epoch 1, wrapped with X-Wing",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, carol, 0, epochWrap(1, tx.KEMXWing)) },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			e := c.epoch(id, 1)
			r := e.Recipient(accountID(carol))
			if r == nil || r.KEM != XW || !bytes.Equal(r.Commitment, commitment("epoch", uint64(1))) || r.Height != c.height {
				t.Errorf("carol in epoch 1 = %+v; want her X-Wing wrap, made now", r)
			}
		},
	}, {
		name: "a grant again, from the same epoch",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, carol, 1) },
		want: app.CodeAlreadyGranted, hints: []string{accountID(carol), "from epoch 1"},
	}, {
		name: "a rotation by another account",
		raw:  func(c *testChain) []byte { return c.rotateStreamTx(bob, id) },
		want: app.CodeNotOwner, hints: []string{id},
	}, {
		name: "the owner rotates: epoch 2, the same recipients",
		raw:  func(c *testChain) []byte { return c.rotateStreamTx(alice, id) },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			d := c.device(id)
			e := c.epoch(id, 2)
			if d.StreamEpoch != 2 || d.StreamAnnounced || e.Why != state.EpochRotated || e.Started != c.height {
				t.Errorf("device at %d (announced %v), epoch 2 %+v; want epoch 2, rotated now, not announced", d.StreamEpoch, d.StreamAnnounced, e)
			}
			if diff := cmp.Diff(recipientsOf(e), sortStrings(recipient(alice, 0), recipient(carol, 0), recipient(dave, 0))); diff != "" {
				t.Errorf("epoch 2 recipients (-got +want):\n%s", diff)
			}
		},
	}, {
		name: "a stream key for the epoch left behind",
		raw:  func(c *testChain) []byte { return c.streamKeyTx(sensor, id, 1, wrapTo(alice, tx.KEMX25519)) },
		want: app.CodeStaleEpoch, hints: []string{"epoch 1", "moved to epoch 2", "rotated"},
	}, {
		name: "epoch 2 announced with each recipient's KEM",
		raw:  func(c *testChain) []byte { return c.announceTx(sensor, id) },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			if diff := cmp.Diff(recipientsOf(c.epoch(id, 2)), sortStrings(recipient(alice, X), recipient(carol, XW), recipient(dave, X))); diff != "" {
				t.Errorf("epoch 2 recipients (-got +want):\n%s", diff)
			}
		},
	}, {
		name: "revoking one who holds no grant",
		raw:  func(c *testChain) []byte { return c.revokeAccessTx(alice, id, erin) },
		want: app.CodeNoGrant, hints: []string{accountID(erin), id, "/v1/devices/" + id + "/access"},
	}, {
		name: "a revocation by another account",
		raw:  func(c *testChain) []byte { return c.revokeAccessTx(bob, id, dave) },
		want: app.CodeNotOwner, hints: []string{id},
	}, {
		name: "the owner revokes dave: epoch 3, without him",
		raw:  func(c *testChain) []byte { return c.revokeAccessTx(alice, id, dave) },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			e := c.epoch(id, 3)
			if c.device(id).StreamEpoch != 3 || e.Why != state.EpochRevoked || e.By != owner {
				t.Errorf("epoch 3 = %+v; want the device there, for a revocation by the owner", e)
			}
			if diff := cmp.Diff(recipientsOf(e), sortStrings(recipient(alice, 0), recipient(carol, 0))); diff != "" {
				t.Errorf("epoch 3 recipients (-got +want):\n%s", diff)
			}
			g, _, err := c.app.Reader().Grants(id, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			var daves *state.Grant
			for _, x := range g {
				if x.Consumer == accountID(dave) {
					daves = x
				}
			}
			if daves == nil || len(daves.Periods) != 1 || daves.Periods[0].Until != 2 || daves.Periods[0].Revoked != c.height || daves.Periods[0].RevokedBy != owner || daves.OpenPeriod() != nil {
				t.Errorf("dave's grant = %+v; want one period, revoked now by the owner, ending with epoch 2", daves)
			}
		},
	}, {
		name: "the owner erases epoch 1, a past one: the device stays at epoch 3",
		raw:  func(c *testChain) []byte { return c.eraseTx(alice, id, tx.EpochRange{From: 1, To: 1}) },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			if e := c.epoch(id, 1); e.Erased != c.height || len(e.Recipients) != 3 {
				t.Errorf("epoch 1 = %+v; want erased now, its recipients and commitments kept", e)
			}
			if c.device(id).StreamEpoch != 3 {
				t.Errorf("device at epoch %d, want 3", c.device(id).StreamEpoch)
			}
		},
	}, {
		name: "erasing an epoch not started",
		raw:  func(c *testChain) []byte { return c.eraseTx(alice, id, tx.EpochRange{From: 2, To: 4}) },
		want: app.CodeUnknownEpoch, hints: []string{"epoch 4", "current epoch 3"},
	}, {
		name: "erasing an erased epoch",
		raw:  func(c *testChain) []byte { return c.eraseTx(alice, id, tx.EpochRange{From: 1, To: 1}) },
		want: app.CodeEpochErased, hints: []string{"epoch 1", "nothing to erase"},
	}, {
		name: "an erasure by another account",
		raw:  func(c *testChain) []byte { return c.eraseTx(bob, id, tx.EpochRange{From: 2, To: 2}) },
		want: app.CodeNotOwner, hints: []string{id},
	}, {
		name: "a grant with a wrap of an erased epoch",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, dave, 1, epochWrap(1, tx.KEMX25519)) },
		want: app.CodeBadWraps, hints: []string{"epoch 1", "erased", "takes no key again"},
	}, {
		name: "a grant with a wrap of an epoch the consumer holds",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, dave, 2, epochWrap(2, tx.KEMX25519)) },
		want: app.CodeBadWraps, hints: []string{"epoch 2", "holds epoch 2's key already"},
	}, {
		name: "a grant with a wrap of the current epoch, not announced",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, dave, 3, epochWrap(3, tx.KEMX25519)) },
		want: app.CodeBadWraps, hints: []string{"epoch 3", "not announced yet"},
	}, {
		name: "dave granted again from epoch 1: nothing to wrap (1 erased, 2 his, 3 not announced)",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, dave, 1) },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			if diff := cmp.Diff(recipientsOf(c.epoch(id, 3)), sortStrings(recipient(alice, 0), recipient(carol, 0), recipient(dave, 0))); diff != "" {
				t.Errorf("epoch 3 recipients (-got +want):\n%s", diff)
			}
		},
	}, {
		name: "the owner erases the current epoch: epoch 4",
		raw:  func(c *testChain) []byte { return c.eraseTx(alice, id, tx.EpochRange{From: 3, To: 3}) },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			e := c.epoch(id, 4)
			if c.device(id).StreamEpoch != 4 || e.Why != state.EpochErased || c.epoch(id, 3).Erased != c.height {
				t.Errorf("epoch 4 = %+v, epoch 3 erased at %d; want the device moved for the erasure of epoch 3 now", e, c.epoch(id, 3).Erased)
			}
			if diff := cmp.Diff(recipientsOf(e), sortStrings(recipient(alice, 0), recipient(carol, 0), recipient(dave, 0))); diff != "" {
				t.Errorf("epoch 4 recipients (-got +want):\n%s", diff)
			}
		},
	}, {
		name: "a stream key for the erased epoch",
		raw:  func(c *testChain) []byte { return c.streamKeyTx(sensor, id, 3, wrapTo(alice, tx.KEMX25519)) },
		want: app.CodeStaleEpoch, hints: []string{"epoch 3", "moved to epoch 4", "erased"},
	}, {
		name: "erin publishes her key", raw: func(c *testChain) []byte { return c.publishTx(erin, false) }, want: app.CodeOK,
	}, {
		name: "epoch 4 announced", raw: func(c *testChain) []byte { return c.announceTx(sensor, id) }, want: app.CodeOK,
	}, {
		name: "erin granted from epoch 4",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, erin, 0, epochWrap(4, tx.KEMX25519)) },
		want: app.CodeOK,
	}, {
		name: "erin granted earlier epochs: only epoch 2 needs a wrap (3 is erased)",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, erin, 2, epochWrap(2, tx.KEMX25519)) },
		want: app.CodeOK,
		check: func(t *testing.T, c *testChain) {
			if r := c.epoch(id, 2).Recipient(accountID(erin)); r == nil || r.KEM != X {
				t.Errorf("erin in epoch 2 = %+v; want her wrap", r)
			}
			if c.epoch(id, 3).Recipient(accountID(erin)) != nil {
				t.Error("erin got a wrap of the erased epoch 3")
			}
			g, err := state.GetGrant(c.app.Reader().Committed(), id, accountID(erin))
			if err != nil || g == nil || len(g.Periods) != 1 || g.Periods[0].From != 2 || g.Periods[0].Extended != c.height {
				t.Errorf("erin's grant = %+v, %v; want one open period from epoch 2, extended now", g, err)
			}
		},
	}, {
		name: "erin granted from an epoch she holds already",
		raw:  func(c *testChain) []byte { return c.grantTx(alice, id, erin, 3) },
		want: app.CodeAlreadyGranted, hints: []string{accountID(erin), "from epoch 2"},
	}})

	// The device's feed tells each change, with the record it left.
	changes, _, err := c.app.Reader().DeviceChanges(id, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(changes) - 1; i >= 0; i-- {
		ch := changes[i]
		s := ch.Action
		if a := ch.Access; a != nil {
			s += fmt.Sprintf(" epoch=%d consumer=%s why=%s epochs=%v", a.Epoch, short(a.Consumer), a.Why, a.Epochs)
		}
		got = append(got, fmt.Sprintf("%s (device at %d)", s, ch.Device.StreamEpoch))
	}
	d := short(accountID(dave))
	want := []string{
		"registered (device at 0)",
		"private_fields_set epoch=0 consumer= why= epochs=[] (device at 0)",
		"epoch_moved epoch=1 consumer= why=private_fields epochs=[] (device at 1)",
		"access_granted epoch=1 consumer=" + d + " why= epochs=[] (device at 1)",
		"stream_key_announced epoch=1 consumer= why= epochs=[] (device at 1)",
		"access_granted epoch=1 consumer=" + short(accountID(carol)) + " why= epochs=[] (device at 1)",
		"epoch_moved epoch=2 consumer= why=rotated epochs=[] (device at 2)",
		"stream_key_announced epoch=2 consumer= why= epochs=[] (device at 2)",
		"access_revoked epoch=2 consumer=" + d + " why= epochs=[] (device at 2)",
		"epoch_moved epoch=3 consumer= why=revoked epochs=[] (device at 3)",
		"epochs_erased epoch=0 consumer= why= epochs=[{1 1}] (device at 3)",
		"access_granted epoch=1 consumer=" + d + " why= epochs=[] (device at 3)",
		"epochs_erased epoch=0 consumer= why= epochs=[{3 3}] (device at 3)",
		"epoch_moved epoch=4 consumer= why=erased epochs=[] (device at 4)",
		"stream_key_announced epoch=4 consumer= why= epochs=[] (device at 4)",
		"access_granted epoch=4 consumer=" + short(accountID(erin)) + " why= epochs=[] (device at 4)",
		"access_granted epoch=2 consumer=" + short(accountID(erin)) + " why= epochs=[] (device at 4)",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("device changes, oldest first (-got +want):\n%s", diff)
	}

	// Epochs page newest first; grants in consumer order.
	es, next, err := c.app.Reader().Epochs(id, 0, 3)
	if err != nil || len(es) != 3 || es[0].Number != 4 || es[2].Number != 2 || next != 1 {
		t.Fatalf("Epochs(0, 3) = %d epochs from %v, next %d, %v; want 4, 3, 2 and next 1", len(es), es, next, err)
	}
	es, next, err = c.app.Reader().Epochs(id, next, 3)
	if err != nil || len(es) != 1 || es[0].Number != 1 || next != 0 {
		t.Errorf("Epochs(1, 3) = %v, next %d, %v; want epoch 1 alone", es, next, err)
	}
	gs, more, err := c.app.Reader().Grants(id, "", 2)
	if err != nil || len(gs) != 2 || !more || gs[0].Consumer > gs[1].Consumer {
		t.Fatalf("Grants(\"\", 2) = %v, %v, %v; want 2 in order and more", gs, more, err)
	}
	rest, more, err := c.app.Reader().Grants(id, gs[1].Consumer, 2)
	if err != nil || len(rest) != 1 || more || rest[0].Consumer <= gs[1].Consumer {
		t.Errorf("Grants(after, 2) = %v, %v, %v; want the third and last", rest, more, err)
	}
}

func sortStrings(s ...string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// short is an address's first 12 characters, for readable diffs.
func short(a string) string { return a[:min(len(a), 12)] }

// privateDevice sets up sensor, owned by alice, with private fields temp
// and hr, dave granted, epoch 1 announced; it returns the device's id.
func privateDevice(c *testChain) string {
	c.t.Helper()
	id := c.register(alice, sensor)
	c.mustOK(c.publishTx(alice, false), c.publishTx(dave, false))
	c.mustOK(c.privateTx(alice, id, "temp", "hr"))
	c.mustOK(c.grantTx(alice, id, dave, 0))
	c.mustOK(c.announceTx(sensor, id))
	return id
}

// TestSealedReadings: a sealed reading is taken under the device's
// current epoch once its key is announced; anything else gets the code
// the device acts on, with what to do; private fields never go in clear.
func TestSealedReadings(t *testing.T) {
	c := newChain(t)
	plain := c.register(bob, meter) // no private fields
	id := privateDevice(c)
	public := map[string]any{"site": "lab"}
	first := c.sealed(sensor, id, 1, 1, public)

	for _, tc := range []struct {
		name  string
		raw   func() []byte
		want  app.Code
		hints []string
	}{
		{"sealed, current epoch, announced", func() []byte { return first }, app.CodeOK, nil},
		{"sealed, no clear data", func() []byte { return c.sealed(sensor, id, 2, 1, nil) }, app.CodeOK, nil},
		{"public fields only, nothing sealed", func() []byte { return c.clear(sensor, id, 3, public) }, app.CodeOK, nil},
		{"a private field in clear", func() []byte { return c.sealed(sensor, id, 4, 1, map[string]any{"site": "lab", "hr": 70}) },
			app.CodePrivateInClear, []string{id, "seq 4", `"hr"`, "hr, temp", "seal it"}},
		{"a private field in clear, nothing sealed", func() []byte { return c.clear(sensor, id, 5, map[string]any{"temp": 21.5, "door": "closed"}) },
			app.CodePrivateInClear, []string{id, "seq 5", `"temp"`}},
		{"sealed under a later epoch", func() []byte { return c.sealed(sensor, id, 6, 2, public) },
			app.CodeStaleEpoch, []string{id, "seq 6", "epoch 2", "at epoch 1", "announce it", "resend seq 6"}},
		{"sealed by a device without private fields", func() []byte { return c.sealed(meter, plain, 1, 1, nil) },
			app.CodeNoStreamKey, []string{plain, "no private fields", "set_private_fields"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantOutcome(t, tc.name, c.sendOne(tc.raw()), tc.want, tc.hints...)
		})
	}

	// The owner rotates: readings sealed under epoch 1 are stale, and the
	// new epoch takes none until its key is announced.
	c.mustOK(c.rotateStreamTx(alice, id))
	old := c.sealed(sensor, id, 10, 1, public)
	var pre [1]verdict.Verdict
	c.app.Precheck([][]byte{old}, pre[:])
	wantCode(t, "Precheck of a stale epoch", uint32(pre[0].Code), pre[0].Detail, app.CodeStaleEpoch, "epoch 1", "at epoch 2", "rotated")
	wantOutcome(t, "sealed under the epoch left behind", c.sendOne(old), app.CodeStaleEpoch, "epoch 1", "at epoch 2", fmt.Sprintf("since height %d (rotated)", c.height-1), "resend seq 10")
	notYet := c.sealed(sensor, id, 10, 2, public)
	c.app.Precheck([][]byte{notYet}, pre[:])
	if pre[0].Status != verdict.Pending {
		t.Errorf("Precheck of a reading of an epoch not announced yet: %+v; want pending (a stream_key may come first in the block)", pre[0])
	}
	wantOutcome(t, "sealed before the key is announced", c.sendOne(notYet), app.CodeNoStreamKey, "epoch 2", "not announced", "stream_key", "resend seq 10")

	// An announcement and the readings it unlocks in one block: signed
	// transactions come first.
	res := c.block(c.announceTx(sensor, id), tx.NewBatch([][]byte{notYet}))
	if res.TxResults[0].Code != 0 {
		t.Fatalf("announce: %d %q", res.TxResults[0].Code, res.TxResults[0].Log)
	}
	if per := batchData(t, res.TxResults[1].Data); app.Code(per[0][0]) != app.CodeOK {
		t.Errorf("reading after the announcement in its block: code %s, want ok", app.Code(per[0][0]))
	}
	// A resend of a committed sealed reading is a duplicate, whatever the
	// epoch is now.
	wantOutcome(t, "resend of a committed sealed reading", c.sendOne(first), app.CodeDuplicate, id, "seq 1")

	// A rotation and a stale reading in one block: the reading after the
	// rotation in block order is refused.
	res = c.block(c.rotateStreamTx(alice, id), tx.NewBatch([][]byte{c.sealed(sensor, id, 11, 2, public)}))
	if per := batchData(t, res.TxResults[1].Data); app.Code(per[0][0]) != app.CodeStaleEpoch {
		t.Errorf("reading of epoch 2 after a rotation in its block: code %s, want stale_epoch", app.Code(per[0][0]))
	}
}

// accessDoc lets a buyer buy access to a device by calling "buy", and its
// owner end it with "end"; "hot" grants the buyer access when a lab
// device reads hot.
func accessDoc(device, buyer string) string {
	return `name: access
state:
  buyer: {type: string, initial: "` + buyer + `"}
triggers:
  - name: buy
    on: call
    do:
      - grant: {device: "'` + device + `'", to: "state.buyer"}
  - name: end
    on: call
    when: "caller == contract.owner"
    do:
      - revoke: {device: "'` + device + `'", from: "state.buyer"}
  - name: other
    on: call
    args: {device: string}
    do:
      - grant: {device: "args.device", to: "state.buyer"}
`
}

// TestContractGrantRevoke: a contract grants access from the device's
// next epoch (it cannot wrap keys, so the device moves and wraps the new
// epoch's key to the consumer too) and revokes it (the device moves
// again, without the consumer); saying either again does nothing; it acts
// only on its owner's devices, and a run that cannot apply fails whole.
func TestContractGrantRevoke(t *testing.T) {
	c := payChain(t)
	c.mustOK()
	id := privateDevice(c) // alice's, at epoch 1, announced, dave granted
	other := c.register(bob, meter)
	ctr := c.deploy(alice, accessDoc(id, accountID(carol)), 0)

	// carol has no encryption key: the run fails, nothing stays.
	r := c.block(c.callTx(carol, ctr, "buy", nil)).TxResults[0]
	wantCode(t, "grant to an account without a key", r.Code, r.Log, app.CodeContractFailed, accountID(carol), "no encryption key", "nothing it did stays")
	if c.device(id).StreamEpoch != 1 {
		t.Fatalf("a failed run moved the device to epoch %d", c.device(id).StreamEpoch)
	}
	c.mustOK(c.publishTx(carol, true))

	c.mustOK(c.callTx(carol, ctr, "buy", nil))
	d := c.device(id)
	e := c.epoch(id, 2)
	if d.StreamEpoch != 2 || d.StreamAnnounced || e.Why != state.EpochGranted || e.By != ctr {
		t.Fatalf("after the contract's grant: device at %d (announced %v), epoch 2 %+v; want epoch 2, granted by %s", d.StreamEpoch, d.StreamAnnounced, e, ctr)
	}
	if diff := cmp.Diff(recipientsOf(e), sortStrings(recipient(alice, 0), recipient(carol, 0), recipient(dave, 0))); diff != "" {
		t.Errorf("epoch 2 recipients (-got +want):\n%s", diff)
	}
	if c.epoch(id, 1).Recipient(accountID(carol)) != nil {
		t.Error("the contract's grant gave carol epoch 1, which only the owner can wrap")
	}
	g, err := state.GetGrant(c.app.Reader().Committed(), id, accountID(carol))
	if err != nil || g == nil || g.OpenPeriod() == nil || g.OpenPeriod().From != 2 || g.OpenPeriod().GrantedBy != ctr {
		t.Fatalf("carol's grant = %+v, %v; want open from epoch 2, by %s", g, err, ctr)
	}
	// The device announces epoch 2 with carol's X-Wing wrap.
	c.mustOK(c.announceTx(sensor, id))
	if r := c.epoch(id, 2).Recipient(accountID(carol)); r == nil || r.KEM != state.KEMXWing {
		t.Errorf("carol in epoch 2 = %+v, want an X-Wing wrap", r)
	}

	// Granting again does nothing: no new epoch.
	c.mustOK(c.callTx(carol, ctr, "buy", nil))
	if c.device(id).StreamEpoch != 2 {
		t.Errorf("a second grant moved the device to epoch %d", c.device(id).StreamEpoch)
	}

	// The owner ends it through the contract: epoch 3, without carol.
	c.mustOK(c.callTx(alice, ctr, "end", nil))
	e = c.epoch(id, 3)
	if c.device(id).StreamEpoch != 3 || e.Why != state.EpochRevoked || e.By != ctr || e.Recipient(accountID(carol)) != nil {
		t.Errorf("after the contract's revocation: epoch 3 = %+v; want the device there, revoked by %s, carol gone", e, ctr)
	}
	g, _ = state.GetGrant(c.app.Reader().Committed(), id, accountID(carol))
	if p := g.Periods[len(g.Periods)-1]; p.Until != 2 || p.RevokedBy != ctr {
		t.Errorf("carol's period = %+v; want it ended with epoch 2 by %s", p, ctr)
	}
	// Revoking again does nothing.
	c.mustOK(c.callTx(alice, ctr, "end", nil))
	if c.device(id).StreamEpoch != 3 {
		t.Errorf("a second revocation moved the device to epoch %d", c.device(id).StreamEpoch)
	}

	// Another owner's device: the run fails.
	r = c.block(c.callTx(carol, ctr, "other", map[string]string{"device": other})).TxResults[0]
	wantCode(t, "grant on another owner's device", r.Code, r.Log, app.CodeContractFailed, other, "owned by "+accountID(bob))

	// The feed tells the contract's grant and revocation.
	changes, _, err := c.app.Reader().DeviceChanges(id, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range changes {
		if ch.Access != nil && ch.Access.By == ctr {
			got = append(got, fmt.Sprintf("%s %d %s", ch.Action, ch.Access.Epoch, short(ch.Access.Consumer)))
		}
	}
	want := []string{ // newest first
		"epoch_moved 3 ",
		"access_revoked 2 " + short(accountID(carol)),
		"epoch_moved 2 ",
		"access_granted 2 " + short(accountID(carol)),
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("the contract's changes, newest first (-got +want):\n%s", diff)
	}
}

// TestContractReadsPrivateField: a contract whose trigger reads, by name,
// a field that a device it can match keeps private is refused at deploy,
// in CheckTx and in the block, naming the field and the device; the same
// field of devices it cannot match, or a public field, is fine.
func TestContractReadsPrivateField(t *testing.T) {
	c := newChain(t)
	id := privateDevice(c) // labels site=lab; temp and hr private
	mine := c.register(bob, meter)
	doc := func(selector, expr string) string {
		return "name: reader\nstate:\n  n: {type: int, initial: 0}\ntriggers:\n  - name: watch\n    on: reading\n    devices: " + selector + "\n    when: \"" + expr + "\"\n    do:\n      - set: {n: \"state.n + 1\"}\n"
	}
	for _, tc := range []struct {
		name, src string
		want      app.Code
		hints     []string
	}{
		{"by label, a private field", doc("{labels: {site: lab}}", "reading.data.hr > 100"), app.CodeInvalidContract,
			[]string{"line 8", "trigger watch reads reading.data.hr", "device " + id, "keeps private", "select devices that keep hr public"}},
		{"by id, a private field by index", doc("{ids: ["+id+"]}", "reading.data['temp'] > 30.0"), app.CodeInvalidContract,
			[]string{"reading.data.temp", id}},
		{"by label, has() of a private field", doc("{labels: {site: lab}}", "has(reading.data.temp)"), app.CodeInvalidContract,
			[]string{"reading.data.temp"}},
		{"by label, a public field", doc("{labels: {site: lab}}", "reading.data.door == 'open'"), app.CodeOK, nil},
		{"by id, another device", doc("{ids: ["+mine+"]}", "reading.data.hr > 100"), app.CodeOK, nil},
		{"by a label no private device has", doc("{labels: {site: hall}}", "reading.data.hr > 100"), app.CodeOK, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := c.sign(bob, c.nonce(bob), tx.TypeDeployContract, &tx.DeployContract{Source: []byte(tc.src)})
			res := c.checkTx(raw)
			wantCode(t, "CheckTx", res.Code, res.Log, tc.want, tc.hints...)
			r := c.block(raw).TxResults[0]
			wantCode(t, "FinalizeBlock", r.Code, r.Log, tc.want, tc.hints...)
		})
	}
	// A second private device registered and made private in the block
	// of the deploy, before it, counts too (the block's own writes).
	c.mustOK(c.publishTx(bob, false))
	hall := key(13)
	n := c.nonce(bob)
	src := doc("{labels: {site: lab}}", "reading.data.spo2 > 1")
	res := c.block(
		c.registerTx(bob, hall, n),
		c.sign(bob, n+1, tx.TypeSetPrivateFields, &tx.SetPrivateFields{Device: deviceID(hall), Fields: []string{"spo2"}}),
		c.sign(bob, n+2, tx.TypeDeployContract, &tx.DeployContract{Source: []byte(src)}),
	)
	for i := range 2 {
		if res.TxResults[i].Code != 0 {
			t.Fatalf("tx %d: %d %q", i, res.TxResults[i].Code, res.TxResults[i].Log)
		}
	}
	r := res.TxResults[2]
	wantCode(t, "deploy after a device of the block made spo2 private", r.Code, r.Log, app.CodeInvalidContract, "reading.data.spo2", deviceID(hall))
	// Two devices keep hr private: the lowest id is named, the other counted.
	c.mustOK(c.privateTx(bob, deviceID(hall), "spo2", "hr"))
	first := min(id, deviceID(hall))
	r = c.block(c.sign(bob, c.nonce(bob), tx.TypeDeployContract, &tx.DeployContract{Source: []byte(doc("{labels: {site: lab}}", "reading.data.hr > 1"))})).TxResults[0]
	wantCode(t, "deploy reading a field two devices keep private", r.Code, r.Log, app.CodeInvalidContract, "device "+first+" keeps private (and 1 more devices it can match)")
}

// TestPrivateDeterminism: the same private transactions and readings give
// the same app hash at every block, on a chain that restarts midway too,
// and each block's covered writes include the new records.
func TestPrivateDeterminism(t *testing.T) {
	run := func(restart bool) map[int64][]byte {
		c := newChain(t)
		id := privateDevice(c)
		c.mustOK(c.publishTx(carol, true))
		if restart {
			c.reopen()
		}
		for i := range 4 {
			var raws [][]byte
			for j := range 3 {
				raws = append(raws, c.sealed(sensor, id, uint64(10*i+j+1), c.device(id).StreamEpoch, map[string]any{"site": "lab"}))
			}
			c.send(raws...)
			switch i {
			case 0:
				c.mustOK(c.grantTx(alice, id, carol, 1, epochWrap(1, tx.KEMXWing)))
			case 1:
				c.mustOK(c.revokeAccessTx(alice, id, dave))
				c.mustOK(c.announceTx(sensor, id))
			case 2:
				c.mustOK(c.eraseTx(alice, id, tx.EpochRange{From: 1, To: 2}))
				c.mustOK(c.announceTx(sensor, id))
			}
		}
		return c.appHashes
	}
	a, b := run(false), run(true)
	if d := cmp.Diff(a, b); d != "" || len(a) < 15 {
		t.Errorf("app hashes differ between two runs of the same blocks (%d blocks):\n%s", len(a), d)
	}
	c := newChain(t)
	id := privateDevice(c)
	changes, err := state.GetChanges(c.app.Reader().Committed(), c.height)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, ch := range changes {
		keys = append(keys, string(ch.Key))
	}
	if diff := cmp.Diff(keys, []string{string(state.AccountKey(accountID(sensor))), string(state.DeviceKey(id)), string(state.EpochKey(id, 1))}); diff != "" {
		t.Errorf("covered writes of the announcement (-got +want):\n%s", diff)
	}
}

// TestRealWraps: the ledger's rules with package private's cryptography, as
// a device, its owner and a consumer use them: the device wraps a stream
// key to the recipients the ledger lists, with the KEM each published key
// calls for, and announces the commitments; a recipient finds its wrapped
// key by the ledger's commitment, opens it with its private key and opens
// the sealed readings the ledger took; after a revocation the consumer is
// no recipient of the new epoch.
func TestRealWraps(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	c.mustOK(c.publishTx(alice, false), c.publishTx(carol, true))
	c.mustOK(c.privateTx(alice, id, "hr"))
	c.mustOK(c.grantTx(alice, id, carol, 0))
	keys := map[string]*private.PrivateKey{accountID(alice): privateKey(pub(alice)[0], false), accountID(carol): privateKey(pub(carol)[0], true)}
	box := map[[32]byte][]byte{} // a key box: wrapped keys by commitment

	announce := func(epoch uint64, sk private.StreamKey) {
		t.Helper()
		e := c.epoch(id, epoch)
		var ws []tx.KeyWrap
		for _, r := range e.Recipients {
			k, err := c.app.Reader().EncryptionKey(r.Account)
			if err != nil || k == nil {
				t.Fatalf("EncryptionKey(%s) = %v, %v", r.Account, k, err)
			}
			pk := private.PublicKey{X25519: k.X25519, XWing: k.XWing}
			wrapped, commit, err := private.Wrap(testChainID, id, epoch, r.Account, pk, sk)
			if err != nil {
				t.Fatal(err)
			}
			box[commit] = wrapped
			ws = append(ws, tx.KeyWrap{Recipient: r.Account, KEM: uint64(pk.KEM()), Commitment: commit[:]})
		}
		c.mustOK(c.sign(sensor, c.nonce(sensor), tx.TypeStreamKey, &tx.StreamKey{Device: id, Epoch: epoch, Wraps: ws}))
	}
	// open is what a recipient does: its wrapped key by the ledger's
	// commitment, checked, opened with its private key.
	open := func(who ed25519.PrivateKey, epoch uint64) (private.StreamKey, error) {
		t.Helper()
		r := c.epoch(id, epoch).Recipient(accountID(who))
		if r == nil {
			return private.StreamKey{}, fmt.Errorf("%s is no recipient of epoch %d", accountID(who), epoch)
		}
		wrapped, ok := box[[32]byte(r.Commitment)]
		if !ok || private.Commitment(wrapped) != [32]byte(r.Commitment) {
			t.Fatalf("no wrapped key in the box for the ledger's commitment %x", r.Commitment)
		}
		w, err := private.ParseWrapped(wrapped)
		if err != nil || w.KEM != r.KEM {
			t.Fatalf("wrapped key's KEM %#x (%v), the ledger's %#x", w.KEM, err, r.KEM)
		}
		return private.Unwrap(testChainID, id, epoch, accountID(who), keys[accountID(who)], wrapped)
	}

	sk1 := private.StreamKey(bytes.Repeat([]byte{1}, 32))
	announce(1, sk1)
	if r := c.epoch(id, 1).Recipient(accountID(carol)); r == nil || r.KEM != state.KEMXWing {
		t.Fatalf("carol in epoch 1 = %+v, want her X-Wing wrap", r)
	}
	raw, err := private.Seal(reading.Reading{Device: id, Seq: 1, Time: c.nowMs(), Data: map[string]any{"site": "lab"}}, map[string]any{"hr": int64(71)}, 1, sk1, sensor)
	if err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, "a reading sealed under epoch 1", c.sendOne(raw), app.CodeOK)
	stored, err := c.app.Reader().Reading(id, 1)
	if err != nil || stored == nil {
		t.Fatalf("Reading(%s, 1) = %v, %v", id, stored, err)
	}
	for _, who := range []ed25519.PrivateKey{alice, carol} {
		sk, err := open(who, 1)
		if err != nil {
			t.Fatalf("%s opens epoch 1: %v", accountID(who), err)
		}
		fields, err := private.Open(stored.Reading, sk)
		if err != nil || fields["hr"] != int64(71) {
			t.Errorf("%s opens the stored reading: %v, %v; want hr 71", accountID(who), fields, err)
		}
	}

	c.mustOK(c.revokeAccessTx(alice, id, carol))
	sk2 := private.StreamKey(bytes.Repeat([]byte{2}, 32))
	announce(2, sk2)
	if _, err := open(carol, 2); err == nil {
		t.Error("carol, revoked, opens epoch 2")
	}
	if sk, err := open(alice, 2); err != nil || sk != sk2 {
		t.Errorf("the owner opens epoch 2: %v", err)
	}
}

// TestGrantRange: one grant looks at most tx.MaxGrantWraps epochs; a
// grant from further back says to grant the later ones first, and a
// second grant then gives the earlier ones.
func TestGrantRange(t *testing.T) {
	c := newChain(t)
	id := c.register(alice, sensor)
	c.mustOK(c.publishTx(alice, false), c.publishTx(dave, false))
	c.mustOK(c.privateTx(alice, id, "hr"))
	n := c.nonce(alice)
	var rotations [][]byte
	for i := range tx.MaxGrantWraps + 2 {
		rotations = append(rotations, c.sign(alice, n+uint64(i), tx.TypeRotateStreamKey, &tx.RotateStreamKey{Device: id}))
	}
	c.mustOK(rotations...)
	cur := uint64(tx.MaxGrantWraps + 3)
	if d := c.device(id); d.StreamEpoch != cur {
		t.Fatalf("device at epoch %d, want %d", d.StreamEpoch, cur)
	}
	r := c.block(c.grantTx(alice, id, dave, 1)).TxResults[0]
	wantCode(t, "a grant of more epochs than one looks at", r.Code, r.Log, app.CodeBadWraps,
		fmt.Sprintf("gives %d epochs", cur), fmt.Sprintf("at most %d", tx.MaxGrantWraps), "grant from epoch 4 first, then again from 1")
	c.mustOK(c.grantTx(alice, id, dave, 4))
	c.mustOK(c.grantTx(alice, id, dave, 1))
	g, err := state.GetGrant(c.app.Reader().Committed(), id, accountID(dave))
	if err != nil || g == nil || g.OpenPeriod() == nil || g.OpenPeriod().From != 1 {
		t.Errorf("dave's grant = %+v, %v; want it open from epoch 1", g, err)
	}
}
