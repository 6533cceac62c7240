package mqtt

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/testonly"
)

// dialTLS connects over TLS, trusting roots and showing cert when it has one.
func dialTLS(t *testing.T, addr string, roots *x509.CertPool, cert *tls.Certificate) (*raw311, error) {
	t.Helper()
	tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, tc)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	return &raw311{Conn: c, r: bufio.NewReader(c)}, nil
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	srvCert, srvKey, roots := testonly.TLSCert(t, dir, "broker")
	devCA, devCAKey, _ := testonly.TLSCert(t, dir, "devices")
	devCert, err := tls.LoadX509KeyPair(devCA, devCAKey) // self-signed: its own CA
	if err != nil {
		t.Fatal(err)
	}
	strangerFile, strangerKey, _ := testonly.TLSCert(t, dir, "stranger")
	stranger, err := tls.LoadX509KeyPair(strangerFile, strangerKey)
	if err != nil {
		t.Fatal(err)
	}
	id := deviceID(sensor)

	for _, tc := range []struct {
		name     string
		clientCA string
		cert     *tls.Certificate
		ok       bool
	}{
		{"server TLS", "", nil, true},
		{"mutual TLS", devCA, &devCert, true},
		{"mutual TLS without a client certificate", devCA, nil, false},
		{"mutual TLS with a certificate of another CA", devCA, &stranger, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TLSCert, cfg.TLSKey, cfg.ClientCA = srvCert, srvKey, tc.clientCA
			b := startBroker(t, cfg, newLedger(), nil)

			c, err := dialTLS(t, b.Addr(), roots, tc.cert)
			if err == nil {
				// TLS 1.3 reports a refused client certificate at the first read.
				if _, err = c.Write(connect311(id, id, token(t, sensor, id))); err == nil {
					var body []byte
					var typ byte
					typ, body, err = readPacket(c.r)
					if err == nil {
						if diff := cmp.Diff([]byte{0, 0}, body); typ != 0x20 || diff != "" {
							t.Fatalf("packet %#x %x, want a CONNACK accepting the device", typ, body)
						}
					}
				}
			}
			if tc.ok && err != nil {
				t.Fatalf("connect over TLS: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("the broker accepted the device without a valid client certificate")
			}

			// A plain MQTT connection gets no CONNACK.
			p := dialRaw(t, b.Addr())
			p.send(t, connect311(id, id, token(t, sensor, id)))
			if typ, body, err := readPacket(p.r); err == nil && typ == 0x20 {
				t.Fatalf("a plain connection to the TLS listener got a CONNACK %x", body)
			}
		})
	}
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := testonly.TLSCert(t, dir, "broker")
	for _, tc := range []struct {
		name              string
		cert, key, caFile string
		want              string
	}{
		{"cert without key", cert, "", "", "mqtt.tls_cert and mqtt.tls_key go together"},
		{"client CA without TLS", "", "", cert, "mqtt.client_ca needs TLS"},
		{"missing cert file", dir + "/nope.crt", key, "", "mqtt.tls_cert " + dir + "/nope.crt"},
		{"key that is not a key", cert, cert, "", "want a PEM certificate and its PEM private key"},
		{"CA file that holds no certificate", cert, key, key, "holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TLSCert, cfg.TLSKey, cfg.ClientCA = tc.cert, tc.key, tc.caFile
			_, err := New(cfg, newLedger().deps(), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
