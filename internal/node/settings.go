package node

import (
	"encoding"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// EnvPrefix begins every environment variable that sets a setting of
// iotledger.toml: IOTLEDGER_<SECTION>_<KEY>, the TOML path in capitals
// with '.' as '_' (api.addr is IOTLEDGER_API_ADDR, [mqtt.bridge] url is
// IOTLEDGER_MQTT_BRIDGE_URL). Every field with a toml tag in Config is a
// setting: there is no list to keep.
const EnvPrefix = "IOTLEDGER_"

// The variables for what is not a setting of iotledger.toml: CometBFT's
// listen addresses (config.toml) and the home.
const (
	EnvRPCAddr = "IOTLEDGER_RPC_ADDR"
	EnvP2PAddr = "IOTLEDGER_P2P_ADDR"
	EnvHome    = "IOTLEDGER_HOME"
)

// Origin keys of the two addresses that are not settings of the file.
const (
	OriginRPCAddr = "rpc_addr"
	OriginP2PAddr = "p2p_addr"
)

// Origins says where each setting's value came from, by key (api.addr):
// "file", "env IOTLEDGER_API_ADDR" or "flag --api-addr". A key that is
// not there has its default.
type Origins map[string]string

// Of is where key's value came from: "default" when nowhere else.
func (o Origins) Of(key string) string {
	if s, ok := o[key]; ok {
		return s
	}
	return "default"
}

// Setting is one setting of iotledger.toml with its current value.
type Setting struct {
	Section string // mqtt.bridge
	Key     string // mqtt.bridge.url
	Name    string // url
	Env     string // IOTLEDGER_MQTT_BRIDGE_URL
	// Value is the value as the file would write it (strings and durations
	// quoted); a secret's is "(set)", or "" quoted when empty.
	Value  string
	Secret bool
	From   string // "default", "file", "env VAR", "flag --NAME"
}

// setting is one leaf of Config found by reflection.
type setting struct {
	section, key, name, env string
	v                       reflect.Value // the field, addressable
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// isValue reports whether a field of type t is one setting (not a section):
// anything but a struct, and a struct that reads itself from text
// (Duration).
func isValue(t reflect.Type) bool {
	return t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(textUnmarshaler)
}

// settings lists c's settings in the file's order: a section's own
// settings, then its subsections. c must be a pointer to a Config.
func settings(c *Config) []setting {
	var out []setting
	var walk func(v reflect.Value, path []string)
	walk = func(v reflect.Value, path []string) {
		var subs []func()
		for i := range v.NumField() {
			f := v.Type().Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if !f.IsExported() || tag == "-" {
				continue
			}
			if tag == "" {
				tag = strings.ToLower(f.Name)
			}
			p := append(slices.Clone(path), tag)
			if isValue(f.Type) {
				out = append(out, setting{section: strings.Join(path, "."), key: strings.Join(p, "."), name: tag,
					env: EnvPrefix + strings.ToUpper(strings.Join(p, "_")), v: v.Field(i)})
				continue
			}
			fv := v.Field(i)
			subs = append(subs, func() { walk(fv, p) })
		}
		for _, s := range subs {
			s()
		}
	}
	walk(reflect.ValueOf(c).Elem(), nil)
	return out
}

// sectionPrefixes are the variable prefixes of c's sections
// (IOTLEDGER_API_, IOTLEDGER_MQTT_BRIDGE_, ...), longest first.
func sectionPrefixes(ss []setting) []string {
	var ps []string
	for _, s := range ss {
		p := EnvPrefix + strings.ToUpper(strings.ReplaceAll(s.section, ".", "_")) + "_"
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b string) int { return len(b) - len(a) })
	return ps
}

// EnvNames are the environment variables of every setting, in the file's
// order.
func EnvNames() []string {
	var c Config
	var names []string
	for _, s := range settings(&c) {
		names = append(names, s.env)
	}
	return names
}

// LoadConfigEnv is LoadConfig with the environment given (as os.Environ
// returns it) and where each setting came from. A variable set to the
// empty string counts as unset. A variable named like a setting of a
// section (IOTLEDGER_API_...) that is no setting is refused, as an
// unknown setting in the file is.
func LoadConfigEnv(home string, environ []string) (Config, Origins, error) {
	c := Default()
	from := Origins{}
	p := filepath.Join(home, "config", ConfigFile)
	md, err := toml.DecodeFile(p, &c)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return c, from, fmt.Errorf("config: %s: %w", p, err)
	default:
		if und := md.Undecoded(); len(und) > 0 {
			return c, from, fmt.Errorf("config: %s: unknown setting %q; see the commented file `iotledger init` writes", p, und[0].String())
		}
	}
	ss := settings(&c)
	if err == nil {
		for _, s := range ss {
			if md.IsDefined(strings.Split(s.key, ".")...) {
				from[s.key] = "file"
			}
		}
	}

	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if _, seen := env[k]; ok && !seen && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v // the first of duplicates, as os.Getenv
		}
	}
	known := map[string]bool{EnvRPCAddr: true, EnvP2PAddr: true, EnvHome: true}
	for _, s := range ss {
		known[s.env] = true
		v := env[s.env]
		if v == "" {
			continue
		}
		if err := setText(s.v, v); err != nil {
			return c, from, fmt.Errorf("config: %s=%q (setting %s): %v", s.env, v, s.key, err)
		}
		from[s.key] = "env " + s.env
	}
	prefixes := sectionPrefixes(ss)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if known[k] || env[k] == "" {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				return c, from, fmt.Errorf("config: %s is set, but [%s] has no setting %s; the variables of [%s] are %s (the rule: %s<SECTION>_<KEY>)",
					k, sectionOf(p), strings.ToLower(strings.TrimPrefix(k, p)), sectionOf(p), strings.Join(envOfSection(ss, sectionOf(p)), ", "), EnvPrefix)
			}
		}
	}
	if v := env[EnvRPCAddr]; v != "" {
		c.RPCAddr, from[OriginRPCAddr] = v, "env "+EnvRPCAddr
	}
	if v := env[EnvP2PAddr]; v != "" {
		c.P2PAddr, from[OriginP2PAddr] = v, "env "+EnvP2PAddr
	}
	return c, from, nil
}

// sectionOf is the section a variable prefix stands for: "mqtt.bridge"
// for IOTLEDGER_MQTT_BRIDGE_. Sections hold '_' in their own names
// (store_check), so it is looked up, not computed.
func sectionOf(prefix string) string {
	var c Config
	for _, s := range settings(&c) {
		if EnvPrefix+strings.ToUpper(strings.ReplaceAll(s.section, ".", "_"))+"_" == prefix {
			return s.section
		}
	}
	return ""
}

func envOfSection(ss []setting, section string) []string {
	var out []string
	for _, s := range ss {
		if s.section == section {
			out = append(out, s.env)
		}
	}
	return out
}

// setText sets v from an environment variable's text, parsed as the TOML
// file's value of that type is: a string as it is (no quotes), a duration
// ("10s") as time.ParseDuration does, a type that reads itself from text
// (Duration) by its UnmarshalText, and a number or bool by the TOML
// decoder itself, so that 1_000_000 and 0x10 mean what they mean in the
// file and 1.5 is no integer.
func setText(v reflect.Value, text string) error {
	t := v.Type()
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			return fmt.Errorf("want %s", want(t))
		}
		return nil
	}
	switch {
	case t == durationType:
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("want %s", want(t))
		}
		v.SetInt(int64(d))
		return nil
	case t.Kind() == reflect.String:
		v.SetString(text)
		return nil
	}
	if strings.ContainsAny(text, "\n\r") {
		return fmt.Errorf("want %s on one line", want(t))
	}
	bad := fmt.Errorf("want %s", want(t))
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		// The TOML decoder reads the literal; the range is checked here,
		// since it puts -1 into an unsigned field as its largest value.
		var lit any
		if err := decodeTOML(text, &lit); err != nil {
			return bad
		}
		switch n := lit.(type) {
		case int64:
			switch {
			case v.CanInt() && !v.OverflowInt(n):
				v.SetInt(n)
			case v.CanUint() && n >= 0 && !v.OverflowUint(uint64(n)):
				v.SetUint(uint64(n))
			case v.CanFloat():
				v.SetFloat(float64(n))
			default:
				return bad
			}
		case float64:
			if !v.CanFloat() || v.OverflowFloat(n) {
				return bad
			}
			v.SetFloat(n)
		default:
			return bad
		}
		return nil
	}
	p := reflect.New(t)
	if err := decodeTOML(text, p.Interface()); err != nil {
		return bad
	}
	v.Set(p.Elem())
	return nil
}

// decodeTOML decodes the TOML value text into the value p points to.
func decodeTOML(text string, p any) error {
	doc := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "V", Type: reflect.TypeOf(p).Elem(), Tag: `toml:"v"`}}))
	md, err := toml.Decode("v = "+text, doc.Interface())
	if err != nil {
		return err
	}
	if len(md.Undecoded()) > 0 {
		return errors.New("more than one value")
	}
	reflect.ValueOf(p).Elem().Set(doc.Elem().Field(0))
	return nil
}

// want says what a setting of type t takes.
func want(t reflect.Type) string {
	if t == durationType || t == reflect.TypeFor[Duration]() {
		return `a duration such as 500ms, 10s or 1m30s`
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("a whole number (up to %d bits, such as 1000 or 1_000_000)", t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("a whole number from 0 (up to %d bits, such as 1000 or 1_000_000)", t.Bits())
	case reflect.Float32, reflect.Float64:
		return "a number such as 100 or 2.5"
	}
	return "a TOML value of type " + t.String()
}

// isSecret reports whether a setting's value is kept out of what the node
// prints: passwords and secrets, by name.
func isSecret(name string) bool {
	return name == "password" || name == "secret" || strings.HasSuffix(name, "_password") || strings.HasSuffix(name, "_secret")
}

// Settings lists c's settings in the file's order with their values and
// where each came from. Secrets show "(set)", never their value.
func (c Config) Settings(from Origins) []Setting {
	var out []Setting
	for _, s := range settings(&c) {
		st := Setting{Section: s.section, Key: s.key, Name: s.name, Env: s.env, Secret: isSecret(s.name), From: from.Of(s.key)}
		switch {
		case st.Secret && s.v.IsZero():
			st.Value = `""`
		case st.Secret:
			st.Value = "(set)"
		default:
			st.Value = formatValue(s.v)
		}
		out = append(out, st)
	}
	return out
}

// formatValue writes v as the file would: strings and durations quoted.
func formatValue(v reflect.Value) string {
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		if err == nil {
			return fmt.Sprintf("%q", b)
		}
	}
	switch {
	case v.Type() == durationType:
		return fmt.Sprintf("%q", time.Duration(v.Int()).String())
	case v.Kind() == reflect.String:
		return fmt.Sprintf("%q", v.String())
	}
	return fmt.Sprint(v.Interface())
}
