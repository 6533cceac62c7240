package cli_test

import (
	"testing"
)

func TestValidatorList(t *testing.T) {
	_, _, flags := fakeNode(t)
	golden(t, "validator-list.golden", mustRun(t, append([]string{"validator", "list"}, flags...)...))
}

func TestValidatorProposals(t *testing.T) {
	_, _, flags := fakeNode(t)
	golden(t, "validator-proposals.golden", mustRun(t, append([]string{"validator", "proposals"}, flags...)...))
	golden(t, "validator-proposals-all.golden", mustRun(t, append([]string{"validator", "proposals", "--all"}, flags...)...))
}

func TestValidatorRefusals(t *testing.T) {
	_, _, flags := fakeNode(t)
	for _, tc := range []struct {
		name  string
		args  []string
		hints []string
	}{
		{"no change", []string{"propose"}, []string{"--add PUBKEY", "--remove KEY", "--set-power KEY"}},
		{"two changes", []string{"propose", "--remove", "x", "--set-power", "y", "--power", "3"}, []string{"one of"}},
		{"add a bad key", []string{"propose", "--add", "AAAA", "--power", "3", "--consent", "x"}, []string{"--add", "not an Ed25519 public key in base64"}},
		{"add without consent", []string{"propose", "--add", "f3swdjk9D7ccc6F6zQ+7/3YRJbnn5Ps+kZcbnG1etFc=", "--power", "3"}, []string{"--consent SIG", "iotledger validator consent"}},
		{"add without power", []string{"propose", "--add", "f3swdjk9D7ccc6F6zQ+7/3YRJbnn5Ps+kZcbnG1etFc=", "--consent",
			"UEzA7gb0+YnS/91xuqGL0V98kPbeX8N+IIbPSzY0r5nzfoe1WHULoUlDcOYQKkx1ldAZsfHaSyi4OJNhkJX3DA=="}, []string{"--power N"}},
		{"remove an unknown validator", []string{"propose", "--remove", "nonsense"}, []string{"neither the address nor the key of a validator"}},
		{"approve proposal 0", []string{"approve", "0"}, []string{"numbered from 1"}},
		{"approve no proposal", []string{"approve", "9"}, []string{"no validator change proposal 9"}},
		{"approve an expired proposal", []string{"approve", "2"}, []string{"proposal 2 (remove validator", "expired at block 30"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustFail(t, 1, tc.hints, append(append([]string{"validator"}, tc.args...), flags...)...)
		})
	}
}
