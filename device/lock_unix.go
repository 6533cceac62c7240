//go:build unix

package device

import (
	"errors"
	"fmt"
	"os"
	"syscall"
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
