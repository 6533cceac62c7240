package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/iotledger/iotledger/client"
)

// Defaults of a Schedule. In-flight requests bound throughput by Little's
// law: 256 requests of 500 readings carry 25,000 readings a second with up
// to 5 s in flight, so the load generator is not what limits a bench.
const (
	DefaultBatch    = 500
	DefaultInFlight = 256
	DefaultTimeout  = 30 * time.Second
	// MaxBatch is the most readings the node takes in one request.
	MaxBatch = 4096
)

// sendGrace is how long after the end of the schedule a batch may still be
// sent when every in-flight slot was taken at its due time.
const sendGrace = 2 * time.Second

// Labels of the goroutines of Run in CPU profiles: a profile of a process
// that runs both a node and the simulator tells their shares apart by them.
const (
	ProfileLabel = "iotledger"
	ProfileValue = "sim"
)

// Schedule is how a fleet publishes its readings.
type Schedule struct {
	Rate     float64       // readings per second, for the whole fleet
	Duration time.Duration // how long readings are published
	Warmup   time.Duration // the start left out of the figures; 0 means Duration/10
	Batch    int           // readings per request; 0 means DefaultBatch
	InFlight int           // most requests awaiting an answer at once; 0 means DefaultInFlight
	Timeout  time.Duration // bound on one request; 0 means DefaultTimeout
	// OnWindow, when set, is called as the measured window opens (true) and
	// closes (false), on a goroutine of Run. It should return quickly.
	OnWindow func(open bool)
	// Committed, when set, returns the number of readings the node has
	// committed (its log size). Run reads it as the window opens and
	// closes: the node's own count of what it committed in the window,
	// whatever became of the senders' requests.
	Committed func(ctx context.Context) (uint64, error)
}

// withDefaults fills the zero fields.
func (s Schedule) withDefaults() Schedule {
	if s.Warmup == 0 {
		s.Warmup = s.Duration / 10
	}
	if s.Batch == 0 {
		s.Batch = DefaultBatch
	}
	if s.InFlight == 0 {
		s.InFlight = DefaultInFlight
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	return s
}

// Validate names the first bad field, as its flag.
func (s Schedule) Validate() error {
	s = s.withDefaults()
	switch {
	case !(s.Rate > 0) || math.IsInf(s.Rate, 0):
		return fmt.Errorf("sim: --rate %v: want readings per second > 0", s.Rate)
	case s.Duration <= 0:
		return fmt.Errorf("sim: --duration %v: want > 0", s.Duration)
	case s.Warmup < 0 || s.Warmup >= s.Duration:
		return fmt.Errorf("sim: --warmup %v: want at least 0 and less than --duration %v", s.Warmup, s.Duration)
	case s.Batch < 1 || s.Batch > MaxBatch:
		return fmt.Errorf("sim: --batch %d: want 1 to %d readings per request", s.Batch, MaxBatch)
	case s.InFlight < 1:
		return fmt.Errorf("sim: --inflight %d: want at least 1", s.InFlight)
	case s.Timeout <= 0:
		return fmt.Errorf("sim: request timeout %v: want > 0", s.Timeout)
	case s.Count() < 1:
		return fmt.Errorf("sim: --rate %v for --duration %v is no reading at all", s.Rate, s.Duration)
	}
	return nil
}

// Count is the number of readings the schedule publishes: Rate × Duration.
func (s Schedule) Count() int { return int(math.Round(s.Rate * s.Duration.Seconds())) }

// job is one batch to send: readings [lo, hi), due at due.
type job struct {
	lo, hi int
	due    time.Time
}

// sample is one reading's batch's due time, the time it was sent and the
// time its commit was learned (never: not answered committed), all from
// the start of the run.
type sample struct{ due, sent, at time.Duration }

// never is the commit time of a reading not answered committed.
const never = time.Duration(-1)

// collector gathers the fates of a run.
type collector struct {
	mu        sync.Mutex // guards the fields below
	start     time.Time
	st        Stats
	samples   []sample
	open      time.Time // the measured window
	close     time.Time
	windowSet bool
	// log sizes at the window's opening and closing; logOK if both were read
	log0, log1 uint64
	logOK      bool
}

func (c *collector) record(j job, sent time.Time, fates []Fate, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := j.hi - j.lo
	c.st.Sent += n
	c.st.LagMax = max(c.st.LagMax, sent.Sub(j.due))
	due, sentAt := j.due.Sub(c.start), sent.Sub(c.start)
	if err != nil {
		c.st.Lost += n
		if c.st.FirstErr == "" {
			c.st.FirstErr = err.Error()
		}
		for range n {
			c.samples = append(c.samples, sample{due: due, sent: sentAt, at: never})
		}
		return
	}
	for _, f := range fates {
		switch f.Status {
		case client.Accepted:
			c.st.Committed++
			c.samples = append(c.samples, sample{due: due, sent: sentAt, at: f.At.Sub(c.start)})
		case client.Duplicate:
			c.st.Duplicate++
		case client.Rejected:
			c.st.Rejected[f.Reason]++
		default:
			c.st.Pending++
			c.samples = append(c.samples, sample{due: due, sent: sentAt, at: never})
		}
	}
}

// Run publishes raws on schedule s through send and returns what became of
// them. raws are published at s.Rate whatever their number; the schedule's
// Duration only places the measured window. Run returns once every request
// it sent is answered or timed out; when ctx ends first, it stops sending
// and returns the figures so far with ctx's error.
func Run(ctx context.Context, s Schedule, raws [][]byte, send Sender) (*Stats, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return nil, errors.New("sim: no readings to send")
	}
	s = s.withDefaults()
	var st *Stats
	pprof.Do(ctx, pprof.Labels(ProfileLabel, ProfileValue), func(ctx context.Context) {
		st = run(ctx, s, raws, send)
	})
	return st, ctx.Err()
}

func run(ctx context.Context, s Schedule, raws [][]byte, send Sender) *Stats {
	c := &collector{st: Stats{Offered: len(raws), Rejected: map[string]int{}, Warmup: s.Warmup}}
	c.samples = make([]sample, 0, len(raws))
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range s.InFlight {
		wg.Go(func() {
			for j := range jobs {
				sent := time.Now()
				rctx, cancel := context.WithTimeout(ctx, s.Timeout)
				fates, err := send.Send(rctx, raws[j.lo:j.hi])
				cancel()
				if err == nil && len(fates) != j.hi-j.lo {
					err = fmt.Errorf("sim: sender returned %d fates for %d readings", len(fates), j.hi-j.lo)
				}
				c.record(j, sent, fates, err)
			}
		})
	}

	start := time.Now()
	c.start = start
	end := start.Add(s.Duration)
	windowDone := make(chan struct{})
	stopWindow := make(chan struct{})
	go func() {
		defer close(windowDone)
		c.window(ctx, s, start.Add(s.Warmup), end, stopWindow)
	}()

	timer := time.NewTimer(0)
	defer timer.Stop()
	stop := time.NewTimer(time.Until(end.Add(sendGrace)))
	defer stop.Stop()
	unsent := 0
	perReading := float64(time.Second) / s.Rate
dispatch:
	for lo := 0; lo < len(raws); lo += s.Batch {
		hi := min(lo+s.Batch, len(raws))
		due := start.Add(time.Duration(float64(hi) * perReading))
		timer.Reset(time.Until(due))
		select {
		case <-timer.C:
		case <-ctx.Done():
			unsent = len(raws) - lo
			break dispatch
		}
		select {
		case jobs <- job{lo: lo, hi: hi, due: due}:
		case <-stop.C:
			unsent = len(raws) - lo
			break dispatch
		case <-ctx.Done():
			unsent = len(raws) - lo
			break dispatch
		}
	}
	close(jobs)
	wg.Wait()
	close(stopWindow)
	<-windowDone

	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.st
	st.Unsent = unsent
	if c.windowSet {
		opened, closed := c.open.Sub(start), c.close.Sub(start)
		st.Window = closed - opened
		var lat, svc []time.Duration
		for _, x := range c.samples {
			if x.at != never && x.at >= opened && x.at <= closed {
				st.AckedInWindow++
			}
			switch {
			case x.due < opened:
			case x.at == never:
				st.PendingInWindow++
			default:
				lat = append(lat, x.at-x.due)
				svc = append(svc, x.at-x.sent)
			}
		}
		st.CommittedInWindow = st.AckedInWindow
		if c.logOK {
			st.CommittedInWindow, st.FromLog = int(c.log1-c.log0), true
		}
		if st.Window > 0 {
			st.AckedPerSec = float64(st.AckedInWindow) / st.Window.Seconds()
			st.CommittedPerSec = float64(st.CommittedInWindow) / st.Window.Seconds()
		}
		st.Latency, st.Service = Summarize(lat), Summarize(svc)
	}
	return &st
}

// logSize reads the node's log size through s.Committed, within a bound.
func logSize(ctx context.Context, s Schedule) (uint64, bool) {
	if s.Committed == nil {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := s.Committed(ctx)
	return n, err == nil
}

// window opens the measured window at opens and closes it at closes (or
// when the run stops first), telling s.OnWindow.
func (c *collector) window(ctx context.Context, s Schedule, opens, closes time.Time, stop <-chan struct{}) {
	t := time.NewTimer(time.Until(opens))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return
	case <-stop:
		return
	}
	log0, ok0 := logSize(ctx, s)
	now := time.Now()
	if s.OnWindow != nil {
		s.OnWindow(true)
	}
	c.mu.Lock()
	c.open = now
	c.mu.Unlock()
	t.Reset(time.Until(closes))
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-stop:
	}
	now = time.Now()
	if s.OnWindow != nil {
		s.OnWindow(false)
	}
	log1, ok1 := logSize(ctx, s)
	c.mu.Lock()
	c.close, c.windowSet = now, true
	c.log0, c.log1, c.logOK = log0, log1, ok0 && ok1 && log1 >= log0
	c.mu.Unlock()
}
