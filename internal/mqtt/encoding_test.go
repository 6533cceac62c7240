package mqtt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	cose "github.com/veraison/go-cose"

	"github.com/iotledger/iotledger/internal/dcbor"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/reading"
)

// otherEncoding signs a reading of k's device in a valid encoding other
// than Sign's (a protected header with a content type too), which
// reading.Peek does not read and reading.Decode accepts.
func otherEncoding(t *testing.T, k ed25519.PrivateKey, seq uint64) []byte {
	t.Helper()
	pl, err := dcbor.EncMode.Marshal(map[int]any{1: deviceID(k), 2: seq, 3: time.Now().UnixMilli(), 4: map[string]any{"t": 21.5}})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := cose.NewSigner(cose.AlgorithmEdDSA, k)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cose.Sign1(rand.Reader, signer, cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm:   cose.AlgorithmEdDSA,
		cose.HeaderLabelKeyID:       []byte(deviceID(k)),
		cose.HeaderLabelContentType: "application/cbor",
	}}, pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := reading.Peek(raw); ok {
		t.Fatal("Peek reads the reading: the test needs one it does not")
	}
	if s, err := reading.Decode(raw); err != nil || s.Seq != seq {
		t.Fatalf("Decode = %v, %v; the test needs a reading it accepts", s, err)
	}
	return raw
}

// TestReadingInAnotherEncoding: the broker reads the device and seq of a
// reading in the form Sign writes without decoding it; a reading in any
// other valid encoding is checked as before: queued as published when it
// is the topic's device's, refused device_mismatch with its seq when not.
func TestReadingInAnotherEncoding(t *testing.T) {
	l := newLedger()
	b := startBroker(t, testConfig(), l, nil)
	d := mustConnect(t, b, sensor)
	id := deviceID(sensor)
	d.subscribe(t, mqttwire.TopicPrefix+id+"/#")

	mine := otherEncoding(t, sensor, 4)
	if code, err := d.publish(t, mqttwire.ReadingsTopic(id), mine); code != 0 {
		t.Fatalf("PUBACK %#x (%v) for the device's own reading, want success", code, err)
	}
	select {
	case got := <-l.submitted:
		if !bytes.Equal(got, mine) {
			t.Errorf("Submit got % x, want the reading as published", got)
		}
	case <-ctx(t).Done():
		t.Fatal("the device's own reading was not submitted")
	}

	if code, _ := d.publish(t, mqttwire.ReadingsTopic(id), otherEncoding(t, other, 5)); code != 0x87 {
		t.Errorf("PUBACK %#x for another device's reading, want 0x87", code)
	}
	m := d.next(t)
	e := decodeJSON[mqttwire.ErrorMessage](t, m.Payload)
	if m.Topic != mqttwire.ErrorsTopic(id) || e.Reason != mqttwire.ReasonDeviceMismatch || e.Seq == nil || *e.Seq != 5 {
		t.Errorf("message %s on %s, want device_mismatch for seq 5 on the errors topic", m.Payload, m.Topic)
	}
	if len(l.submitted) != 0 {
		t.Error("another device's reading was submitted")
	}
}
