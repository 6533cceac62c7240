package node

import (
	"sync"

	"github.com/iotledger/iotledger/internal/api"
)

// hubBuffer is the capacity of each subscriber's channel.
const hubBuffer = 4096

// hub fans committed events out to subscribers. A subscriber whose buffer is
// full loses the event (counted in dropped) and is told so on its lost
// channel, before the next event it gets: the node never waits for one,
// and the subscriber refills the gap from the store (api.Subscription).
type hub struct {
	mu      sync.Mutex // guards subs, closed, dropped
	subs    map[*subscriber]struct{}
	closed  bool
	dropped uint64
}

type subscriber struct {
	ch   chan api.Event
	lost chan struct{} // holds one signal at most
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe() api.Subscription {
	s := &subscriber{ch: make(chan api.Event, hubBuffer), lost: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.ch)
		return api.Subscription{Events: s.ch, Lost: s.lost, Cancel: func() {}}
	}
	h.subs[s] = struct{}{}
	var once sync.Once
	return api.Subscription{Events: s.ch, Lost: s.lost, Cancel: func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if _, ok := h.subs[s]; ok {
				delete(h.subs, s)
				close(s.ch)
			}
		})
	}}
}

func (h *hub) publish(e api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
			h.dropped++
			select {
			case s.lost <- struct{}{}:
			default: // signalled already
			}
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		close(s.ch)
		delete(h.subs, s)
	}
}
