package mqtt

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// mailbox holds the refusal notices (errors topic) owed to devices on the
// embedded broker until each device acknowledges its notice (PUBACK; a
// device subscribed at QoS 0 takes it when it is queued). A notice is
// first held; deliver hands it to the device's connection once it is
// connected, subscribed to its errors topic and not too far behind; it is
// then sent, by the packet id mochi gave it, until the device's PUBACK for
// that id is read. When the connection ends, what was sent and not
// acknowledged is held again, for the device's next connection: so a
// notice is lost only when it is older than heldTTL or the mailbox already
// holds max notices. (The broker cannot leave this to mochi's session
// state: a clean session forgets its messages with the connection, and
// mochi drops an unacknowledged message whose packet id the device happens
// to use for a publish of its own.) A device may so get a notice twice;
// it matches notices to its readings by seq. A receipt is not held: a
// reading with a receipt is in the log, and the device loses nothing when
// it misses the message.
//
// Each device's notices are kept once (by their bytes), oldest first.
// Devices whose notices may be deliverable now are marked dirty; the
// broker's publishing goroutine takes them (takeDirty) and delivers.
type mailbox struct {
	max   int
	ready chan struct{} // capacity 1: a value means devices may be dirty
	total atomic.Int64  // notices held or sent, read without the lock on hot paths

	mu    sync.Mutex // guards the fields below
	boxes map[string]*box
	dirty map[string]struct{}
}

type box struct {
	held []heldNotice        // not handed to the connection
	sent []sentNotice        // handed to it, not acknowledged
	keys map[string]struct{} // the payloads in held and sent
}

type heldNotice struct {
	payload []byte
	since   time.Time
}

type sentNotice struct {
	id uint16 // the packet id of the PUBLISH
	heldNotice
}

func newMailbox(max int) *mailbox {
	return &mailbox{max: max, ready: make(chan struct{}, 1), boxes: map[string]*box{}, dirty: map[string]struct{}{}}
}

func (m *mailbox) boxLocked(device string) *box {
	b := m.boxes[device]
	if b == nil {
		b = &box{keys: map[string]struct{}{}}
		m.boxes[device] = b
	}
	return b
}

// tidyLocked forgets device's box once it is empty.
func (m *mailbox) tidyLocked(device string, b *box) {
	if len(b.held) == 0 && len(b.sent) == 0 {
		delete(m.boxes, device)
	}
}

// put holds payload, a notice made at since, for device unless it holds
// or sent it already. With wake, the device is marked for delivery. It
// reports false when the mailbox is full and the notice was not kept.
func (m *mailbox) put(device string, payload []byte, since time.Time, wake bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boxLocked(device)
	if _, ok := b.keys[string(payload)]; !ok {
		if int(m.total.Load()) >= m.max {
			m.tidyLocked(device, b)
			return false
		}
		b.keys[string(payload)] = struct{}{}
		b.held = append(b.held, heldNotice{payload: payload, since: since})
		m.total.Add(1)
	}
	if wake {
		m.markLocked(device)
	}
	return true
}

// take removes and returns up to n of device's held notices, oldest
// first, for delivery: sent records the ones mochi numbers, and a notice
// delivered at QoS 0 is done with.
func (m *mailbox) take(device string, n int) []heldNotice {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boxes[device]
	if b == nil || n <= 0 {
		return nil
	}
	n = min(n, len(b.held))
	out := slices.Clone(b.held[:n])
	for _, h := range out {
		delete(b.keys, string(h.payload))
	}
	b.held = slices.Delete(b.held, 0, n)
	m.total.Add(-int64(n))
	m.tidyLocked(device, b)
	return out
}

// sent records that mochi published payload to device with packet id id
// (a first send, or a resend of a session's messages).
func (m *mailbox) sent(device string, id uint16, payload []byte, since time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boxLocked(device)
	if _, ok := b.keys[string(payload)]; ok {
		if i := slices.IndexFunc(b.sent, func(s sentNotice) bool { return string(s.payload) == string(payload) }); i >= 0 {
			b.sent[i].id = id
			return
		}
		if i := slices.IndexFunc(b.held, func(h heldNotice) bool { return string(h.payload) == string(payload) }); i >= 0 {
			since = b.held[i].since
			b.held = slices.Delete(b.held, i, i+1)
		}
	} else {
		b.keys[string(payload)] = struct{}{}
		m.total.Add(1)
	}
	b.sent = append(b.sent, sentNotice{id: id, heldNotice: heldNotice{payload: payload, since: since}})
}

// acked forgets the oldest notice sent to device with packet id id: the
// device acknowledged it. It reports whether there was one.
func (m *mailbox) acked(device string, id uint16) bool {
	if m.total.Load() == 0 {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boxes[device]
	if b == nil {
		return false
	}
	i := slices.IndexFunc(b.sent, func(s sentNotice) bool { return s.id == id })
	if i < 0 {
		return false
	}
	delete(b.keys, string(b.sent[i].payload))
	b.sent = slices.Delete(b.sent, i, i+1)
	m.total.Add(-1)
	m.tidyLocked(device, b)
	return true
}

// unsend holds payload again: mochi dropped it for device (its queue was
// full), after it numbered it or before.
func (m *mailbox) unsend(device string, payload []byte, since time.Time) {
	m.mu.Lock()
	b := m.boxLocked(device)
	if i := slices.IndexFunc(b.sent, func(s sentNotice) bool { return string(s.payload) == string(payload) }); i >= 0 {
		b.held = append(b.held, b.sent[i].heldNotice)
		b.sent = slices.Delete(b.sent, i, i+1)
		m.mu.Unlock()
		return
	}
	m.tidyLocked(device, b)
	m.mu.Unlock()
	m.put(device, payload, since, false)
}

// requeue holds again every notice sent to device and not acknowledged:
// its connection ended.
func (m *mailbox) requeue(device string) {
	if m.total.Load() == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boxes[device]
	if b == nil || len(b.sent) == 0 {
		return
	}
	again := make([]heldNotice, 0, len(b.sent)+len(b.held))
	for _, s := range b.sent {
		again = append(again, s.heldNotice)
	}
	b.held = append(again, b.held...)
	b.sent = nil
}

// wake marks device for delivery if it has notices held.
func (m *mailbox) wake(device string) {
	if m.total.Load() == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.boxes[device]; b != nil && len(b.held) > 0 {
		m.markLocked(device)
	}
}

// wakeAll marks every device with notices held.
func (m *mailbox) wakeAll() {
	if m.total.Load() == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for device, b := range m.boxes {
		if len(b.held) > 0 {
			m.markLocked(device)
		}
	}
}

func (m *mailbox) markLocked(device string) {
	m.dirty[device] = struct{}{}
	select {
	case m.ready <- struct{}{}:
	default: // the taker is told already
	}
}

// takeDirty returns the devices marked since the last call.
func (m *mailbox) takeDirty() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.dirty))
	for device := range m.dirty {
		out = append(out, device)
	}
	clear(m.dirty)
	return out
}

// count is the number of notices held for device or sent to it and not
// acknowledged.
func (m *mailbox) count(device string) int {
	if m.total.Load() == 0 {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.boxes[device]; b != nil {
		return len(b.held) + len(b.sent)
	}
	return 0
}

// inFlight is the number of notices sent to device and not acknowledged.
func (m *mailbox) inFlight(device string) int {
	if m.total.Load() == 0 {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.boxes[device]; b != nil {
		return len(b.sent)
	}
	return 0
}

// full reports whether the mailbox takes no more notices.
func (m *mailbox) full() bool { return int(m.total.Load()) >= m.max }

// expire forgets the notices made before cutoff, held or sent, and returns
// how many.
func (m *mailbox) expire(cutoff time.Time) int {
	if m.total.Load() == 0 {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for device, b := range m.boxes {
		old := func(h heldNotice) bool {
			if h.since.Before(cutoff) {
				delete(b.keys, string(h.payload))
				n++
				return true
			}
			return false
		}
		b.held = slices.DeleteFunc(b.held, old)
		b.sent = slices.DeleteFunc(b.sent, func(s sentNotice) bool { return old(s.heldNotice) })
		m.tidyLocked(device, b)
	}
	m.total.Add(-int64(n))
	return n
}
