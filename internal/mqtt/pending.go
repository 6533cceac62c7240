package mqtt

import (
	"container/list"
	"sync"
	"time"

	"github.com/iotledger/iotledger/internal/app"
)

// sink says where a reading came from, and so where its answer goes.
type sink uint8

const (
	sinkEmbedded sink = 1 << iota // a device connected to the embedded broker
	sinkBridge                    // the operator's broker
)

// pendingTable remembers the readings that came in over MQTT and were
// queued, so that Committed publishes an answer for those and no others.
// Entries are keyed by the SHA-256 of the reading's bytes, as outcomes are:
// two different readings that claim the same (device, seq) each get their
// own answer. The table is bounded twice: by size (add forgets the oldest
// entry and returns it) and by age (expire returns the entries older than
// ttl), so a reading that never reaches a block costs nothing forever; the
// broker answers each forgotten entry not_committed.
//
// It also counts, per device, the entries that came from the embedded
// broker: each is a refusal notice the broker may still owe that device.
type pendingTable struct {
	max int
	ttl time.Duration

	mu       sync.Mutex // guards the fields below
	byHash   map[[32]byte]*list.Element
	order    list.List // of *pendingEntry, oldest first
	embedded map[string]int
	evicted  uint64
}

type pendingEntry struct {
	hash   [32]byte
	device string
	seq    uint64
	sinks  sink
	added  time.Time
}

func newPendingTable(max int, ttl time.Duration) *pendingTable {
	return &pendingTable{max: max, ttl: ttl, byHash: map[[32]byte]*list.Element{}, embedded: map[string]int{}}
}

// add records that the reading h of (device, seq) came from s. When the
// table is full it forgets the oldest entry and returns it.
func (p *pendingTable) add(h [32]byte, device string, seq uint64, s sink, now time.Time) (evicted []pendingEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.byHash[h]; ok {
		pe := e.Value.(*pendingEntry)
		if s&sinkEmbedded != 0 && pe.sinks&sinkEmbedded == 0 {
			p.embedded[pe.device]++
		}
		pe.sinks |= s
		return nil
	}
	for len(p.byHash) >= p.max {
		front := p.order.Front()
		evicted = append(evicted, *front.Value.(*pendingEntry))
		p.remove(front)
		p.evicted++
	}
	p.byHash[h] = p.order.PushBack(&pendingEntry{hash: h, device: device, seq: seq, sinks: s, added: now})
	if s&sinkEmbedded != 0 {
		p.embedded[device]++
	}
	return evicted
}

// expire forgets and returns the entries older than the table's ttl.
func (p *pendingTable) expire(now time.Time) (expired []pendingEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for front := p.order.Front(); front != nil; front = p.order.Front() {
		pe := front.Value.(*pendingEntry)
		if now.Sub(pe.added) < p.ttl {
			break
		}
		expired = append(expired, *pe)
		p.remove(front)
		p.evicted++
	}
	return expired
}

// take removes and returns the entry of h.
func (p *pendingTable) take(h [32]byte) (pendingEntry, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.byHash[h]
	if !ok {
		return pendingEntry{}, false
	}
	p.remove(e)
	return *e.Value.(*pendingEntry), true
}

// drop forgets that h came from s, and the entry once no source is left.
func (p *pendingTable) drop(h [32]byte, s sink) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.byHash[h]
	if !ok {
		return
	}
	pe := e.Value.(*pendingEntry)
	if s&sinkEmbedded != 0 && pe.sinks&sinkEmbedded != 0 {
		p.uncount(pe.device)
	}
	if pe.sinks &^= s; pe.sinks == 0 {
		delete(p.byHash, pe.hash)
		p.order.Remove(e)
	}
}

// matched is an outcome with the entry it answers.
type matched struct {
	entry   pendingEntry
	outcome *app.Outcome
}

// takeOutcomes removes and returns the entries that outcomes answer, under
// one lock: it runs on the commit path.
func (p *pendingTable) takeOutcomes(outcomes []app.Outcome) []matched {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.byHash) == 0 {
		return nil
	}
	var out []matched
	for i := range outcomes {
		e, ok := p.byHash[outcomes[i].Hash]
		if !ok {
			continue
		}
		p.remove(e)
		out = append(out, matched{entry: *e.Value.(*pendingEntry), outcome: &outcomes[i]})
	}
	return out
}

func (p *pendingTable) remove(e *list.Element) {
	pe := e.Value.(*pendingEntry)
	if pe.sinks&sinkEmbedded != 0 {
		p.uncount(pe.device)
	}
	delete(p.byHash, pe.hash)
	p.order.Remove(e)
}

func (p *pendingTable) uncount(device string) {
	if p.embedded[device]--; p.embedded[device] <= 0 {
		delete(p.embedded, device)
	}
}

// waiting is the number of device's readings from the embedded broker
// that wait for their outcome.
func (p *pendingTable) waiting(device string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.embedded[device]
}

func (p *pendingTable) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byHash)
}

func (p *pendingTable) evictions() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.evicted
}
