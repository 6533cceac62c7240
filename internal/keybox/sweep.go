package keybox

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/internal/state"
)

// sweep checks the whole folder against committed state, at Open:
//
//   - a file being written when the node stopped (.tmp-*) is removed;
//   - the files of an epoch the ledger says is erased are erased (the node
//     was down, or stopped before its worker ran, when the erasure
//     committed);
//   - a file whose SHA-256 is not the recipient's commitment (damaged,
//     truncated) is reported and removed; the node asks its peers again;
//   - what is not a device's folder, an epoch's folder or a recipient's
//     file is reported and left alone;
//   - a file of an epoch the ledger does not know (a store behind the
//     key box) is reported and kept.
//
// Only a folder it cannot read is an error.
func (b *Box) sweep() error {
	began := time.Now()
	var files, erased, removed, unknown int
	devices, err := os.ReadDir(b.dir)
	if err != nil {
		return fmt.Errorf("keybox: %w", err)
	}
	for _, dev := range devices {
		devDir := filepath.Join(b.dir, dev.Name())
		if !dev.IsDir() || address.ParseDevice(dev.Name()) != nil {
			b.log.Warn("keybox: an entry that is no device's folder; the key box leaves it alone, remove it if it is not yours", "path", devDir)
			continue
		}
		epochs, err := os.ReadDir(devDir)
		if err != nil {
			return fmt.Errorf("keybox: %w", err)
		}
		for _, ep := range epochs {
			epDir := filepath.Join(devDir, ep.Name())
			n, err := strconv.ParseUint(ep.Name(), 10, 64)
			if !ep.IsDir() || err != nil || n == 0 || strconv.FormatUint(n, 10) != ep.Name() {
				b.log.Warn("keybox: an entry that is no epoch's folder; the key box leaves it alone, remove it if it is not yours", "path", epDir)
				continue
			}
			e, err := b.ledger.Epoch(dev.Name(), n)
			if err != nil {
				return fmt.Errorf("keybox: epoch %d of %s: %w", n, dev.Name(), err)
			}
			if e != nil && e.Erased != 0 {
				k, err := b.eraseDir(epDir)
				if err != nil {
					return err
				}
				erased += k
				b.log.Info("keybox: erased the wrapped keys of an epoch erased while the node was down", "device", dev.Name(), "epoch", n, "erased_height", e.Erased, "files", k)
				continue
			}
			f, r, u, err := b.sweepEpoch(epDir, dev.Name(), e)
			if err != nil {
				return err
			}
			files, removed, unknown = files+f, removed+r, unknown+u
		}
		if err := syncDir(devDir); err != nil {
			return fmt.Errorf("keybox: %w", err)
		}
		if err := b.removeIfEmpty(devDir); err != nil {
			return err
		}
	}
	b.stats.Erased += uint64(erased)
	b.log.Info("keybox: opened", "dir", b.dir, "files", files, "erased", erased, "removed_damaged", removed,
		"of_unknown_epochs", unknown, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// sweepEpoch checks the files of one epoch's folder (e is its record, nil
// if the ledger has none): it returns the good files, those it removed and
// those it kept for an epoch or recipient the ledger does not know.
func (b *Box) sweepEpoch(dir, device string, e *state.Epoch) (files, removed, unknown int, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("keybox: %w", err)
	}
	for _, ent := range entries {
		p := filepath.Join(dir, ent.Name())
		name := ent.Name()
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			if err := wipe(p); err != nil {
				return files, removed, unknown, fmt.Errorf("keybox: removing a partial write: %w", err)
			}
			b.log.Info("keybox: removed a partial write (the node stopped while it wrote a wrapped key)", "file", p)
			continue
		case !ent.Type().IsRegular() || address.ParseAccount(name) != nil:
			b.log.Warn("keybox: an entry that is no recipient's file; the key box leaves it alone, remove it if it is not yours", "path", p)
			continue
		}
		var r *state.Recipient
		if e != nil {
			r = e.Recipient(name)
		}
		if r == nil || len(r.Commitment) == 0 {
			unknown++
			b.log.Warn("keybox: a wrapped key the ledger holds no commitment for (the app store is behind the key box, or the folder is from another chain); kept", "file", p)
			continue
		}
		wrapped, err := readBounded(p)
		if err != nil && !errors.Is(err, errTooLarge) {
			return files, removed, unknown, fmt.Errorf("keybox: reading %s: %w", p, err)
		}
		sum := sha256.Sum256(wrapped)
		if err != nil || !bytes.Equal(sum[:], r.Commitment) {
			why := fmt.Sprintf("%d bytes whose SHA-256 is %x; the commitment on the ledger is %x", len(wrapped), sum, r.Commitment)
			if err != nil {
				why = "larger than any wrapped key"
			}
			b.corrupt(p, why)
			removed++
			continue
		}
		files++
	}
	if err := syncDir(dir); err != nil {
		return files, removed, unknown, fmt.Errorf("keybox: %w", err)
	}
	if rest, _ := os.ReadDir(dir); len(rest) == 0 {
		if err := os.Remove(dir); err != nil {
			return files, removed, unknown, fmt.Errorf("keybox: %w", err)
		}
	}
	return files, removed, unknown, nil
}
