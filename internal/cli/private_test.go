package cli_test

import (
	"testing"
)

// The private readings' commands refuse bad input before they look for a
// node (--api points nowhere that answers), naming what was wrong and
// what to do.
func TestPrivateCommandsRefuseBadInput(t *testing.T) {
	home := t.TempDir()
	importKey(t, home, "owner", fixedSeed(1))
	importKey(t, home, "sensor", fixedSeed(2))
	api := "http://127.0.0.1:1"
	tests := []struct {
		name  string
		args  []string
		hints []string
	}{
		{"erase: no epochs", []string{"data", "erase", "sensor"}, []string{`"epochs"`}},
		{"erase: epoch 0", []string{"data", "erase", "sensor", "--epochs", "0-2"}, []string{"epoch 0 does not exist", "such as 1-3,5"}},
		{"erase: backwards", []string{"data", "erase", "sensor", "--epochs", "1,5-3"}, []string{`range "5-3" ends before it begins`}},
		{"erase: not a number", []string{"data", "erase", "sensor", "--epochs", "one"}, []string{`"one" is not a number or a range`}},
		{"erase: unknown device", []string{"data", "erase", "pump", "--epochs", "1"}, []string{`"pump" is neither a device id`, "`iotledger keys new pump`"}},
		{"erase: broken device id", []string{"data", "erase", "dev1xyz", "--epochs", "1"}, []string{`"dev1xyz" is not a valid device id`}},
		{"grant: no --to", []string{"access", "grant", "sensor"}, []string{`"to"`}},
		{"grant: bad account", []string{"access", "grant", "sensor", "--to", "acc1nope"}, []string{`"acc1nope" is not a valid account address`}},
		{"revoke: whose?", []string{"access", "revoke", "sensor"}, []string{"give --from ACCOUNT"}},
		{"revoke: two accounts", []string{"access", "revoke", "sensor", "--from", "owner", "--to", "sensor"}, []string{"name two accounts; give one"}},
		{"private: no fields", []string{"device", "private", "sensor", ","}, []string{"no field names given"}},
		{"decrypt: bad seq", []string{"reading", "decrypt", "sensor", "x"}, []string{`SEQ "x" is not a sequence number`}},
		{"decrypt: key without encryption", []string{"reading", "decrypt", "sensor", "1", "--key", "sensor"}, []string{"key sensor", "holds no encryption key", "--key NAME"}},
		{"send: --private field not given", []string{"reading", "send", "--device", "sensor", "--private", "temp,hr", "temp=1"}, []string{`--private names "hr", but no hr=VALUE is given`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustFail(t, 1, tt.hints, append(tt.args, "--home", home, "--api", api)...)
		})
	}
}
