package device_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/private"
	"github.com/iotledger/iotledger/tx"
)

// consumer is an account with an encryption key that may be granted a
// device's sealed fields.
type consumer struct {
	key  ed25519.PrivateKey
	enc  *private.PrivateKey
	addr string
}

func newConsumer(t *testing.T, ctx context.Context, c *client.Client, hybrid bool) consumer {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := private.GenerateKey(hybrid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishEncryptionKey(ctx, key, enc.Public()); err != nil {
		t.Fatalf("publish the consumer's encryption key: %v", err)
	}
	return consumer{key: key, enc: enc, addr: address.Account(key.Public().(ed25519.PublicKey))}
}

// streamKeyEpochs reads the epochs whose keys a Sender's stream key file
// holds, and checks the file's mode.
func streamKeyEpochs(t *testing.T, dir string) []uint64 {
	t.Helper()
	p := filepath.Join(dir, "streamkey")
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Keys []struct {
			Epoch     uint64 `json:"epoch"`
			Announced bool   `json:"announced"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	var out []uint64
	for _, k := range f.Keys {
		if !k.Announced {
			t.Errorf("%s holds epoch %d's key unannounced after a Flush", p, k.Epoch)
		}
		out = append(out, k.Epoch)
	}
	return out
}

// A Sender seals a device's private fields transparently, with a real
// node: the owner (hybrid key) and a granted consumer (X25519 key) open
// them; after a revocation the device, answered stale_epoch, makes epoch
// 2's key, seals its reading again under the same sequence number and
// resends it, which the owner opens and the revoked consumer cannot; a
// field the owner makes private later is moved into the sealed part when
// the ledger answers private_in_clear; an erased epoch opens for no one.
// Every reading is in the log exactly once, and the key file keeps only
// the current epoch's key.
func TestSenderPrivate(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	n, k, _ := testonly.DeviceNode(t, "device-private")
	id := k.DeviceID()
	owner, err := keystore.Load(n.Home, "owner")
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(n.URL())
	if _, err := c.PublishEncryptionKey(ctx, owner.Private, owner.Encryption.Public()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetPrivateFields(ctx, owner.Private, id, []string{"hr", "temp"}); err != nil {
		t.Fatal(err)
	}
	reader := newConsumer(t, ctx, c, false)

	dir := t.TempDir()
	s, err := device.NewSender(device.Options{Key: k.Private, Dir: dir, Transport: device.NewHTTP(c), API: c,
		Backoff: func(int, time.Duration) time.Duration { return 50 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	record := func(data map[string]any) uint64 {
		t.Helper()
		seq, err := s.Record(ctx, data, time.Now())
		if err != nil {
			t.Fatalf("Record(%v): %v", data, err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		return seq
	}
	open := func(who string, acct string, key *private.PrivateKey, seq uint64) (*client.Opened, error) {
		t.Helper()
		return c.DecryptReading(ctx, id, seq, acct, key)
	}
	mustOpen := func(who string, acct string, key *private.PrivateKey, seq, epoch uint64, pub, priv map[string]any) {
		t.Helper()
		o, err := open(who, acct, key, seq)
		if err != nil {
			t.Fatalf("%s opens reading %d: %v", who, seq, err)
		}
		if o.Epoch != epoch {
			t.Errorf("%s: reading %d was sealed under epoch %d, want %d", who, seq, o.Epoch, epoch)
		}
		if d := cmp.Diff(o.Data, pub); d != "" {
			t.Errorf("%s: reading %d's public fields (-got +want):\n%s", who, seq, d)
		}
		if d := cmp.Diff(o.Private, priv); d != "" {
			t.Errorf("%s: reading %d's private fields (-got +want):\n%s", who, seq, d)
		}
	}

	// Epoch 1: the Sender learns it at start, announces its key, seals.
	one := record(map[string]any{"temp": 21.5, "hr": int64(70), "site": "lab"})
	page, err := c.Readings(ctx, id, client.ReadingQuery{From: one, To: one})
	if err != nil || len(page.Readings) != 1 {
		t.Fatalf("reading %d on the API: %v, %v", one, page, err)
	}
	if d := cmp.Diff(page.Readings[0].Data, map[string]any{"site": "lab"}); d != "" {
		t.Errorf("the API shows fields of the reading in clear (-got +want):\n%s", d)
	}
	// The list's sealed part opens with the epoch's stream key too.
	sk, err := c.StreamKey(ctx, id, 1, owner.Address(), owner.Encryption)
	if err != nil {
		t.Fatal(err)
	}
	if fields, err := client.OpenSealed(id, page.Readings[0], sk); err != nil || !cmp.Equal(fields, map[string]any{"temp": 21.5, "hr": int64(70)}) {
		t.Errorf("OpenSealed of the listed reading = %v, %v; want temp and hr", fields, err)
	}
	mustOpen("owner", owner.Address(), owner.Encryption, one, 1, map[string]any{"site": "lab"}, map[string]any{"temp": 21.5, "hr": int64(70)})

	// A grant of the current epoch: the owner wraps epoch 1's key to the
	// consumer (X25519), who then opens the reading.
	if _, epochs, err := c.Grant(ctx, owner.Private, owner.Encryption, id, reader.addr, 0); err != nil || !cmp.Equal(epochs, []uint64{1}) {
		t.Fatalf("Grant = %v, %v; want epoch 1 wrapped", epochs, err)
	}
	mustOpen("consumer", reader.addr, reader.enc, one, 1, map[string]any{"site": "lab"}, map[string]any{"temp": 21.5, "hr": int64(70)})
	// The owner's key is not the consumer's: its wrapped key does not open.
	if _, err := open("owner's key as the consumer", reader.addr, owner.Encryption, one); !errors.Is(err, private.ErrKEM) && !errors.Is(err, private.ErrUnwrap) {
		t.Errorf("the consumer's wrapped key opened with the owner's key: %v", err)
	} else if !strings.Contains(err.Error(), "not the one whose public key "+reader.addr+" published") {
		t.Errorf("error %q does not say the key is not the published one", err)
	}

	// A revocation moves the device to epoch 2; the Sender's reading,
	// sealed under epoch 1, is refused stale_epoch, sealed again under
	// epoch 2's new key and sent again.
	if _, err := c.RevokeAccess(ctx, owner.Private, id, reader.addr); err != nil {
		t.Fatal(err)
	}
	two := record(map[string]any{"temp": 22.0, "hr": int64(71)})
	if st := s.Stats(); st.Resealed < 1 || st.Rejected != 0 {
		t.Errorf("stats after the revocation %+v, want a reading sealed again and none rejected", st)
	}
	mustOpen("owner", owner.Address(), owner.Encryption, two, 2, nil, map[string]any{"temp": 22.0, "hr": int64(71)})
	if _, err := open("revoked consumer", reader.addr, reader.enc, two); !errors.Is(err, client.ErrNotRecipient) {
		t.Errorf("the revoked consumer opening reading %d = %v, want %v", two, err, client.ErrNotRecipient)
	}
	mustOpen("revoked consumer", reader.addr, reader.enc, one, 1, map[string]any{"site": "lab"}, map[string]any{"temp": 21.5, "hr": int64(70)})
	if got := streamKeyEpochs(t, dir); !cmp.Equal(got, []uint64{2}) {
		t.Errorf("the stream key file holds epochs %v, want only the current one, 2", got)
	}

	// The owner makes site private too: the Sender's reading with site in
	// clear is refused private_in_clear, and sealed again with site in the
	// sealed part.
	if _, err := c.SetPrivateFields(ctx, owner.Private, id, []string{"hr", "site", "temp"}); err != nil {
		t.Fatal(err)
	}
	three := record(map[string]any{"temp": 23.0, "site": "lab"})
	mustOpen("owner", owner.Address(), owner.Encryption, three, 2, nil, map[string]any{"temp": 23.0, "site": "lab"})

	// Erasing epoch 1: nobody opens its readings, the owner included.
	if _, err := c.EraseEpochs(ctx, owner.Private, id, []tx.EpochRange{{From: 1, To: 1}}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []struct {
		name string
		acct string
		key  *private.PrivateKey
	}{{"owner", owner.Address(), owner.Encryption}, {"consumer", reader.addr, reader.enc}} {
		if _, err := open(who.name, who.acct, who.key, one); !errors.Is(err, client.ErrErased) {
			t.Errorf("%s opening reading %d of the erased epoch 1 = %v, want %v", who.name, one, err, client.ErrErased)
		}
	}
	mustOpen("owner", owner.Address(), owner.Encryption, two, 2, nil, map[string]any{"temp": 22.0, "hr": int64(71)})

	// Each reading is in the log once.
	g, err := c.Gaps(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if g.Count != 3 || g.MaxSeq != three || len(g.Gaps) != 0 {
		t.Errorf("the ledger holds %+v, want readings 1 to %d once each", g, three)
	}
}
