package main_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/testonly"
)

// screenshots is where TestExplorer saves a picture of each page:
// build/screenshots at the repository's top (ignored by git), unless
// -screenshots names another folder. The pictures the README shows are in
// docs/screenshots, refreshed on purpose with
// `go test -run '^TestExplorer$' ./cmd/iotledger -screenshots ../../docs/screenshots`,
// so a test run never rewrites tracked files.
var screenshots = flag.String("screenshots", "../../build/screenshots", "folder TestExplorer saves its screenshots in (relative to cmd/iotledger)")

// browser starts headless Chromium (Debian's package) for the test and
// collects what the page must never log: uncaught exceptions and
// Content-Security-Policy violations.
func browser(t testing.TB) (context.Context, func() []string) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("end-to-end: no chromium on PATH; CI installs it (.ci/run): apt-get install -y chromium")
		}
		t.Skip("end-to-end: no chromium on PATH (apt-get install -y chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	var mu sync.Mutex
	var problems []string
	listen := func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		case *cdplog.EventEntryAdded:
			if strings.Contains(e.Entry.Text, "Content Security Policy") {
				problems = append(problems, "CSP: "+e.Entry.Text)
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == "error" {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				if s := strings.Join(args, " "); strings.Contains(s, "Content Security Policy") {
					problems = append(problems, "CSP: "+s)
				}
			}
		}
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(listen))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// run runs browser actions, bounded, and fails the test naming what it
// was doing.
func run(t testing.TB, ctx context.Context, what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\npage shows:\n%s", what, err, page)
	}
}

// value runs one browser action that returns a value, bounded.
func value[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// until polls a JavaScript condition in the page until it is true (an
// element it reads that is not there yet counts as false).
func until(cond string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void]("(() => { try { return ("+cond+"); } catch (e) { return false; } })()", chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(2*time.Minute))
}

// blockEvents makes the browser fail (or again make) its requests of
// /v1/events.
func blockEvents(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		var p []*network.BlockPattern
		if on {
			p = []*network.BlockPattern{{URLPattern: "*://*:*/v1/events*", Block: true}}
		}
		_, err := cdp.Call(ctx, t, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: p})
		return err
	})
}

// scheme emulates prefers-color-scheme (light or dark; "" the default).
func scheme(s string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var f []*emulation.MediaFeature
		if s != "" {
			f = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: s}}
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: f})
		return err
	})
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// lowContrast lists the visible text of the page whose colour has a
// contrast ratio (WCAG 2) below 4.5:1 on the background it is drawn on
// (3:1 for large text), each with its ratio. Backgrounds are blended
// from the element up to the page's own; canvas text (chart axes) is not
// in the document and is not checked.
const lowContrast = `(() => {
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (c, base) => ({ r: c.r * c.a + base.r * (1 - c.a), g: c.g * c.a + base.g * (1 - c.a), b: c.b * c.a + base.b * (1 - c.a) });
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let base = { r: 255, g: 255, b: 255 };
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
    if (!text || el.getClientRects().length === 0) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || Number(s.opacity) === 0) continue;
    const bg = background(el);
    const fg = over(parse(s.color) || { r: 0, g: 0, b: 0, a: 1 }, bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) bad.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '') + ' "' + text.slice(0, 40) + '": ' + ratio.toFixed(2) + ':1');
  }
  return bad;
})()`

// contrast fails the test if any text of the page is hard to read.
func contrast(t testing.TB, ctx context.Context, page string) {
	t.Helper()
	bad := value(t, ctx, "check the contrast of "+page, chromedp.Evaluate[[]string](lowContrast))
	if len(bad) > 0 {
		t.Errorf("%s: text below 4.5:1 (3:1 when large) on its background:\n%s", page, strings.Join(bad, "\n"))
	}
}

func screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png := value(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tipContract is the README's example contract: the owner pays a device
// out of the escrow.
const tipContract = `name: tip
state:
  paid: {type: int, initial: 0}
triggers:
  - name: pay
    on: call
    args: {to: string, amount: int}
    when: "caller == contract.owner"
    do:
      - transfer: {to: "args.to", amount: "args.amount"}
      - set: {paid: "state.paid + args.amount"}
      - emit: {event: paid, fields: {to: "args.to", amount: "args.amount"}}
`

// tamperedReceipt writes the receipt of the device's first reading with
// one bit of its inclusion proof flipped, and returns its path.
func tamperedReceipt(t *testing.T, base, device string) string {
	t.Helper()
	resp, err := http.Get(base + "/v1/devices/" + device + "/readings/1/receipt")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("receipt of %s seq 1: %d %v", device, resp.StatusCode, err)
	}
	proof, _ := r["inclusion_proof"].([]any)
	if len(proof) == 0 {
		t.Fatalf("the receipt of %s seq 1 has no inclusion proof to alter: %v", device, r)
	}
	b, err := base64.StdEncoding.DecodeString(proof[0].(string))
	if err != nil || len(b) == 0 {
		t.Fatalf("inclusion_proof[0] %q: %v", proof[0], err)
	}
	b[0] ^= 1
	proof[0] = base64.StdEncoding.EncodeToString(b)
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tampered-receipt.json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// verifierBuilt reports whether the node serves the receipt verifier
// library the verify page loads.
func verifierBuilt(t *testing.T, base string) bool {
	t.Helper()
	resp, err := http.Get(base + "/explorer/verify.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestExplorer opens the explorer of a dev node in headless Chromium: the
// overview shows the height and its readings chart grows, the device list
// lists the simulated devices, a device shows its chart and latest
// readings, a block its readings; when the node stops the page says so,
// and when it starts again the page resumes without a reload. No page
// logs an exception or a Content-Security-Policy violation.
func TestExplorer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary and a browser")
	}
	ctx, problems := browser(t)
	home := filepath.Join(t.TempDir(), "devhome")
	n := testonly.StartNode(t, home, "dev")
	cli := &testonly.CLI{Home: home, Flags: []string{"--home", home, "--api", n.URL(), "--rpc", n.RPCAddr}}

	// Overview: the height shows and grows; the chart fills with blocks.
	run(t, ctx, "overview shows the height", 30*time.Second,
		chromedp.Navigate(n.URL()+"/"),
		chromedp.WaitVisible(css("#height")),
		until(`Number(document.querySelector('#height').textContent) > 0`),
		chromedp.WaitVisible(css("#rate-chart canvas")),
	)
	first := value(t, ctx, "read the height", chromedp.Text(css("#height")))
	ready := value(t, ctx, "read the overview's time to show the chain", chromedp.Evaluate[float64](`performance.getEntriesByName('overview-ready')[0].startTime`))
	t.Logf("the overview showed the chain %.0f ms after navigation began", ready)
	h0, err := strconv.Atoi(first)
	if err != nil {
		t.Fatalf("the overview's height is %q, not a number", first)
	}
	run(t, ctx, "the chart has blocks", 10*time.Second, until(`Number(document.querySelector('#rate-chart').dataset.points) > 0`))
	points0 := value(t, ctx, "read the chart's points", chromedp.Evaluate[string](`document.querySelector('#rate-chart').dataset.points`))
	run(t, ctx, "the height and the chart grow", 30*time.Second,
		until(fmt.Sprintf(`Number(document.querySelector('#height').textContent) > %d`, h0+2)),
		until(fmt.Sprintf(`Number(document.querySelector('#rate-chart').dataset.points) > %s`, points0)),
		chromedp.WaitVisible(css(`a.button[href^="#/verify?device="]`)),
	)
	screenshot(t, ctx, "overview.png")
	contrast(t, ctx, "the overview, light")
	// The check finds pale text: grey #bbb on white is 1.9:1.
	pale := value(t, ctx, "pale text", chromedp.Evaluate[[]string](`(() => {
  const p = document.createElement('p');
  p.id = 'pale-probe';
  p.textContent = 'pale probe';
  p.style.color = '#bbbbbb';
  p.style.backgroundColor = '#ffffff';
  document.querySelector('main').append(p);
  const bad = `+lowContrast+`;
  p.remove();
  return bad;
})()`))
	if len(pale) != 1 || !strings.Contains(pale[0], "pale probe") {
		t.Errorf("the contrast check does not find grey text on white: %q", pale)
	}
	// The keyboard: the first Tab reaches the skip link, the next the
	// header's links, each with a visible focus ring; Enter follows one.
	run(t, ctx, "keyboard navigation", 20*time.Second,
		chromedp.KeyEvent(kb.Tab),
		until(`document.activeElement.classList.contains('skip')`),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(kb.Tab),
		until(`document.activeElement.getAttribute('href') === '#/' && document.activeElement.closest('nav') !== null`),
		until(`getComputedStyle(document.activeElement).outlineStyle === 'solid'`),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(kb.Enter),
		until(`location.hash === '#/devices' && document.querySelectorAll('#device-list tbody tr').length > 0`),
		chromedp.Navigate(n.URL()+"/"),
		until(`Number(document.querySelector('#height').textContent) > 0`),
	)
	// At phone width, in the dark scheme: one column, nothing wider than
	// the screen.
	run(t, ctx, "phone width, dark", 20*time.Second,
		scheme("dark"),
		chromedp.EmulateViewport(390, 844),
		until(`Number(document.querySelector('#rate-chart').dataset.points) > 0`),
		until(`document.querySelectorAll('a.button[href^="#/verify?device="]').length > 0`),
		until(`document.documentElement.scrollWidth <= window.innerWidth`),
		until(`getComputedStyle(document.body).backgroundColor !== 'rgb(255, 255, 255)'`),
	)
	screenshot(t, ctx, "overview-phone-dark.png")
	contrast(t, ctx, "the overview, dark, phone width")
	run(t, ctx, "desktop width, light", 20*time.Second, scheme(""), chromedp.EmulateViewport(1280, 900))

	// Devices: the five simulated sensors, each a link to its page.
	run(t, ctx, "the device list", 20*time.Second,
		chromedp.Navigate(n.URL()+"/#/devices"),
		until(`document.querySelectorAll('#device-list tbody tr').length === 5`),
	)
	screenshot(t, ctx, "devices.png")
	contrast(t, ctx, "the device list")
	// Search for one device: the node filters (q), or says it cannot and
	// lists them all.
	id := value(t, ctx, "read a device id", chromedp.Text(css("#device-list tbody tr a")))
	run(t, ctx, "search the device list", 20*time.Second,
		chromedp.SendKeys(css("#q"), id),
		chromedp.Click(css(`form.filters button[type="submit"]`)),
		until(`location.hash.startsWith('#/devices?q=')`),
		until(`document.querySelectorAll('#device-list tbody tr').length === 1 || document.querySelector('main').textContent.includes('does not search or filter devices yet')`),
	)
	run(t, ctx, "back to the list", 20*time.Second,
		chromedp.Navigate(n.URL()+"/#/devices"),
		until(`document.querySelectorAll('#device-list tbody tr').length === 5`),
	)

	// A device: its chart of a numeric field and its latest readings.
	run(t, ctx, "a device's page", 30*time.Second,
		chromedp.Click(css(`#device-list tbody tr a`)),
		chromedp.WaitVisible(css(`#device-charts canvas`)),
		until(`Number(document.querySelector('#device-charts .chart').dataset.points) > 0`),
		until(`[...document.querySelectorAll('a.button')].some(a => a.getAttribute('href').startsWith('#/verify?device='))`),
	)
	screenshot(t, ctx, "device.png")
	contrast(t, ctx, "a device")

	// A block with readings: the one that committed the log's first.
	resp, err := http.Get(n.URL() + "/v1/log/entries/0")
	if err != nil {
		t.Fatal(err)
	}
	var entry struct {
		Height int64 `json:"height"`
	}
	err = json.NewDecoder(resp.Body).Decode(&entry)
	resp.Body.Close()
	if err != nil || entry.Height == 0 {
		t.Fatalf("log entry 0: %v (height %d)", err, entry.Height)
	}
	run(t, ctx, "a block's page", 20*time.Second,
		chromedp.Navigate(fmt.Sprintf("%s/#/block/%d", n.URL(), entry.Height)),
		chromedp.WaitVisible(css(`main dl`)),
		chromedp.WaitVisible(css(`main tbody a.button[href^="#/verify?device="]`)),
	)
	screenshot(t, ctx, "block.png")
	contrast(t, ctx, "a block")

	// Contracts: a deployed contract, and its events as they come.
	doc := filepath.Join(t.TempDir(), "tip.yaml")
	if err := os.WriteFile(doc, []byte(tipContract), 0o644); err != nil {
		t.Fatal(err)
	}
	cli.MustRun(t, "contract", "deploy", doc, "--fund", "1000")
	run(t, ctx, "the contract list", 20*time.Second,
		chromedp.Navigate(n.URL()+"/#/contracts"),
		chromedp.WaitVisible(css(`a[href="#/contract/ctr-1"]`)),
		chromedp.Click(css(`a[href="#/contract/ctr-1"]`)),
		until(`document.querySelector('main').textContent.includes('No event yet.')`),
		until(`document.querySelector('#conn').textContent === 'live'`),
	)
	cli.MustRun(t, "contract", "call", "ctr-1", "--trigger", "pay", "--arg", "to="+id, "--arg", "amount=300")
	run(t, ctx, "the contract's event and escrow, live", 30*time.Second,
		until(`[...document.querySelectorAll('main tbody tr')].some(tr => tr.textContent.includes('paid') && tr.textContent.includes('300'))`),
		until(`document.querySelector('main').textContent.includes('700 IOT')`),
	)
	screenshot(t, ctx, "contract.png")
	contrast(t, ctx, "a contract")
	run(t, ctx, "the paid device's balance", 30*time.Second,
		chromedp.Navigate(n.URL()+"/#/device/"+id),
		until(`document.querySelector('main').textContent.includes('300 IOT')`),
	)

	// Verify, from a reading's button. On this first visit the page pins
	// the node's genesis (GET /v1/genesis) and shows the SHA-256 of the
	// file the node was started with.
	if !verifierBuilt(t, n.URL()) {
		t.Fatal("the node serves no /explorer/verify.js: the verify page has no verifier")
	}
	genesisPath := filepath.Join(n.Home, "config", "genesis.json")
	genesis, err := os.ReadFile(genesisPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(genesis)
	run(t, ctx, "a reading's Verify button, the node's genesis pinned on the first visit", 30*time.Second,
		chromedp.Navigate(n.URL()+"/"),
		chromedp.WaitVisible(css(`a.button[href^="#/verify?device="]`)),
		chromedp.Click(css(`a.button[href^="#/verify?device="]`)),
		chromedp.WaitVisible(css(`#drop`)),
		until(`document.querySelector('#genesis-pinned')?.textContent.includes('Pinned from this node')`),
		until(fmt.Sprintf(`document.querySelector('#genesis-pinned').textContent.includes(%q)`, hex.EncodeToString(sum[:]))),
		until(`document.querySelector('#verdict')?.classList.contains('ok')`),
		until(`document.querySelectorAll('#checks li').length > 0 && document.querySelectorAll('#checks li.bad').length === 0`),
	)
	screenshot(t, ctx, "verify.png")
	contrast(t, ctx, "Verify, passed")
	// The pin survives a reload; the user may replace it with the
	// genesis.json they hold, and the receipt is checked again.
	run(t, ctx, "the genesis the user holds", 30*time.Second,
		chromedp.Reload(),
		until(`document.querySelector('#genesis-pinned')?.textContent.includes('Pinned from this node')`),
		until(`document.querySelector('#verdict')?.classList.contains('ok')`),
		chromedp.SetUploadFiles(css("#genesis-file"), []string{genesisPath}),
		until(`document.querySelector('#genesis-pinned')?.textContent.includes('Loaded from your file')`),
	)
	{
		run(t, ctx, "every check passes", 30*time.Second,
			until(`document.querySelector('#verdict').classList.contains('ok')`),
			until(`document.querySelectorAll('#checks li').length > 0 && document.querySelectorAll('#checks li.bad').length === 0`),
		)
		// A receipt whose inclusion proof was altered: exactly that check
		// fails.
		bad := tamperedReceipt(t, n.URL(), id)
		run(t, ctx, "a tampered receipt dropped on the page", 30*time.Second,
			chromedp.SetUploadFiles(css("#receipt-file"), []string{bad}),
			until(`document.querySelector('#verdict').classList.contains('bad')`),
			until(`document.querySelectorAll('#checks li.bad').length === 1`),
			until(`/inclusion/i.test(document.querySelector('#checks li.bad').dataset.check)`),
		)
		screenshot(t, ctx, "verify-tampered.png")
		contrast(t, ctx, "Verify, failed")
	}

	// The node goes away: the page says so; it comes back: the page
	// resumes, without a reload (the mark set in this document survives).
	run(t, ctx, "back to the overview", 30*time.Second,
		chromedp.Navigate(n.URL()+"/"),
		until(`document.querySelector('#conn').textContent === 'live'`),
		until(`Number(document.querySelector('#height').textContent) > 0`),
	)
	value(t, ctx, "mark the document", chromedp.Evaluate[string](`window.explorerTestMark = 'same document'`))
	before := value(t, ctx, "read the height", chromedp.Text(css("#height")))
	n.Stop(t)
	run(t, ctx, "the page says the node is unreachable", 30*time.Second,
		until(`document.querySelector('#conn').textContent === 'node unreachable'`),
		until(`document.querySelector('#banner').textContent.includes('Node unreachable')`),
	)
	screenshot(t, ctx, "unreachable.png")
	contrast(t, ctx, "the node unreachable")
	hb, _ := strconv.Atoi(before)
	// The page may not reach the event stream again before the node has
	// committed more blocks: it must replay them when it does.
	run(t, ctx, "block the event stream", 10*time.Second, blockEvents(true))
	n.Restart(t, "dev")
	c := client.New(n.URL())
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := c.Status(t.Context())
		if err == nil && st.Height > int64(hb)+5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted node did not pass block %d within a minute (status: %v, %v)", hb+5, st, err)
		}
		time.Sleep(200 * time.Millisecond) // polling the node's status, bounded by deadline
	}
	run(t, ctx, "unblock the event stream", 10*time.Second, blockEvents(false))
	run(t, ctx, "the page resumes when the node returns", 60*time.Second,
		until(`document.querySelector('#conn').textContent === 'live'`),
		until(fmt.Sprintf(`Number(document.querySelector('#height').textContent) > %d`, hb+2)),
		until(`!document.querySelector('#banner').textContent.includes('Node unreachable')`),
		// Every block since the chain began is in the chart: none was
		// missed while the node was away or the page reconnected.
		until(fmt.Sprintf(`(d => d.first === '1' && Number(d.last) > %d && Number(d.points) === Number(d.last))(document.querySelector('#rate-chart').dataset)`, hb+2)),
		until(`window.explorerTestMark === 'same document'`),
	)

	n.Stop(t)
	if p := problems(); len(p) > 0 {
		t.Errorf("the pages logged:\n%s", strings.Join(p, "\n"))
	}
}
