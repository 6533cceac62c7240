package mqtt

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/verdict"
)

// TestSeqReusedAnswer: the ledger's seq_reused (new data under a committed
// sequence number) reaches the device on its errors topic as it is, with
// the detail that locates the original, and the reading is acknowledged
// as refused (MQTT 5: 0x83), never as a receipt that would look like a
// safe resend.
func TestSeqReusedAnswer(t *testing.T) {
	id := deviceID(sensor)
	detail := verdict.SeqReusedDetail(id, 3, 17, 4)
	l := newLedger()
	l.setSubmit(func([]byte) (verdict.Verdict, error) {
		return verdict.Verdict{Device: id, Seq: 3, Status: "rejected", Code: app.CodeSeqReused, Index: 17, Height: 4, Detail: detail}, nil
	})
	b := startBroker(t, testConfig(), l, nil)
	d := mustConnect(t, b, sensor)
	d.subscribe(t, mqttwire.TopicPrefix+id+"/#")
	if code, err := d.publish(t, mqttwire.ReadingsTopic(id), signed(t, sensor, 3)); code != 0x83 {
		t.Errorf("PUBACK %#x (%v), want 0x83", code, err)
	}
	m := d.next(t)
	if m.Topic != mqttwire.ErrorsTopic(id) {
		t.Fatalf("message on %s, want %s", m.Topic, mqttwire.ErrorsTopic(id))
	}
	want := mqttwire.ErrorMessage{Seq: ptr[uint64](3), Reason: "seq_reused", Detail: detail}
	if diff := cmp.Diff(want, decodeJSON[mqttwire.ErrorMessage](t, m.Payload)); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}
