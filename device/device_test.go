package device_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/device"
	"github.com/iotledger/iotledger/reading"
)

// readingTime is the time every test reading is taken at.
var readingTime = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

// newKey returns the device key made from a seed of 32 times b.
func newKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func pubOf(key ed25519.PrivateKey) ed25519.PublicKey { return key.Public().(ed25519.PublicKey) }

func newSigner(t *testing.T, key ed25519.PrivateKey, id, stateFile string) *device.Signer {
	t.Helper()
	s, err := device.NewSigner(key, id, stateFile)
	if err != nil {
		t.Fatalf("NewSigner(%q, %q): %v", id, stateFile, err)
	}
	return s
}

// signN signs n readings and returns their sequence numbers.
func signN(t *testing.T, s *device.Signer, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for range n {
		_, seq, err := s.Sign(map[string]any{"temp": 21.5}, readingTime)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSignerSequenceIncreases(t *testing.T) {
	s := newSigner(t, newKey(1), "", "")
	if got, want := s.Next(), uint64(1); got != want {
		t.Errorf("Next of a new in-memory signer = %d, want %d", got, want)
	}
	if diff := cmp.Diff(signN(t, s, 4), []uint64{1, 2, 3, 4}); diff != "" {
		t.Errorf("sequence numbers (-got +want):\n%s", diff)
	}
	if got, want := s.Next(), uint64(5); got != want {
		t.Errorf("Next after four readings = %d, want %d", got, want)
	}
}

func TestSignerStateSurvivesRestart(t *testing.T) {
	// The state file's folder does not exist yet: Sign creates it.
	state := filepath.Join(t.TempDir(), "devices", "sensor.seq")
	key := newKey(1)

	first := newSigner(t, key, "", state)
	if diff := cmp.Diff(signN(t, first, 3), []uint64{1, 2, 3}); diff != "" {
		t.Errorf("first signer's sequence numbers (-got +want):\n%s", diff)
	}
	if got, want := readFile(t, state), "4\n"; got != want {
		t.Errorf("state file holds %q, want %q", got, want)
	}
	if _, err := os.Stat(state + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary state file left behind after Sign: stat error %v", err)
	}

	// A new signer on the same file (the device restarted) continues
	// above every number the first one handed out.
	second := newSigner(t, key, "", state)
	if got, want := second.Next(), uint64(4); got != want {
		t.Errorf("Next after restart = %d, want %d", got, want)
	}
	if diff := cmp.Diff(signN(t, second, 2), []uint64{4, 5}); diff != "" {
		t.Errorf("second signer's sequence numbers (-got +want):\n%s", diff)
	}
}

func TestSignerPersistsBeforeHandingOut(t *testing.T) {
	// The number is on disk before the reading is returned: a signer that
	// is dropped right after Sign (a crash) never lets the next one reuse it.
	state := filepath.Join(t.TempDir(), "sensor.seq")
	key := newKey(1)
	for want := uint64(1); want <= 3; want++ {
		s := newSigner(t, key, "", state)
		if got := signN(t, s, 1)[0]; got != want {
			t.Errorf("signer %d: seq %d, want %d", want, got, want)
		}
	}
}

func TestSignerIgnoresLeftoverTemporaryFile(t *testing.T) {
	// A crash between writing the temporary file and renaming it leaves
	// state.tmp next to the last good state; only the renamed file counts.
	tests := []struct {
		name string
		tmp  string
	}{
		{"garbage", "not a number"},
		{"half written", "1"},
		{"newer number", "99\n"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "sensor.seq")
			writeFile(t, state, "7\n")
			writeFile(t, state+".tmp", tt.tmp)

			s := newSigner(t, newKey(1), "", state)
			if got, want := s.Next(), uint64(7); got != want {
				t.Errorf("Next = %d, want %d (from the state file, not the leftover)", got, want)
			}
			if got, want := signN(t, s, 1)[0], uint64(7); got != want {
				t.Errorf("Sign gave seq %d, want %d", got, want)
			}
			if got, want := readFile(t, state), "8\n"; got != want {
				t.Errorf("state file holds %q, want %q", got, want)
			}
			if _, err := os.Stat(state + ".tmp"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("leftover temporary file still there after Sign: stat error %v", err)
			}
		})
	}
}

func TestSignerCorruptState(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"text", "seven\n"},
		{"empty", ""},
		{"negative", "-1\n"},
		{"fraction", "1.5\n"},
		{"too large", "18446744073709551616\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "sensor.seq")
			writeFile(t, state, tt.content)
			s, err := device.NewSigner(newKey(1), "", state)
			if err == nil {
				t.Fatalf("NewSigner with state %q = signer at seq %d, want an error", tt.content, s.Next())
			}
			for _, want := range []string{"device:", state, "not a number"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestSignerUnreadableState(t *testing.T) {
	state := t.TempDir() // a folder where the file should be
	_, err := device.NewSigner(newKey(1), "", state)
	if err == nil || !strings.Contains(err.Error(), "device: read sequence state") {
		t.Errorf("NewSigner on a folder: error %v, want one saying the state could not be read", err)
	}
}

func TestSignerStateWhitespace(t *testing.T) {
	// An operator who edits the file by hand may leave spaces or no newline.
	for _, content := range []string{"42", "42\n", " 42 \n", "42\r\n"} {
		state := filepath.Join(t.TempDir(), "sensor.seq")
		writeFile(t, state, content)
		if got, want := newSigner(t, newKey(1), "", state).Next(), uint64(42); got != want {
			t.Errorf("state %q: Next = %d, want %d", content, got, want)
		}
	}
}

func TestSignerExhausted(t *testing.T) {
	// The last sequence number cannot be followed by another: the signer
	// must refuse rather than wrap around to numbers already used.
	state := filepath.Join(t.TempDir(), "sensor.seq")
	writeFile(t, state, "18446744073709551615\n")
	s := newSigner(t, newKey(1), "", state)
	raw, seq, err := s.Sign(map[string]any{"temp": 21.5}, readingTime)
	if err == nil {
		t.Fatalf("Sign at seq %d = %d bytes for seq %d, want an error", uint64(math.MaxUint64), len(raw), seq)
	}
	if got, want := s.Next(), uint64(math.MaxUint64); got != want {
		t.Errorf("Next after the refusal = %d, want %d", got, want)
	}
	if got, want := readFile(t, state), "18446744073709551615\n"; got != want {
		t.Errorf("state file holds %q, want %q", got, want)
	}
}

func TestSignerID(t *testing.T) {
	original, rotated := newKey(1), newKey(2)
	originalID := address.Device(pubOf(original))
	tests := []struct {
		name string
		key  ed25519.PrivateKey
		id   string
		want string
	}{
		{"empty id is the key's device id", original, "", originalID},
		{"the key's own id", original, originalID, originalID},
		{"a rotated device keeps its id", rotated, originalID, originalID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSigner(t, tt.key, tt.id, "")
			if got := s.ID(); got != tt.want {
				t.Errorf("ID = %s, want %s", got, tt.want)
			}
			raw, _, err := s.Sign(map[string]any{"temp": 21.5}, readingTime)
			if err != nil {
				t.Fatal(err)
			}
			r, err := reading.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if r.Device != tt.want {
				t.Errorf("reading is for device %s, want %s", r.Device, tt.want)
			}
			if err := r.Verify(pubOf(tt.key)); err != nil {
				t.Errorf("reading does not verify with the signing key: %v", err)
			}
		})
	}
}

func TestSignerRefusesBadID(t *testing.T) {
	key := newKey(1)
	for _, id := range []string{"sensor-1", address.Account(pubOf(key)), "dev1"} {
		if _, err := device.NewSigner(key, id, ""); err == nil {
			t.Errorf("NewSigner with id %q: no error, want one", id)
		}
	}
}

func TestSignedReadingDecodesAndVerifies(t *testing.T) {
	key := newKey(3)
	s := newSigner(t, key, "", filepath.Join(t.TempDir(), "sensor.seq"))
	data := map[string]any{"temp": 21.5, "count": int64(42), "door": "closed", "alarm": false}
	for want := uint64(1); want <= 2; want++ {
		raw, seq, err := s.Sign(data, readingTime)
		if err != nil {
			t.Fatal(err)
		}
		if seq != want {
			t.Errorf("Sign returned seq %d, want %d", seq, want)
		}
		r, err := reading.Decode(raw)
		if err != nil {
			t.Fatalf("reading.Decode: %v", err)
		}
		got := r.Reading
		wantReading := reading.Reading{Device: s.ID(), Seq: want, Time: readingTime.UnixMilli(), Data: data}
		if diff := cmp.Diff(got, wantReading); diff != "" {
			t.Errorf("decoded reading (-got +want):\n%s", diff)
		}
		if err := r.Verify(pubOf(key)); err != nil {
			t.Errorf("Verify with the device key: %v", err)
		}
		if err := r.Verify(pubOf(newKey(4))); !errors.Is(err, reading.ErrSignature) {
			t.Errorf("Verify with another key: %v, want %v", err, reading.ErrSignature)
		}
	}
}

func TestSignerRefusedDataUsesNoNumber(t *testing.T) {
	// Data the reading format refuses is an error, with no reading and no
	// number; the number it would have had goes to the next reading.
	state := filepath.Join(t.TempDir(), "sensor.seq")
	s := newSigner(t, newKey(1), "", state)
	signN(t, s, 1)
	raw, seq, err := s.Sign(map[string]any{"temp": math.NaN()}, readingTime)
	if !errors.Is(err, reading.ErrData) || raw != nil || seq != 0 {
		t.Fatalf("Sign with NaN = %d bytes, seq %d, %v; want no reading, seq 0 and %v", len(raw), seq, err, reading.ErrData)
	}
	if got, want := s.Next(), uint64(2); got != want {
		t.Errorf("Next after a refused reading = %d, want %d", got, want)
	}
	if got, want := readFile(t, state), "2\n"; got != want {
		t.Errorf("state file holds %q after a refused reading, want %q", got, want)
	}
	if diff := cmp.Diff(signN(t, s, 2), []uint64{2, 3}); diff != "" {
		t.Errorf("sequence numbers after a refused reading (-got +want):\n%s", diff)
	}
}

func TestParseData(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string]any
		wantErr string // part of the error; "" means no error
	}{
		{name: "no args", args: nil, want: map[string]any{}},
		{name: "int", args: []string{"count=42"}, want: map[string]any{"count": int64(42)}},
		{name: "negative int", args: []string{"t=-7"}, want: map[string]any{"t": int64(-7)}},
		{name: "int above int64", args: []string{"n=18446744073709551615"}, want: map[string]any{"n": uint64(math.MaxUint64)}},
		{name: "float", args: []string{"temp=21.5"}, want: map[string]any{"temp": 21.5}},
		{name: "exponent", args: []string{"p=1e3"}, want: map[string]any{"p": 1000.0}},
		{name: "true", args: []string{"on=true"}, want: map[string]any{"on": true}},
		{name: "false", args: []string{"on=false"}, want: map[string]any{"on": false}},
		{name: "bool is lower case only", args: []string{"on=True"}, want: map[string]any{"on": "True"}},
		{name: "text", args: []string{"door=closed"}, want: map[string]any{"door": "closed"}},
		{name: "empty value is text", args: []string{"note="}, want: map[string]any{"note": ""}},
		{name: "NaN stays text", args: []string{"x=NaN"}, want: map[string]any{"x": "NaN"}},
		{name: "nan stays text", args: []string{"x=nan"}, want: map[string]any{"x": "nan"}},
		{name: "inf stays text", args: []string{"x=inf"}, want: map[string]any{"x": "inf"}},
		{name: "-Inf stays text", args: []string{"x=-Inf"}, want: map[string]any{"x": "-Inf"}},
		{name: "Infinity stays text", args: []string{"x=Infinity"}, want: map[string]any{"x": "Infinity"}},
		{name: "hex float stays text", args: []string{"x=0x1p-2"}, want: map[string]any{"x": "0x1p-2"}},
		{name: "out of range float stays text", args: []string{"x=1e400"}, want: map[string]any{"x": "1e400"}},
		{name: "value with '='", args: []string{"k=v=w"}, want: map[string]any{"k": "v=w"}},
		{
			name: "several fields",
			args: []string{"temp=21.5", "count=3", "door=open", "alarm=true"},
			want: map[string]any{"temp": 21.5, "count": int64(3), "door": "open", "alarm": true},
		},
		{name: "missing '='", args: []string{"temp"}, wantErr: `"temp" is not key=value`},
		{name: "empty key", args: []string{"=5"}, wantErr: `"=5" is not key=value`},
		{name: "empty arg", args: []string{""}, wantErr: `"" is not key=value`},
		{name: "duplicate key", args: []string{"temp=1", "temp=2"}, wantErr: `field "temp" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := device.ParseData(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseData(%q) = %v, %v; want an error containing %q", tt.args, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseData(%q): %v", tt.args, err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("ParseData(%q) (-got +want):\n%s", tt.args, diff)
			}
		})
	}
}

func TestParseDataSigns(t *testing.T) {
	// Whatever ParseData accepts, Sign accepts and Decode gives back.
	args := []string{"temp=21.5", "count=3", "big=18446744073709551615", "door=open", "alarm=true", "x=NaN", "k=v=w"}
	data, err := device.ParseData(args)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := newSigner(t, newKey(1), "", "").Sign(data, readingTime)
	if err != nil {
		t.Fatalf("Sign(ParseData(%q)): %v", args, err)
	}
	r, err := reading.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Data, data); diff != "" {
		t.Errorf("decoded data (-got +want):\n%s", diff)
	}
}
