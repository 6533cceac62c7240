package mqtt

import (
	"sync"
	"time"
)

// limiter is a token bucket per device: rate readings a second, bursts of
// up to burst. A reading over the rate waits for its token (take says how
// long), which holds its PUBACK back. A bucket that has filled up again is the same as none, so
// when the table reaches max entries the full ones are dropped; if all are
// in use the table starts over, which only ever lets readings through.
type limiter struct {
	rate  float64
	burst float64
	max   int

	mu      sync.Mutex // guards buckets
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst, max int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: max, buckets: map[string]*bucket{}}
}

// take takes one token from id's bucket and returns 0, or, when there is
// none, takes nothing and returns how long until there is one.
func (l *limiter) take(id string, now time.Time) time.Duration {
	if l.rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[id]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[id] = b
	} else if dt := now.Sub(b.last); dt > 0 {
		b.tokens = min(l.burst, b.tokens+dt.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return max(time.Duration((1-b.tokens)/l.rate*float64(time.Second)), time.Millisecond)
	}
	b.tokens--
	return 0
}

func (l *limiter) sweep(now time.Time) {
	for id, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, id)
		}
	}
	if len(l.buckets) >= l.max {
		clear(l.buckets)
	}
}
