package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/internal/node"
	"github.com/iotledger/iotledger/internal/testonly"
)

// mountSmallDisk mounts a tmpfs of size bytes at a fresh folder and unmounts
// it at cleanup. It skips the test unless it runs as root.
func mountSmallDisk(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounts a tmpfs: run as root (CI does)")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file of zeros into dir until the disk is full.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			break
		}
	}
	for n := 4096; n > 0; n /= 2 { // the last partial blocks
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
	return path
}

// runWithin runs the binary on its own, bounded by limit, and returns its
// output, its exit code (-1 if a signal ended it) and how long it took.
// signal, if set, is sent once the process has printed something (then it
// has long caught signals, and is at work on the store), unless it has
// ended by then.
func runWithin(t *testing.T, limit time.Duration, signal os.Signal, args ...string) (string, int, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, testonly.Binary(t), args...)
	out := new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	if signal != nil {
		tick := time.NewTicker(time.Millisecond) // polling a condition, bounded by ctx
		defer tick.Stop()
	wait:
		for {
			select {
			case err = <-done:
				signal = nil
				break wait
			case <-tick.C:
				if out.Len() > 0 {
					cmd.Process.Signal(signal)
					break wait
				}
			}
		}
	}
	if signal != nil || err == nil {
		err = <-done
	}
	took := time.Since(began)
	if ctx.Err() != nil {
		t.Errorf("iotledger %s still ran after %v (killed); it printed %d bytes, ending:\n%s", strings.Join(args, " "), limit, out.Len(), tailOf(out.String(), 2000))
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code, took
}

// lockedBuffer is a bytes.Buffer that a process writes while a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// TestFaultFullDiskAtStart is issue 13's first fault: the data folder's
// disk (a small tmpfs as the home) fills, the node is stopped and started
// again. Pebble retried writing its log out in a hot loop: a core at 100%,
// thousands of error lines a second, and SIGINT and SIGTERM ignored. Now
// start, dev and audit each exit within seconds with exit code 4 and one
// line naming the data folder, its free space and what to do; SIGTERM
// right after start-up begins ends the process within seconds; and once
// space is freed the node starts on the same store and audit is clean.
func TestFaultFullDiskAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	disk := mountSmallDisk(t, 160<<20)
	home := filepath.Join(disk, "home")
	n := testonly.StartNode(t, home, "dev")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	waitReadings(t, ctx, client.New(n.URL()), 20) // the simulated devices' load
	n.Stop(t)
	filler := fillDisk(t, disk)
	data := node.DataDir(home)

	addrs := []string{"--api-addr", n.APIAddr, "--rpc-addr", n.RPCAddr, "--p2p-addr", n.P2PAddr, "--mqtt-addr", n.MQTTAddr}
	for _, args := range [][]string{
		append([]string{"start", "--home", home}, addrs...),
		append([]string{"dev", "--home", home}, addrs...),
		{"audit", "--home", home},
	} {
		out, code, took := runWithin(t, 30*time.Second, nil, args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		t.Logf("iotledger %s: exit %d after %v: %s", args[0], code, took.Round(time.Millisecond), out)
		if code != 4 || took > 5*time.Second {
			t.Errorf("iotledger %s on a full disk: exit %d after %v, want exit 4 within 5 s", args[0], code, took)
		}
		if len(lines) != 1 {
			t.Errorf("iotledger %s on a full disk printed %d lines, want one:\n%s", args[0], len(lines), tailOf(out, 2000))
		}
		for _, want := range []string{data, "B free", "free space on that disk"} {
			if !strings.Contains(lines[0], want) {
				t.Errorf("iotledger %s said %q, want it to say %q (the folder, its free space, what to do)", args[0], lines[0], want)
			}
		}
	}

	// SIGTERM while it starts: before the fix the process printed its
	// first error line, took the signal and went on spinning; now it ends
	// within seconds, without a stack trace or a repeated line.
	out, code, took := runWithin(t, 30*time.Second, syscall.SIGTERM, append([]string{"start", "--home", home}, addrs...)...)
	t.Logf("start with SIGTERM: exit %d after %v: %q", code, took.Round(time.Millisecond), out)
	if took > 5*time.Second || (code != 0 && code != 4) {
		t.Errorf("start with SIGTERM: exit %d after %v, want 0 (stopped) or 4 (disk full) within 5 s", code, took)
	}
	if strings.Contains(out, "goroutine ") || strings.Count(out, "\n") > 1 {
		t.Errorf("start with SIGTERM printed:\n%s", tailOf(out, 2000))
	}

	// Space freed: the same store starts, and holds what it held.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	n.Restart(t, "start")
	n.Stop(t)
	if out, code := audit(t, home); code != 0 {
		t.Errorf("audit after space was freed: exit %d\n%s", code, out)
	}
}
