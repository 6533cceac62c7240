package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/reading"
)

// Send finds the device and seq of a batch's readings without decoding
// them when the batch is a slice of the planned readings, and by decoding
// otherwise: both ways agree with the readings themselves.
func TestLocate(t *testing.T) {
	f := NewFleet("locate", 3)
	const firstSeq = 41
	raws, err := f.Presign(t.Context(), 10, firstSeq, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := &MQTTSender{conns: map[string]*simConn{}, byDev: make([]*simConn, f.Len())}
	for i := range f.Len() {
		c := &simConn{id: f.ID(i)}
		s.conns[c.id], s.byDev[i] = c, c
	}
	s.plan(raws, firstSeq)
	copied := append([][]byte(nil), raws[4:9]...)
	for _, batch := range [][][]byte{raws[4:9], raws[0:3], copied} {
		for i, raw := range batch {
			c, seq, err := s.locate(batch, i)
			if err != nil {
				t.Fatal(err)
			}
			r, err := reading.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if c == nil || c.id != r.Device || seq != r.Seq {
				t.Errorf("locate = %v seq %d, want device %s seq %d", c, seq, r.Device, r.Seq)
			}
		}
	}
}

// More connections than the process may open are refused before any is
// made, with what to do about it.
func TestCheckOpenFiles(t *testing.T) {
	if err := checkOpenFiles(1, "one device", "or less"); err != nil {
		t.Errorf("one socket: %v", err)
	}
	err := checkOpenFiles(1<<40, "a trillion devices", "or simulate fewer devices")
	if err == nil || !strings.Contains(err.Error(), "ulimit -n") || !strings.Contains(err.Error(), "a trillion devices") {
		t.Errorf("2^40 sockets: %v, want an error that names the need and says to raise the limit", err)
	}
}
