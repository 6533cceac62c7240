// Package ratelimit is the node's rate limit at its edges: a token bucket
// per key (a client address for the HTTP API, a device for the MQTT
// broker), held in a bounded table. The buckets are golang.org/x/time/rate's
// (the standard, maintained token bucket); this package adds only the
// table and its bound. The ledger's own per-device limit, on block time,
// is the app's (params.device_rate_per_s), not this.
//
// The clock is the caller's (Take's now), so tests move it by hand.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Full says what a table does with a new key when it holds its maximum
// of keys, none of them refilled (a bucket that has refilled is the same as
// none, so those go first).
type Full int

const (
	// Share has the new keys share one bucket: many keys cannot grow the
	// table, they can only slow each other (the HTTP API's clients).
	Share Full = iota
	// Reset empties the table and starts over, which only ever lets
	// requests through (the MQTT broker's devices, whose number
	// MaxClients bounds already).
	Reset
)

// Keyed is a token bucket per key: perSecond tokens a second, bursts of
// up to burst, for at most max keys at once. It is safe for concurrent use.
type Keyed[K comparable] struct {
	limit rate.Limit
	burst int
	max   int
	full  Full

	mu       sync.Mutex // guards buckets and overflow
	buckets  map[K]*rate.Limiter
	overflow *rate.Limiter // the bucket new keys share when full is Share
}

// New makes a table of buckets. A perSecond of 0 or less means no limit.
func New[K comparable](perSecond float64, burst, max int, full Full) *Keyed[K] {
	return &Keyed[K]{limit: rate.Limit(perSecond), burst: burst, max: max, full: full,
		buckets: make(map[K]*rate.Limiter), overflow: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// PerSecond and Burst are the limit.
func (k *Keyed[K]) PerSecond() float64 { return float64(k.limit) }
func (k *Keyed[K]) Burst() int         { return k.burst }

// Take takes a token from key's bucket at now and returns 0, or, when there
// is none, takes nothing and returns how long until there is one (at least
// a millisecond). A clock that goes back gives no tokens.
func (k *Keyed[K]) Take(key K, now time.Time) time.Duration {
	if k.limit <= 0 {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.buckets[key]
	if b == nil {
		b = k.add(key, now)
	}
	if b.AllowN(now, 1) {
		return 0
	}
	wait := (1 - b.TokensAt(now)) / float64(k.limit)
	return max(time.Duration(wait*float64(time.Second)), time.Millisecond)
}

// add makes key's bucket, within the table's bound.
func (k *Keyed[K]) add(key K, now time.Time) *rate.Limiter {
	if len(k.buckets) >= k.max {
		for id, b := range k.buckets {
			if b.TokensAt(now) >= float64(k.burst) {
				delete(k.buckets, id)
			}
		}
	}
	if len(k.buckets) >= k.max {
		if k.full == Share {
			return k.overflow
		}
		clear(k.buckets)
	}
	b := rate.NewLimiter(k.limit, k.burst)
	k.buckets[key] = b
	return b
}

// Len is the number of keys with a bucket of their own.
func (k *Keyed[K]) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
