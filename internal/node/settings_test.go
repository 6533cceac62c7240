package node_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/internal/node"
)

// writeFile writes HOME/config/iotledger.toml.
func writeFile(t *testing.T, home, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", node.ConfigFile), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEnvNames: the names the README and operators' units already use
// keep working, and the rule gives the others.
func TestEnvNames(t *testing.T) {
	for _, tc := range []struct {
		env, value string
		got        func(node.Config) any
		want       any
		origin     string // key in Origins
	}{
		{"IOTLEDGER_API_ADDR", "0.0.0.0:9080", func(c node.Config) any { return c.API.Addr }, "0.0.0.0:9080", "api.addr"},
		{"IOTLEDGER_MQTT_ADDR", "0.0.0.0:1884", func(c node.Config) any { return c.MQTT.Addr }, "0.0.0.0:1884", "mqtt.addr"},
		{"IOTLEDGER_MQTT_BRIDGE_PASSWORD", "s3cret", func(c node.Config) any { return c.MQTT.Bridge.Password }, "s3cret", "mqtt.bridge.password"},
		{"IOTLEDGER_MQTT_BRIDGE_URL", "tcp://broker:1883", func(c node.Config) any { return c.MQTT.Bridge.URL }, "tcp://broker:1883", "mqtt.bridge.url"},
		{"IOTLEDGER_STORE_CHECK_MODE", "full", func(c node.Config) any { return c.StoreCheck.Mode }, "full", "store_check.mode"},
		{"IOTLEDGER_LOG_LEVEL", "debug", func(c node.Config) any { return c.Log.Level }, "debug", "log.level"},
		{"IOTLEDGER_RPC_ADDR", "0.0.0.0:26657", func(c node.Config) any { return c.RPCAddr }, "0.0.0.0:26657", node.OriginRPCAddr},
		{"IOTLEDGER_P2P_ADDR", "0.0.0.0:26656", func(c node.Config) any { return c.P2PAddr }, "0.0.0.0:26656", node.OriginP2PAddr},
	} {
		t.Run(tc.env, func(t *testing.T) {
			c, from, err := node.LoadConfigEnv(t.TempDir(), []string{tc.env + "=" + tc.value})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.got(c); got != tc.want {
				t.Errorf("%s=%s: got %v, want %v", tc.env, tc.value, got, tc.want)
			}
			if got, want := from.Of(tc.origin), "env "+tc.env; got != want {
				t.Errorf("origin %q, want %q", got, want)
			}
		})
	}
	if names := node.EnvNames(); !slices.Contains(names, "IOTLEDGER_SNAPSHOTS_KEEP_RECENT") || !slices.Contains(names, "IOTLEDGER_INGEST_MAX_DELAY") {
		t.Errorf("EnvNames lacks settings: %v", names)
	}
}

// TestEnvParsesAsTOML: a variable's text means what the same text means as
// the value in iotledger.toml (without the quotes strings need there).
func TestEnvParsesAsTOML(t *testing.T) {
	for _, tc := range []struct {
		env, value string
		got        func(node.Config) any
		want       any
	}{
		{"IOTLEDGER_INGEST_MAX_BATCH", "1_000", func(c node.Config) any { return c.Ingest.MaxBatch }, 1000},
		{"IOTLEDGER_INGEST_QUEUE_SIZE", "0x100", func(c node.Config) any { return c.Ingest.QueueSize }, 256},
		{"IOTLEDGER_API_MAX_BODY_BYTES", "+65536", func(c node.Config) any { return c.API.MaxBodyBytes }, int64(65536)},
		{"IOTLEDGER_STORE_CHECK_READINGS", "5000", func(c node.Config) any { return c.StoreCheck.Readings }, uint64(5000)},
		{"IOTLEDGER_API_RATE_PER_IP", "2.5", func(c node.Config) any { return c.API.RatePerIP }, 2.5},
		{"IOTLEDGER_API_RATE_PER_IP", "40", func(c node.Config) any { return c.API.RatePerIP }, 40.0},
		{"IOTLEDGER_API_RATE_PER_IP", "1e3", func(c node.Config) any { return c.API.RatePerIP }, 1000.0},
		{"IOTLEDGER_API_LIMIT_LOOPBACK", "true", func(c node.Config) any { return c.API.LimitLoopback }, true},
		{"IOTLEDGER_MQTT_ENABLED", "false", func(c node.Config) any { return c.MQTT.Enabled }, false},
		{"IOTLEDGER_API_WAIT_TIMEOUT", "1m30s", func(c node.Config) any { return c.API.WaitTimeout.Duration }, 90 * time.Second},
		{"IOTLEDGER_MQTT_WRITE_TIMEOUT", "250ms", func(c node.Config) any { return c.MQTT.WriteTimeout }, 250 * time.Millisecond},
		{"IOTLEDGER_API_ADDR", ` "spaces" and # kept `, func(c node.Config) any { return c.API.Addr }, ` "spaces" and # kept `},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			c, _, err := node.LoadConfigEnv(t.TempDir(), []string{tc.env + "=" + tc.value})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.got(c); got != tc.want {
				t.Errorf("got %v (%T), want %v (%T)", got, got, tc.want, tc.want)
			}
		})
	}
}

// TestEnvBadValues: a value that does not parse is refused naming the
// variable, the setting and what it takes.
func TestEnvBadValues(t *testing.T) {
	for _, tc := range []struct {
		env, value string
		want       []string
	}{
		{"IOTLEDGER_INGEST_MAX_BATCH", "1.5", []string{"IOTLEDGER_INGEST_MAX_BATCH", "ingest.max_batch", "want a whole number"}},
		{"IOTLEDGER_INGEST_MAX_BATCH", "lots", []string{"IOTLEDGER_INGEST_MAX_BATCH", "ingest.max_batch", "want a whole number"}},
		{"IOTLEDGER_INGEST_MAX_BATCH", "99999999999999999999", []string{"ingest.max_batch", "want a whole number"}},
		{"IOTLEDGER_STORE_CHECK_READINGS", "-1", []string{"IOTLEDGER_STORE_CHECK_READINGS", "store_check.readings", "from 0"}},
		{"IOTLEDGER_API_LIMIT_LOOPBACK", "yes", []string{"IOTLEDGER_API_LIMIT_LOOPBACK", "api.limit_loopback", "true or false"}},
		{"IOTLEDGER_API_LIMIT_LOOPBACK", "1", []string{"api.limit_loopback", "true or false"}},
		{"IOTLEDGER_API_RATE_PER_IP", "fast", []string{"IOTLEDGER_API_RATE_PER_IP", "api.rate_per_ip", "a number"}},
		{"IOTLEDGER_API_WAIT_TIMEOUT", "10", []string{"IOTLEDGER_API_WAIT_TIMEOUT", "api.wait_timeout", "a duration"}},
		{"IOTLEDGER_MQTT_WRITE_TIMEOUT", "soon", []string{"IOTLEDGER_MQTT_WRITE_TIMEOUT", "mqtt.write_timeout", "a duration"}},
		{"IOTLEDGER_INGEST_MAX_BATCH", "1\nlog = 2", []string{"IOTLEDGER_INGEST_MAX_BATCH", "one line"}},
		{"IOTLEDGER_API_ADR", "0.0.0.0:1", []string{"IOTLEDGER_API_ADR", "[api] has no setting adr", "IOTLEDGER_API_ADDR", "IOTLEDGER_<SECTION>_<KEY>"}},
		{"IOTLEDGER_MQTT_BRIDGE_PASS", "x", []string{"[mqtt.bridge] has no setting pass", "IOTLEDGER_MQTT_BRIDGE_PASSWORD"}},
		{"IOTLEDGER_STORE_CHECK_MOD", "full", []string{"[store_check] has no setting mod"}},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			_, _, err := node.LoadConfigEnv(t.TempDir(), []string{tc.env + "=" + tc.value})
			if err == nil {
				t.Fatalf("%s=%q accepted", tc.env, tc.value)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestEnvPrecedence: the environment wins over the file, which wins over
// the defaults; an empty variable is unset; variables of iotledger's other
// tools (not named like a section's) are left alone.
func TestEnvPrecedence(t *testing.T) {
	home := t.TempDir()
	writeFile(t, home, "[api]\naddr = \"127.0.0.1:9000\"\nmax_ips = 5\n[mqtt.bridge]\nuser = \"file-user\"\n")
	c, from, err := node.LoadConfigEnv(home, []string{
		"IOTLEDGER_API_ADDR=127.0.0.1:9001",
		"IOTLEDGER_API_ADDR=127.0.0.1:9002", // a duplicate: the first counts, as for os.Getenv
		"IOTLEDGER_MQTT_BRIDGE_USER=",
		"IOTLEDGER_FAULT_SEED=7", "IOTLEDGER_SENDER_API=x", "IOTLEDGER_HOME=/elsewhere",
		"PATH=/bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"api.addr": c.API.Addr, "api.max_ips": c.API.MaxIPs, "mqtt.bridge.user": c.MQTT.Bridge.User, "api.max_body_bytes": c.API.MaxBodyBytes}
	want := map[string]any{"api.addr": "127.0.0.1:9001", "api.max_ips": 5, "mqtt.bridge.user": "file-user", "api.max_body_bytes": node.Default().API.MaxBodyBytes}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("values (-got +want):\n%s", diff)
	}
	gotFrom := map[string]string{}
	for k := range want {
		gotFrom[k] = from.Of(k)
	}
	wantFrom := map[string]string{"api.addr": "env IOTLEDGER_API_ADDR", "api.max_ips": "file", "mqtt.bridge.user": "file", "api.max_body_bytes": "default"}
	if diff := cmp.Diff(gotFrom, wantFrom); diff != "" {
		t.Errorf("origins (-got +want):\n%s", diff)
	}
}

// TestSettingsHideSecrets: the bridge password is shown as set or not,
// never itself.
func TestSettingsHideSecrets(t *testing.T) {
	for _, tc := range []struct{ password, want string }{{"", `""`}, {"hunter2", "(set)"}} {
		c := node.Default()
		c.MQTT.Bridge.Password = tc.password
		var found bool
		for _, s := range c.Settings(nil) {
			if s.Value != "" && tc.password != "" && strings.Contains(s.Value, tc.password) {
				t.Errorf("%s shows the password: %s", s.Key, s.Value)
			}
			if s.Key == "mqtt.bridge.password" {
				found = true
				if !s.Secret || s.Value != tc.want {
					t.Errorf("password %q shown as %s (secret %v), want %s", tc.password, s.Value, s.Secret, tc.want)
				}
			}
		}
		if !found {
			t.Error("no setting mqtt.bridge.password")
		}
	}
}

// TestConfigFileStatesRule: the file init writes states the rule for the
// environment, not a list of some of the names.
func TestConfigFileStatesRule(t *testing.T) {
	p := filepath.Join(t.TempDir(), node.ConfigFile)
	if err := node.WriteConfig(p, node.Default()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(b), "\n[api]\n")
	for _, w := range []string{"IOTLEDGER_<SECTION>_<KEY>", "IOTLEDGER_MQTT_BRIDGE_URL", "iotledger config show"} {
		if !strings.Contains(header, w) {
			t.Errorf("the file's header does not say %q:\n%s", w, header)
		}
	}
}

// TestLoadConfigReadsEnvironment: LoadConfig, which start, dev and every
// client command use, reads the process's environment for every setting,
// not only the three names it once listed.
func TestLoadConfigReadsEnvironment(t *testing.T) {
	t.Setenv("IOTLEDGER_MQTT_BRIDGE_URL", "tcp://broker.example:1883")
	t.Setenv("IOTLEDGER_LOG_LEVEL", "warn")
	t.Setenv("IOTLEDGER_SNAPSHOTS_INTERVAL", "500")
	t.Setenv("IOTLEDGER_API_ADDR", "127.0.0.1:9999")
	c, err := node.LoadConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.MQTT.Bridge.URL, c.Log.Level, c.Snapshots.Interval, c.API.Addr}
	want := []any{"tcp://broker.example:1883", "warn", int64(500), "127.0.0.1:9999"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
}
