package node

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// otherText is a value for s, as an environment variable's text, that
// differs from its default: every kind a setting can have.
func otherText(t *testing.T, s setting) string {
	t.Helper()
	v := s.v
	switch {
	case v.Type() == durationType:
		return (time.Duration(v.Int()) + 1500*time.Millisecond).String()
	case v.Type() == reflect.TypeFor[Duration]():
		return (v.Interface().(Duration).Duration + 1500*time.Millisecond).String()
	}
	switch v.Kind() {
	case reflect.String:
		return "other-" + s.name
	case reflect.Bool:
		return fmt.Sprint(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprint(v.Int() + 7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprint(v.Uint() + 7)
	case reflect.Float32, reflect.Float64:
		return fmt.Sprint(v.Float() + 2.5)
	}
	t.Fatalf("setting %s has type %s, which no environment variable can set: teach setText and this test its text", s.key, v.Type())
	return ""
}

// TestEnvSetsEverySetting: each field of Config with a toml tag (so each
// setting of iotledger.toml, including ones added later) is set by its
// IOTLEDGER_<SECTION>_<KEY> variable, and by nothing else.
func TestEnvSetsEverySetting(t *testing.T) {
	def := Default()
	all := settings(&def)
	if len(all) < 40 {
		t.Fatalf("found %d settings in Config; the walk misses sections", len(all))
	}
	home := t.TempDir()
	for i, s := range all {
		t.Run(s.key, func(t *testing.T) {
			text := otherText(t, s)
			got, from, err := LoadConfigEnv(home, []string{s.env + "=" + text})
			if err != nil {
				t.Fatalf("%s=%s: %v", s.env, text, err)
			}
			if want := "env " + s.env; from.Of(s.key) != want {
				t.Errorf("origin of %s = %q, want %q", s.key, from.Of(s.key), want)
			}
			for j, g := range settings(&got) {
				changed := !reflect.DeepEqual(g.v.Interface(), all[j].v.Interface())
				if j == i && !changed {
					t.Errorf("%s=%s left %s at its default %v", s.env, text, s.key, g.v.Interface())
				}
				if j != i && changed {
					t.Errorf("%s=%s changed %s too (%v)", s.env, text, g.key, g.v.Interface())
				}
				if j == i && formatValue(g.v) == formatValue(all[j].v) {
					t.Errorf("%s=%s: %s reads %s, as before", s.env, text, s.key, formatValue(g.v))
				}
			}
		})
	}
}

// TestEnvNamesUnique: no two settings share a variable, and none takes the
// name of a variable that is not a setting.
func TestEnvNamesUnique(t *testing.T) {
	var c Config
	seen := map[string]string{EnvRPCAddr: "rpc address", EnvP2PAddr: "p2p address", EnvHome: "the home"}
	for _, s := range settings(&c) {
		if other, ok := seen[s.env]; ok {
			t.Errorf("%s and %s are both %s", s.key, other, s.env)
		}
		seen[s.env] = s.key
		if strings.ContainsAny(s.name, " .-") || s.name != strings.ToLower(s.name) {
			t.Errorf("setting %s: key %q is not lower_snake_case", s.key, s.name)
		}
	}
}

// TestEveryFieldTagged: a field without a toml tag would be a setting
// under its Go name; every exported field says its key (or "-").
func TestEveryFieldTagged(t *testing.T) {
	var walk func(tp reflect.Type, path string)
	walk = func(tp reflect.Type, path string) {
		for i := range tp.NumField() {
			f := tp.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("toml")
			if tag == "" {
				t.Errorf("%s.%s has no toml tag", path, f.Name)
			}
			if tag != "-" && !isValue(f.Type) {
				walk(f.Type, path+"."+f.Name)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "Config")
}
