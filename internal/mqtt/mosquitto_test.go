package mqtt

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotledger/iotledger/mqttwire"
)

// mosquitto_pub -q 2, at MQTT 3.1.1 and 5, against the embedded broker: a
// reading completes the QoS 2 exchange (PUBREC, PUBREL, PUBCOMP) and is
// queued; a refused one completes it too at 3.1.1 (which has no negative
// acknowledgement; the reason goes to the errors topic) and is reported by
// mosquitto_pub at 5 (PUBREC 0x99). Never a PUBACK, which a QoS 2 client
// does not expect (it would wait for its PUBREC until killed).
func TestMosquittoPubQoS2(t *testing.T) {
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		t.Skip("mosquitto_pub is not installed (apt-get install -y mosquitto-clients)")
	}
	id := deviceID(sensor)
	tests := []struct {
		version string
		payload []byte
		queued  bool
		output  string // in mosquitto_pub's output
	}{
		{"mqttv311", signed(t, sensor, 1), true, "received PUBCOMP"},
		{"mqttv311", []byte("not a reading"), false, "received PUBCOMP"},
		{"mqttv5", signed(t, sensor, 1), true, "received PUBCOMP"},
		{"mqttv5", []byte("not a reading"), false, "Warning: Publish 1 failed: Payload format invalid."},
	}
	for _, tt := range tests {
		t.Run(tt.version+map[bool]string{true: " reading", false: " refused"}[tt.queued], func(t *testing.T) {
			l := newLedger()
			b := startBroker(t, testConfig(), l, nil)
			host, port, _ := net.SplitHostPort(b.Addr())
			f := filepath.Join(t.TempDir(), "reading.cbor")
			if err := os.WriteFile(f, tt.payload, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.CommandContext(ctx(t), "mosquitto_pub", "-h", host, "-p", port, "-V", tt.version, "-q", "2", "-d",
				"-i", id, "-u", id, "-P", token(t, sensor, id), "-t", mqttwire.ReadingsTopic(id), "-f", f).CombinedOutput()
			if err != nil {
				t.Fatalf("mosquitto_pub: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.output) || strings.Contains(string(out), "PUBACK") {
				t.Errorf("mosquitto_pub printed\n%s\nwant %q and no PUBACK", out, tt.output)
			}
			if got := len(l.submitted) == 1; got != tt.queued {
				t.Errorf("queued %v, want %v", got, tt.queued)
			}
			if st := b.Stats(); st.Refused != map[bool]uint64{true: 0, false: 1}[tt.queued] {
				t.Errorf("Stats: Refused %d", st.Refused)
			}
		})
	}
}
