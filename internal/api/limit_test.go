package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotledger/iotledger/internal/api"
	"github.com/iotledger/iotledger/internal/api/apitest"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// call sends GET /v1/status to h as if from remote.
func call(h http.Handler, remote string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/v1/status", nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRateLimitPerClient(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	h := fakeAPI(t, api.Options{RatePerIP: 1, BurstPerIP: 2, Now: clock.now}).Handler()

	const a, b = "192.0.2.1:1000", "192.0.2.2:1000"
	for i := range 2 {
		if w := call(h, a); w.Code != http.StatusOK {
			t.Fatalf("request %d of the burst: status %d, want 200; body %s", i, w.Code, w.Body)
		}
	}
	w := call(h, a)
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("request over the burst: status %d, want 429", w.Code)
	}
	if got, want := w.Header().Get("Retry-After"), "1"; got != want {
		t.Errorf("Retry-After %q, want %q", got, want)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p api.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != api.ProblemType+api.KindRateLimited || p.Status != 429 || !strings.Contains(p.Detail, "wait 1 s") {
		t.Errorf("problem %+v, want kind %s, status 429 and a detail saying how long to wait", p, api.KindRateLimited)
	}

	// Another client has its own bucket; port numbers do not matter.
	if w := call(h, b); w.Code != http.StatusOK {
		t.Errorf("another client: status %d, want 200", w.Code)
	}
	if w := call(h, "192.0.2.1:2000"); w.Code != http.StatusTooManyRequests {
		t.Errorf("same address, other port: status %d, want 429", w.Code)
	}
	clock.add(time.Second)
	if w := call(h, a); w.Code != http.StatusOK {
		t.Errorf("after a second: status %d, want 200", w.Code)
	}

	// An IPv6 client is its /64.
	for i := range 2 {
		call(h, "[2001:db8::"+string(rune('1'+i))+"]:1")
	}
	if w := call(h, "[2001:db8::ffff]:1"); w.Code != http.StatusTooManyRequests {
		t.Errorf("third address of one IPv6 /64: status %d, want 429", w.Code)
	}
	if w := call(h, "[2001:db8:0:1::1]:1"); w.Code != http.StatusOK {
		t.Errorf("another /64: status %d, want 200", w.Code)
	}
}

func TestRateLimitLoopback(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	for _, tc := range []struct {
		name     string
		opts     api.Options
		limited  bool
		fromAddr string
	}{
		{"off", api.Options{}, false, "192.0.2.1:1"},
		{"loopback exempt", api.Options{RatePerIP: 1, BurstPerIP: 1}, false, "127.0.0.1:1"},
		{"loopback v6 exempt", api.Options{RatePerIP: 1, BurstPerIP: 1}, false, "[::1]:1"},
		{"loopback limited", api.Options{RatePerIP: 1, BurstPerIP: 1, LimitLoopback: true}, true, "127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Now = clock.now
			h := fakeAPI(t, tc.opts).Handler()
			limited := false
			for range 5 {
				if call(h, tc.fromAddr).Code == http.StatusTooManyRequests {
					limited = true
				}
			}
			if limited != tc.limited {
				t.Errorf("limited %v, want %v", limited, tc.limited)
			}
		})
	}
}

func TestRateLimitBoundsClients(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	h := fakeAPI(t, api.Options{RatePerIP: 1, BurstPerIP: 1, MaxIPs: 2, Now: clock.now}).Handler()
	call(h, "192.0.2.1:1")
	call(h, "192.0.2.2:1")
	// The map is full of clients in debt: newcomers share one bucket.
	if w := call(h, "192.0.2.3:1"); w.Code != http.StatusOK {
		t.Errorf("first newcomer: status %d, want 200", w.Code)
	}
	if w := call(h, "192.0.2.4:1"); w.Code != http.StatusTooManyRequests {
		t.Errorf("second newcomer, sharing the overflow bucket: status %d, want 429", w.Code)
	}
	// Once the first clients have refilled, they are forgotten and a
	// newcomer gets its own bucket again.
	clock.add(2 * time.Second)
	call(h, "192.0.2.5:1")
	if w := call(h, "192.0.2.6:1"); w.Code != http.StatusOK {
		t.Errorf("newcomer after the sweep: status %d, want 200", w.Code)
	}
}

// TestSlowHeaderClientCutOff: a client that sends its headers slower than
// ReadHeaderTimeout loses its connection.
func TestSlowHeaderClientCutOff(t *testing.T) {
	s := fakeAPI(t, api.Options{})
	srv := s.HTTPServer("127.0.0.1:0")
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Fatalf("HTTPServer leaves a bound unset: header %v, read %v, write %v, idle %v, header bytes %d",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
	srv.ReadHeaderTimeout = 100 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write([]byte("GET /v1/status HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	// Trickle a header line a byte at a time, never finishing.
	go func() {
		for _, b := range []byte("X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = bufio.NewReader(c).ReadString('\n')
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a slow-header connection open for 5 s")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("connection cut after %v, want about 100ms", d)
	}

	// A large header is refused.
	big := bytes.Repeat([]byte("a"), srv.MaxHeaderBytes+8192)
	r, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/v1/status", nil)
	r.Header.Set("X-Big", string(big))
	resp, err := http.DefaultClient.Do(r)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("header of %d bytes: status %d, want 431", len(big), resp.StatusCode)
		}
	}
}

// fakeAPI is the API of apitest's fake ledger, which is its own reader.
func fakeAPI(t *testing.T, opts api.Options) *api.Server {
	l := apitest.New(t)
	return api.New(l, l, opts)
}
