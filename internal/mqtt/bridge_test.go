package mqtt

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/app"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/testonly"
	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/verdict"
)

// mosquitto starts a Mosquitto broker on a free loopback port and returns
// its address; it is killed when the test ends.
func mosquitto(t *testing.T) string { return mosquittoWith(t, "allow_anonymous true\n") }

// mosquittoWith starts Mosquitto with extra lines for its listener.
func mosquittoWith(t *testing.T, extra string) string { return testonly.Mosquitto(t, extra) }

func mosquittoPub(t *testing.T, addr, topic string, payload []byte) {
	testonly.MosquittoPub(t, ctx(t), addr, topic, payload)
}

func TestBridgeMosquitto(t *testing.T) {
	addr := mosquitto(t)
	l := newLedger()
	cfg := testConfig()
	cfg.Enabled = false // the bridge alone
	cfg.Bridge.URL = "tcp://" + addr
	cfg.Bridge.ClientID = "iotledger-test-bridge"
	cfg.Bridge.SessionExpiry = 0
	b := startBroker(t, cfg, l, nil)
	if b.Addr() != "" {
		t.Errorf("Addr = %q with the embedded broker off, want empty", b.Addr())
	}
	if err := b.WaitBridge(ctx(t)); err != nil {
		t.Fatal(err)
	}

	// A client of the operator's broker that watches the device's topics.
	id := deviceID(sensor)
	watcher, _, err := connect(t, addr, "watcher", "")
	if err != nil {
		t.Fatal(err)
	}
	watcher.subscribe(t, mqttwire.TopicPrefix+id+"/#")

	raw := signed(t, sensor, 11)
	mosquittoPub(t, addr, mqttwire.ReadingsTopic(id), raw)
	var got []byte
	select {
	case got = <-l.submitted:
	case <-ctx(t).Done():
		t.Fatal("the bridge submitted nothing")
	}
	if !bytes.Equal(got, raw) {
		t.Fatalf("bridge submitted %x, want the published bytes %x", got, raw)
	}
	// The watcher sees the reading itself on the readings topic first.
	if m := watcher.next(t); m.Topic != mqttwire.ReadingsTopic(id) {
		t.Fatalf("message on %s, want the reading", m.Topic)
	}

	b.Committed([]app.Outcome{accepted(raw, 5, 3)})
	m := watcher.next(t)
	if m.Topic != mqttwire.ReceiptsTopic(id) {
		t.Fatalf("message on %s, want %s", m.Topic, mqttwire.ReceiptsTopic(id))
	}
	want := mqttwire.ReceiptMessage{Seq: 11, Index: 5, Height: 3, Receipt: "/v1/devices/" + id + "/readings/11/receipt", Status: "accepted"}
	if diff := cmp.Diff(want, decodeJSON[mqttwire.ReceiptMessage](t, m.Payload)); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}

	// A reading on another device's topic is refused on that topic's errors.
	mosquittoPub(t, addr, mqttwire.ReadingsTopic(id), signed(t, other, 1))
	if m := watcher.next(t); m.Topic != mqttwire.ReadingsTopic(id) {
		t.Fatalf("message on %s, want the reading", m.Topic)
	}
	m = watcher.next(t)
	if m.Topic != mqttwire.ErrorsTopic(id) {
		t.Fatalf("message on %s, want %s", m.Topic, mqttwire.ErrorsTopic(id))
	}
	if e := decodeJSON[mqttwire.ErrorMessage](t, m.Payload); e.Reason != mqttwire.ReasonDeviceMismatch || e.Seq == nil || *e.Seq != 1 {
		t.Errorf("error %+v, want device_mismatch for seq 1", e)
	}
	if n := len(l.submitted); n != 0 {
		t.Errorf("%d more readings submitted, want none", n)
	}
}

func TestBridgeBeside(t *testing.T) {
	addr := mosquitto(t)
	l := newLedger()
	cfg := testConfig()
	cfg.Bridge.URL = "tcp://" + addr
	cfg.Bridge.ClientID = "iotledger-test-bridge-2"
	cfg.Bridge.Group = "nodes"
	b := startBroker(t, cfg, l, nil)
	if err := b.WaitBridge(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// A device on the embedded broker and one behind the operator's.
	local := mustConnect(t, b, sensor)
	local.subscribe(t, mqttwire.ReceiptsTopic(deviceID(sensor)))
	remote, _, err := connect(t, addr, "remote", "")
	if err != nil {
		t.Fatal(err)
	}
	remote.subscribe(t, mqttwire.ReceiptsTopic(deviceID(other)))

	r1, r2 := signed(t, sensor, 1), signed(t, other, 1)
	if code, err := local.publish(t, mqttwire.ReadingsTopic(deviceID(sensor)), r1); code != 0 {
		t.Fatalf("PUBACK %#x (%v)", code, err)
	}
	<-l.submitted
	if code, err := remote.publish(t, mqttwire.ReadingsTopic(deviceID(other)), r2); code != 0 {
		t.Fatalf("PUBACK %#x (%v)", code, err)
	}
	select {
	case <-l.submitted:
	case <-ctx(t).Done():
		t.Fatal("the bridge submitted nothing")
	}
	b.Committed([]app.Outcome{accepted(r1, 0, 1), accepted(r2, 1, 1)})
	// Each answer goes back the way its reading came.
	if m := local.next(t); m.Topic != mqttwire.ReceiptsTopic(deviceID(sensor)) {
		t.Errorf("embedded: message on %s", m.Topic)
	}
	if m := remote.next(t); m.Topic != mqttwire.ReceiptsTopic(deviceID(other)) {
		t.Errorf("bridge: message on %s", m.Topic)
	}
}

func TestWaitBridgeWithoutBridge(t *testing.T) {
	b := startBroker(t, testConfig(), newLedger(), nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.WaitBridge(ctx); err == nil {
		t.Error("WaitBridge without a bridge succeeded")
	}
}

// A reading the node could not queue before it stopped is not acknowledged
// to the operator's broker, which sends it again to the next run.
func TestBridgeRedeliversUnqueued(t *testing.T) {
	addr := mosquitto(t)
	cfg := testConfig()
	cfg.Enabled = false
	cfg.Bridge.URL = "tcp://" + addr
	cfg.Bridge.ClientID = "iotledger-test-bridge-3"
	cfg.Bridge.SessionExpiry = time.Hour

	full := newLedger()
	busy := make(chan struct{}, 1000)
	full.setSubmit(func([]byte) (verdict.Verdict, error) {
		busy <- struct{}{}
		return verdict.Verdict{}, ingest.ErrBusy
	})
	first, err := New(cfg, full.deps(), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := first.WaitBridge(ctx(t)); err != nil {
		t.Fatal(err)
	}
	raw := signed(t, sensor, 21)
	mosquittoPub(t, addr, mqttwire.ReadingsTopic(deviceID(sensor)), raw)
	<-busy
	<-busy // the bridge is holding the reading, unacknowledged
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if st := first.Stats(); st.Abandoned != 1 {
		t.Errorf("Abandoned = %d, want 1", st.Abandoned)
	}

	l := newLedger()
	second := startBroker(t, cfg, l, nil)
	if err := second.WaitBridge(ctx(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-l.submitted:
		if !bytes.Equal(got, raw) {
			t.Errorf("redelivered %x, want %x", got, raw)
		}
	case <-ctx(t).Done():
		t.Fatal("the operator's broker did not send the unacknowledged reading again")
	}
}

// writeTLS writes a CA and a server certificate for 127.0.0.1 into dir.
func writeTLS(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, srvKey := newKey(), newKey()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "iotledger test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server.key", "EC PRIVATE KEY", keyDER)
}

func TestBridgeTLSAndPassword(t *testing.T) {
	if _, err := exec.LookPath("mosquitto_passwd"); err != nil {
		t.Skip("mosquitto_passwd is not installed (apt-get install -y mosquitto); skipping")
	}
	dir := t.TempDir()
	caFile, certFile, keyFile := writeTLS(t, dir)
	passwd := filepath.Join(dir, "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-c", "-b", passwd, "node", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	addr := mosquittoWith(t, fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\nallow_anonymous false\npassword_file %s\n", caFile, certFile, keyFile, passwd))

	cfg := testConfig()
	cfg.Enabled = false
	cfg.Bridge.URL = "tls://" + addr
	cfg.Bridge.ClientID = "iotledger-test-bridge-tls"
	cfg.Bridge.CAFile = caFile
	cfg.Bridge.User, cfg.Bridge.Password = "node", "s3cret"
	b := startBroker(t, cfg, newLedger(), nil)
	if err := b.WaitBridge(ctx(t)); err != nil {
		t.Fatal(err)
	}

	// A wrong password never gets a subscription.
	cfg.Bridge.ClientID, cfg.Bridge.Password = "iotledger-test-bridge-tls-2", "wrong"
	bad := startBroker(t, cfg, newLedger(), nil)
	short, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if err := bad.WaitBridge(short); err == nil {
		t.Error("bridge with a wrong password subscribed")
	}
}
