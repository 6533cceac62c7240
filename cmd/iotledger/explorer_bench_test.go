package main_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/reading"
)

var explorerDevices = flag.Int("explorer-devices", 100_000, "devices BenchmarkExplorer registers before it opens the explorer")

// recorder is evaluated in every document before the page's own code (by
// the DevTools protocol, so the node's Content-Security-Policy does not
// apply to it): it keeps the interval between animation frames and the
// long tasks (over 50 ms on the main thread), which is what stutter is.
const recorder = `
window.__frames = []; window.__long = [];
(() => {
  let last = performance.now();
  const f = (t) => { window.__frames.push(t - last); last = t; requestAnimationFrame(f); };
  requestAnimationFrame(f);
  try { new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: 'longtask', buffered: true }); } catch (e) {}
})();`

// BenchmarkExplorer measures issue 15's quality figures in headless
// Chromium against a dev node of the real binary with -explorer-devices
// devices registered (100,000 by default; registering them takes about a
// minute and a half here): the overview's time to show the chain and to
// fill every section, a device search as the user sees it (submit to the
// list drawn), a device's chart of 10,000 readings (time to draw, longest
// task and frame while drawing and while the cursor moves over it), and
// the receipt verifier (bundle size, time per receipt). Each is a median
// of its samples; run it on an idle machine:
//
//	go test -run '^$' -bench '^BenchmarkExplorer$' -benchtime 5x ./cmd/iotledger
func BenchmarkExplorer(b *testing.B) {
	ctx, _ := browser(b)
	home := filepath.Join(b.TempDir(), "devhome")
	n := testonly.StartNode(b, home, "dev")
	flags := []string{"--home", home, "--api", n.URL(), "--rpc", n.RPCAddr}
	began := time.Now()
	// One device with 10,000 readings whose values vary (a slow wave and
	// noise: every pixel column of the chart has a range to draw), for
	// the chart, sent while the fleet registers.
	cli := &testonly.CLI{Home: home, Flags: flags}
	key := cli.NewDevice(b, "chart")
	chart := make(chan error, 1)
	go func() { chart <- sendWave(b.Context(), client.New(n.URL()), key, 10_000) }()
	out, code := testonly.Run(b, append([]string{"sim", "--devices", strconv.Itoa(*explorerDevices), "--rate", "1000", "--duration", "5s"}, flags...)...)
	if code != 0 {
		b.Fatalf("sim: exit %d\n%s", code, out)
	}
	if err := <-chart; err != nil {
		b.Fatal(err)
	}
	b.Logf("%d devices registered and 10,000 readings of one device sent in %.0f s", *explorerDevices, time.Since(began).Seconds())
	chartDevice := key.DeviceID()
	run(b, ctx, "install the frame recorder", 10*time.Second, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recorder})
		return err
	}))

	b.Run("overview", func(b *testing.B) {
		var shown, complete []float64
		for i := 0; b.Loop(); i++ {
			run(b, ctx, "open the overview", time.Minute, chromedp.Navigate(fmt.Sprintf("%s/?visit=%d#/", n.URL(), i)))
			// From the navigation's start to the chain shown (the page's
			// mark) and to every section filled.
			shown = append(shown, value(b, ctx, "the chain shown", chromedp.Evaluate[float64](pollUntil(`performance.getEntriesByName('overview-ready').length > 0`, `performance.getEntriesByName('overview-ready')[0].startTime`), chromedp.EvalAwaitPromise)))
			complete = append(complete, value(b, ctx, "every section filled", chromedp.Evaluate[float64](pollUntil(
				`Number(document.querySelector('#rate-chart')?.dataset.points) > 0 && document.querySelector('#device-stats') && `+
					`document.querySelectorAll('main table').length >= 3 && document.querySelectorAll('a.button[href^="#/verify"]').length > 0`,
				`performance.now()`), chromedp.EvalAwaitPromise)))
		}
		b.ReportMetric(median(shown), "ms-chain-shown")
		b.ReportMetric(median(complete), "ms-all-sections")
		b.ReportMetric(0, "ns/op")
	})

	b.Run("device-search", func(b *testing.B) {
		run(b, ctx, "open the device list", time.Minute,
			chromedp.Navigate(n.URL()+"/#/devices"),
			until(`document.querySelector('#device-count') !== null`))
		var found, none []float64
		for i := 0; b.Loop(); i++ {
			// A part of an id, which some devices have, then text no
			// device has (every device's id, owner and labels scanned).
			found = append(found, value(b, ctx, "search", chromedp.Evaluate[float64](searchJS(fmt.Sprintf("dev1q%d", i%10)), chromedp.EvalAwaitPromise)))
			none = append(none, value(b, ctx, "search for nothing", chromedp.Evaluate[float64](searchJS(fmt.Sprintf("zzz-no-device-%d", i)), chromedp.EvalAwaitPromise)))
		}
		b.ReportMetric(median(found), "ms-search")
		b.ReportMetric(median(none), "ms-search-no-match")
		b.ReportMetric(0, "ns/op")
	})

	b.Run("chart-10k", func(b *testing.B) {
		var drawn, longestDraw, p99Move, longestMove []float64
		for i := 0; b.Loop(); i++ {
			run(b, ctx, "open the device", time.Minute,
				chromedp.Navigate(fmt.Sprintf("%s/?visit=%d#/device/%s", n.URL(), i, chartDevice)),
				until(`Number(document.querySelector('#device-charts .chart')?.dataset.points) === 10000`))
			drawn = append(drawn, value(b, ctx, "time drawn", chromedp.Evaluate[float64](`performance.now()`)))
			longestDraw = append(longestDraw, value(b, ctx, "longest task", chromedp.Evaluate[float64](`Math.max(0, ...window.__long)`)))
			// The cursor across the chart: uPlot moves its cursor and
			// legend on every move.
			box := value(b, ctx, "the chart's box", chromedp.Evaluate[[]float64](`(r => [r.left, r.top, r.width, r.height])(document.querySelector('#device-charts .chart .u-over').getBoundingClientRect())`))
			value(b, ctx, "reset the frames", chromedp.Evaluate[int](`(window.__frames = [], window.__long = [], 0)`))
			for s := range 120 {
				x := box[0] + box[2]*float64(s)/120
				y := box[1] + box[3]/2
				run(b, ctx, "move the cursor", 10*time.Second, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
					_, err := cdp.Call(ctx, t, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved, X: x, Y: y})
					return err
				}))
			}
			frames := value(b, ctx, "the frames", chromedp.Evaluate[[]float64](`window.__frames`))
			if len(frames) < 10 {
				b.Fatalf("only %d frames while the cursor moved", len(frames))
			}
			slices.Sort(frames)
			p99Move = append(p99Move, frames[len(frames)*99/100])
			longestMove = append(longestMove, frames[len(frames)-1])
		}
		b.ReportMetric(median(drawn), "ms-drawn")
		b.ReportMetric(median(longestDraw), "ms-longest-task-loading")
		b.ReportMetric(median(p99Move), "ms-p99-frame-cursor")
		b.ReportMetric(median(longestMove), "ms-longest-frame-cursor")
		b.ReportMetric(0, "ns/op")
	})

	b.Run("verify", func(b *testing.B) {
		js, err := os.ReadFile("../../web/verify/dist/verify.js")
		if err != nil {
			b.Fatal(err)
		}
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		w.Write(js)
		w.Close()
		run(b, ctx, "open the overview", time.Minute, chromedp.Navigate(n.URL()+"/#/"),
			until(`document.querySelectorAll('a.button[href^="#/verify?device="]').length > 0`))
		href := value(b, ctx, "a reading's receipt", chromedp.Evaluate[string](`document.querySelector('a.button[href^="#/verify?device="]').getAttribute('href')`))
		var first, each []float64
		for i := 0; b.Loop(); i++ {
			// A new document each time: the first check includes loading
			// the verifier and its first use (cold).
			run(b, ctx, "a new document", time.Minute, chromedp.Navigate(fmt.Sprintf("%s/?visit=%d#/", n.URL(), i)),
				until(`document.querySelector('#height') !== null`))
			vctx, cancel := context.WithTimeout(ctx, time.Minute)
			r, err := chromedp.Run(vctx, chromedp.Evaluate[[]float64](verifyJS(href), chromedp.EvalAwaitPromise))
			cancel()
			if err != nil {
				step := value(b, ctx, "the verifier's last step", chromedp.Evaluate[string](`String(window.__vstep)`))
				b.Fatalf("verify %s in the page: %v (last step: %s)", href, err, step)
			}
			first = append(first, r[0])
			each = append(each, r[1])
		}
		b.ReportMetric(float64(len(js)), "bytes-minified")
		b.ReportMetric(float64(z.Len()), "bytes-gzip")
		b.ReportMetric(median(first), "ms-first-receipt-cold")
		b.ReportMetric(median(each), "ms/receipt")
		b.ReportMetric(0, "ns/op")
	})
}

// pollUntil is a script that waits, frame by frame (at most 30 s), until
// cond holds and then gives result.
func pollUntil(cond, result string) string {
	return `(async () => {
  const end = performance.now() + 30000;
  for (;;) {
    try { if (` + cond + `) return ` + result + `; } catch (e) {}
    if (performance.now() > end) throw new Error(` + jsString("not within 30 s: "+cond) + `);
    await new Promise((r) => requestAnimationFrame(r));
  }
})()`
}

// searchJS types q into the device list's search box, submits it, and
// gives the milliseconds until the list for q is drawn.
func searchJS(q string) string {
	return `(async () => {
  const q = ` + strconv.Quote(q) + `;
  const t0 = performance.now();
  document.querySelector('#q').value = q;
  document.querySelector('form.filters button[type="submit"]').click();
  const end = t0 + 30000;
  for (;;) {
    await new Promise((r) => requestAnimationFrame(r));
    if (document.querySelector('#q')?.value === q && document.querySelector('#device-count')) return performance.now() - t0;
    if (performance.now() > end) throw new Error('the list for ' + q + ' was not drawn within 30 s');
  }
})()`
}

// verifyJS loads the verifier the page loads, fetches the reading's
// receipt and the node's genesis, and gives the milliseconds of the first
// check (with the import of the verifier: cold in a new document) and the
// median of 30 more.
func verifyJS(href string) string {
	return `(async () => {
  const p = new URLSearchParams(` + strconv.Quote(href) + `.split('?')[1]);
  window.__vstep = 'receipt';
  const receipt = await (await fetch('/v1/devices/' + p.get('device') + '/readings/' + p.get('seq') + '/receipt')).text();
  window.__vstep = 'genesis';
  const genesis = await (await fetch('/v1/genesis')).text();
  window.__vstep = 'import';
  let t = performance.now();
  const m = await import('/explorer/verify.js');
  window.__vstep = 'verify';
  const v = await m.verify(receipt, genesis);
  if (!v.ok) throw new Error('the receipt did not verify: ' + JSON.stringify(v.checks));
  const first = performance.now() - t;
  const times = [];
  for (let i = 0; i < 30; i++) {
    t = performance.now();
    await m.verify(receipt, genesis);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  window.__vstep = 'done';
  return [first, times[15]];
})()`
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// sendWave sends n readings of the device, seq 1 to n, 100 ms apart in
// device time ending now, with a temperature that follows a slow wave and
// noise, at the chain's limit for one device (params.device_rate_per_s,
// 100 a second on a dev chain): what the node refuses as too fast is sent
// again a second later.
func sendWave(ctx context.Context, c *client.Client, k *keystore.Key, n int) error {
	now := time.Now().UnixMilli()
	var raws [][]byte
	for i := range n {
		temp := 20 + 5*math.Sin(float64(i)/300) + float64((i*7919)%100)/100
		r := reading.Reading{Seq: uint64(i + 1), Time: now - int64(n-i)*100, Data: map[string]any{"temp": math.Round(temp*10) / 10}}
		raw, err := reading.Sign(r, k.Private)
		if err != nil {
			return err
		}
		raws = append(raws, raw)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for len(raws) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("chart device: %d readings not committed within 5 minutes", len(raws))
		}
		batch := raws[:min(100, len(raws))]
		rs, err := c.Submit(ctx, batch, true)
		if err != nil {
			return fmt.Errorf("chart device: %w", err)
		}
		var again [][]byte
		for i, r := range rs {
			switch {
			case r.Status == "accepted" || r.Status == "duplicate":
			case r.Reason == "rate_limited":
				again = append(again, batch[i])
			default:
				return fmt.Errorf("chart device: reading %d: %s (%s): %s", r.Seq, r.Status, r.Reason, r.Detail)
			}
		}
		raws = append(again, raws[len(batch):]...)
		if len(again) > 0 {
			time.Sleep(time.Second) // pacing the load at the chain's per-device rate, not synchronisation
		}
	}
	return nil
}

// deviceWithReadings finds the device of the newest readings and checks
// that it has at least n committed readings.
func deviceWithReadings(t testing.TB, base string, n uint64) string {
	t.Helper()
	getJSON := func(path string, v any) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var newest apiwire.LogReadingPage
	getJSON("/v1/readings?limit=100", &newest)
	count := map[string]int{}
	best := ""
	for _, r := range newest.Readings {
		count[r.Device]++
		if count[r.Device] > count[best] {
			best = r.Device
		}
	}
	var d apiwire.Device
	getJSON("/v1/devices/"+best, &d)
	if d.Readings == nil || *d.Readings < n {
		t.Fatalf("device %s of the newest readings has %d readings, want %d", best, d.Readings, n)
	}
	return best
}
