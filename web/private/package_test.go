package private_test

// The JavaScript library against package private, the Go reference:
// stream keys Wrap makes open here and keys wrapped here open with
// Unwrap, for X25519 and X-Wing recipients; sealed parts SealFields makes
// open here to the fields Go opens, and those sealed here open with
// OpenFields; each replayed wrapped key and tampered sealed part is
// refused on both sides.

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/private"
	"github.com/iotledger/iotledger/reading"
)

type sealedJSON struct {
	Epoch      string `json:"epoch"`
	Nonce      string `json:"nonce"`      // base64
	Ciphertext string `json:"ciphertext"` // base64
}

type openCase struct {
	Device    string     `json:"device"`
	Seq       string     `json:"seq"`
	StreamKey string     `json:"stream_key"` // hex
	Sealed    sealedJSON `json:"sealed"`
}

type sealCase struct {
	Device    string       `json:"device"`
	Seq       string       `json:"seq"`
	Epoch     string       `json:"epoch"`
	StreamKey string       `json:"stream_key"` // hex
	Fields    []crossField `json:"fields"`
}

type packageCases struct {
	Recipients []crossRecipient `json:"recipients"`
	Wraps      []crossWrap      `json:"wraps"`
	Opens      []openCase       `json:"opens"`
	Seals      []sealCase       `json:"seals"`
}

type packageResult struct {
	PublicKeys  []crossPublic     `json:"public_keys"`
	Unwrapped   []string          `json:"unwrapped"`
	Wrapped     []string          `json:"wrapped"`
	Commitments []string          `json:"commitments"`
	Opened      []json.RawMessage `json:"opened"` // a field list, or an error string
	Sealed      []sealedJSON      `json:"sealed"`
}

// newAddress returns a device or account address of a random key.
func newAddress(t *testing.T, device bool) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if device {
		return address.Device(pub)
	}
	return address.Account(pub)
}

// jsFields reads the fields tools/cross.mjs opened into the values
// private.OpenFields returns: integers as int64 (uint64 above its range),
// other numbers as float64.
func jsFields(t *testing.T, raw json.RawMessage) (map[string]any, error) {
	t.Helper()
	var msg string
	if json.Unmarshal(raw, &msg) == nil {
		return nil, errors.New(msg)
	}
	var list []crossField
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("tools/cross.mjs opened %s: %v", raw, err)
	}
	m := map[string]any{}
	for _, f := range list {
		switch f.Type {
		case "text":
			m[f.Name] = f.Value
		case "bool":
			m[f.Name] = f.Value == "true"
		case "number", "bigint":
			if i, err := strconv.ParseInt(f.Value, 10, 64); err == nil {
				m[f.Name] = i
			} else if u, err := strconv.ParseUint(f.Value, 10, 64); err == nil {
				m[f.Name] = u
			} else {
				m[f.Name] = must(strconv.ParseFloat(f.Value, 64))
			}
		default:
			t.Fatalf("tools/cross.mjs opened field %q of type %q", f.Name, f.Type)
		}
	}
	return m, nil
}

// TestPackagePrivate: the library and package private open what the other
// wraps and seals, and refuse the same replays and tampering.
func TestPackagePrivate(t *testing.T) {
	track(t, "dist/private.js", "tools/cross.mjs")
	const chain = "iotledger-test"
	device, otherDevice := newAddress(t, true), newAddress(t, true)
	account, otherAccount := newAddress(t, false), newAddress(t, false)

	var keys []*private.PrivateKey
	var cases packageCases
	for _, hybrid := range []bool{false, true} {
		k := must(private.GenerateKey(hybrid))
		x, seed := k.Bytes()
		keys = append(keys, k)
		cases.Recipients = append(cases.Recipients, crossRecipient{X25519Private: hex.EncodeToString(x), XWingSeed: hex.EncodeToString(seed)})
	}

	// Wrapped in Go: each opens in JavaScript for its own context, and a
	// replay for another epoch, device, chain or recipient does not.
	var wantKeys []string // "" for a refusal
	for ri, k := range keys {
		for _, c := range []struct {
			epoch  uint64
			openAs *wrapContext
		}{
			{1, nil},
			{math.MaxUint64, nil},
			{2, &wrapContext{ChainID: chain, Device: device, Epoch: "3", Recipient: account}},
			{2, &wrapContext{ChainID: chain, Device: otherDevice, Epoch: "2", Recipient: account}},
			{2, &wrapContext{ChainID: "another-chain", Device: device, Epoch: "2", Recipient: account}},
			{2, &wrapContext{ChainID: chain, Device: device, Epoch: "2", Recipient: otherAccount}},
		} {
			sk, jsKey := must(private.NewStreamKey()), must(private.NewStreamKey())
			wrapped, _, err := private.Wrap(chain, device, c.epoch, account, k.Public(), sk)
			if err != nil {
				t.Fatal(err)
			}
			cases.Wraps = append(cases.Wraps, crossWrap{
				Recipient: ri, ChainID: chain, Device: device, Epoch: strconv.FormatUint(c.epoch, 10), Account: account,
				Wrapped: base64.StdEncoding.EncodeToString(wrapped), OpenAs: c.openAs,
				StreamKeyJS: hex.EncodeToString(jsKey[:]),
			})
			want := hex.EncodeToString(sk[:])
			if c.openAs != nil {
				want = ""
			}
			wantKeys = append(wantKeys, want)
		}
	}

	// Sealed in Go: each opens in JavaScript to what Go opens; tampered,
	// none does.
	type goSealed struct {
		seq    uint64
		key    private.StreamKey
		sealed *reading.Sealed
		want   map[string]any // nil: a refusal
	}
	var seals []goSealed
	fieldSets := []map[string]any{
		{"temp": 21.5, "hr": int64(70)},
		{"neg": int64(math.MinInt64), "max": uint64(math.MaxUint64), "safe": int64(1<<53 - 1), "beyond": int64(1<<53 + 1), "text": "é, ü", "on": true, "off": false},
		{"tiny": 5e-324, "big": 1e300, "third": 1.0 / 3, "half": -0.5, strings.Repeat("k", reading.MaxFieldLen): ""},
	}
	for i, fields := range fieldSets {
		key := must(private.NewStreamKey())
		seq := uint64(i) * (math.MaxUint64 / 2)
		s := must(private.SealFields(device, seq, uint64(i+1), key, fields))
		seals = append(seals, goSealed{seq, key, s, must(private.OpenFields(device, seq, s, key))})
	}
	base := seals[0]
	flipped := bytes.Clone(base.sealed.Ciphertext)
	flipped[len(flipped)-1] ^= 1
	other := must(private.SealFields(device, base.seq+1, base.sealed.Epoch, base.key, fieldSets[0]))
	var wrongKey private.StreamKey
	for _, bad := range []goSealed{
		{base.seq, base.key, &reading.Sealed{Epoch: base.sealed.Epoch, Nonce: base.sealed.Nonce, Ciphertext: flipped}, nil},
		{base.seq, base.key, &reading.Sealed{Epoch: base.sealed.Epoch, Nonce: other.Nonce, Ciphertext: base.sealed.Ciphertext}, nil},
		{base.seq + 1, base.key, base.sealed, nil},
		{base.seq, base.key, &reading.Sealed{Epoch: base.sealed.Epoch + 1, Nonce: base.sealed.Nonce, Ciphertext: base.sealed.Ciphertext}, nil},
		{base.seq, wrongKey, base.sealed, nil},
	} {
		if _, err := private.OpenFields(device, bad.seq, bad.sealed, bad.key); !errors.Is(err, private.ErrOpen) {
			t.Fatalf("Go opened a tampered sealed part: %v", err)
		}
		seals = append(seals, bad)
	}
	for _, s := range seals {
		cases.Opens = append(cases.Opens, openCase{
			Device: device, Seq: strconv.FormatUint(s.seq, 10), StreamKey: hex.EncodeToString(s.key[:]),
			Sealed: sealedJSON{Epoch: strconv.FormatUint(s.sealed.Epoch, 10), Nonce: base64.StdEncoding.EncodeToString(s.sealed.Nonce), Ciphertext: base64.StdEncoding.EncodeToString(s.sealed.Ciphertext)},
		})
	}

	// Sealed in JavaScript, for Go to open.
	jsSeals := [][]crossField{
		{{"temp", "float", "21.5"}, {"hr", "int", "70"}},
		{{"neg", "int", "-9223372036854775808"}, {"max", "uint", "18446744073709551615"}, {"text", "text", "é"}, {"on", "bool", "true"}, {"f", "float", "0.1"}},
	}
	var sealKeys []private.StreamKey
	for i, f := range jsSeals {
		key := must(private.NewStreamKey())
		sealKeys = append(sealKeys, key)
		cases.Seals = append(cases.Seals, sealCase{Device: device, Seq: strconv.Itoa(100 + i), Epoch: strconv.Itoa(7 + i), StreamKey: hex.EncodeToString(key[:]), Fields: f})
	}

	in := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(in, must(json.Marshal(cases)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node(t), "tools/cross.mjs", in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node tools/cross.mjs: %v\n%s", err, stderr.Bytes())
	}
	var got packageResult
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node tools/cross.mjs printed %q: %v", out, err)
	}

	t.Run("public keys", func(t *testing.T) {
		var want []crossPublic
		for _, k := range keys {
			p := k.Public()
			want = append(want, crossPublic{X25519: hex.EncodeToString(p.X25519), XWing: hex.EncodeToString(p.XWing)})
		}
		if diff := cmp.Diff(got.PublicKeys, want); diff != "" {
			t.Errorf("public keys derived in JavaScript differ from package private's (-javascript +go):\n%s", diff)
		}
	})

	t.Run("Wrap in Go, unwrap in JavaScript", func(t *testing.T) {
		if len(got.Unwrapped) != len(wantKeys) {
			t.Fatalf("%d results for %d wrapped keys", len(got.Unwrapped), len(wantKeys))
		}
		for i, want := range wantKeys {
			switch {
			case want == "" && !strings.HasPrefix(got.Unwrapped[i], "error unwrap_failed: "):
				t.Errorf("case %d (opened as %+v): JavaScript gave %q, want the unwrap_failed refusal", i, cases.Wraps[i].OpenAs, got.Unwrapped[i])
			case want != "" && got.Unwrapped[i] != want:
				t.Errorf("case %d (epoch %s): JavaScript opened %q, want %s", i, cases.Wraps[i].Epoch, got.Unwrapped[i], want)
			}
		}
	})

	t.Run("wrap in JavaScript, Unwrap in Go", func(t *testing.T) {
		if len(got.Wrapped) != len(cases.Wraps) || len(got.Commitments) != len(cases.Wraps) {
			t.Fatalf("%d wrapped keys and %d commitments for %d cases", len(got.Wrapped), len(got.Commitments), len(cases.Wraps))
		}
		for i, c := range cases.Wraps {
			wrapped := must(base64.StdEncoding.DecodeString(got.Wrapped[i]))
			epoch := must(strconv.ParseUint(c.Epoch, 10, 64))
			k := keys[c.Recipient]
			sk, err := private.Unwrap(chain, device, epoch, account, k, wrapped)
			if err != nil {
				t.Errorf("case %d: private.Unwrap refuses the key JavaScript wrapped: %v", i, err)
				continue
			}
			if hex.EncodeToString(sk[:]) != c.StreamKeyJS {
				t.Errorf("case %d: Go opened %x, JavaScript wrapped %s", i, sk, c.StreamKeyJS)
			}
			w := must(private.ParseWrapped(wrapped))
			if w.KEM != k.Public().KEM() {
				t.Errorf("case %d: JavaScript wrapped with KEM %#04x, package private wraps with %#04x", i, w.KEM, k.Public().KEM())
			}
			if sum := private.Commitment(wrapped); got.Commitments[i] != hex.EncodeToString(sum[:]) {
				t.Errorf("case %d: JavaScript's commitment %s, package private's %x", i, got.Commitments[i], sum)
			}
			next := epoch + 1
			if next == 0 {
				next = 1
			}
			if _, err := private.Unwrap(chain, device, next, account, k, wrapped); !errors.Is(err, private.ErrUnwrap) {
				t.Errorf("case %d: a key JavaScript wrapped for epoch %d, unwrapped as one of epoch %d: %v, want ErrUnwrap", i, epoch, next, err)
			}
		}
	})

	t.Run("SealFields in Go, open in JavaScript", func(t *testing.T) {
		if len(got.Opened) != len(seals) {
			t.Fatalf("%d results for %d sealed parts", len(got.Opened), len(seals))
		}
		for i, s := range seals {
			fields, err := jsFields(t, got.Opened[i])
			switch {
			case s.want == nil && (err == nil || !strings.HasPrefix(err.Error(), "error open_failed: ")):
				t.Errorf("sealed part %d (tampered): JavaScript gave %v %v, want the open_failed refusal", i, fields, err)
			case s.want != nil && err != nil:
				t.Errorf("sealed part %d: JavaScript does not open it: %v", i, err)
			case s.want != nil:
				if diff := cmp.Diff(fields, s.want); diff != "" {
					t.Errorf("sealed part %d: JavaScript opened other fields than Go (-javascript +go):\n%s", i, diff)
				}
			}
		}
	})

	t.Run("seal in JavaScript, OpenFields in Go", func(t *testing.T) {
		if len(got.Sealed) != len(cases.Seals) {
			t.Fatalf("%d sealed parts for %d cases", len(got.Sealed), len(cases.Seals))
		}
		wants := []map[string]any{
			{"temp": 21.5, "hr": int64(70)},
			{"neg": int64(math.MinInt64), "max": uint64(math.MaxUint64), "text": "é", "on": true, "f": 0.1},
		}
		for i, c := range cases.Seals {
			s := got.Sealed[i]
			sealed := &reading.Sealed{
				Epoch:      must(strconv.ParseUint(s.Epoch, 10, 64)),
				Nonce:      must(base64.StdEncoding.DecodeString(s.Nonce)),
				Ciphertext: must(base64.StdEncoding.DecodeString(s.Ciphertext)),
			}
			seq := must(strconv.ParseUint(c.Seq, 10, 64))
			if want := must(strconv.ParseUint(c.Epoch, 10, 64)); sealed.Epoch != want {
				t.Errorf("case %d: JavaScript sealed for epoch %d, want %d", i, sealed.Epoch, want)
			}
			fields, err := private.OpenFields(c.Device, seq, sealed, sealKeys[i])
			if err != nil {
				t.Errorf("case %d: private.OpenFields refuses what JavaScript sealed: %v", i, err)
				continue
			}
			if diff := cmp.Diff(fields, wants[i]); diff != "" {
				t.Errorf("case %d: Go opened other fields than JavaScript sealed (-go +want):\n%s", i, diff)
			}
			if _, err := private.OpenFields(c.Device, seq+1, sealed, sealKeys[i]); !errors.Is(err, private.ErrOpen) {
				t.Errorf("case %d: what JavaScript sealed for seq %d opened as seq %d: %v", i, seq, seq+1, err)
			}
		}
	})
}
