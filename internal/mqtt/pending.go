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
// own answer. The table is bounded twice: by size (the oldest entry goes
// first) and by age (an entry older than ttl is dropped when the next one
// is added), so a reading that never reaches a block costs nothing forever.
type pendingTable struct {
	max int
	ttl time.Duration

	mu      sync.Mutex // guards the fields below
	byHash  map[[32]byte]*list.Element
	order   list.List // of *pendingEntry, oldest first
	evicted uint64
}

type pendingEntry struct {
	hash   [32]byte
	device string
	seq    uint64
	sinks  sink
	added  time.Time
}

func newPendingTable(max int, ttl time.Duration) *pendingTable {
	return &pendingTable{max: max, ttl: ttl, byHash: map[[32]byte]*list.Element{}}
}

// add records that the reading h of (device, seq) came from s.
func (p *pendingTable) add(h [32]byte, device string, seq uint64, s sink, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.byHash[h]; ok {
		e.Value.(*pendingEntry).sinks |= s
		return
	}
	for front := p.order.Front(); front != nil; front = p.order.Front() {
		if len(p.byHash) < p.max && now.Sub(front.Value.(*pendingEntry).added) < p.ttl {
			break
		}
		p.remove(front)
		p.evicted++
	}
	p.byHash[h] = p.order.PushBack(&pendingEntry{hash: h, device: device, seq: seq, sinks: s, added: now})
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
	if pe.sinks &^= s; pe.sinks == 0 {
		p.remove(e)
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
	delete(p.byHash, e.Value.(*pendingEntry).hash)
	p.order.Remove(e)
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
