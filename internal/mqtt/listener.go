package mqtt

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// listener wraps the embedded broker's TCP listener with what mochi leaves
// out: a connection must send its CONNECT within connectTimeout (mochi sets
// no deadline before CONNECT, so a silent connection would hold a
// goroutine forever); a write that makes no progress for writeTimeout
// closes the connection (mochi writes under a per-client lock that its
// publish path takes too, so a client that stopped reading must not hold
// it for long); a failing Accept is retried instead of ending the accept
// loop for good; and Close can cut every connection so that shutting down
// never waits on a client that stopped reading.
type listener struct {
	net.Listener
	connectTimeout time.Duration
	writeTimeout   time.Duration
	log            *slog.Logger
	done           chan struct{} // closed by closeAll

	mu     sync.Mutex // guards conns and closed
	conns  map[*conn]struct{}
	closed bool
}

func newListener(l net.Listener, connectTimeout, writeTimeout time.Duration, log *slog.Logger) *listener {
	return &listener{
		Listener:       l,
		connectTimeout: connectTimeout,
		writeTimeout:   writeTimeout,
		log:            log,
		done:           make(chan struct{}),
		conns:          map[*conn]struct{}{},
	}
}

// Accept returns the next connection with its CONNECT deadline set.
func (l *listener) Accept() (net.Conn, error) {
	backoff := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			// Out of file descriptors and the like: wait and go on, as
			// net/http does; mochi would stop accepting for good.
			l.log.Warn("mqtt: accept", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-l.done:
				return nil, net.ErrClosed
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		_ = c.SetDeadline(time.Now().Add(l.connectTimeout))
		tc := &conn{Conn: c, l: l}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			c.Close()
			return nil, net.ErrClosed
		}
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

// closeAll closes the listener and every connection it accepted.
func (l *listener) closeAll() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	l.Listener.Close()
	for _, c := range conns {
		c.Close()
	}
}

// conn forgets itself in its listener when closed, and gives each write a
// deadline of its own.
type conn struct {
	net.Conn
	l    *listener
	once sync.Once
}

// SetDeadline sets the read deadline only: mochi moves the deadline on at
// every packet it reads, which would let a client that sends but never
// reads keep a write blocked.
func (c *conn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

// Write writes p, and closes the connection if the client takes none of it
// for writeTimeout.
func (c *conn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.l.writeTimeout))
	n, err := c.Conn.Write(p)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.l.log.Info("mqtt: closing a connection that does not read", "remote", c.RemoteAddr().String())
		c.Close()
	}
	return n, err
}

func (c *conn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
