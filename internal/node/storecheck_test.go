package node_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/reading"
)

func restart(t *testing.T, home string, edit func(*node.Config)) (*node.Node, error) {
	t.Helper()
	cfg := node.Default()
	cfg.API.Addr, cfg.RPCAddr, cfg.P2PAddr, cfg.MQTT.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if edit != nil {
		edit(&cfg)
	}
	n, err := node.Start(t.Context(), home, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		t.Cleanup(func() { n.Close() })
	}
	return n, err
}

// TestStartChecksStore: a node whose stored reading was changed on disk
// refuses to start, naming the reading, in the default mode and in full
// mode; audit names it too; a clean store starts; mode off starts anyway.
func TestStartChecksStore(t *testing.T) {
	n, home := startNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	dev := registerDevices(t, ctx, n, 1)[0]
	var raws [][]byte
	for seq := uint64(1); seq <= 5; seq++ {
		r, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 20.5}}, dev)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, r)
	}
	res, err := n.Submit(ctx, raws, true)
	if err != nil || !res[3].Located() {
		t.Fatalf("submit: %v %+v", err, res)
	}
	sub := n.Subscribe()
	waitForHeight(t, ctx, n, sub.Events, res[3].Height+1) // the header that commits it
	sub.Cancel()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	// A clean store starts, in both modes.
	for _, mode := range []string{node.StoreCheckRecent, node.StoreCheckFull} {
		n, err := restart(t, home, func(c *node.Config) { c.StoreCheck.Mode = mode })
		if err != nil {
			t.Fatalf("mode %s: clean store refused: %v", mode, err)
		}
		n.Close()
	}

	idx := res[3].Index
	testonly.ChangeReading(t, home, idx)
	wantWhere := "reading at log index " + strconv.FormatUint(idx, 10) + " (device " + address.Device(dev.Public().(ed25519.PublicKey)) + ", seq 4)"
	for _, edit := range []func(*node.Config){
		nil, // the default: recent
		func(c *node.Config) { c.StoreCheck.Mode = node.StoreCheckFull },
	} {
		_, err := restart(t, home, edit)
		var mismatch *node.StoreMismatchError
		if !errors.As(err, &mismatch) {
			t.Fatalf("start on a changed store: %v, want a StoreMismatchError", err)
		}
		t.Logf("refused: %v", err)
		for _, want := range []string{wantWhere, "stored reading was changed", "iotledger audit --home " + home} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("start refused with %q\nwant it to say %q", err, want)
			}
		}
	}

	r, err := node.Audit(t.Context(), home)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 1 || !strings.Contains(r.Findings[0].String(), wantWhere) {
		t.Errorf("audit findings %v, want one naming %s", r.Findings, wantWhere)
	}

	n, err = restart(t, home, func(c *node.Config) { c.StoreCheck.Mode = node.StoreCheckOff })
	if err != nil {
		t.Fatalf("mode off: %v", err)
	}
	n.Close()
}

func TestConfigValidateStoreCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*node.StoreCheckConfig)
		want string // in the error; "" for none
	}{
		{"default", func(*node.StoreCheckConfig) {}, ""},
		{"full", func(c *node.StoreCheckConfig) { c.Mode = "full" }, ""},
		{"off", func(c *node.StoreCheckConfig) { c.Mode = "off" }, ""},
		{"unknown mode", func(c *node.StoreCheckConfig) { c.Mode = "some" }, `store_check.mode "some"`},
		{"no blocks", func(c *node.StoreCheckConfig) { c.Blocks = 0 }, "store_check.blocks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := node.Default()
			tc.edit(&c.StoreCheck)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}
