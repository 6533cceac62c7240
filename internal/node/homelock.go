package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrHomeInUse means another process holds the home: a node (start, dev)
// runs on it, or audit reads it.
var ErrHomeInUse = errors.New("node: the home is in use")

// HomeLockFile is the lock file of a home, beside the stores it guards. The
// process that holds it (flock, on Unix) writes its pid into it.
func HomeLockFile(home string) string { return filepath.Join(home, "data", "iotledger.lock") }

// lockHome takes the home's lock for as long as the process runs a node on
// it or audits it, so that a second one is refused at once with who holds
// it, instead of failing deep in a store with "resource temporarily
// unavailable". The kernel lets go of the lock when the process dies, so a
// crash leaves nothing to clean up; the pid left in the file is read only
// to name the holder of a lock that is held. A home that was never
// initialised is not locked: the caller's first read reports that.
func lockHome(home string) (unlock func(), err error) {
	if _, err := os.Stat(filepath.Join(home, "data")); err != nil {
		return func() {}, nil
	}
	path := HomeLockFile(home)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("node: lock the home: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("node: lock the home (%s): %w", path, err)
	}
	if held {
		holder := "another process"
		if b, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				holder = fmt.Sprintf("process %d", pid)
			}
		}
		f.Close()
		return nil, fmt.Errorf("%w: %s holds %s: a node (iotledger start or dev) runs on this home, or audit reads it; stop it first, or use another --home",
			ErrHomeInUse, holder, home)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) // best effort: it only names the holder
	}
	return func() { f.Close() }, nil
}
