package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/reading"
)

// TestExplorerTestnet opens the explorer of one validator of a
// four-validator testnet of the real binary (`iotledger testnet -n 4`)
// whose set changed once (node1's power raised from 10 to 20 by the
// `iotledger validator` commands): the overview shows the four validators
// and their power, the device list, the device, block and contract pages show
// what node0 was sent, and Verify passes every check in the browser for a
// reading committed before the change and one after it, following the set
// from the genesis it pinned from the node.
func TestExplorerTestnet(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary and a browser")
	}
	ctx, problems := browser(t)
	wait, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	_, nodes := testonly.Testnet(t, 4, "e2e-explorer")
	clients := make([]*client.Client, len(nodes))
	for i, n := range nodes {
		n.Start(t, "start")
		clients[i] = client.New(n.URL())
	}
	all := []int{0, 1, 2, 3}
	waitHeights(t, wait, clients, all, 2, "the first blocks")
	home := func(i int) string { return nodes[i].Home }
	cmd := func(i int, args ...string) string {
		t.Helper()
		return testonly.MustRun(t, append(args, "--home", home(i))...)
	}

	// A device on node0, a reading before the change of the set, the
	// change, and readings after it.
	cmd(0, "keys", "new", "sensor")
	cmd(0, "device", "register", "--owner", "owner", "--key", "sensor", "--label", "site=lab")
	k, err := keystore.Load(home(0), "sensor")
	if err != nil {
		t.Fatal(err)
	}
	id := k.DeviceID()
	send := func(seq uint64) int64 {
		t.Helper()
		raw, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 20 + float64(seq)}}, k.Private)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := clients[0].Submit(wait, [][]byte{raw}, true)
		if err != nil || rs[0].Status != "accepted" {
			t.Fatalf("reading %d: %+v, %v", seq, rs, err)
		}
		return rs[0].Height
	}
	before := send(1)
	cmd(0, "validator", "propose", "--set-power", validatorAddress(t, home(1)), "--power", "20")
	cmd(2, "validator", "approve", "1")
	changed := effective(t, cmd(3, "validator", "approve", "1"))
	waitHeights(t, wait, clients, all, changed+1, "the first block the new set signs")
	var after int64
	for seq := uint64(2); seq <= 6; seq++ {
		after = send(seq)
	}
	if after < changed {
		t.Fatalf("reading 6 committed in block %d, before the new set signs (%d)", after, changed)
	}
	// A contract deployed and called on node0.
	doc := filepath.Join(t.TempDir(), "tip.yaml")
	if err := os.WriteFile(doc, []byte(tipContract), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd(0, "contract", "deploy", doc, "--fund", "1000")
	cmd(0, "contract", "call", "ctr-1", "--trigger", "pay", "--arg", "to="+id, "--arg", "amount=300")
	last := maxHeight(t, wait, clients, []int{0})

	// node2 answers the browser: its explorer, not node0's, where the
	// readings came in.
	waitHeights(t, wait, clients, []int{2}, last+1, "node2 has the readings and the contract")
	url := nodes[2].URL()

	run(t, ctx, "the overview of node2", 30*time.Second,
		chromedp.Navigate(url+"/"),
		until(`Number(document.querySelector('#height').textContent) > 0`),
		until(`document.querySelector('main').textContent.includes('4 validators, total power 50')`),
		until(`[...document.querySelectorAll('main td')].some(td => td.textContent === '20')`),
		until(`document.querySelector('main').textContent.includes('e2e-explorer')`),
		until(fmt.Sprintf(`document.querySelectorAll('a.button[href^="#/verify?device=%s"]').length > 0`, id)),
		until(`document.querySelector('#conn').textContent === 'live'`),
	)
	screenshot(t, ctx, "overview-testnet.png")
	run(t, ctx, "the device list, filtered by label", 20*time.Second,
		chromedp.Navigate(url+"/#/devices?label=site%3Dlab"),
		until(`document.querySelectorAll('#device-list tbody tr').length === 1`),
		until(fmt.Sprintf(`document.querySelector('#device-list tbody tr').textContent.includes(%q)`, id)),
	)
	run(t, ctx, "the device's page", 20*time.Second,
		chromedp.Navigate(url+"/#/device/"+id),
		until(`Number(document.querySelector('#device-charts .chart')?.dataset.points) === 6`),
	)
	run(t, ctx, "the block of the last reading", 20*time.Second,
		chromedp.Navigate(fmt.Sprintf("%s/#/block/%d", url, after)),
		chromedp.WaitVisible(css(`main tbody a.button[href^="#/verify?device="]`)),
	)
	run(t, ctx, "the contract, its escrow and its event", 20*time.Second,
		chromedp.Navigate(url+"/#/contracts"),
		chromedp.WaitVisible(css(`a[href="#/contract/ctr-1"]`)),
		chromedp.Click(css(`a[href="#/contract/ctr-1"]`)),
		until(`document.querySelector('main').textContent.includes('700 IOT')`),
		until(`[...document.querySelectorAll('main tbody tr')].some(tr => tr.textContent.includes('paid') && tr.textContent.includes('300'))`),
	)
	for _, r := range []struct {
		seq    int
		height int64
	}{{1, before}, {6, after}} {
		run(t, ctx, fmt.Sprintf("verify reading %d (block %d; the set changed for block %d)", r.seq, r.height, changed), 30*time.Second,
			chromedp.Navigate(fmt.Sprintf("%s/#/verify?device=%s&seq=%d", url, id, r.seq)),
			until(`document.querySelector('#genesis-pinned')?.textContent.includes('e2e-explorer')`),
			until(`document.querySelector('#verdict')?.classList.contains('ok')`),
			until(`document.querySelectorAll('#checks li').length === 6 && document.querySelectorAll('#checks li.bad').length === 0`),
		)
		detail := value(t, ctx, "read the validator check", chromedp.Evaluate[string](
			`[...document.querySelectorAll('#checks li')].map(li => li.textContent).join('\n')`))
		if r.height > changed && strings.Contains(detail, "no change") {
			t.Errorf("reading %d (block %d, after the change at %d): the checks say nothing of the change:\n%s", r.seq, r.height, changed, detail)
		}
		t.Logf("reading %d in block %d:\n%s", r.seq, r.height, detail)
	}
	screenshot(t, ctx, "verify-testnet.png")
	if p := problems(); len(p) > 0 {
		t.Errorf("the pages logged:\n%s", strings.Join(p, "\n"))
	}
}
