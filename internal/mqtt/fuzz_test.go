package mqtt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/verdict"
)

// FuzzPayload feeds the path every published reading takes (topic check,
// rate limit, decoding, device match, Submit, answer) with any topic and
// payload. It must never panic, must hand Submit only readings that decode
// and belong to the topic's device, and must acknowledge everything except
// what Submit could not take. The seed corpus is in testdata/fuzz.
func FuzzPayload(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed.topic, seed.payload)
	}
	cfg := DefaultConfig()
	cfg.Enabled = false
	cfg.Bridge.URL = "tcp://127.0.0.1:1" // answers are queued for the bridge, never sent
	cfg.RatePerDevice = 0
	var submitted []byte
	results := []verdict.Verdict{{Status: "pending"}, {Status: "rejected", Code: app.CodeBadSignature}, {Status: "duplicate", Index: 3}}
	n := 0
	b, err := New(cfg, Deps{
		Submit: func(_ context.Context, raws [][]byte, _ bool) ([]verdict.Verdict, error) {
			submitted = raws[0]
			n++
			if n%4 == 3 {
				return nil, ingest.ErrBusy
			}
			return results[n%len(results) : n%len(results)+1], nil
		},
		Device: newLedger().Device,
	}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Close() })
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		submitted = nil
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // a busy Submit gives up at once
		v := b.receive(ctx, sinkBridge, topic, payload, time.Second)
		if submitted != nil {
			id, ok := readingsDevice(topic)
			s, err := reading.Decode(submitted)
			if !ok || err != nil || s.Device != id || !bytes.Equal(submitted, payload) {
				t.Fatalf("Submit got a reading the broker should have refused: topic %q, decode error %v", topic, err)
			}
		}
		if !v.ack && submitted == nil {
			t.Fatal("a reading Submit never saw was left unacknowledged")
		}
		b.Committed([]app.Outcome{{Hash: sha256.Sum256(payload), Verdict: verdict.Verdict{Status: "accepted"}}})
		for len(b.bridgeOut) > 0 {
			<-b.bridgeOut
		}
	})
}

type fuzzSeed struct {
	topic   string
	payload []byte
}

func fuzzSeeds(t testing.TB) []fuzzSeed {
	id := deviceID(sensor)
	good, err := reading.Sign(reading.Reading{Seq: 1, Time: 1767225600000, Data: map[string]any{"t": 21.5, "ok": true, "s": "x"}}, sensor)
	if err != nil {
		t.Fatal(err)
	}
	return []fuzzSeed{
		{mqttwire.ReadingsTopic(id), good},
		{mqttwire.ReadingsTopic(deviceID(other)), good},
		{mqttwire.ReadingsTopic(id), good[:len(good)-1]},
		{mqttwire.ReadingsTopic(id), []byte{}},
		{mqttwire.ReadingsTopic(id), []byte(`{"seq":1}`)},
		{mqttwire.ReadingsTopic(id), bytes.Repeat([]byte{0xa0}, reading.MaxSize+1)},
		{mqttwire.ReceiptsTopic(id), good},
		{"iotledger/v1/devices/+/readings", good},
		{"", nil},
	}
}
