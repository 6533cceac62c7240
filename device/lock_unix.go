//go:build unix

package device

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// lockDir takes the lock file of a state folder, so that two Senders (in
// one process or two) never share an outbox and its sequence numbers. The
// kernel releases the lock when the process dies, so a crash leaves
// nothing to clean up.
func lockDir(path string) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("device: lock state folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked", ErrInUse, path)
		}
		return nil, fmt.Errorf("device: lock state folder: %w", err)
	}
	return f.Close, nil
}

// lockWait is how long a Signer waits for another process's signer to let
// go of a sequence file; each holds it only while it signs one reading.
const lockWait = 10 * time.Second

// lockSeq takes the lock file of a sequence state file, waiting while
// another signer (in this process or another) holds it, and writes this
// process's id into it, so that a signer that waits in vain can say who
// holds it. The kernel releases the lock when the process dies.
func lockSeq(path string) (unlock func() error, err error) {
	return lockFile(path, lockWait, "sequence state")
}

// lockFile takes the lock file path, waiting up to wait while another
// holder (in this process or another) has it; what names the state it
// guards, for errors.
func lockFile(path string, wait time.Duration, what string) (unlock func() error, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("device: lock %s: %w", what, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("device: lock %s: %w", what, err)
	}
	deadline := time.Now().Add(wait)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			break
		}
		time.Sleep(wait)
	}
	if err != nil {
		holder := "another process"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = fmt.Sprintf("process %d", pid)
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s has held %s for more than %v; is that process stuck?", ErrSeqLocked, holder, path, wait)
		}
		return nil, fmt.Errorf("device: lock %s: %w", what, err)
	}
	// Best effort: the pid only makes an error message better.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f.Close, nil
}
