package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
)

// TestExplorerPrivate opens a device with private fields on a dev node in
// headless Chromium: its record lists the private field, a reading sent
// with `reading send --private` shows its sealed part as locked and its
// value nowhere on the page; the owner's key file, loaded into the page,
// opens it in the browser; a key file of an account that is no recipient
// leaves it locked, saying why.
func TestExplorerPrivate(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary and a browser")
	}
	ctx, problems := browser(t)
	home := filepath.Join(t.TempDir(), "devhome")
	n := testonly.StartNode(t, home, "dev")
	cli := &testonly.CLI{Home: home, Flags: []string{"--home", home, "--api", n.URL(), "--rpc", n.RPCAddr}}
	cli.MustRun(t, "reading", "send", "--device", "sensor-1", "--private", "temp,hr", "temp=21.5", "hr=173", "site=lab")
	k, err := keystore.Load(home, "sensor-1")
	if err != nil {
		t.Fatal(err)
	}
	id := k.DeviceID()

	run(t, ctx, "the device's private fields, locked", 30*time.Second,
		chromedp.Navigate(n.URL()+"/#/device/"+id),
		until(`document.querySelector('main').textContent.includes('hr (sealed)')`),
		until(`document.querySelectorAll('.sealed.locked').length > 0`),
		until(`document.querySelector('#private-key-file') !== null`),
	)
	if page := value(t, ctx, "the page's text", chromedp.Text(css("main"))); strings.Contains(page, "173") {
		t.Errorf("the page shows the sealed value 173 before any key is loaded:\n%s", page)
	}
	contrast(t, ctx, "a device with private fields, locked")

	// The owner's key file opens the sealed fields, here.
	run(t, ctx, "the owner's key file opens them", 30*time.Second,
		chromedp.SetUploadFiles(css("#private-key-file"), []string{filepath.Join(home, "keys", "owner.json")}),
		until(`document.querySelector('#private-key').textContent.includes('loaded in this page')`),
		until(`[...document.querySelectorAll('.sealed.opened')].some(c => c.textContent.includes('"hr":173') && c.textContent.includes('"temp":21.5'))`),
	)
	screenshot(t, ctx, "private.png")
	contrast(t, ctx, "a device with private fields, opened")

	// An account that is no recipient: its key opens nothing.
	cli.MustRun(t, "keys", "new", "stranger")
	run(t, ctx, "a stranger's key file opens nothing", 30*time.Second,
		chromedp.SetUploadFiles(css("#private-key-file"), []string{filepath.Join(home, "keys", "stranger.json")}),
		until(`document.querySelector('#private-key').textContent.includes('stranger')`),
		until(`document.querySelectorAll('.sealed.opened').length === 0`),
		until(`[...document.querySelectorAll('.sealed.locked')].some(c => /sealed, epoch \d+: locked \(./.test(c.textContent))`),
	)
	reason := value(t, ctx, "the reason", chromedp.Evaluate[string](`document.querySelector('.sealed.locked').textContent`))
	t.Logf("a stranger's key: %s", reason)
	if p := problems(); len(p) > 0 {
		t.Errorf("the pages logged:\n%s", strings.Join(p, "\n"))
	}
}
