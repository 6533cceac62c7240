package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// MinFreeBytes is the free space a node needs on the disk of its data
// folder besides what its stores' logs hold: opening a store writes out
// its log (at most as much again) and starts a new one, preallocated as
// large as a memtable (the app store's 16 MiB, CometBFT's stores' 4 MiB
// each), and a node that starts goes on writing blocks. Start and Audit
// refuse a disk with less than MinFreeBytes plus the logs' size free
// (DiskFullError): on such a disk Pebble's first write would fail, and
// Pebble retries a failed flush without end.
const MinFreeBytes = 32 << 20

// DiskFullError is why a node refused to open its stores: the disk holding
// its data folder has too little free space.
type DiskFullError struct {
	Dir  string // the data folder
	Free uint64 // bytes free on its disk, for this user
	Need uint64 // bytes the node needs free (MinFreeBytes and the logs' size)
	// Cause is the error Pebble met writing (ENOSPC), if it got that far.
	Cause error
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("node: the disk holding %s is full: %s free, the node needs at least %s to open its stores and write blocks; "+
		"free space on that disk (or move the home to a larger one), then run the command again", e.Dir, byteSize(e.Free), byteSize(e.Need))
}

func (e *DiskFullError) Unwrap() error { return e.Cause }

// checkDiskSpace refuses a data folder whose disk has less free than
// needFree. A disk whose free space cannot be read passes: the stores' own
// errors then tell.
func checkDiskSpace(home string) error {
	dir := DataDir(home)
	free, err := freeBytes(dir)
	if err != nil {
		return nil
	}
	if need := needFree(home); free < need {
		return &DiskFullError{Dir: dir, Free: free, Need: need}
	}
	return nil
}

// needFree is what a node needs free to open the stores of home:
// MinFreeBytes and the size of their logs (*.log), which opening writes
// out.
func needFree(home string) uint64 {
	need := uint64(MinFreeBytes)
	for _, dir := range append([]string{AppDBDir(home)}, cometStores(home)...) {
		logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		for _, l := range logs {
			if st, err := os.Stat(l); err == nil {
				need += uint64(st.Size())
			}
		}
	}
	return need
}

// diskFull is the DiskFullError for an ENOSPC a store met.
func diskFull(home string, cause error) *DiskFullError {
	dir := DataDir(home)
	free, _ := freeBytes(dir)
	return &DiskFullError{Dir: dir, Free: free, Need: needFree(home), Cause: cause}
}

// isNoSpace tells whether err is (or wraps) ENOSPC.
func isNoSpace(err error) bool { return err != nil && vfs.IsNoSpaceError(err) }

// DataDir is a home's data folder, which holds every store.
func DataDir(home string) string { return filepath.Join(home, "data") }

// freeBytes is the space free for this user on the disk holding path (or
// its nearest existing parent).
func freeBytes(path string) (uint64, error) {
	u, err := diskUsage(path)
	return u.AvailBytes, err
}

// diskUsage is the usage of the disk holding path (or its nearest existing
// parent): AvailBytes free for this user, TotalBytes in all.
func diskUsage(path string) (vfs.DiskUsage, error) {
	for {
		if _, err := os.Stat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
			break
		}
		parent := filepath.Dir(path)
		if parent == path {
			break
		}
		path = parent
	}
	return vfs.Default.GetDiskUsage(path)
}

// byteSize prints n in B, KiB, MiB or GiB.
func byteSize(n uint64) string {
	const k = 1024
	switch {
	case n < k:
		return fmt.Sprintf("%d B", n)
	case n < k*k:
		return fmt.Sprintf("%.1f KiB", float64(n)/k)
	case n < k*k*k:
		return fmt.Sprintf("%.1f MiB", float64(n)/(k*k))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(k*k*k))
}
