package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CometBFT's consensus WAL (data/cs.wal) is an autofile group: the head
// file "wal", rotated at 10 MB into "wal.000", "wal.001", ... It holds every
// consensus message, block parts included, so every reading passes through
// it once more. CometBFT only reads it back at start, to replay the height
// it was working on when it stopped (the search starts from the newest file
// and stops at the last committed height's end marker); older files are
// kept for forensics until the group reaches 1 GiB, CometBFT's fixed limit.
// walTrimmer applies a smaller limit the way the group applies its own:
// remove the oldest rotated files while the group is over the limit, never
// the head and never the newest rotated file.

// MinWALKeepBytes is the smallest consensus WAL limit a node accepts: a few
// blocks of the largest size (block.max_bytes, 8 MiB by default).
const MinWALKeepBytes = 32 << 20

// cometWALLimit is CometBFT's own total size limit of the WAL group.
const cometWALLimit = 1 << 30

// walTrimEvery is how often the trimmer looks (CometBFT's group checks its
// own limits every 5 s).
const walTrimEvery = 5 * time.Second

// trimWAL removes the oldest rotated files of the WAL whose head file is
// head while all files together hold more than keep bytes, keeping the head
// and the newest rotated file. It returns the bytes it removed.
func trimWAL(head string, keep int64) (int64, error) {
	dir, base := filepath.Dir(head), filepath.Base(head)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	type rotated struct {
		index int
		path  string
		size  int64
	}
	var files []rotated
	var total int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		name := e.Name()
		if name == base {
			total += info.Size()
			continue
		}
		idx, ok := strings.CutPrefix(name, base+".")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 {
			continue
		}
		total += info.Size()
		files = append(files, rotated{i, filepath.Join(dir, name), info.Size()})
	}
	slices.SortFunc(files, func(a, b rotated) int { return a.index - b.index })
	var removed int64
	for i := 0; i < len(files)-1 && total > keep; i++ {
		if err := os.Remove(files[i].path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("node: trim the consensus WAL: %w", err)
		}
		total -= files[i].size
		removed += files[i].size
	}
	return removed, nil
}

// walTrimmer runs trimWAL every walTrimEvery until stopped.
type walTrimmer struct {
	head string
	keep int64
	errf func(error)

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startWALTrimmer(head string, keep int64, errf func(error)) *walTrimmer {
	ctx, cancel := context.WithCancel(context.Background())
	t := &walTrimmer{head: head, keep: keep, errf: errf, cancel: cancel}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tick := time.NewTicker(walTrimEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				t.trim()
			}
		}
	}()
	return t
}

func (t *walTrimmer) trim() {
	if _, err := trimWAL(t.head, t.keep); err != nil {
		t.errf(err)
	}
}

// stop ends the loop and waits for it. Called after CometBFT stopped, it
// trims once more.
func (t *walTrimmer) stop() {
	t.cancel()
	t.wg.Wait()
}
