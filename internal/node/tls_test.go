package node_test

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/testonly"
)

// TestTLS starts a node whose API and MQTT broker serve TLS from
// certificate files named relative to the home.
func TestTLS(t *testing.T) {
	home := t.TempDir()
	if _, err := node.Init(home, node.InitOptions{ChainID: "tls", Moniker: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, _, roots := testonly.TLSCert(t, filepath.Join(home, "tls"), "node")
	cfg := node.Default()
	cfg.API.Addr, cfg.RPCAddr, cfg.P2PAddr, cfg.MQTT.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.API.TLSCert, cfg.API.TLSKey = "tls/node.crt", "tls/node.key"
	cfg.MQTT.TLSCert, cfg.MQTT.TLSKey = "tls/node.crt", "tls/node.key"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The TLS key is a key file: open to others, the node refuses it.
	key := filepath.Join(home, "tls", "node.key")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := node.Start(t.Context(), home, cfg, log); !errors.Is(err, node.ErrKeyFileMode) || !strings.Contains(err.Error(), "chmod 600 "+key) {
		if err == nil {
			n.Close()
		}
		t.Fatalf("TLS key of mode 0644: got %v, want node.ErrKeyFileMode naming chmod 600 %s", err, key)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}

	n, err := node.Start(t.Context(), home, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if got := n.APIURL(); !strings.HasPrefix(got, "https://") {
		t.Errorf("APIURL %q, want https://", got)
	}

	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := c.Get(n.APIURL() + "/v1/status")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HTTPS GET /v1/status: status %d, want 200", resp.StatusCode)
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	if resp, err := plain.Get("http://" + n.APIAddr() + "/v1/status"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP to the TLS API answered 200")
		}
	}

	conn, err := tls.Dial("tcp", n.MQTTAddr(), &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatalf("MQTT over TLS: %v", err)
	}
	conn.Close()
}

func TestTLSConfigRefused(t *testing.T) {
	home := t.TempDir()
	if _, err := node.Init(home, node.InitOptions{ChainID: "tls", Moniker: "t"}); err != nil {
		t.Fatal(err)
	}
	cert, key, _ := testonly.TLSCert(t, home, "node")
	for _, tc := range []struct {
		name string
		edit func(*node.Config)
		want string
	}{
		{"cert without key", func(c *node.Config) { c.API.TLSCert = cert }, "api.tls_cert and api.tls_key go together"},
		{"not a certificate", func(c *node.Config) { c.API.TLSCert, c.API.TLSKey = key, key }, "api.tls_cert " + key},
		{"MQTT CA without TLS", func(c *node.Config) { c.MQTT.ClientCA = cert }, "mqtt.client_ca needs TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := node.Default()
			cfg.API.Addr, cfg.RPCAddr, cfg.P2PAddr, cfg.MQTT.Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
			tc.edit(&cfg)
			n, err := node.Start(t.Context(), home, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				n.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}
