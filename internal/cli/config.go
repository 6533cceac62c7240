package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotledger/iotledger/internal/node"
)

func configCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Show a node's settings and where each comes from"}
	var f nodeFlags
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the settings in effect for the home, each with where it came from (default, file, env VAR, flag)",
		Long: `show prints every setting of iotledger.toml as start would use it on this
home, in the file's layout, each followed by where its value came from:
default, file (HOME/config/iotledger.toml), env VAR, or flag --NAME (give
start's flags to show, and it applies them as start does). Every setting
can be set from the environment as IOTLEDGER_<SECTION>_<KEY>. Secrets (the
bridge password) show as (set), never their value. A configuration start
would refuse is printed, then refused.`,
		Example: "  iotledger config show --home /var/lib/iotledger\n  IOTLEDGER_API_ADDR=0.0.0.0:8080 iotledger config show --home /var/lib/iotledger --log-level debug",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.homeDir("")
			cfg, from, err := f.settings(home)
			if err != nil {
				return err
			}
			writeSettings(e, home, cfg, from)
			return validate(cfg, from)
		},
	}
	f.register(show)
	c.AddCommand(show)
	return c
}

// settings is the home's configuration with the flags applied, and where
// each setting came from; not validated.
func (f *nodeFlags) settings(home string) (node.Config, node.Origins, error) {
	cfg, from, err := node.LoadConfigEnv(home, os.Environ())
	if err != nil {
		return cfg, from, err
	}
	set := func(key, flag string) { from[key] = "flag --" + flag }
	if f.apiAddr != "" {
		cfg.API.Addr = f.apiAddr
		set("api.addr", "api-addr")
	}
	if f.rpcAddr != "" {
		cfg.RPCAddr = f.rpcAddr
		set(node.OriginRPCAddr, "rpc-addr")
	}
	if f.p2pAddr != "" {
		cfg.P2PAddr = f.p2pAddr
		set(node.OriginP2PAddr, "p2p-addr")
	}
	if f.logLevel != "" {
		cfg.Log.Level = f.logLevel
		set("log.level", "log-level")
	}
	switch f.mqttAddr {
	case "":
	case "off":
		cfg.MQTT.Enabled = false
		set("mqtt.enabled", "mqtt-addr")
	default:
		cfg.MQTT.Enabled, cfg.MQTT.Addr = true, f.mqttAddr
		set("mqtt.enabled", "mqtt-addr")
		set("mqtt.addr", "mqtt-addr")
	}
	b := &cfg.MQTT.Bridge
	for _, o := range []struct {
		flag, dst *string
		key, name string
	}{
		{&f.bridgeURL, &b.URL, "mqtt.bridge.url", "mqtt-bridge"},
		{&f.bridgeUser, &b.User, "mqtt.bridge.user", "mqtt-bridge-user"},
		{&f.bridgePassword, &b.Password, "mqtt.bridge.password", "mqtt-bridge-password"},
		{&f.bridgeCA, &b.CAFile, "mqtt.bridge.ca_file", "mqtt-bridge-ca"},
		{&f.bridgeCert, &b.CertFile, "mqtt.bridge.cert_file", "mqtt-bridge-cert"},
		{&f.bridgeKey, &b.KeyFile, "mqtt.bridge.key_file", "mqtt-bridge-key"},
	} {
		if *o.flag != "" {
			*o.dst = *o.flag
			set(o.key, o.name)
		}
	}
	if f.bridgeInsecure {
		b.InsecureSkipVerify = true
		set("mqtt.bridge.insecure_skip_verify", "mqtt-bridge-insecure")
	}
	return cfg, from, nil
}

// load is settings, validated.
func (f *nodeFlags) load(home string) (node.Config, node.Origins, error) {
	cfg, from, err := f.settings(home)
	if err != nil {
		return cfg, from, err
	}
	return cfg, from, validate(cfg, from)
}

// validate is cfg.Validate, its error followed by where the settings it
// names came from when that was not the file or the default, so that a
// bad value set in a service's environment is found where it is.
func validate(cfg node.Config, from node.Origins) error {
	err := cfg.Validate()
	if err == nil {
		return nil
	}
	var notes []string
	for _, s := range cfg.Settings(from) {
		if strings.HasPrefix(s.From, "env ") || strings.HasPrefix(s.From, "flag ") {
			if regexp.MustCompile(`(^|[^a-z_.])` + regexp.QuoteMeta(s.Key) + `($|[^a-z_.])`).MatchString(err.Error()) {
				notes = append(notes, s.Key+" is from "+s.From)
			}
		}
	}
	for key, flag := range map[string]string{node.OriginRPCAddr: "--rpc-addr", node.OriginP2PAddr: "--p2p-addr"} {
		if o := from.Of(key); strings.HasPrefix(o, "env ") && strings.Contains(err.Error(), flag) {
			notes = append(notes, flag+" is from "+o)
		}
	}
	if len(notes) == 0 {
		return err
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(notes, "; "))
}

// writeSettings prints cfg in the layout of iotledger.toml, each setting
// followed by where it came from.
func writeSettings(e *env, home string, cfg node.Config, from node.Origins) {
	file := filepath.Join(home, "config", node.ConfigFile)
	if _, err := os.Stat(file); err != nil {
		file += " (absent)"
	}
	e.printf("# Settings in effect for the home %s: defaults, then the file\n# %s, then the environment (%s<SECTION>_<KEY>), then flags.\n",
		home, file, node.EnvPrefix)
	ss := cfg.Settings(from)
	width := 0
	for _, s := range ss {
		width = max(width, len(s.Name)+3+len(s.Value))
	}
	width = min(width, 44)
	def := map[string]string{}
	for _, s := range node.Default().Settings(nil) {
		def[s.Key] = s.Value
	}
	section := "\x00"
	for _, s := range ss {
		if s.Section != section {
			section = s.Section
			e.printf("\n[%s]\n", section)
		}
		from := s.From
		if from != "default" && s.Value == def[s.Key] {
			from += " (the default)"
		}
		e.printf("%-*s  # %s\n", width, s.Name+" = "+s.Value, from)
	}
	rpc, p2p := cfg.RPCAddr, cfg.P2PAddr
	rpcFrom, p2pFrom := from.Of(node.OriginRPCAddr), from.Of(node.OriginP2PAddr)
	if cc, err := node.LoadCometConfig(home); err == nil {
		if rpc == "" {
			rpc, rpcFrom = strings.TrimPrefix(cc.RPC.ListenAddress, "tcp://"), "config.toml rpc.laddr"
		}
		if p2p == "" {
			p2p, p2pFrom = strings.TrimPrefix(cc.P2P.ListenAddress, "tcp://"), "config.toml p2p.laddr"
		}
	}
	e.printf("\n# CometBFT's addresses: config.toml's, unless %s, %s,\n# --rpc-addr or --p2p-addr override them.\n", node.EnvRPCAddr, node.EnvP2PAddr)
	for _, a := range []struct{ name, addr, from string }{{"rpc", rpc, rpcFrom}, {"p2p", p2p, p2pFrom}} {
		if a.addr == "" {
			a.addr, a.from = "(none)", "no config.toml in the home: run iotledger init"
		}
		e.printf("# %-*s  # %s\n", width-2, a.name+" = "+fmt.Sprintf("%q", a.addr), a.from)
	}
}
