package keybox

import (
	"fmt"
	"strings"
	"time"

	"github.com/iotledger/iotledger/internal/state"
)

// Commit is what a committed block did that concerns the key box: the
// epochs it erased, and the epochs whose recipients may have gained
// commitments (a device's stream_key, an owner's grant with wraps of past
// epochs).
type Commit struct {
	Height    int64
	Erased    []Erasure
	Committed []Span
}

// Erasure is a device's erased epochs.
type Erasure struct {
	Device string
	Epochs []state.Range
}

// Span is a device's epochs From to To.
type Span struct {
	Device   string
	From, To uint64
}

// Committed queues a committed block's changes for the box's worker
// (Start) and returns at once: the node calls it from Commit, which must
// not wait for files. Nothing queued is lost to a full queue (a block's
// changes are bounded by its transactions); a node that stops before the
// worker ran erases at its next start (Open's sweep).
func (b *Box) Committed(c Commit) {
	if len(c.Erased) == 0 && len(c.Committed) == 0 {
		return
	}
	b.qmu.Lock()
	b.queue = append(b.queue, c)
	b.qmu.Unlock()
	select {
	case b.work <- struct{}{}:
	default:
	}
}

// Start starts the box's worker, which applies committed blocks (Apply)
// and drops held keys that waited too long. Close stops it.
func (b *Box) Start() {
	b.started = true
	go b.run()
}

// Close stops the worker, after it applied what was queued, and waits
// for it.
func (b *Box) Close() {
	if !b.started {
		b.drain()
		return
	}
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.stopped
}

func (b *Box) run() {
	defer close(b.stopped)
	tick := time.NewTicker(min(b.opts.HoldFor/4, time.Minute))
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			b.drain()
			return
		case <-b.work:
			b.drain()
		case <-tick.C:
			b.Expire()
		}
	}
}

// drain applies every queued block.
func (b *Box) drain() {
	for {
		b.qmu.Lock()
		q := b.queue
		b.queue = nil
		b.qmu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, c := range q {
			b.Apply(c)
		}
	}
}

// Apply applies a committed block's changes now: it erases the erased
// epochs' files, takes the held keys whose commitments the block
// committed (and drops the held keys those commitments do not match), and
// tells the lacking hook of the committed slots it has no file for. A
// failed erasure is logged as an error that says what to remove by hand.
func (b *Box) Apply(c Commit) {
	for _, e := range c.Erased {
		n, err := b.Erase(e.Device, e.Epochs)
		if err != nil {
			b.log.Error("keybox: erasing wrapped keys failed: the node keeps files of erased epochs; remove the folder by hand",
				"device", e.Device, "epochs", rangesText(e.Epochs), "height", c.Height,
				"folder", b.dir+"/"+e.Device, "err", err)
			continue
		}
		b.log.Info("keybox: erased wrapped keys", "device", e.Device, "epochs", rangesText(e.Epochs), "height", c.Height, "files", n)
	}
	var lacking []Slot
	for _, sp := range c.Committed {
		b.takeHeld(sp)
		l, err := b.Lacking(sp.Device, sp.From, sp.To)
		if err != nil {
			b.log.Error("keybox: reading committed epochs failed", "device", sp.Device, "err", err)
		}
		lacking = append(lacking, l...)
	}
	if len(lacking) > 0 {
		b.onLacking(lacking)
	}
}

// takeHeld stores the held keys of a span's epochs whose commitments are
// on the ledger now, and drops those that do not match them.
func (b *Box) takeHeld(sp Span) {
	type taken struct {
		s       Slot
		wrapped []byte
	}
	var stored []taken
	b.mu.Lock()
	for s, hs := range b.held {
		if s.Device != sp.Device || s.Epoch < sp.From || s.Epoch > sp.To {
			continue
		}
		e, err := b.ledger.Epoch(s.Device, s.Epoch)
		if err != nil {
			b.log.Error("keybox: reading a committed epoch failed", "slot", s.String(), "err", err)
			continue
		}
		if e != nil && e.Erased != 0 {
			b.dropHeld(s, hs)
			continue
		}
		var r *state.Recipient
		if e != nil {
			r = e.Recipient(s.Recipient)
		}
		if r == nil || len(r.Commitment) == 0 {
			continue
		}
		b.dropHeld(s, hs)
		var match *heldKey
		for _, h := range hs {
			if string(h.commitment[:]) == string(r.Commitment) {
				match = h
			} else {
				b.stats.Dropped++
				b.log.Warn("keybox: dropped a held wrapped key: its SHA-256 is not the commitment that committed",
					"slot", s.String(), "sha256", fmt.Sprintf("%x", h.commitment), "commitment", fmt.Sprintf("%x", r.Commitment), "height", r.Height)
			}
		}
		if match == nil {
			continue
		}
		fresh, err := b.write(s, match.wrapped)
		if err != nil {
			b.log.Error("keybox: storing a held wrapped key failed; the node asks its peers for it", "slot", s.String(), "err", err)
			continue
		}
		if fresh {
			stored = append(stored, taken{s, match.wrapped})
		}
	}
	b.mu.Unlock()
	for _, t := range stored {
		b.onStored(t.s, t.wrapped)
	}
}

// Expire drops the keys held longer than Options.HoldFor, with a log line
// each.
func (b *Box) Expire() {
	now := b.opts.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for s, hs := range b.held {
		keep := hs[:0]
		for _, h := range hs {
			if now.Sub(h.since) < b.opts.HoldFor {
				keep = append(keep, h)
				continue
			}
			b.heldCount--
			b.heldBytes -= len(h.wrapped)
			b.stats.Dropped++
			b.log.Warn("keybox: dropped a wrapped key held for its commitment, which did not reach the ledger in time; upload it again once its transaction is committed",
				"slot", s.String(), "held", b.opts.HoldFor.String())
		}
		if len(keep) == 0 {
			delete(b.held, s)
		} else {
			b.held[s] = keep
		}
	}
}

// HeldCount returns how many keys wait for their commitments, and their
// bytes.
func (b *Box) HeldCount() (int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.heldCount, b.heldBytes
}

// rangesText writes ranges of epochs as "1-3, 5".
func rangesText(rs []state.Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		if r.From == r.To {
			parts[i] = fmt.Sprint(r.From)
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r.From, r.To)
		}
	}
	return strings.Join(parts, ", ")
}
