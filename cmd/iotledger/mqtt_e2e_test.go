package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/iotledger/iotledger/internal/keystore"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/reading"
)

// mqttHome starts a node with args and a registered device dev1; it
// returns the node, dev1's key and the flags that point a command at it.
func mqttHome(t *testing.T, args ...string) (*testonly.Node, *keystore.Key, []string) {
	t.Helper()
	return testonly.DeviceNode(t, "mqtt-chain", args...)
}

// verifyReceipt fetches a reading's receipt with the CLI and verifies it
// against the home's genesis.
func verifyReceipt(t *testing.T, n *testonly.Node, flags []string, id string, seq uint64) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "receipt.json")
	testonly.MustRun(t, append([]string{"receipt", id, fmt.Sprint(seq), "-o", f}, flags...)...)
	out := testonly.MustRun(t, "verify", f, "--genesis", node.GenesisFile(n.Home))
	if !strings.Contains(out, "receipt verifies") {
		t.Fatalf("verify printed:\n%s", out)
	}
}

// A device connects to the node's embedded broker with a signed token,
// publishes a reading at QoS 1 and gets its receipt message; the receipt
// verifies offline.
func TestMQTTEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	n, k, flags := mqttHome(t)
	id := k.DeviceID()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	conn, err := net.Dial("tcp", n.MQTTAddr)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan *paho.Publish, 10)
	c := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) { msgs <- pr.Packet; return true, nil },
	}})
	tok, err := mqttwire.Token(k.Private, id, time.Now(), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true,
		Username: id, UsernameFlag: true, Password: []byte(tok), PasswordFlag: true})
	if err != nil {
		t.Fatalf("connect: %v (%+v)", err, ca)
	}
	defer c.Disconnect(&paho.Disconnect{})
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "iotledger/v1/devices/" + id + "/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	raw, err := reading.Sign(reading.Reading{Seq: 1, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 4.5}}, k.Private)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := c.Publish(ctx, &paho.Publish{Topic: mqttwire.ReadingsTopic(id), QoS: 1, Payload: raw})
	if err != nil || pr.ReasonCode != 0 {
		t.Fatalf("publish: %v %+v", err, pr)
	}
	select {
	case m := <-msgs:
		var rm mqttwire.ReceiptMessage
		if m.Topic != mqttwire.ReceiptsTopic(id) || json.Unmarshal(m.Payload, &rm) != nil || rm.Seq != 1 || rm.Status != "accepted" {
			t.Fatalf("got %s %s, want an accepted receipt message for seq 1", m.Topic, m.Payload)
		}
	case <-ctx.Done():
		t.Fatal("no receipt message")
	}
	verifyReceipt(t, n, flags, id, 1)
}

// The node bridged to a real Mosquitto takes a reading published with
// mosquitto_pub, commits it, and its receipt verifies offline.
func TestMQTTBridgeMosquitto(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	broker := testonly.Mosquitto(t, "allow_anonymous true\n")
	n, k, flags := mqttHome(t, "--mqtt-bridge", "tcp://"+broker)
	id := k.DeviceID()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	raw, err := reading.Sign(reading.Reading{Seq: 7, Time: time.Now().UnixMilli(), Data: map[string]any{"temp": 5.5}}, k.Private)
	if err != nil {
		t.Fatal(err)
	}
	events, err := clientFor(n).Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testonly.MosquittoPub(t, ctx, broker, mqttwire.ReadingsTopic(id), raw)
	var height int64
	for height == 0 {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("event stream ended before the reading was committed")
			}
			var o struct {
				Device string `json:"device"`
				Seq    uint64 `json:"seq"`
				Height int64  `json:"height"`
			}
			if e.Type == "reading" && e.Decode(&o) == nil && o.Device == id && o.Seq == 7 {
				height = o.Height
			}
		case <-ctx.Done():
			t.Fatal("the reading published to Mosquitto was not committed")
		}
	}
	verifyReceipt(t, n, flags, id, 7)
}
