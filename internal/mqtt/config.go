package mqtt

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/iotledger/iotledger/mqttwire"
	"github.com/iotledger/iotledger/reading"
)

// Config is the MQTT intake of a node. Field comments name the TOML key of
// the node's [mqtt] section.
type Config struct {
	Enabled bool   `toml:"enabled"` // mqtt.enabled: run the embedded broker
	Addr    string `toml:"addr"`    // mqtt.addr: where the embedded broker listens, HOST:PORT

	// TLS of the embedded broker: PEM certificate and key files (the node
	// resolves them against its home). Set, the listener speaks MQTT over
	// TLS only. ClientCA, when set, is a PEM file of the CAs that sign
	// device certificates: every device must then show one (mutual TLS),
	// besides its token.
	TLSCert  string `toml:"tls_cert"`  // mqtt.tls_cert
	TLSKey   string `toml:"tls_key"`   // mqtt.tls_key
	ClientCA string `toml:"client_ca"` // mqtt.client_ca

	Bridge BridgeConfig `toml:"bridge"` // mqtt.bridge: subscribe to the operator's broker

	TokenMaxTTL    time.Duration `toml:"token_max_ttl"`       // mqtt.token_max_ttl: longest a device token may be valid from now
	ClockSkew      time.Duration `toml:"clock_skew"`          // mqtt.clock_skew: tolerance for device clocks when checking tokens
	RatePerDevice  float64       `toml:"readings_per_second"` // mqtt.readings_per_second: per device, over it PUBACKs wait; 0 means no limit
	Burst          int           `toml:"burst"`               // mqtt.burst: readings a device may send at once above its rate
	MaxPacketBytes int           `toml:"max_packet_bytes"`    // mqtt.max_packet_bytes: a larger MQTT packet closes the connection
	MaxClients     int           `toml:"max_clients"`         // mqtt.max_clients: connected devices at once
	MaxKeepAlive   time.Duration `toml:"max_keep_alive"`      // mqtt.max_keep_alive: a device's keep alive is capped to this (0 means this)
	ConnectTimeout time.Duration `toml:"connect_timeout"`     // mqtt.connect_timeout: a connection must send CONNECT within this
	WriteTimeout   time.Duration `toml:"write_timeout"`       // mqtt.write_timeout: a client that takes no data for this long is disconnected
	BusyTimeout    time.Duration `toml:"busy_timeout"`        // mqtt.busy_timeout: how long a reading's PUBACK may wait (node busy, over the rate, notices owed), then the device is disconnected
	PendingMax     int           `toml:"pending_max"`         // mqtt.pending_max: readings tracked for their receipt at once
	PendingTTL     time.Duration `toml:"pending_ttl"`         // mqtt.pending_ttl: a reading not committed within this is answered not_committed (send it again)
}

// BridgeConfig is the connection to an operator's broker. An empty URL
// means no bridge.
type BridgeConfig struct {
	URL                string        `toml:"url"`                  // mqtt.bridge.url: tcp://HOST:PORT, mqtt://, or tls:// (also ssl://, mqtts://)
	ClientID           string        `toml:"client_id"`            // mqtt.bridge.client_id: default iotledger-bridge-HOSTNAME
	User               string        `toml:"user"`                 // mqtt.bridge.user
	Password           string        `toml:"password"`             // mqtt.bridge.password (or IOTLEDGER_MQTT_BRIDGE_PASSWORD)
	CAFile             string        `toml:"ca_file"`              // mqtt.bridge.ca_file: PEM roots to trust instead of the system's
	CertFile           string        `toml:"cert_file"`            // mqtt.bridge.cert_file: PEM client certificate
	KeyFile            string        `toml:"key_file"`             // mqtt.bridge.key_file: PEM key of the client certificate
	InsecureSkipVerify bool          `toml:"insecure_skip_verify"` // mqtt.bridge.insecure_skip_verify: for tests only
	Group              string        `toml:"group"`                // mqtt.bridge.group: subscribe as $share/GROUP/... so nodes split the readings
	SessionExpiry      time.Duration `toml:"session_expiry"`       // mqtt.bridge.session_expiry: how long the operator's broker keeps readings for us while we are away
}

// DefaultConfig is what a node starts with: the embedded broker on the
// loopback interface, no bridge.
func DefaultConfig() Config {
	return Config{
		Enabled:        true,
		Addr:           "127.0.0.1:1883",
		Bridge:         BridgeConfig{SessionExpiry: time.Hour},
		TokenMaxTTL:    mqttwire.MaxTokenTTL,
		ClockSkew:      60 * time.Second,
		RatePerDevice:  100,  // as the chain's default params.device_rate_per_s and device_burst:
		Burst:          1000, // MQTT is no stricter than HTTP unless the operator says so
		MaxPacketBytes: reading.MaxSize + 1024,
		MaxClients:     100000,
		MaxKeepAlive:   300 * time.Second,
		ConnectTimeout: 10 * time.Second,
		WriteTimeout:   10 * time.Second,
		BusyTimeout:    30 * time.Second,
		PendingMax:     200000,
		PendingTTL:     10 * time.Minute,
	}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.Enabled {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return fmt.Errorf("mqtt.addr %q: %v; want HOST:PORT", c.Addr, err)
		}
	}
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return fmt.Errorf("mqtt.tls_cert and mqtt.tls_key go together: set both (PEM files) or neither")
	case c.ClientCA != "" && c.TLSCert == "":
		return fmt.Errorf("mqtt.client_ca needs TLS: set mqtt.tls_cert and mqtt.tls_key too")
	case c.TokenMaxTTL <= 0 || c.TokenMaxTTL > time.Hour:
		return fmt.Errorf("mqtt.token_max_ttl is %v, want more than 0 and at most 1h", c.TokenMaxTTL)
	case c.ClockSkew < 0 || c.ClockSkew > 10*time.Minute:
		return fmt.Errorf("mqtt.clock_skew is %v, want 0 to 10m", c.ClockSkew)
	case c.RatePerDevice < 0:
		return fmt.Errorf("mqtt.readings_per_second is %v, want 0 (no limit) or more", c.RatePerDevice)
	case c.RatePerDevice > 0 && c.Burst < 1:
		return fmt.Errorf("mqtt.burst is %d, want at least 1", c.Burst)
	case c.MaxPacketBytes < reading.MaxSize+256 || c.MaxPacketBytes > 1<<20:
		return fmt.Errorf("mqtt.max_packet_bytes is %d, want %d to %d (a reading is up to %d bytes, plus topic and header)",
			c.MaxPacketBytes, reading.MaxSize+256, 1<<20, reading.MaxSize)
	case c.MaxClients <= 0:
		return fmt.Errorf("mqtt.max_clients is %d, want > 0", c.MaxClients)
	case c.MaxKeepAlive < time.Second || c.MaxKeepAlive > 65535*time.Second:
		return fmt.Errorf("mqtt.max_keep_alive is %v, want 1s to 65535s", c.MaxKeepAlive)
	case c.ConnectTimeout <= 0:
		return fmt.Errorf("mqtt.connect_timeout is %v, want > 0", c.ConnectTimeout)
	case c.WriteTimeout <= 0:
		return fmt.Errorf("mqtt.write_timeout is %v, want > 0", c.WriteTimeout)
	case c.BusyTimeout <= 0:
		return fmt.Errorf("mqtt.busy_timeout is %v, want > 0", c.BusyTimeout)
	case c.PendingMax <= 0:
		return fmt.Errorf("mqtt.pending_max is %d, want > 0", c.PendingMax)
	case c.PendingTTL <= 0:
		return fmt.Errorf("mqtt.pending_ttl is %v, want > 0", c.PendingTTL)
	}
	return c.Bridge.validate()
}

func (b BridgeConfig) validate() error {
	if b.URL == "" {
		return nil
	}
	u, err := url.Parse(b.URL)
	if err != nil {
		return fmt.Errorf("mqtt.bridge.url %q: %v; want tcp://HOST:PORT or tls://HOST:PORT", b.URL, err)
	}
	tlsScheme := false
	switch strings.ToLower(u.Scheme) {
	case "tcp", "mqtt":
	case "tls", "ssl", "mqtts":
		tlsScheme = true
	default:
		return fmt.Errorf("mqtt.bridge.url %q: scheme %q, want tcp, mqtt, tls, ssl or mqtts", b.URL, u.Scheme)
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return fmt.Errorf("mqtt.bridge.url %q: want a host and a port, as in tcp://broker.example:1883", b.URL)
	}
	if u.User != nil {
		return fmt.Errorf("mqtt.bridge.url %q holds credentials; set mqtt.bridge.user and mqtt.bridge.password instead", u.Redacted())
	}
	if !tlsScheme && (b.CAFile != "" || b.CertFile != "" || b.KeyFile != "" || b.InsecureSkipVerify) {
		return fmt.Errorf("mqtt.bridge: TLS options are set but url %q is not tls://; use tls://HOST:PORT", b.URL)
	}
	if (b.CertFile == "") != (b.KeyFile == "") {
		return fmt.Errorf("mqtt.bridge: cert_file and key_file go together")
	}
	for _, f := range []struct{ name, path string }{{"ca_file", b.CAFile}, {"cert_file", b.CertFile}, {"key_file", b.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("mqtt.bridge.%s: %v", f.name, err)
		}
	}
	if strings.ContainsAny(b.Group, "/+#") {
		return fmt.Errorf("mqtt.bridge.group %q must not hold '/', '+' or '#'", b.Group)
	}
	if strings.ContainsAny(b.ClientID, "/+#") {
		return fmt.Errorf("mqtt.bridge.client_id %q must not hold '/', '+' or '#'", b.ClientID)
	}
	if b.SessionExpiry < 0 || b.SessionExpiry > 0xffffffff*time.Second {
		return fmt.Errorf("mqtt.bridge.session_expiry is %v, want 0 or more", b.SessionExpiry)
	}
	return nil
}
