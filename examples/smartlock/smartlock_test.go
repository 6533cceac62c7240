package smartlock_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/testonly"
)

func TestMain(m *testing.M) { os.Exit(testonly.Main(m)) }

// TestSmartLock runs contract.yaml as the README does, with the real
// binary on a dev node, its lock and price filled in and an "hour" of three
// seconds of block time: a guest pays for two hours and the lock's
// desired twin opens for them; while it is theirs another guest is
// refused and keeps their money, as is a wrong payment; when the time is
// up the lock closes by itself, and the next guest can book it.
func TestSmartLock(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	n, cli := testonly.DevNode(t)
	api := client.New(n.URL())
	lock := cli.NewDevice(t, "lock-1", "kind=lock").DeviceID()
	guest, other := cli.NewKey(t, "guest").Address(), cli.NewKey(t, "guest-2").Address()
	cli.MustRun(t, "account", "transfer", "--from", "owner", "--to", guest, "--amount", "100")
	cli.MustRun(t, "account", "transfer", "--from", "owner", "--to", other, "--amount", "100")
	host := cli.Balance(t, "owner")
	unlockedFor := func() any {
		t.Helper()
		var tw client.Twin
		cli.JSON(t, &tw, "device", "twin", lock)
		return tw.Desired.State["unlocked_for"]
	}

	doc := testonly.Document(t, "contract.yaml", map[string]string{
		"lock": strconv.Quote(lock), "price": "5", "hour_ms": "3000",
	})
	id := cli.Deploy(t, doc)

	out := cli.MustRun(t, "contract", "call", id, "--key", "guest", "--arg", "hours=2", "--pay", "10")
	if !strings.Contains(out, `(book) access_granted {"guest":"`+guest+`","hours":2,"paid":10,"until":`) {
		t.Fatalf("booking said %q, want access_granted for the guest", out)
	}
	if got := unlockedFor(); got != guest {
		t.Fatalf("the lock's desired unlocked_for is %v after the booking, want the guest %s", got, guest)
	}

	// Taken: another guest is refused, as is a wrong price; both keep
	// their money.
	for _, args := range [][]string{
		{"--key", "guest-2", "--arg", "hours=1", "--pay", "5"},
		{"--key", "guest", "--arg", "hours=1", "--pay", "4"},
	} {
		out, code := cli.Run(t, append([]string{"contract", "call", id}, args...)...)
		if code == 0 || !strings.Contains(out, "condition_false") {
			t.Errorf("call %v: exit %d, %q; want condition_false", args, code, out)
		}
	}
	if g, o := cli.Balance(t, guest), cli.Balance(t, other); g != 90 || o != 100 {
		t.Errorf("guest holds %d and guest-2 %d, want 90 (one booking) and 100", g, o)
	}
	if got := cli.Balance(t, "owner"); got != host+10 {
		t.Errorf("the owner holds %d, want %d: the booking's 10", got, host+10)
	}

	// Time is up (six seconds): the lock closes by itself.
	testonly.Poll(t, ctx, "the lock to close", func() (bool, error) {
		tw, err := api.Twin(ctx, lock, 0)
		return err == nil && tw.Desired.State["unlocked_for"] == "", err
	})
	events := cli.Events(t, id)
	if len(events) != 2 || events[0].Name != "access_granted" || events[1].Name != "access_revoked" {
		t.Fatalf("events %+v, want access_granted, access_revoked", events)
	}
	granted, revoked := events[0].Fields, events[1].Fields
	if revoked["guest"] != guest || revoked["until"] != granted["until"] || revoked["at"].(float64) < revoked["until"].(float64) {
		t.Errorf("access_revoked %v, want the guest's, at or after the time granted %v", revoked, granted["until"])
	}
	if until, at := granted["until"].(float64), revoked["at"].(float64); at > until+10_000 {
		t.Errorf("access ended at block time %.0f, %.0f ms after the time paid for", at, at-until)
	}

	// Free again: the next guest books it.
	cli.MustRun(t, "contract", "call", id, "--key", "guest-2", "--arg", "hours=1", "--pay", "5")
	if got := unlockedFor(); got != other {
		t.Errorf("the lock's desired unlocked_for is %v after the second booking, want %s", got, other)
	}
}
