package node

import (
	"sync"

	"github.com/iotledger/iotledger/internal/api"
)

// hub fans committed events out to subscribers. A subscriber whose buffer is
// full loses the event (counted in dropped): the node never waits for one.
type hub struct {
	mu      sync.Mutex // guards subs, closed, dropped
	subs    map[chan api.Event]struct{}
	closed  bool
	dropped uint64
}

func newHub() *hub { return &hub{subs: map[chan api.Event]struct{}{}} }

func (h *hub) subscribe() (<-chan api.Event, func()) {
	ch := make(chan api.Event, 4096)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.subs[ch] = struct{}{}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if _, ok := h.subs[ch]; ok {
				delete(h.subs, ch)
				close(ch)
			}
		})
	}
}

func (h *hub) publish(e api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
			h.dropped++
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		close(ch)
		delete(h.subs, ch)
	}
}
