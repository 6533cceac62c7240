package api

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/iotledger/iotledger/internal/ratelimit"
)

// Defaults of the per-client rate limit (Options.RatePerIP and friends).
const (
	DefaultBurstPerIP = 200
	DefaultMaxIPs     = 10000
)

// limiter is a token bucket per client address: an IPv4 address, or the
// /64 of an IPv6 address (one host's share of a network). It holds at most
// maxIPs buckets; when they are all taken by clients still in debt, newcomers
// share one overflow bucket, so many addresses cannot grow the map without
// bound, they can only slow each other (ratelimit.Share).
type limiter struct {
	loopback bool // limit loopback clients too
	now      func() time.Time
	buckets  *ratelimit.Keyed[netip.Prefix]
}

func newLimiter(rate float64, burst, maxIPs int, loopback bool, now func() time.Time) *limiter {
	if burst <= 0 {
		burst = DefaultBurstPerIP
	}
	if maxIPs <= 0 {
		maxIPs = DefaultMaxIPs
	}
	if now == nil {
		now = time.Now
	}
	return &limiter{loopback: loopback, now: now, buckets: ratelimit.New[netip.Prefix](rate, burst, maxIPs, ratelimit.Share)}
}

// clientKey is the bucket key of a remote address, and whether to limit it.
func (l *limiter) clientKey(remote string) (netip.Prefix, bool) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}, true // unknown: shares the zero key's bucket
	}
	ip = ip.Unmap()
	if ip.IsLoopback() && !l.loopback {
		return netip.Prefix{}, false
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p, true
}

// allow takes a token for the client at remote; when there is none it
// returns how long until there is.
func (l *limiter) allow(remote string) (bool, time.Duration) {
	key, limited := l.clientKey(remote)
	if !limited {
		return true, 0
	}
	wait := l.buckets.Take(key, l.now())
	return wait == 0, wait
}

// limit answers 429 to a client over its rate, before h sees the request.
func (s *Server) limit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := s.limiter.allow(r.RemoteAddr)
		if ok {
			h.ServeHTTP(w, r)
			return
		}
		secs := int(math.Ceil(wait.Seconds()))
		if secs < 1 {
			secs = 1
		}
		p := newProblem(http.StatusTooManyRequests, KindRateLimited, "Too many requests",
			"this client has sent more than %g requests a second (burst %g) to this node; wait %d s (Retry-After) and send fewer requests, for example more readings per batch",
			s.limiter.buckets.PerSecond(), float64(s.limiter.buckets.Burst()), secs)
		p.retryAfter = secs
		s.requests.WithLabelValues("rate_limited", "429").Inc()
		s.writeProblem(w, r, p)
	})
}
