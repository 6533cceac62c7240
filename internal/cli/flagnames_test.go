package cli_test

import (
	"regexp"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iotledger/iotledger/internal/cli"
)

// typeNames are the value names pflag gives a flag from its type, when
// the usage names none.
var typeNames = map[string]bool{
	"string": true, "int": true, "int64": true, "uint": true, "uint64": true, "float": true, "float64": true,
	"duration": true, "strings": true, "stringArray": true, "ints": true, "stringToString": true, "bytesHex": true,
}

// placeholder is a value name written in a usage string: FILE, HOST:PORT,
// N, KEY=VALUE.
var placeholder = regexp.MustCompile(`^[A-Z][A-Z0-9_]*([:=.,|-][A-Z][A-Z0-9_]*)*$`)

// TestFlagValueNames: --help names each flag's value with its type or a
// placeholder in capitals. pflag takes the first back-quoted word of a
// usage string as the value name, so a usage that quotes a command
// (`dev`) shows `--home dev`.
func TestFlagValueNames(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			if name == "" || typeNames[name] || placeholder.MatchString(name) {
				return
			}
			t.Errorf("%s --%s shows its value as %q in --help; name it with its type or a `PLACEHOLDER` in capitals, and quote commands otherwise", c.CommandPath(), f.Name, name)
		}
		c.LocalFlags().VisitAll(check) // with the persistent flags it defines
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := cli.Root()
	walk(root)
}
