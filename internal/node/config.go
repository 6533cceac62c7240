package node

import (
	"fmt"
	"net"
	"os"
	"text/template"
	"time"

	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/ingest"
	"github.com/iotledger/iotledger/internal/mqtt"
)

// ConfigFile is iotledger's own configuration, beside CometBFT's config.toml.
const ConfigFile = "iotledger.toml"

// Config is the node's configuration. Precedence, lowest first: Default,
// HOME/config/iotledger.toml, environment (IOTLEDGER_<SECTION>_<KEY> for
// every setting, such as IOTLEDGER_API_ADDR; IOTLEDGER_RPC_ADDR and
// IOTLEDGER_P2P_ADDR for RPCAddr and P2PAddr; see settings.go),
// command-line flags.
type Config struct {
	API    APIConfig    `toml:"api"`
	Ingest IngestConfig `toml:"ingest"`
	MQTT   mqtt.Config  `toml:"mqtt"`
	Store  StoreConfig  `toml:"store"`
	Log    LogConfig    `toml:"log"`
	// StoreCheck is the check of the store against the committed headers
	// at start (storecheck.go).
	StoreCheck StoreCheckConfig `toml:"store_check"`
	// Snapshots of the app store for state sync (snapshots.go).
	Snapshots SnapshotConfig `toml:"snapshots"`
	// RPCAddr and P2PAddr override CometBFT's config.toml when set.
	RPCAddr string `toml:"-"`
	P2PAddr string `toml:"-"`
}

// APIConfig is the HTTP API.
type APIConfig struct {
	Addr         string   `toml:"addr"`
	MaxBodyBytes int64    `toml:"max_body_bytes"`
	WaitTimeout  Duration `toml:"wait_timeout"`
	// Per-client rate limit (see api.Options): requests a second per IP
	// address (IPv6: per /64), 0 for none; loopback is exempt unless
	// LimitLoopback.
	RatePerIP     float64 `toml:"rate_per_ip"`
	BurstPerIP    int     `toml:"burst_per_ip"`
	MaxIPs        int     `toml:"max_ips"`
	LimitLoopback bool    `toml:"limit_loopback"`
	// TLSCert and TLSKey are PEM files (relative to the home unless
	// absolute); set, the API serves HTTPS only.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// EventReplayBlocks bounds how many blocks back GET /v1/events
	// replays for a client that resumes with Last-Event-ID.
	EventReplayBlocks int `toml:"event_replay_blocks"`
}

// URL is the API's base URL: https:// when it serves TLS.
func (c APIConfig) URL() string {
	if c.TLSCert != "" {
		return "https://" + c.Addr
	}
	return "http://" + c.Addr
}

// IngestConfig is batching (see package ingest).
type IngestConfig struct {
	MaxBatch  int      `toml:"max_batch"`
	MaxDelay  Duration `toml:"max_delay"`
	QueueSize int      `toml:"queue_size"`
	// MaxMempoolBytes pauses batching while the mempool holds this much.
	MaxMempoolBytes int64 `toml:"max_mempool_bytes"`
}

// StoreConfig is what the node keeps on disk beside its stores.
type StoreConfig struct {
	// ConsensusWALBytes bounds CometBFT's consensus WAL (data/cs.wal; see
	// waltrim.go); 0 leaves CometBFT's own limit of 1 GiB.
	ConsensusWALBytes int64 `toml:"consensus_wal_bytes"`
}

// LogConfig is logging.
type LogConfig struct {
	Level         string `toml:"level"`          // debug, info, warn, error
	CometBFTLevel string `toml:"cometbft_level"` // CometBFT's own messages: none, error, info, debug
	// Format is "text" (key=value lines) or "json" (one JSON object a
	// line, for log shippers).
	Format string `toml:"format"`
}

// Duration is a time.Duration written as "50ms" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	d.Duration = v
	return err
}

// MarshalText writes a duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default is the configuration of a new node.
func Default() Config {
	ic := ingest.DefaultConfig()
	return Config{
		API: APIConfig{Addr: "127.0.0.1:8080", MaxBodyBytes: 8 << 20, WaitTimeout: Duration{10 * time.Second},
			RatePerIP: 100, BurstPerIP: api.DefaultBurstPerIP, MaxIPs: api.DefaultMaxIPs, EventReplayBlocks: api.DefaultEventReplayBlocks},
		Ingest:     IngestConfig{MaxBatch: ic.MaxBatch, MaxDelay: Duration{ic.MaxDelay}, QueueSize: ic.QueueSize, MaxMempoolBytes: ic.MaxMempoolBytes},
		MQTT:       mqtt.DefaultConfig(),
		Store:      StoreConfig{ConsensusWALBytes: 64 << 20},
		Log:        LogConfig{Level: "info", CometBFTLevel: "error", Format: "text"},
		StoreCheck: DefaultStoreCheck(),
		Snapshots:  DefaultSnapshots(),
	}
}

// Validate names the section and field of the first problem.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.API.Addr); err != nil {
		return fmt.Errorf("config: api.addr %q: %v; want HOST:PORT", c.API.Addr, err)
	}
	if c.API.MaxBodyBytes < 4096 {
		return fmt.Errorf("config: api.max_body_bytes is %d, want at least 4096", c.API.MaxBodyBytes)
	}
	if c.API.WaitTimeout.Duration <= 0 {
		return fmt.Errorf("config: api.wait_timeout is %v, want > 0", c.API.WaitTimeout)
	}
	if (c.API.TLSCert == "") != (c.API.TLSKey == "") {
		return fmt.Errorf("config: api.tls_cert and api.tls_key go together: set both (PEM files) or neither")
	}
	if c.API.RatePerIP < 0 {
		return fmt.Errorf("config: api.rate_per_ip is %g, want requests a second per client, or 0 for no limit", c.API.RatePerIP)
	}
	if c.API.RatePerIP > 0 && c.API.BurstPerIP < 1 {
		return fmt.Errorf("config: api.burst_per_ip is %d, want at least 1 (or api.rate_per_ip = 0 for no limit)", c.API.BurstPerIP)
	}
	if c.API.EventReplayBlocks < 1 {
		return fmt.Errorf("config: api.event_replay_blocks is %d, want at least 1 (blocks an event stream may replay; default %d)", c.API.EventReplayBlocks, api.DefaultEventReplayBlocks)
	}
	if c.API.RatePerIP > 0 && c.API.MaxIPs < 1 {
		return fmt.Errorf("config: api.max_ips is %d, want at least 1 (or api.rate_per_ip = 0 for no limit)", c.API.MaxIPs)
	}
	if err := c.Snapshots.Validate(); err != nil {
		return err
	}
	if err := c.ingest().Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := c.MQTT.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if w := c.Store.ConsensusWALBytes; w != 0 && (w < MinWALKeepBytes || w >= cometWALLimit) {
		return fmt.Errorf("config: store.consensus_wal_bytes is %d, want 0 (CometBFT's own limit, 1 GiB) or from %d (a few blocks) to under %d", w, MinWALKeepBytes, cometWALLimit)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log.level %q, want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.CometBFTLevel {
	case "none", "error", "info", "debug":
	default:
		return fmt.Errorf("config: log.cometbft_level %q, want none, error, info or debug", c.Log.CometBFTLevel)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("config: log.format %q, want text or json", c.Log.Format)
	}
	if err := c.StoreCheck.validate(); err != nil {
		return err
	}
	for name, a := range map[string]string{"--rpc-addr": c.RPCAddr, "--p2p-addr": c.P2PAddr} {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("config: %s %q: %v; want HOST:PORT", name, a, err)
		}
	}
	return nil
}

func (c Config) ingest() ingest.Config {
	return ingest.Config{MaxBatch: c.Ingest.MaxBatch, MaxDelay: c.Ingest.MaxDelay.Duration, QueueSize: c.Ingest.QueueSize, MaxMempoolBytes: c.Ingest.MaxMempoolBytes}
}

// LoadConfig reads HOME/config/iotledger.toml over the defaults, then the
// environment (IOTLEDGER_<SECTION>_<KEY> for every setting; see
// LoadConfigEnv). A missing file means defaults.
func LoadConfig(home string) (Config, error) {
	c, _, err := LoadConfigEnv(home, os.Environ())
	return c, err
}

var configTemplate = template.Must(template.New("config").Parse(`# iotledger node configuration. CometBFT's own settings are in config.toml
# beside this file. Precedence: defaults, this file, environment, flags.
# Every setting here can be set from the environment as
# IOTLEDGER_<SECTION>_<KEY>: [api] addr is IOTLEDGER_API_ADDR, [mqtt.bridge]
# url is IOTLEDGER_MQTT_BRIDGE_URL (an empty variable counts as unset).
# IOTLEDGER_RPC_ADDR and IOTLEDGER_P2P_ADDR override config.toml's
# addresses. ` + "`iotledger config show`" + ` prints the settings in effect and where
# each came from.

[api]
# HTTP API, dashboard and /metrics. Loopback by default: set tls_cert and
# tls_key (or put a TLS proxy in front) before opening it to a network.
addr = "{{.API.Addr}}"
# PEM certificate (chain) and private key, relative to the home unless
# absolute. Set, the API serves HTTPS only. The key file must be 0600.
tls_cert = "{{.API.TLSCert}}"
tls_key = "{{.API.TLSKey}}"
# Largest request body accepted (a JSON batch of readings).
max_body_bytes = {{.API.MaxBodyBytes}}
# How long POST /v1/readings waits for commit before answering "pending".
wait_timeout = "{{.API.WaitTimeout}}"
# Requests a second each client may send (per IP address; IPv6 per /64),
# in bursts of burst_per_ip; over it the API answers 429 with Retry-After.
# 0 turns the limit off. Loopback clients (a reverse proxy on the same
# machine, the CLI, benchmarks) are not limited unless limit_loopback is
# true; behind a proxy, limit at the proxy. At most max_ips clients are
# tracked at once: beyond them, newcomers share one bucket.
rate_per_ip = {{.API.RatePerIP}}
burst_per_ip = {{.API.BurstPerIP}}
max_ips = {{.API.MaxIPs}}
limit_loopback = {{.API.LimitLoopback}}
# How many blocks back GET /v1/events replays for a client that reconnects
# with Last-Event-ID; an older id is answered 410 event-id-expired.
event_replay_blocks = {{.API.EventReplayBlocks}}

[ingest]
# Readings per batch transaction. CometBFT handles hundreds of transactions
# a second, not tens of thousands: batching is what makes a node fast.
max_batch = {{.Ingest.MaxBatch}}
# Longest a reading waits for its batch to fill.
max_delay = "{{.Ingest.MaxDelay}}"
# Readings queued before the node answers "busy" (HTTP 503): backpressure,
# never a silent drop.
queue_size = {{.Ingest.QueueSize}}
# Batching pauses while the mempool holds this many bytes, until the next
# block: a node that takes readings faster than it commits them answers
# "busy" instead of growing its mempool (and memory, and latency) without
# bound. 0 turns the bound off.
max_mempool_bytes = {{.Ingest.MaxMempoolBytes}}

[mqtt]
# The embedded MQTT broker (MQTT 3.1.1 and 5): devices connect with their
# device id and a signed token (see the README) and publish readings to
# iotledger/v1/devices/ID/readings.
enabled = {{.MQTT.Enabled}}
addr = "{{.MQTT.Addr}}"
# PEM certificate and private key, relative to the home unless absolute.
# Set, the broker speaks MQTT over TLS only (port 8883 is the custom). The
# key file must be 0600.
tls_cert = "{{.MQTT.TLSCert}}"
tls_key = "{{.MQTT.TLSKey}}"
# Mutual TLS: a PEM file of the CAs that sign device certificates. Set,
# every device must also show a certificate one of them signed (its token
# is still checked). Needs tls_cert.
client_ca = "{{.MQTT.ClientCA}}"
# Per-device rate limit at the broker (the chain has its own, in genesis).
readings_per_second = {{.MQTT.RatePerDevice}}
burst = {{.MQTT.Burst}}
# Longest validity of a device's connect token, and allowed clock skew.
token_max_ttl = "{{.MQTT.TokenMaxTTL}}"
clock_skew = "{{.MQTT.ClockSkew}}"
# Larger MQTT packets close the connection (a reading is at most 4096 bytes).
max_packet_bytes = {{.MQTT.MaxPacketBytes}}
max_clients = {{.MQTT.MaxClients}}
max_keep_alive = "{{.MQTT.MaxKeepAlive}}"
# A connection must send CONNECT within connect_timeout; a client that takes
# no data for write_timeout is disconnected (a slow reader holds nobody up).
connect_timeout = "{{.MQTT.ConnectTimeout}}"
write_timeout = "{{.MQTT.WriteTimeout}}"
# How long a reading's PUBACK may wait (backpressure: the node is saturated,
# the device sends over its rate, or refusal notices it has not read wait
# for it) before the device is disconnected to send it again later.
busy_timeout = "{{.MQTT.BusyTimeout}}"
# Readings tracked for their receipt message at once; a reading not seen
# committed within pending_ttl is answered not_committed (send it again).
pending_max = {{.MQTT.PendingMax}}
pending_ttl = "{{.MQTT.PendingTTL}}"

[mqtt.bridge]
# Subscribe to an existing broker (Mosquitto, EMQX; MQTT 5) instead of, or
# beside, the embedded one: tcp://HOST:PORT or tls://HOST:PORT. Empty: none.
url = "{{.MQTT.Bridge.URL}}"
client_id = "{{.MQTT.Bridge.ClientID}}"
user = "{{.MQTT.Bridge.User}}"
# Better in the environment: IOTLEDGER_MQTT_BRIDGE_PASSWORD.
password = ""
ca_file = "{{.MQTT.Bridge.CAFile}}"
cert_file = "{{.MQTT.Bridge.CertFile}}"
key_file = "{{.MQTT.Bridge.KeyFile}}"
insecure_skip_verify = {{.MQTT.Bridge.InsecureSkipVerify}}
# $share/GROUP/... so several nodes split the readings between them.
group = "{{.MQTT.Bridge.Group}}"
session_expiry = "{{.MQTT.Bridge.SessionExpiry}}"

[store]
# CometBFT's consensus WAL (data/cs.wal) holds every consensus message, so a
# copy of every block; CometBFT reads back only the height it was working on
# when it stopped, and keeps older files up to 1 GiB. The node removes the
# oldest of them beyond this many bytes (several blocks of the largest
# size; at least 33554432). 0 leaves CometBFT's 1 GiB.
consensus_wal_bytes = {{.Store.ConsensusWALBytes}}

[store_check]
# Before CometBFT starts (so before this node signs anything), the node
# recomputes log roots, state digests and app hashes from its store and
# compares them with the headers the validators committed; on any
# difference it refuses to start, naming the block and the reading, and
# says to run ` + "`iotledger audit`" + `.
#   mode = "recent" (the default) rehashes the newest readings (as many as
#     readings below, and the rest of the block holding the oldest), over
#     at most the last blocks blocks, and checks the stored log border and
#     state digest just before them against their header: about 2 s for a
#     million readings on a small machine, whatever the store's size; a
#     smaller store is checked whole.
#   mode = "full" checks everything, as audit does: about 2.2 µs a reading,
#     some 25 s for 10 million.
#   mode = "off" skips the check.
# Older readings' bytes are reread only by "full" and by audit.
mode = "{{.StoreCheck.Mode}}"
readings = {{.StoreCheck.Readings}}
blocks = {{.StoreCheck.Blocks}}

[snapshots]
# Snapshots of the app's store, which nodes joining by state sync restore
# from (see the README, "Join a running network"). One is taken after every
# interval-th block and written in the background under data/snapshots; the
# keep_recent newest are kept. Each is a full copy of the store, so each
# costs its size in disk and one read of the store to write. A node that
# joins restores the newest and then replays the blocks after it, at most
# interval of them: 10000 keeps that well below the 100,000 blocks beyond
# which a joining node state-syncs instead of replaying from genesis, and
# takes a snapshot about every 3 hours at a block a second. 0 takes none
# (this node can still join by state sync from others).
interval = {{.Snapshots.Interval}}
keep_recent = {{.Snapshots.KeepRecent}}

[log]
# iotledger's log level: debug, info, warn, error.
level = "{{.Log.Level}}"
# CometBFT's own messages: none, error, info, debug.
cometbft_level = "{{.Log.CometBFTLevel}}"
# "text" (key=value lines) or "json" (one JSON object a line, for log
# shippers). Either way a warning or error repeated more than 5 times a
# second is held back and counted in one line each second.
format = "{{.Log.Format}}"
`))

// WriteConfig writes a commented configuration file.
func WriteConfig(path string, c Config) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := configTemplate.Execute(f, c); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
