package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

// wireEvent is an event as the stream sends it.
type wireEvent struct{ ID, Type, Device, Data string }

func toWire(t *testing.T, e *api.Event) wireEvent {
	t.Helper()
	b, err := json.Marshal(e.Data)
	if err != nil {
		t.Fatal(err)
	}
	return wireEvent{e.ID.String(), e.Type, e.Device, string(b)}
}

// eventSchemas names the OpenAPI schema of each event type's data.
var eventSchemas = map[string]string{"block": "BlockEvent", "reading": "ReadingEvent", "device": "DeviceEvent", "contract_event": "ContractEvent"}

// checkEventSchemas checks the data of real events against the API's
// OpenAPI document, with format assertions.
func checkEventSchemas(t *testing.T, evs []wireEvent) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(api.OpenAPI))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	const loc = "urn:iotledger:openapi.json"
	if err := c.AddResource(loc, doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		name, ok := eventSchemas[e.Type]
		if !ok {
			continue
		}
		s, err := c.Compile(loc + "#/components/schemas/" + name)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(e.Data))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(v); err != nil {
			t.Errorf("event %s %s: data %s does not match %s: %v", e.ID, e.Type, e.Data, name, err)
		}
	}
}

func replay(t *testing.T, n *node.Node, from, to int64) []wireEvent {
	t.Helper()
	first, last, err := n.EventRange()
	if err != nil {
		t.Fatal(err)
	}
	if first > from || last < to {
		t.Fatalf("EventRange %d to %d, want it to hold %d to %d", first, last, from, to)
	}
	var out []wireEvent
	if err := n.ReplayEvents(t.Context(), from, to, func(e *api.Event) error {
		out = append(out, toWire(t, e))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEventsReplayLikeLive commits a device and readings, and checks that
// the events replayed from the store are the live ones (ids, types,
// devices and data, as the stream encodes them), before and after a
// restart of the node.
func TestEventsReplayLikeLive(t *testing.T) {
	home := t.TempDir()
	if _, err := node.Init(home, node.InitOptions{ChainID: "test-chain", Moniker: "t"}); err != nil {
		t.Fatal(err)
	}
	cfg := node.Default()
	cfg.API.Addr, cfg.RPCAddr, cfg.P2PAddr, cfg.MQTT.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	start := func() *node.Node {
		n, err := node.Start(t.Context(), home, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := start()
	defer func() { n.Close() }()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	sub := n.Subscribe()
	defer sub.Cancel()

	owner := ed25519.NewKeyFromSeed(make([]byte, 32))
	devSeed := make([]byte, 32)
	devSeed[0] = 7
	dev := ed25519.NewKeyFromSeed(devSeed)
	devPub := dev.Public().(ed25519.PublicKey)
	reg := &tx.RegisterDevice{Key: devPub, DeviceSig: ed25519.Sign(dev, tx.RegistrationMessage("test-chain", address.Account(owner.Public().(ed25519.PublicKey)), devPub))}
	raw, err := tx.Sign(owner, tx.TypeRegisterDevice, "test-chain", 0, reg)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := n.RPC().BroadcastTxCommit(ctx, raw); err != nil || res.TxResult.Code != 0 {
		t.Fatalf("register: %v %+v", err, res)
	}
	var raws [][]byte
	for seq := uint64(1); seq <= 6; seq++ {
		r, err := reading.Sign(reading.Reading{Seq: seq, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 20.5}}, dev)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, r)
	}
	results, err := n.Submit(ctx, raws, true)
	if err != nil {
		t.Fatal(err)
	}
	top := results[len(results)-1].Height

	// Live: every event of the blocks from the first one seen whole up to
	// top, read until block top+1 begins.
	var live []wireEvent
	var from int64
	for done := false; !done; {
		select {
		case <-ctx.Done():
			t.Fatalf("block %d not seen: %v", top+1, ctx.Err())
		case e := <-sub.Events:
			if e.Type == "block" && from == 0 {
				from = e.ID.Height
			}
			if e.ID.Height > top {
				done = true
				break
			}
			if from != 0 {
				live = append(live, toWire(t, &e))
			}
		}
	}
	var readings, devices int
	for _, e := range live {
		switch e.Type {
		case "reading":
			readings++
		case "device":
			devices++
		}
	}
	if readings != len(raws) || devices != 1 {
		t.Fatalf("live events hold %d readings and %d device changes, want %d and 1: %v", readings, devices, len(raws), live)
	}
	checkEventSchemas(t, live)
	if diff := cmp.Diff(replay(t, n, from, top), live); diff != "" {
		t.Errorf("replayed events differ from the live ones (-replayed +live):\n%s", diff)
	}

	sub.Cancel()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = start()
	if diff := cmp.Diff(replay(t, n, from, top), live); diff != "" {
		t.Errorf("after a restart, replayed events differ from the live ones (-replayed +live):\n%s", diff)
	}
}
