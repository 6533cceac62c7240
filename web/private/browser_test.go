package private_test

// The library in a browser (headless Chromium, Debian's package), against
// Go's crypto/hpke: stream keys wrapped in Go open in the page, whole
// readings decrypt there with decryptReading, keys the page wraps open in
// Go, for X25519 and X-Wing recipients, and a replayed wrapped key is
// refused there with unwrap_failed.

import (
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	webprivate "github.com/iotledger/iotledger/web/private"
)

// browserCase is one Go-wrapped stream key for the page: it seals a
// reading with stream_key, decrypts it with decryptReading and the wrapped
// key, and wraps stream_key_js to the recipient.
type browserCase struct {
	X25519Private string `json:"x25519_private"`
	XWingSeed     string `json:"xwing_seed"`
	ChainID       string `json:"chain_id"`
	Device        string `json:"device"`
	Account       string `json:"account"`
	Epoch         uint64 `json:"epoch"`
	StreamKey     string `json:"stream_key"`    // hex
	Wrapped       string `json:"wrapped"`       // base64, wrapped in Go
	StreamKeyJS   string `json:"stream_key_js"` // hex
}

type browserResult struct {
	Fields   map[string]any `json:"fields"`   // what decryptReading opened
	Replayed string         `json:"replayed"` // the error code of the wrapped key replayed for the next epoch
	Wrapped  string         `json:"wrapped"`  // base64, stream_key_js wrapped in the page
	Error    string         `json:"error"`
}

// The page's script: for each case, the whole of the explorer's path.
const browserScript = `(async (cases) => {
  const p = await import("/private.js");
  const out = [];
  for (const c of cases) {
    try {
      const keys = p.recipientKeys(c.x25519_private, c.xwing_seed || undefined);
      const seq = 7;
      const s = p.sealFields(c.stream_key, c.device, seq, c.epoch, { temp: 21.5, hr: 70, site: "ward 3" });
      const reading = JSON.stringify({ device: c.device, seq, data: { public: true }, sealed: { epoch: c.epoch, nonce: p.toBase64(s.nonce), ciphertext: p.toBase64(s.ciphertext) } });
      const r = await p.decryptReading(reading, c.wrapped, keys, { chainID: c.chain_id, recipient: c.account });
      let replayed = "opened";
      const next = JSON.stringify({ device: c.device, seq, sealed: { epoch: c.epoch + 1, nonce: p.toBase64(s.nonce), ciphertext: p.toBase64(s.ciphertext) } });
      try { await p.decryptReading(next, c.wrapped, keys, { chainID: c.chain_id, recipient: c.account }); } catch (e) { replayed = e.code; }
      const pub = await p.publicKey(keys);
      const w = await p.wrapStreamKey(c.stream_key_js, pub, { chainID: c.chain_id, device: c.device, epoch: c.epoch, recipient: c.account });
      out.push({ fields: Object.fromEntries(r.fields), replayed, wrapped: p.toBase64(w) });
    } catch (e) {
      out.push({ error: String(e && e.message || e) });
    }
  }
  return JSON.stringify(out);
})(CASES)`

// TestBrowser runs the library in headless Chromium on a page served from
// loopback (a secure context, as the explorer on localhost is).
func TestBrowser(t *testing.T) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium on PATH; CI installs it (.ci/run): apt-get install -y chromium")
		}
		t.Skip("no chromium on PATH (apt-get install -y chromium)")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /private.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(webprivate.Bundle)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>private</title><p>web/private</p>"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	const chain, device, account = "iotledger-test", "dev1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn3s4vtyr", "acc1recipient"
	var cases []browserCase
	var recipients []goRecipient
	for i, hybrid := range []bool{false, true} {
		xsk := random(t, 32)
		r := goRecipient{x25519: must(hpke.DHKEM(ecdh.X25519()).NewPrivateKey(xsk))}
		c := browserCase{X25519Private: hex.EncodeToString(xsk), ChainID: chain, Device: device, Account: account, Epoch: uint64(3 + i)}
		if hybrid {
			seed := random(t, 32)
			r.xwing = must(hpke.MLKEM768X25519().NewPrivateKey(seed))
			c.XWingSeed = hex.EncodeToString(seed)
		}
		key := random(t, 32)
		c.StreamKey = hex.EncodeToString(key)
		c.Wrapped = base64.StdEncoding.EncodeToString(goWrap(t, r, streamKeyInfo(t, chain, device, c.Epoch, account), key))
		c.StreamKeyJS = hex.EncodeToString(random(t, 32))
		cases = append(cases, c)
		recipients = append(recipients, r)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU)
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	tctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelT()
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("open the page in chromium: %v", err)
	}
	script := strings.Replace(browserScript, "CASES", string(must(json.Marshal(cases))), 1)
	text, err := chromedp.Run(tctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run the library in chromium: %v", err)
	}
	var got []browserResult
	if err := json.Unmarshal([]byte(text), &got); err != nil || len(got) != len(cases) {
		t.Fatalf("the page returned %s (%v), want %d results", text, err, len(cases))
	}
	for i, c := range cases {
		g := got[i]
		name := "X25519"
		if c.XWingSeed != "" {
			name = "X-Wing"
		}
		if g.Error != "" {
			t.Errorf("%s: the page failed: %s", name, g.Error)
			continue
		}
		if want := map[string]any{"temp": 21.5, "hr": float64(70), "site": "ward 3"}; !equalJSON(g.Fields, want) {
			t.Errorf("%s: decryptReading in the page opened %v, want %v", name, g.Fields, want)
		}
		if g.Replayed != "unwrap_failed" {
			t.Errorf("%s: the wrapped key replayed for epoch %d gave %q in the page, want unwrap_failed", name, c.Epoch+1, g.Replayed)
		}
		key, kem, err := goUnwrap(recipients[i], streamKeyInfo(t, chain, device, c.Epoch, account), must(base64.StdEncoding.DecodeString(g.Wrapped)))
		if err != nil {
			t.Errorf("%s: Go does not open the key the page wrapped: %v", name, err)
			continue
		}
		if hex.EncodeToString(key) != c.StreamKeyJS {
			t.Errorf("%s: Go opened %x from the page's wrap, want %s", name, key, c.StreamKeyJS)
		}
		if want := map[bool]uint16{false: kemX25519, true: kemXWing}[c.XWingSeed != ""]; kem != want {
			t.Errorf("%s: the page wrapped with KEM %#04x, want %#04x", name, kem, want)
		}
	}
}

func equalJSON(a, b map[string]any) bool {
	return string(must(json.Marshal(a))) == string(must(json.Marshal(b)))
}
