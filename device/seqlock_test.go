package device_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSignersShareStateFile: two signers opened on one state file (the CLI
// and `dev` signing for one device) take turns without handing out a
// number twice, although each read the file before the other signed.
func TestSignersShareStateFile(t *testing.T) {
	state := filepath.Join(t.TempDir(), "devices", "sensor-1.seq")
	key := newKey(1)
	a := newSigner(t, key, "", state)
	b := newSigner(t, key, "", state)
	var got []uint64
	for range 3 {
		got = append(got, signN(t, a, 2)...)
		got = append(got, signN(t, b, 1)...)
	}
	if diff := cmp.Diff(got, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9}); diff != "" {
		t.Errorf("sequence numbers in signing order (-got +want):\n%s", diff)
	}
	if got, want := readFile(t, state), "10\n"; got != want {
		t.Errorf("state file holds %q, want %q", got, want)
	}
}

// The signing process of TestSignersInTwoProcesses is this test binary run
// again with -test.run=^TestSignerProcess$ and these variables set.
const (
	envSignerState = "IOTLEDGER_SIGNER_STATE" // the state file
	envSignerCount = "IOTLEDGER_SIGNER_COUNT" // readings to sign
)

// TestSignersInTwoProcesses: two processes sign for one device on one
// state file at the same time; every number is handed out once, and the
// file ends above all of them.
func TestSignersInTwoProcesses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sequence files are locked with flock, on Unix only")
	}
	const n = 40
	state := filepath.Join(t.TempDir(), "sensor-1.seq")
	key := newKey(1)
	ours := newSigner(t, key, "", state) // opened before the other process signs
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envSignerState+"="+state, envSignerCount+"="+strconv.Itoa(n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Sign as soon as the other process has begun to.
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("the signing process did not start: %q %v", sc.Text(), sc.Err())
	}
	all := signN(t, ours, n)
	for sc.Scan() {
		if seq, ok := strings.CutPrefix(sc.Text(), "seq "); ok {
			v, err := strconv.ParseUint(seq, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, v)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the signing process failed: %v", err)
	}
	slices.Sort(all)
	want := make([]uint64, 2*n)
	for i := range want {
		want[i] = uint64(i + 1)
	}
	if diff := cmp.Diff(all, want); diff != "" {
		t.Errorf("numbers handed out by both processes, sorted (-got +want):\n%s", diff)
	}
	if got, want := readFile(t, state), strconv.Itoa(2*n+1)+"\n"; got != want {
		t.Errorf("state file holds %q, want %q", got, want)
	}
}

// TestSignerProcess is the other process of TestSignersInTwoProcesses.
func TestSignerProcess(t *testing.T) {
	state := os.Getenv(envSignerState)
	if state == "" {
		t.Skip("the signing process of TestSignersInTwoProcesses; runs only when started by it")
	}
	n, err := strconv.Atoi(os.Getenv(envSignerCount))
	if err != nil {
		t.Fatal(err)
	}
	s := newSigner(t, newKey(1), "", state)
	w := bufio.NewWriter(os.Stdout)
	w.WriteString("ready\n")
	w.Flush()
	for _, seq := range signN(t, s, n) {
		w.WriteString("seq " + strconv.FormatUint(seq, 10) + "\n")
	}
	w.Flush()
}
