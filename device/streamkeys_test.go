package device_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/private"
	"github.com/iotledger/iotledger/reading"
)

// nowhere is a client of no node: the tests below never reach one.
var nowhere = client.New("http://127.0.0.1:1")

// writeKeyFile writes a stream key file holding keys (epoch to key) as
// announced, with the ledger's private fields.
func writeKeyFile(t *testing.T, path, id string, fields []string, keys map[uint64]private.StreamKey) {
	t.Helper()
	type ek struct {
		Epoch     uint64 `json:"epoch"`
		Key       []byte `json:"key"`
		Announced bool   `json:"announced"`
	}
	f := struct {
		Device string   `json:"device"`
		Fields []string `json:"fields"`
		Keys   []ek     `json:"keys"`
	}{Device: id, Fields: fields}
	for e := uint64(1); e <= 10; e++ {
		if k, ok := keys[e]; ok {
			f.Keys = append(f.Keys, ek{Epoch: e, Key: k[:], Announced: true})
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func streamKey(t *testing.T) private.StreamKey {
	t.Helper()
	k, err := private.NewStreamKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestStreamKeysRefuse(t *testing.T) {
	key := newKey(1)
	dir := t.TempDir()
	other := newKey(2)
	otherFile := filepath.Join(dir, "other")
	writeKeyFile(t, otherFile, newSigner(t, other, "", "").ID(), nil, nil)
	damaged := filepath.Join(dir, "damaged")
	if err := os.WriteFile(damaged, []byte(`{"keys":[{"epoch":1,"key":"AAEC"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		o    device.StreamKeyOptions
		says string
	}{
		{"no API", device.StreamKeyOptions{Key: key, File: filepath.Join(dir, "k")}, "StreamKeyOptions.API is nil"},
		{"no file", device.StreamKeyOptions{API: nowhere, Key: key}, "StreamKeyOptions.File is empty"},
		{"no key", device.StreamKeyOptions{API: nowhere, File: filepath.Join(dir, "k")}, "want an Ed25519 private key"},
		{"empty field name", device.StreamKeyOptions{API: nowhere, Key: key, File: filepath.Join(dir, "k"), Private: []string{""}}, `private field name ""`},
		{"another device's file", device.StreamKeyOptions{API: nowhere, Key: key, File: otherFile}, "give each device a file of its own"},
		{"damaged file", device.StreamKeyOptions{API: nowhere, Key: key, File: damaged}, "is damaged"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, err := device.NewStreamKeys(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("NewStreamKeys = %v, %v; want an error saying %q", k, err, tt.says)
			}
		})
	}
	// Options.Private needs Options.API.
	_, err := device.NewSender(device.Options{Key: key, Dir: t.TempDir(), Transport: newFake(), Private: []string{"hr"}})
	if err == nil || !strings.Contains(err.Error(), "Options.API is nil") {
		t.Errorf("NewSender with Private and no API: %v, want it refused", err)
	}
}

// Seal seals the device's private fields under the newest key on disk;
// Reseal moves a reading sealed under an older epoch, or one with a field
// now private in clear, to the newest key with its seq and time; Forget
// keeps only the newest key.
func TestStreamKeysSealReseal(t *testing.T) {
	key := newKey(3)
	id := newSigner(t, key, "", "").ID()
	file := filepath.Join(t.TempDir(), "streamkey")
	newKeys := func(extra ...string) *device.StreamKeys {
		t.Helper()
		k, err := device.NewStreamKeys(device.StreamKeyOptions{API: nowhere, Key: key, File: file, Private: extra})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	r := reading.Reading{Seq: 7, Time: readingTime.UnixMilli(), Data: map[string]any{"temp": 21.5, "hr": int64(70), "site": "lab"}}

	// No key on disk: a reading with a private field is refused, one
	// without is signed as it is.
	ks := newKeys("hr")
	if _, err := ks.Seal(r); !errors.Is(err, device.ErrNoStreamKey) {
		t.Errorf("Seal without a key on disk: %v, want %v", err, device.ErrNoStreamKey)
	}
	raw, err := ks.Seal(reading.Reading{Seq: 1, Time: readingTime.UnixMilli(), Data: map[string]any{"site": "lab"}})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := reading.Decode(raw); err != nil || s.Sealed != nil {
		t.Errorf("a reading without private fields: %v, sealed %v; want it signed in clear", err, s)
	}

	one, two := streamKey(t), streamKey(t)
	writeKeyFile(t, file, id, []string{"temp"}, map[uint64]private.StreamKey{1: one})
	ks = newKeys("hr")
	if got := ks.Fields(); !cmp.Equal(got, []string{"hr", "temp"}) {
		t.Errorf("Fields = %v, want the ledger's temp and the option's hr", got)
	}
	raw, err = ks.Seal(r)
	if err != nil {
		t.Fatal(err)
	}
	s, err := reading.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(key.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("the sealed reading's signature: %v", err)
	}
	if s.Sealed == nil || s.Sealed.Epoch != 1 || !cmp.Equal(s.Data, map[string]any{"site": "lab"}) {
		t.Fatalf("sealed reading %+v, want temp and hr sealed under epoch 1 and site in clear", s.Reading)
	}
	if got, err := private.Open(s.Reading, one); err != nil || !cmp.Equal(got, map[string]any{"temp": 21.5, "hr": int64(70)}) {
		t.Errorf("Open with epoch 1's key = %v, %v", got, err)
	}
	if ks.NeedsReseal(raw) {
		t.Errorf("a reading sealed under the newest key needs sealing again")
	}

	// Epoch 2's key arrives, and the ledger now keeps site private too.
	writeKeyFile(t, file, id, []string{"site", "temp"}, map[uint64]private.StreamKey{1: one, 2: two})
	ks = newKeys("hr")
	if !ks.NeedsReseal(raw) {
		t.Fatalf("a reading of epoch 1 does not need sealing again once epoch 2's key is on disk")
	}
	fresh, err := ks.Reseal(raw)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := reading.Decode(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Seq != 7 || s2.Time != r.Time || s2.Sealed.Epoch != 2 || len(s2.Data) != 0 {
		t.Errorf("resealed reading %+v, want seq 7 at the same time, sealed under epoch 2, nothing in clear", s2.Reading)
	}
	if got, err := private.Open(s2.Reading, two); err != nil || !cmp.Equal(got, map[string]any{"temp": 21.5, "hr": int64(70), "site": "lab"}) {
		t.Errorf("Open of the resealed reading = %v, %v; want all three fields", got, err)
	}
	if ks.NeedsReseal(fresh) {
		t.Errorf("the resealed reading needs sealing again")
	}

	// Forget: only epoch 2's key stays, and a reading of epoch 1 can no
	// longer be sealed again (the Sender does that before it forgets).
	if err := ks.Forget(); err != nil {
		t.Fatal(err)
	}
	if e, announced := ks.Epoch(); e != 2 || !announced {
		t.Errorf("Epoch after Forget = %d, %v; want 2, announced", e, announced)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"epoch": 1`) {
		t.Errorf("the key file still holds epoch 1 after Forget:\n%s", b)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	if _, err := ks.Reseal(raw); !errors.Is(err, device.ErrKeyLost) {
		t.Errorf("Reseal of an epoch 1 reading after Forget: %v, want %v", err, device.ErrKeyLost)
	}
}
