//go:build !unix

package device

import "time"

// lockDir does not lock on systems without flock: the caller must make
// sure that one Sender at a time opens a state folder.
func lockDir(path string) (unlock func() error, err error) {
	return func() error { return nil }, nil
}

// lockSeq does not lock on systems without flock: the caller must make
// sure that one process at a time signs for a device.
func lockSeq(path string) (unlock func() error, err error) {
	return func() error { return nil }, nil
}

// lockFile does not lock on systems without flock.
func lockFile(path string, wait time.Duration, what string) (unlock func() error, err error) {
	return func() error { return nil }, nil
}
