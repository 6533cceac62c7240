package tlog

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"
)

// Reload reads the committed size and right border from the db again, for
// a store whose contents were replaced underneath the Log (a state-sync
// restore). No Stage may be in flight: one begun before Reload fails Apply
// with ErrStaleStage unless the sizes happen to agree, so the caller must
// not stage across it.
func (l *Log) Reload() error {
	size, err := readSize(l.db)
	if err != nil {
		return err
	}
	hashes, err := readNodes(l.db, compact.RangeNodes(0, size, nil))
	if err != nil {
		return err
	}
	rng, err := factory.NewRange(0, size, hashes)
	if err != nil {
		return fmt.Errorf("%w: right border of size %d: %v", ErrCorrupt, size, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.size, l.root, l.rng = size, rootOf(rng), rng
	return nil
}
