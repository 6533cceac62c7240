package mqtt

import "sync"

// outbox holds the notices waiting to be published to devices, up to max;
// push drops what does not fit. A committed block answers all its
// readings at once, so the outbox holds as many notices as the broker
// tracks readings (cfg.PendingMax), not a fixed few thousand: a block of
// twenty thousand readings must not lose half its receipts.
type outbox struct {
	max   int
	ready chan struct{} // capacity 1: a value means there may be notices to take

	mu sync.Mutex // guards q
	q  []notice
}

func newOutbox(max int) *outbox {
	return &outbox{max: max, ready: make(chan struct{}, 1)}
}

// push adds n, or reports that the outbox is full. It never blocks.
func (o *outbox) push(n notice) bool {
	o.mu.Lock()
	if len(o.q) >= o.max {
		o.mu.Unlock()
		return false
	}
	o.q = append(o.q, n)
	o.mu.Unlock()
	select {
	case o.ready <- struct{}{}:
	default: // the taker is told already
	}
	return true
}

// take removes and returns every notice waiting, oldest first.
func (o *outbox) take() []notice {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.q
	o.q = nil
	return q
}
