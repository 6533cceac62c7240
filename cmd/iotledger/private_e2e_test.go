package main_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/testonly"
)

// decrypted is what `reading decrypt` prints.
type decrypted struct {
	Device  string         `json:"device"`
	Seq     uint64         `json:"seq"`
	Epoch   uint64         `json:"epoch"`
	Data    map[string]any `json:"data"`
	Private map[string]any `json:"private"`
}

var sentRE = regexp.MustCompile(`(?m)^accepted: device (\S+) seq ([0-9]+), log index [0-9]+, block [0-9]+\nreceipt: .*\nsealed: (.*) under epoch ([0-9]+); open with: iotledger reading decrypt (\S+) ([0-9]+)\n$`)

// TestPrivateReadings runs the real binary on a dev node, as the README's
// "Private readings" section does: dev set up the owner's encryption key
// and sensor-1's stream key, so a private reading goes at once and the
// owner opens it; a consumer with a key of its own publishes it, is
// granted earlier epochs, opens them, is revoked and cannot open a later
// epoch; the owner rotates the stream key; erased epochs open for no one
// (the owner's key gets a clear error) while their receipts verify, and
// no file of the node's home holds their wrapped keys or stream keys.
func TestPrivateReadings(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	n, cli := testonly.DevNode(t)
	c := client.New(n.URL())
	owner := cli.Key(t, "owner")
	sensor := cli.Key(t, "sensor-1")
	id := sensor.DeviceID()

	send := func(epoch uint64, private, fields string, data ...string) uint64 {
		t.Helper()
		out := cli.MustRun(t, append([]string{"reading", "send", "--device", "sensor-1", "--private", private}, data...)...)
		m := sentRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("reading send printed %q, want it accepted and sealed", out)
		}
		if m[1] != id || m[3] != fields || m[4] != strconv.FormatUint(epoch, 10) || m[5] != id || m[6] != m[2] {
			t.Errorf("reading send printed %q, want %s sealed under epoch %d", out, fields, epoch)
		}
		seq, _ := strconv.ParseUint(m[2], 10, 64)
		return seq
	}
	decrypt := func(seq uint64, key string) decrypted {
		t.Helper()
		var d decrypted
		cli.JSON(t, &d, "reading", "decrypt", "sensor-1", strconv.FormatUint(seq, 10), "--key", key)
		return d
	}
	refused := func(seq uint64, key string, says ...string) {
		t.Helper()
		out, code := cli.Run(t, "reading", "decrypt", id, strconv.FormatUint(seq, 10), "--key", key)
		if code != 1 {
			t.Fatalf("reading decrypt %d --key %s: exit %d, want 1\n%s", seq, key, code, out)
		}
		for _, s := range says {
			if !strings.Contains(out, s) {
				t.Errorf("reading decrypt %d --key %s said %q, want it to say %q", seq, key, out, s)
			}
		}
	}

	// dev named hr private and announced epoch 1's key: the first private
	// reading goes with no other step, and the owner opens it.
	one := send(1, "temp,hr", "hr, temp", "temp=21.5", "hr=70", "site=lab")
	want := decrypted{Device: id, Seq: one, Epoch: 1, Data: map[string]any{"site": "lab"}, Private: map[string]any{"temp": 21.5, "hr": 70.0}}
	if d := cmp.Diff(decrypt(one, "owner"), want); d != "" {
		t.Errorf("the owner's decrypt (-got +want):\n%s", d)
	}
	page, err := c.Readings(ctx, id, client.ReadingQuery{From: one, To: one})
	if err != nil || len(page.Readings) != 1 {
		t.Fatalf("reading %d from the API: %v, %v", one, page, err)
	}
	if d := cmp.Diff(page.Readings[0].Data, map[string]any{"site": "lab"}); d != "" {
		t.Errorf("the API shows the reading's fields (-got +want):\n%s", d)
	}

	// A consumer publishes its key and is granted epoch 1 on.
	cli.MustRun(t, "keys", "new", "analyst")
	if out := cli.MustRun(t, "keys", "publish", "analyst"); !strings.Contains(out, "published the encryption key of analyst") {
		t.Errorf("keys publish said %q", out)
	}
	analyst := cli.Key(t, "analyst")
	refused(one, "analyst", "is not a recipient of device "+id+"'s epoch 1", "iotledger access grant "+id+" --to "+analyst.Address())
	out := cli.MustRun(t, "access", "grant", "sensor-1", "--to", "analyst", "--from-epoch", "1")
	if !strings.Contains(out, "granted "+analyst.Address()+" access to device "+id+" from epoch 1 on") || !strings.Contains(out, "past epochs wrapped to it by the owner: 1") {
		t.Errorf("access grant said %q", out)
	}
	if d := cmp.Diff(decrypt(one, "analyst"), want); d != "" {
		t.Errorf("the grantee's decrypt (-got +want):\n%s", d)
	}
	if out := cli.MustRun(t, "access", "list", "sensor-1"); !strings.Contains(out, analyst.Address()+"  from epoch 1") || !strings.Contains(out, "private fields: hr") {
		t.Errorf("access list said %q", out)
	}

	// Revoked: the device moves to epoch 2, whose key the analyst lacks.
	out = cli.MustRun(t, "access", "revoke", "sensor-1", "--from", "analyst")
	if !strings.Contains(out, "the device is at epoch 2") {
		t.Errorf("access revoke said %q", out)
	}
	two := send(2, "temp", "hr, temp", "temp=22", "hr=72") // hr is sealed for the ledger lists it
	refused(two, "analyst", "is not a recipient of device "+id+"'s epoch 2")
	if d := decrypt(two, "owner"); d.Epoch != 2 || d.Private["temp"] != 22.0 {
		t.Errorf("the owner's decrypt of reading %d = %+v, want temp 22 under epoch 2", two, d)
	}
	if d := decrypt(one, "analyst"); d.Private["hr"] != 70.0 {
		t.Errorf("the revoked analyst's decrypt of epoch 1 = %+v, want it still readable", d)
	}

	// A rotation: epoch 3.
	if out := cli.MustRun(t, "device", "rotate-stream-key", "sensor-1"); !strings.Contains(out, "moved to epoch 3") {
		t.Errorf("rotate-stream-key said %q", out)
	}
	three := send(3, "temp", "temp", "temp=23")

	// What decrypting epochs 1 and 2 needs, before they are erased: their
	// wrapped keys and stream keys, to look for on disk afterwards.
	var secrets [][]byte
	for _, e := range []struct {
		epoch uint64
		accts []string
	}{{1, []string{owner.Address(), analyst.Address()}}, {2, []string{owner.Address()}}} {
		for _, a := range e.accts {
			k, err := c.WrappedStreamKey(ctx, id, e.epoch, a)
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, k.Wrapped)
		}
		sk, err := c.StreamKey(ctx, id, e.epoch, owner.Address(), owner.Encryption)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, sk[:])
	}
	// The scan below finds them while they are there (the key box).
	if found, err := holds(n.Home, secrets); found == "" || err != nil {
		t.Fatalf("before the erasure, no file of the home holds the wrapped keys (%v): the scan finds nothing", err)
	}

	out = cli.MustRun(t, "data", "erase", "sensor-1", "--epochs", "1-2")
	if !strings.Contains(out, "erased epochs 1-2 of device "+id) || !strings.Contains(out, "the device is at epoch 3") {
		t.Errorf("data erase said %q", out)
	}
	for _, key := range []string{"owner", "analyst"} {
		refused(one, key, "epoch 1 of device "+id+" was erased", "no one can open its sealed fields")
	}
	refused(two, "owner", "epoch 2 of device "+id+" was erased")
	if d := decrypt(three, "owner"); d.Epoch != 3 || d.Private["temp"] != 23.0 {
		t.Errorf("the owner's decrypt of reading %d = %+v, want temp 23 under epoch 3", three, d)
	}
	// The erased readings' receipts still verify.
	for _, seq := range []uint64{one, two} {
		f := filepath.Join(t.TempDir(), "receipt.json")
		cli.MustRun(t, "receipt", id, strconv.FormatUint(seq, 10), "-o", f)
		if out := testonly.MustRun(t, "verify", f, "--genesis", node.GenesisFile(n.Home)); !strings.Contains(out, "receipt verifies") {
			t.Errorf("verify of erased reading %d printed:\n%s", seq, out)
		}
	}
	// A device of the user's own: no private fields yet, so a sealed
	// reading is refused before anything is signed, saying what to do;
	// the owner names them, and the reading goes.
	cli.NewDevice(t, "wearable")
	out, code := cli.Run(t, "reading", "send", "--device", "wearable", "--private", "hr", "hr=64")
	if code != 1 || !strings.Contains(out, "has no private fields on the ledger") || !strings.Contains(out, "iotledger device private") {
		t.Errorf("a sealed reading of a device without private fields: exit %d, %q", code, out)
	}
	if out := cli.MustRun(t, "device", "private", "wearable", "hr,spo2"); !strings.Contains(out, "keeps hr, spo2 private") || !strings.Contains(out, "at epoch 1") {
		t.Errorf("device private said %q", out)
	}
	out = cli.MustRun(t, "reading", "send", "--device", "wearable", "hr=64", "spo2=97", "steps=1200")
	if !strings.Contains(out, "sealed: hr, spo2 under epoch 1") {
		t.Errorf("reading send of the device's private fields, without --private, said %q", out)
	}
	cli.MustRun(t, "keys", "new", "nobody")
	if out, code := cli.Run(t, "access", "grant", "wearable", "--to", "nobody"); code != 1 || !strings.Contains(out, "has published none; its holder publishes one (iotledger keys publish NAME)") {
		t.Errorf("a grant to an account without an encryption key: exit %d, %q", code, out)
	}

	// No file of the home holds what decrypting the erased epochs needs:
	// not the key box, CometBFT's block store and WAL, the app store, nor
	// the device's stream key file. The node keeps running: the key box
	// erases at commit, and every store is read as it is on disk.
	testonly.Poll(t, ctx, "the erased epochs' keys gone from every file of the home", func() (bool, error) {
		found, err := holds(n.Home, secrets)
		if found != "" {
			t.Logf("still found: %s", found)
		}
		return found == "", err
	})
}

// holds returns the first file under dir that holds one of secrets: the
// bytes, or their hex or base64.
func holds(dir string, secrets [][]byte) (string, error) {
	var needles [][]byte
	for _, s := range secrets {
		needles = append(needles, s, []byte(hex.EncodeToString(s)), []byte(base64.StdEncoding.EncodeToString(s)), []byte(base64.RawURLEncoding.EncodeToString(s)))
	}
	found := ""
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			if os.IsNotExist(err) {
				return nil // a store's file went away as we walked
			}
			return err
		}
		for i, nd := range needles {
			if bytes.Contains(b, nd) {
				found = p + " (secret " + strconv.Itoa(i/4) + ")"
				return nil
			}
		}
		return nil
	})
	return found, err
}
