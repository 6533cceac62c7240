package client_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/private"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/receipt/format"
)

const privChain = "private-chain"

// privNode is a fake node for private readings: receipts of signed
// readings, a key box, encryption keys and a device's epochs, served
// over the API's routes with the API's shapes.
type privNode struct {
	device   ed25519.PrivateKey
	id       string
	readings map[uint64][]byte             // seq -> COSE_Sign1
	boxed    map[string][]byte             // "epoch/recipient" -> wrapped key
	erased   map[uint64]int64              // epoch -> the block that erased it
	keys     map[string]*private.PublicKey // account -> published key
	epochs   []apiwire.Epoch               // newest first
}

func newPrivNode(t *testing.T) (*privNode, *client.Client) {
	t.Helper()
	_, dev, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &privNode{device: dev, id: address.Device(dev.Public().(ed25519.PublicKey)),
		readings: map[uint64][]byte{}, boxed: map[string][]byte{}, erased: map[uint64]int64{}, keys: map[string]*private.PublicKey{}}
	mux := http.NewServeMux()
	problem := func(w http.ResponseWriter, status int, kind, detail string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"type": "urn:iotledger:problem:" + kind, "title": http.StatusText(status), "detail": detail})
	}
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, apiwire.Status{ChainID: privChain})
	})
	mux.HandleFunc("GET /v1/devices/{id}/readings/{seq}/receipt", func(w http.ResponseWriter, r *http.Request) {
		seq, _ := strconv.ParseUint(r.PathValue("seq"), 10, 64)
		raw, ok := p.readings[seq]
		if !ok || r.PathValue("id") != p.id {
			problem(w, 404, "not-found", "no such reading")
			return
		}
		b, _ := (&format.Receipt{Version: format.Version, ChainID: privChain, Reading: raw, DeviceKey: dev.Public().(ed25519.PublicKey)}).Marshal()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	mux.HandleFunc("GET /v1/devices/{id}/stream-keys/{epoch}", func(w http.ResponseWriter, r *http.Request) {
		epoch, _ := strconv.ParseUint(r.PathValue("epoch"), 10, 64)
		if h, ok := p.erased[epoch]; ok {
			problem(w, 404, "epoch-erased", fmt.Sprintf("epoch %d of device %s was erased in block %d", epoch, p.id, h))
			return
		}
		wrapped, ok := p.boxed[fmt.Sprintf("%d/%s", epoch, r.URL.Query().Get("recipient"))]
		if !ok {
			problem(w, 404, "not-found", "no wrapped key")
			return
		}
		writeJSON(w, apiwire.StreamKey{Device: p.id, Epoch: epoch, Recipient: r.URL.Query().Get("recipient"), Wrapped: wrapped})
	})
	mux.HandleFunc("GET /v1/accounts/{addr}", func(w http.ResponseWriter, r *http.Request) {
		a := apiwire.Account{Address: r.PathValue("addr"), History: []apiwire.Payment{}}
		if k := p.keys[r.PathValue("addr")]; k != nil {
			a.EncryptionKey = &apiwire.EncryptionKey{X25519: k.X25519, XWing: k.XWing, KEM: k.KEM()}
		}
		writeJSON(w, a)
	})
	mux.HandleFunc("GET /v1/devices/{id}/access", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, apiwire.DeviceAccess{Device: p.id, StreamEpoch: p.epochs[0].Epoch, Grants: []apiwire.Grant{}, Epochs: p.epochs})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return p, client.New(srv.URL, client.WithHTTPClient(srv.Client()))
}

// account makes an account with a published encryption key.
func (p *privNode) account(t *testing.T, hybrid bool) (string, *private.PrivateKey) {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := private.GenerateKey(hybrid)
	if err != nil {
		t.Fatal(err)
	}
	addr := address.Account(k.Public().(ed25519.PublicKey))
	pub := enc.Public()
	p.keys[addr] = &pub
	return addr, enc
}

// epoch makes epoch n's stream key, wraps it to recipients into the key
// box and lists the epoch.
func (p *privNode) epoch(t *testing.T, n uint64, recipients ...string) private.StreamKey {
	t.Helper()
	sk, err := private.NewStreamKey()
	if err != nil {
		t.Fatal(err)
	}
	e := apiwire.Epoch{Epoch: n, AnnouncedHeight: int64(n)}
	for _, r := range recipients {
		wrapped, c, err := private.Wrap(privChain, p.id, n, r, *p.keys[r], sk)
		if err != nil {
			t.Fatal(err)
		}
		p.boxed[fmt.Sprintf("%d/%s", n, r)] = wrapped
		e.Recipients = append(e.Recipients, apiwire.Recipient{Account: r, KEM: p.keys[r].KEM(), Commitment: c[:]})
	}
	p.epochs = append([]apiwire.Epoch{e}, p.epochs...)
	return sk
}

// seal signs reading seq with priv sealed under epoch's key; change, if
// not nil, alters the sealed part before the device signs it.
func (p *privNode) seal(t *testing.T, seq, epoch uint64, sk private.StreamKey, pub, priv map[string]any, change func(*reading.Sealed)) {
	t.Helper()
	raw, err := private.Seal(reading.Reading{Seq: seq, Time: 1_700_000_000_000, Data: pub}, priv, epoch, sk, p.device)
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		s, err := reading.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		r := s.Reading
		sealed := *r.Sealed
		sealed.Nonce = append([]byte(nil), sealed.Nonce...)
		sealed.Ciphertext = append([]byte(nil), sealed.Ciphertext...)
		change(&sealed)
		r.Sealed = &sealed
		if raw, err = reading.Sign(r, p.device); err != nil {
			t.Fatal(err)
		}
	}
	p.readings[seq] = raw
}

func TestDecryptReading(t *testing.T) {
	ctx := t.Context()
	p, c := newPrivNode(t)
	owner, ownerKey := p.account(t, true)
	reader, readerKey := p.account(t, false)
	stranger, strangerKey := p.account(t, true)
	one := p.epoch(t, 1, owner, reader)
	two := p.epoch(t, 2, owner) // after the reader's revocation
	pub, priv := map[string]any{"site": "lab"}, map[string]any{"temp": 21.5, "hr": int64(70)}
	p.seal(t, 1, 1, one, pub, priv, nil)
	p.seal(t, 2, 2, two, nil, priv, nil)
	p.seal(t, 3, 2, two, nil, priv, func(s *reading.Sealed) { s.Ciphertext[0] ^= 1 })
	var nonceOf1 []byte
	if s, err := reading.Decode(p.readings[1]); err == nil {
		nonceOf1 = s.Sealed.Nonce
	}
	p.seal(t, 4, 2, two, nil, priv, func(s *reading.Sealed) { s.Nonce = nonceOf1 })
	p.readings[5] = mustSign(t, p.device, reading.Reading{Seq: 5, Time: 1_700_000_000_000, Data: pub})
	broken := append([]byte(nil), p.readings[2]...)
	broken[len(broken)-70] ^= 1 // inside the ciphertext, after the device signed
	p.readings[6] = broken

	t.Run("round trips", func(t *testing.T) {
		for _, tt := range []struct {
			who  string
			acct string
			key  *private.PrivateKey
			seq  uint64
		}{{"owner (X-Wing)", owner, ownerKey, 1}, {"grantee (X25519)", reader, readerKey, 1}, {"owner, epoch 2", owner, ownerKey, 2}} {
			o, err := c.DecryptReading(ctx, p.id, tt.seq, tt.acct, tt.key)
			if err != nil {
				t.Fatalf("%s: %v", tt.who, err)
			}
			if d := cmp.Diff(o.Private, priv); d != "" {
				t.Errorf("%s: private fields (-got +want):\n%s", tt.who, d)
			}
			if o.Seq != tt.seq || o.Device != p.id {
				t.Errorf("%s: opened reading %d of %s, want %d of %s", tt.who, o.Seq, o.Device, tt.seq, p.id)
			}
		}
	})

	p.erased[1] = 9
	p.epochs[1].Erased, p.epochs[1].ErasedHeight = true, 9
	// A key wrapped for epoch 1 replayed as epoch 2's (a node, or a man in
	// the middle, answering with another epoch's wrapped key).
	replayed := p.boxed["1/"+reader]
	p.boxed["2/"+reader] = replayed
	p.epochs[0].Recipients = append(p.epochs[0].Recipients, apiwire.Recipient{Account: reader, Commitment: []byte{1}})

	for _, tt := range []struct {
		name string
		acct string
		key  *private.PrivateKey
		seq  uint64
		is   error
		says string
	}{
		{"wrong key", owner, strangerKey, 2, private.ErrUnwrap, "not the one whose public key " + owner + " published"},
		{"wrong KEM", owner, readerKey, 2, private.ErrKEM, "X-Wing"},
		{"tampered ciphertext", owner, ownerKey, 3, private.ErrOpen, "do not open"},
		{"swapped nonce", owner, ownerKey, 4, private.ErrOpen, "do not open"},
		{"replayed wrapped key", reader, readerKey, 2, private.ErrUnwrap, "does not open"},
		{"not sealed", owner, ownerKey, 5, client.ErrNotSealed, "all public"},
		{"changed after signing", owner, ownerKey, 6, reading.ErrSignature, "signature"},
		{"erased epoch", owner, ownerKey, 1, client.ErrErased, "erased at height 9"},
		{"not a recipient", stranger, strangerKey, 2, client.ErrNotRecipient, "iotledger access grant " + p.id + " --to " + stranger},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := c.DecryptReading(ctx, p.id, tt.seq, tt.acct, tt.key)
			if !errors.Is(err, tt.is) {
				t.Fatalf("DecryptReading = %v, %v; want %v", o, err, tt.is)
			}
			t.Logf("%s: %v", tt.name, err)
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
		})
	}
}

func mustSign(t *testing.T, dev ed25519.PrivateKey, r reading.Reading) []byte {
	t.Helper()
	raw, err := reading.Sign(r, dev)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
