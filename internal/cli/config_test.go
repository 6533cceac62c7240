package cli_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestConfigShow: config show prints each setting in effect with where it
// came from (default, file, env, flag) and never a secret.
func TestConfigShow(t *testing.T) {
	home := t.TempDir()
	mustRun(t, "init", "--home", home)
	t.Setenv("IOTLEDGER_API_ADDR", "0.0.0.0:9080")
	t.Setenv("IOTLEDGER_INGEST_MAX_BATCH", "1_000")
	t.Setenv("IOTLEDGER_MQTT_BRIDGE_PASSWORD", "hunter2-secret")
	out := mustRun(t, "config", "show", "--home", home, "--log-level", "debug", "--mqtt-bridge-user", "ledger")
	for _, want := range []string{
		`addr = "0.0.0.0:9080" +# env IOTLEDGER_API_ADDR`,
		`max_batch = 1000 +# env IOTLEDGER_INGEST_MAX_BATCH`,
		`password = \(set\) +# env IOTLEDGER_MQTT_BRIDGE_PASSWORD`,
		`level = "debug" +# flag --log-level`,
		`user = "ledger" +# flag --mqtt-bridge-user`,
		`max_body_bytes = 8388608 +# file \(the default\)`,
		`(?m)^\[mqtt\.bridge\]$`,
		`rpc = "127.0.0.1:26657" +# config.toml rpc.laddr`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("config show has no line like %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("config show prints the bridge password:\n%s", out)
	}

	// Without a file: defaults.
	empty := t.TempDir()
	out = mustRun(t, "config", "show", "--home", empty)
	if !regexp.MustCompile(`wait_timeout = "10s" +# default`).MatchString(out) || !strings.Contains(out, "(absent)") {
		t.Errorf("config show of a home without iotledger.toml:\n%s", out)
	}
}

// TestConfigShowRefuses: a value start would refuse is refused by config
// show too, naming where it came from.
func TestConfigShowRefuses(t *testing.T) {
	home := t.TempDir()
	mustRun(t, "init", "--home", home)
	t.Run("does not parse", func(t *testing.T) {
		t.Setenv("IOTLEDGER_MQTT_WRITE_TIMEOUT", "10")
		mustFail(t, 1, []string{"IOTLEDGER_MQTT_WRITE_TIMEOUT", "mqtt.write_timeout", "want a duration"}, "config", "show", "--home", home)
	})
	t.Run("does not validate", func(t *testing.T) {
		t.Setenv("IOTLEDGER_API_ADDR", "nonsense")
		out, _ := mustFail(t, 1, []string{"api.addr", "want HOST:PORT", "api.addr is from env IOTLEDGER_API_ADDR"}, "config", "show", "--home", home)
		if !strings.Contains(out, `addr = "nonsense"`) {
			t.Errorf("config show printed nothing of the refused settings:\n%s", out)
		}
	})
	t.Run("start refuses alike", func(t *testing.T) {
		t.Setenv("IOTLEDGER_API_LIMIT_LOOPBACK", "yes")
		mustFail(t, 1, []string{"IOTLEDGER_API_LIMIT_LOOPBACK", "api.limit_loopback", "true or false"}, "start", "--home", home)
	})
}
