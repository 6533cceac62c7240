package cli_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/iotledger/iotledger/internal/keystore"
)

func TestReadingSendRefusesBadData(t *testing.T) {
	// Each of these fails before the command looks for a node: none runs
	// in the test, and --api points nowhere that answers.
	home := t.TempDir()
	k := importKey(t, home, "sensor", fixedSeed(3))
	api := "http://127.0.0.1:1"
	tests := []struct {
		name    string
		args    []string
		wantErr error
		hints   []string
	}{
		{"missing '='", []string{"--device", "sensor", "temp"}, nil, []string{`"temp" is not key=value`}},
		{"empty key", []string{"--device", "sensor", "=21.5"}, nil, []string{`"=21.5" is not key=value`}},
		{"duplicate field", []string{"--device", "sensor", "temp=1", "temp=2"}, nil, []string{`field "temp" given twice`}},
		{"NaN is text, a bad field is still refused", []string{"--device", "sensor", "x=NaN", "y"}, nil, []string{`"y" is not key=value`}},
		{"no data", []string{"--device", "sensor"}, nil, []string{"requires at least 1 arg(s)"}},
		{"no device flag", []string{"temp=21.5"}, nil, []string{`"device"`}},
		{"unknown key", []string{"--device", "pump", "temp=21.5"}, keystore.ErrNotFound, []string{"`iotledger keys new pump`"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"reading", "send", "--home", home, "--api", api}, tt.args...)
			_, err := mustFail(t, 1, tt.hints, args...)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
	// No sequence number was spent on a reading that was never signed.
	if _, err := os.Stat(filepath.Join(home, "devices", k.DeviceID()+".seq")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused reading send wrote sequence state (stat: %v)", err)
	}
}
