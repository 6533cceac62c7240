package private_test

// Go and the JavaScript library against each other, with Go's standard
// crypto/hpke and internal/dcbor on the Go side: stream keys wrapped in Go
// open in JavaScript and the other way round, for both KEMs; the public
// keys both derive from the same key material agree; the CBOR of sealed
// additional data and of fields is the same bytes.

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/dcbor"
)

const (
	kemX25519 = 0x0020
	kemXWing  = 0x647a
)

// crossRecipient is a recipient's private key material as the library
// takes it: hex.
type crossRecipient struct {
	X25519Private string `json:"x25519_private"`
	XWingSeed     string `json:"xwing_seed"`
}

type wrapContext struct {
	ChainID   string `json:"chainID"`
	Device    string `json:"device"`
	Epoch     string `json:"epoch"`
	Recipient string `json:"recipient"`
}

type crossWrap struct {
	Recipient   int          `json:"recipient"`
	ChainID     string       `json:"chain_id"`
	Device      string       `json:"device"`
	Epoch       string       `json:"epoch"`
	Account     string       `json:"account"`
	Wrapped     string       `json:"wrapped"`       // base64, wrapped in Go
	OpenAs      *wrapContext `json:"open_as"`       // the context JavaScript opens it for, if not its own
	StreamKeyJS string       `json:"stream_key_js"` // hex, for JavaScript to wrap
}

type crossAAD struct {
	Device string `json:"device"`
	Seq    string `json:"seq"`
	Epoch  string `json:"epoch"`
}

type crossField struct {
	Name  string `json:"name"`
	Type  string `json:"type"` // int, uint, float, text or bool
	Value string `json:"value"`
}

type crossCases struct {
	Recipients []crossRecipient `json:"recipients"`
	Wraps      []crossWrap      `json:"wraps"`
	AADs       []crossAAD       `json:"aads"`
	Fields     [][]crossField   `json:"fields"`
}

type crossPublic struct {
	X25519 string `json:"x25519"`
	XWing  string `json:"xwing"`
}

type crossResult struct {
	PublicKeys  []crossPublic `json:"public_keys"`
	Unwrapped   []string      `json:"unwrapped"`
	Wrapped     []string      `json:"wrapped"`
	Commitments []string      `json:"commitments"`
	AADs        []string      `json:"aads"`
	Fields      []string      `json:"fields"`
}

// goRecipient is a recipient's keys in Go.
type goRecipient struct {
	x25519 hpke.PrivateKey
	xwing  hpke.PrivateKey // nil: no hybrid key
}

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// streamKeyInfo is the HPKE info of docs/PRIVATE.md, in Go's deterministic CBOR.
func streamKeyInfo(t *testing.T, chainID, device string, epoch uint64, recipient string) []byte {
	t.Helper()
	return must(dcbor.EncMode.Marshal([]any{"iotledger-stream-key-v1", chainID, device, epoch, recipient}))
}

// wrappedKey is the CBOR map {1: kem id, 2: enc, 3: ct}.
type wrappedKey struct {
	KEM uint16 `cbor:"1,keyasint"`
	Enc []byte `cbor:"2,keyasint"`
	CT  []byte `cbor:"3,keyasint"`
}

var encSize = map[uint16]int{kemX25519: 32, kemXWing: 1120}

// goWrap wraps key to r as docs/PRIVATE.md says: X-Wing when r has a
// hybrid key.
func goWrap(t *testing.T, r goRecipient, info, key []byte) []byte {
	t.Helper()
	pk := r.x25519.PublicKey()
	if r.xwing != nil {
		pk = r.xwing.PublicKey()
	}
	out := must(hpke.Seal(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, key))
	kem := pk.KEM().ID()
	n := encSize[kem]
	return must(dcbor.EncMode.Marshal(wrappedKey{KEM: kem, Enc: out[:n], CT: out[n:]}))
}

// goUnwrap opens a wrapped key with r's keys.
func goUnwrap(r goRecipient, info, wrapped []byte) ([]byte, uint16, error) {
	var w wrappedKey
	if err := dcbor.DecMode.Unmarshal(wrapped, &w); err != nil {
		return nil, 0, err
	}
	sk := r.x25519
	if w.KEM == kemXWing {
		if r.xwing == nil {
			return nil, w.KEM, fmt.Errorf("wrapped with X-Wing to a recipient without a hybrid key")
		}
		sk = r.xwing
	}
	if sk.KEM().ID() != w.KEM {
		return nil, w.KEM, fmt.Errorf("kem %#04x, the key is %#04x", w.KEM, sk.KEM().ID())
	}
	key, err := hpke.Open(sk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, append(append([]byte(nil), w.Enc...), w.CT...))
	return key, w.KEM, err
}

// TestCrossGoJavaScript: stream keys wrapped in Go (crypto/hpke) open in
// the JavaScript library and keys it wraps open in Go, for X25519 and
// X-Wing recipients; a Go-wrapped key opened for another epoch, device,
// chain or recipient, or with another recipient's key, is refused there
// with unwrap_failed; both derive the same public keys from the same key
// material; sealed additional data and fields are the same CBOR bytes.
func TestCrossGoJavaScript(t *testing.T) {
	track(t, "dist/private.js", "tools/cross.mjs")
	var rs []goRecipient
	var cases crossCases
	for _, hybrid := range []bool{false, true, true} {
		xsk := random(t, 32)
		r := goRecipient{x25519: must(hpke.DHKEM(ecdh.X25519()).NewPrivateKey(xsk))}
		cr := crossRecipient{X25519Private: hex.EncodeToString(xsk)}
		if hybrid {
			seed := random(t, 32)
			r.xwing = must(hpke.MLKEM768X25519().NewPrivateKey(seed))
			cr.XWingSeed = hex.EncodeToString(seed)
		}
		rs = append(rs, r)
		cases.Recipients = append(cases.Recipients, cr)
	}

	const chain, device, account, other = "iotledger-test", "dev1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn3s4vtyr", "acc1recipient", "acc1other"
	type want struct {
		streamKey []byte // what JavaScript opens; nil: a refusal
		epoch     uint64
		kem       uint16
	}
	var wants []want
	add := func(ri int, epoch uint64, openAs *wrapContext) {
		key := random(t, 32)
		w := crossWrap{
			Recipient: ri, ChainID: chain, Device: device, Epoch: strconv.FormatUint(epoch, 10), Account: account,
			Wrapped:     base64.StdEncoding.EncodeToString(goWrap(t, rs[ri], streamKeyInfo(t, chain, device, epoch, account), key)),
			OpenAs:      openAs,
			StreamKeyJS: hex.EncodeToString(random(t, 32)),
		}
		kem := uint16(kemX25519)
		if rs[ri].xwing != nil {
			kem = kemXWing
		}
		if openAs != nil {
			key = nil
		}
		cases.Wraps = append(cases.Wraps, w)
		wants = append(wants, want{streamKey: key, epoch: epoch, kem: kem})
	}
	for ri := range rs {
		add(ri, 1, nil)
		add(ri, math.MaxUint64, nil)
		// Replays: the same wrapped key for another epoch, device, chain, recipient.
		add(ri, 2, &wrapContext{ChainID: chain, Device: device, Epoch: "3", Recipient: account})
		add(ri, 2, &wrapContext{ChainID: chain, Device: "dev1another", Epoch: "2", Recipient: account})
		add(ri, 2, &wrapContext{ChainID: "another-chain", Device: device, Epoch: "2", Recipient: account})
		add(ri, 2, &wrapContext{ChainID: chain, Device: device, Epoch: "2", Recipient: other})
	}
	// Another recipient's key: wrapped to recipient 2, opened with 1's (both hybrid).
	add(1, 5, nil)
	cases.Wraps[len(cases.Wraps)-1].Wrapped = base64.StdEncoding.EncodeToString(goWrap(t, rs[2], streamKeyInfo(t, chain, device, 5, account), random(t, 32)))
	wants[len(wants)-1].streamKey = nil

	cases.AADs = []crossAAD{
		{Device: device, Seq: "0", Epoch: "1"},
		{Device: device, Seq: "23", Epoch: "24"},
		{Device: device, Seq: "9007199254740993", Epoch: "4294967296"},
		{Device: "dev1é", Seq: strconv.FormatUint(math.MaxUint64, 10), Epoch: strconv.FormatUint(math.MaxUint64, 10)},
	}
	cases.Fields = [][]crossField{
		{{"temp", "float", "21.5"}, {"hr", "int", "70"}},
		{{"a", "int", "-1"}, {"bb", "uint", "18446744073709551615"}, {"ab", "int", "-9223372036854775808"}, {"b", "text", "é"}, {"é", "bool", "true"}, {"z", "bool", "false"}},
		{{"f32", "float", "0.1"}, {"f16", "float", "1.5"}, {"big", "float", "1e300"}, {"neg", "float", "-2.25"}, {"tiny", "float", "5e-324"}},
		{{strings.Repeat("k", 64), "text", ""}, {"x", "int", "24"}, {"y", "int", "-25"}, {"w", "int", "4294967296"}},
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
	var got crossResult
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node tools/cross.mjs printed %q: %v", out, err)
	}

	t.Run("public keys", func(t *testing.T) {
		var want []crossPublic
		for _, r := range rs {
			p := crossPublic{X25519: hex.EncodeToString(r.x25519.PublicKey().Bytes())}
			if r.xwing != nil {
				p.XWing = hex.EncodeToString(r.xwing.PublicKey().Bytes())
			}
			want = append(want, p)
		}
		if diff := cmp.Diff(got.PublicKeys, want); diff != "" {
			t.Errorf("public keys derived in JavaScript differ from crypto/hpke's (-javascript +go):\n%s", diff)
		}
	})

	t.Run("wrapped in Go, opened in JavaScript", func(t *testing.T) {
		if len(got.Unwrapped) != len(wants) {
			t.Fatalf("%d results for %d wrapped keys", len(got.Unwrapped), len(wants))
		}
		for i, w := range wants {
			if w.streamKey == nil {
				if !strings.HasPrefix(got.Unwrapped[i], "error unwrap_failed: private: the wrapped stream key of ") {
					t.Errorf("case %d (opened as %+v): JavaScript gave %q, want the unwrap_failed refusal", i, cases.Wraps[i].OpenAs, got.Unwrapped[i])
				}
				continue
			}
			if got.Unwrapped[i] != hex.EncodeToString(w.streamKey) {
				t.Errorf("case %d (kem %#04x, epoch %d): JavaScript opened %q, want the stream key %x", i, w.kem, w.epoch, got.Unwrapped[i], w.streamKey)
			}
		}
	})

	t.Run("wrapped in JavaScript, opened in Go", func(t *testing.T) {
		if len(got.Wrapped) != len(cases.Wraps) || len(got.Commitments) != len(cases.Wraps) {
			t.Fatalf("%d wrapped keys and %d commitments for %d cases", len(got.Wrapped), len(got.Commitments), len(cases.Wraps))
		}
		for i, c := range cases.Wraps {
			wrapped := must(base64.StdEncoding.DecodeString(got.Wrapped[i]))
			epoch := must(strconv.ParseUint(c.Epoch, 10, 64))
			key, kem, err := goUnwrap(rs[c.Recipient], streamKeyInfo(t, chain, device, epoch, account), wrapped)
			if err != nil {
				t.Errorf("case %d: Go does not open the key JavaScript wrapped: %v", i, err)
				continue
			}
			if want := hex.EncodeToString(key); want != c.StreamKeyJS {
				t.Errorf("case %d: Go opened %s, JavaScript wrapped %s", i, want, c.StreamKeyJS)
			}
			if want := wants[i].kem; kem != want {
				t.Errorf("case %d: JavaScript wrapped with KEM %#04x, want %#04x (X-Wing exactly when the recipient has a hybrid key)", i, kem, want)
			}
			if sum := sha256.Sum256(wrapped); got.Commitments[i] != hex.EncodeToString(sum[:]) {
				t.Errorf("case %d: JavaScript's commitment %s, SHA-256 of the wrapped key %x", i, got.Commitments[i], sum)
			}
			var w wrappedKey
			if err := dcbor.DecMode.Unmarshal(wrapped, &w); err != nil || !bytes.Equal(must(dcbor.EncMode.Marshal(w)), wrapped) {
				t.Errorf("case %d: the wrapped key JavaScript wrote is not the deterministic CBOR of {1: kem, 2: enc, 3: ct} (%v): %x", i, err, wrapped)
			}
			// Bound to its context: Go refuses it for the next epoch.
			if _, _, err := goUnwrap(rs[c.Recipient], streamKeyInfo(t, chain, device, epoch+1, account), wrapped); err == nil {
				t.Errorf("case %d: Go opened a key JavaScript wrapped for epoch %d as one of epoch %d", i, epoch, epoch+1)
			}
		}
	})

	t.Run("sealed additional data", func(t *testing.T) {
		var want []string
		for _, a := range cases.AADs {
			seq, epoch := must(strconv.ParseUint(a.Seq, 10, 64)), must(strconv.ParseUint(a.Epoch, 10, 64))
			want = append(want, hex.EncodeToString(must(dcbor.EncMode.Marshal([]any{"iotledger-sealed-v1", a.Device, seq, epoch}))))
		}
		if diff := cmp.Diff(got.AADs, want); diff != "" {
			t.Errorf("sealed additional data differ (-javascript +go):\n%s", diff)
		}
	})

	t.Run("fields", func(t *testing.T) {
		var want []string
		for _, fs := range cases.Fields {
			m := map[string]any{}
			for _, f := range fs {
				switch f.Type {
				case "int":
					m[f.Name] = must(strconv.ParseInt(f.Value, 10, 64))
				case "uint":
					m[f.Name] = must(strconv.ParseUint(f.Value, 10, 64))
				case "float":
					m[f.Name] = must(strconv.ParseFloat(f.Value, 64))
				case "bool":
					m[f.Name] = f.Value == "true"
				default:
					m[f.Name] = f.Value
				}
			}
			want = append(want, hex.EncodeToString(must(dcbor.EncMode.Marshal(m))))
		}
		if diff := cmp.Diff(got.Fields, want); diff != "" {
			t.Errorf("the CBOR of fields differs (-javascript +go):\n%s", diff)
		}
	})
}
