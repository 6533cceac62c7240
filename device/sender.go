package device

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iotledger/iotledger/client"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/verdict"
)

// Statuses of an Answer: the ledger's words (package verdict).
const (
	Accepted  = verdict.Accepted  // committed now
	Duplicate = verdict.Duplicate // committed before: this (device, seq) is in the log
	Rejected  = verdict.Rejected  // refused; Reason says why
	Pending   = verdict.Pending   // no verdict yet: taken but not committed, or not answered
)

// ReasonSeqReused is the Reason of a Rejected answer for a reading whose
// (device, seq) the ledger committed before with other data: this
// reading's data is not stored (the Sender moves it to the dead letters),
// and the answer locates the original (over HTTP in Index, Height and
// Receipt; over MQTT in Detail). It means the device signed a number twice:
// its state folder forgot numbers it had used.
const ReasonSeqReused = "seq_reused"

// Answer is what a Transport learned of one reading.
type Answer struct {
	Status verdict.Status // Accepted, Duplicate, Rejected or Pending
	Reason string         // for Rejected: the ledger's reason code, such as bad_signature
	Detail string         // for a person: what happened and what to do
	// Index and Height locate the reading in the log (for a Duplicate or
	// a Rejected ReasonSeqReused, the original's); Receipt is where its
	// receipt is, an API path.
	Index   uint64
	Height  int64
	Receipt string
	// RetryAfter, for Pending, is how long the node asked to wait before
	// the reading is sent again; 0 if it did not say.
	RetryAfter time.Duration
}

// Transport delivers readings to a ledger node. The Sender calls Send from
// one goroutine at a time.
//
// Send offers a batch of readings of one device, in sequence order, and
// returns one Answer per reading, in the same order. It should wait for
// each reading's verdict for a while (the HTTP transport lets the node wait
// for commit) and answer Pending for the readings still without one. An
// error means that nothing was learned of the batch: every reading stays in
// the outbox and is sent again; wrap the error in a *RetryError when the
// node said when to try again.
//
// HTTP and MQTT are this package's transports; each says how it fills
// this contract.
type Transport interface {
	Send(ctx context.Context, raws [][]byte) ([]Answer, error)
}

// RetryError is a Transport error that carries the node's advice on when
// to send again (HTTP 503 with Retry-After, for instance).
type RetryError struct {
	Err   error
	After time.Duration
}

func (e *RetryError) Error() string { return e.Err.Error() }

// Unwrap returns the transport's error.
func (e *RetryError) Unwrap() error { return e.Err }

// Errors of a Sender.
var (
	ErrClosed  = errors.New("device: sender is closed")
	ErrStopped = errors.New("device: sender stopped: the context given to Start ended")
	ErrInUse   = errors.New("device: state folder is in use by another sender")
)

// Defaults of Options.
const (
	DefaultBatchSize   = 64
	DefaultSendTimeout = time.Minute
)

// DefaultRetry are the reasons of a rejection that keep a reading in the
// outbox, to be sent again later: the ledger asks the device to slow down.
var DefaultRetry = []string{"rate_limited"}

// DefaultBackoff waits 250 ms before the first retry of a batch and twice
// as long before each next one, up to 30 s, less a random part of up to
// half (so that devices cut off together do not come back together), and
// never less than the node asked for (hint).
func DefaultBackoff(attempt int, hint time.Duration) time.Duration {
	d := min(250*time.Millisecond<<min(max(attempt-1, 0), 7), 30*time.Second)
	d = d/2 + rand.N(d/2+1)
	return max(d, hint)
}

// Options configure a Sender. Key, Dir and Transport are required; a zero
// value of any other field means its default.
type Options struct {
	Key       ed25519.PrivateKey // the device's key
	ID        string             // the device's id on the ledger; "" means the id of Key (see NewSigner)
	Dir       string             // the state folder: sequence state, outbox, dead letters
	Transport Transport

	BatchSize   int           // most readings per Send; default DefaultBatchSize
	SendTimeout time.Duration // bound on one Send; default DefaultSendTimeout
	// Backoff says how long to wait before sending again a batch that kept
	// readings in the outbox; attempt is 1 for the first retry of the batch
	// at the head of the outbox, and hint is the longest wait the node
	// asked for (0 if none). Default DefaultBackoff.
	Backoff func(attempt int, hint time.Duration) time.Duration
	// Retry are the reasons of a rejection after which a reading is kept
	// and sent again rather than moved to the dead letters; default
	// DefaultRetry. An empty, non-nil slice retries no reason.
	Retry []string
	Log   *slog.Logger // default: no logs

	// API, when set, makes the Sender seal the device's private fields
	// (docs/PRIVATE.md): the fields the ledger lists as the device's
	// private fields, and those of Private. The device learns its epoch,
	// and announces each epoch's stream key, through API (also when
	// readings go over MQTT). See StreamKeys and the package comment.
	API *client.Client
	// Private are field names to seal besides the ledger's list; they
	// need API.
	Private []string
}

// validate names the first bad field.
func (o *Options) validate() error {
	switch {
	case len(o.Key) != ed25519.PrivateKeySize:
		return fmt.Errorf("device: Options.Key has %d bytes, want an Ed25519 private key of %d", len(o.Key), ed25519.PrivateKeySize)
	case o.Dir == "":
		return errors.New("device: Options.Dir is empty; give the folder where the device keeps its state")
	case o.Transport == nil:
		return errors.New("device: Options.Transport is nil; use NewHTTP, or a Transport of your own")
	case o.BatchSize < 0:
		return fmt.Errorf("device: Options.BatchSize is %d, want 0 (the default, %d) or more", o.BatchSize, DefaultBatchSize)
	case o.SendTimeout < 0:
		return fmt.Errorf("device: Options.SendTimeout is %v, want 0 (the default, %v) or more", o.SendTimeout, DefaultSendTimeout)
	case len(o.Private) > 0 && o.API == nil:
		return fmt.Errorf("device: Options.Private names fields to seal (%s), but Options.API is nil; give the client of the node the device announces its stream keys through", strings.Join(o.Private, ", "))
	}
	return nil
}

// Stats are a Sender's counters since NewSender.
type Stats struct {
	Recorded     uint64 // readings Record put in the outbox
	Recovered    uint64 // readings found in the outbox by NewSender, left by an earlier run
	Sent         uint64 // readings offered to the transport, each attempt counted
	Acknowledged uint64 // readings answered Accepted or Duplicate, and so removed from the outbox
	Duplicates   uint64 // of those, the ones answered Duplicate: the ledger had them already
	Rejected     uint64 // readings moved to the dead letters
	Retries      uint64 // readings kept after an attempt, to be sent again
	Resealed     uint64 // readings sealed again under a newer stream key (same sequence number)
	Outbox       int    // readings in the outbox now
}

// Sender records a device's readings in a durable outbox and delivers them
// through a Transport; see the package documentation. Its methods are safe
// for concurrent use.
type Sender struct {
	signer      *Signer
	box         *outbox
	tr          Transport
	batch       int
	sendTimeout time.Duration
	backoff     func(int, time.Duration) time.Duration
	retry       []string
	log         *slog.Logger
	unlock      func() error
	keys        *StreamKeys // nil: nothing is sealed
	api         *client.Client

	wake   chan struct{} // a reading was recorded; capacity 1
	closed chan struct{} // closed by Close

	recMu sync.Mutex // serialises Record against itself and Close

	mu      sync.Mutex // guards the fields below
	queue   []uint64   // sequence numbers in the outbox, ascending
	resync  bool       // a reading needs the stream key refreshed and the outbox sealed again
	empty   chan struct{}
	stats   Stats
	started bool
	isShut  bool
	cancel  context.CancelFunc
	done    chan struct{} // closed when the drainer returns
}

// NewSender opens the state folder o.Dir, creating it if needed, and finds
// the readings an earlier run left in its outbox; Start sends them. The
// Sender holds the folder until Close.
func NewSender(o Options) (*Sender, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("device: state folder: %w", err)
	}
	unlock, err := lockDir(filepath.Join(o.Dir, lockName))
	if err != nil {
		return nil, err
	}
	s, err := newSender(o, unlock)
	if err != nil {
		unlock()
		return nil, err
	}
	return s, nil
}

func newSender(o Options, unlock func() error) (*Sender, error) {
	signer, err := NewSigner(o.Key, o.ID, filepath.Join(o.Dir, seqName))
	if err != nil {
		return nil, err
	}
	box, err := openOutbox(o.Dir)
	if err != nil {
		return nil, err
	}
	queue, err := box.list()
	if err != nil {
		return nil, err
	}
	// A crash between writing a reading to the outbox and saving the next
	// number leaves the reading at the saved number: restore the invariant
	// before anything is sent.
	if n := len(queue); n > 0 {
		if err := signer.advance(queue[n-1] + 1); err != nil {
			return nil, err
		}
	}
	s := &Sender{
		signer:      signer,
		box:         box,
		tr:          o.Transport,
		batch:       cmpOr(o.BatchSize, DefaultBatchSize),
		sendTimeout: cmpOr(o.SendTimeout, DefaultSendTimeout),
		backoff:     o.Backoff,
		retry:       o.Retry,
		log:         o.Log,
		unlock:      unlock,
		wake:        make(chan struct{}, 1),
		closed:      make(chan struct{}),
		queue:       queue,
		empty:       make(chan struct{}),
		done:        make(chan struct{}),
	}
	if s.backoff == nil {
		s.backoff = DefaultBackoff
	}
	if s.retry == nil {
		s.retry = DefaultRetry
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if o.API != nil {
		s.api = o.API
		s.keys, err = NewStreamKeys(StreamKeyOptions{API: o.API, Key: o.Key, ID: signer.ID(), File: filepath.Join(o.Dir, streamKeyName), Private: o.Private, Log: s.log})
		if err != nil {
			return nil, err
		}
		s.resync = true // at start: the ledger may have moved on while the device was off
	}
	if len(queue) == 0 {
		close(s.empty)
	}
	s.stats.Recovered = uint64(len(queue))
	return s, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// ID is the device id readings are signed for.
func (s *Sender) ID() string { return s.signer.ID() }

// Next is the sequence number the next recorded reading gets.
func (s *Sender) Next() uint64 { return s.signer.Next() }

// Stats returns the counters.
func (s *Sender) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Outbox = len(s.queue)
	return st
}

// DeadLetters returns the readings the ledger rejected, in sequence order,
// with why. They stay in the dead-letter folder until someone removes them.
func (s *Sender) DeadLetters() ([]DeadLetter, error) { return s.box.deadLetters() }

// Record signs a reading of data taken at t with the next sequence number,
// writes it to the outbox and wakes the drainer. Once Record returns the
// number, the reading is on disk and will be delivered, by this Sender or,
// after a crash, by the next one on the folder. With an error, nothing was
// recorded and no number was used. Record works before Start too: the
// readings wait in the outbox.
func (s *Sender) Record(ctx context.Context, data map[string]any, t time.Time) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.recMu.Lock()
	defer s.recMu.Unlock()
	select {
	case <-s.closed:
		return 0, ErrClosed
	default:
	}
	var seal func(reading.Reading) ([]byte, error)
	if s.keys != nil {
		seal = s.keys.Seal
	}
	_, seq, err := s.signer.sign(data, t, s.box, seal)
	if errors.Is(err, ErrNoStreamKey) {
		// The first sealed reading of a device without a key on disk: ask
		// the ledger for its epoch and announce a key for it.
		if _, err = s.keys.Refresh(ctx); err != nil {
			return 0, err
		}
		_, seq, err = s.signer.sign(data, t, s.box, seal)
	}
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	if len(s.queue) == 0 {
		s.empty = make(chan struct{})
	}
	s.queue = append(s.queue, seq)
	s.stats.Recorded++
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // the drainer is awake already
	}
	return seq, nil
}

// Start starts the goroutine that drains the outbox. It runs until ctx ends
// or Close is called; Close waits for it. A Sender starts once.
func (s *Sender) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.isShut:
		return ErrClosed
	case s.started:
		return errors.New("device: sender already started")
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	go func() {
		defer close(s.done)
		s.drain(ctx)
	}()
	return nil
}

// Flush returns once every reading recorded before the call has left the
// outbox (acknowledged, or moved to the dead letters), or with the error of
// ctx, ErrClosed if the Sender is closed first, or ErrStopped if the
// context given to Start ends first. It waits for the drainer, so on a
// Sender that was not started it returns only with ctx.
func (s *Sender) Flush(ctx context.Context) error {
	s.mu.Lock()
	empty := s.empty
	s.mu.Unlock()
	select {
	case <-empty:
		return nil
	default:
	}
	select {
	case <-empty:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return ErrClosed
	case <-s.done:
		select {
		case <-s.closed: // Close stopped the drainer
			return ErrClosed
		default:
			return ErrStopped
		}
	}
}

// Close stops the drainer, waits for it, and releases the state folder.
// Readings still in the outbox stay there for the next Sender; a batch
// being sent is sent again by it.
func (s *Sender) Close() error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	s.mu.Lock()
	if s.isShut {
		s.mu.Unlock()
		return nil
	}
	s.isShut = true
	close(s.closed)
	started, cancel := s.started, s.cancel
	s.mu.Unlock()
	if started {
		cancel()
		<-s.done
	}
	return s.unlock()
}

// drain sends the outbox, head first, until ctx ends.
func (s *Sender) drain(ctx context.Context) {
	attempt := 0
	for {
		if s.needResync() {
			if err := s.resyncKeys(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				attempt++
				s.log.Warn("device: stream key: will try again", "err", err)
				if !s.wait(ctx, s.backoff(attempt, 0)) {
					return
				}
				continue
			}
		}
		seqs := s.head()
		if len(seqs) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
				continue
			}
		}
		kept, hint := s.round(ctx, seqs)
		if ctx.Err() != nil {
			return
		}
		if kept == 0 {
			attempt = 0
			continue
		}
		attempt++
		if s.needResync() && attempt == 1 {
			continue // the stream key first, then the readings again at once
		}
		if !s.wait(ctx, s.backoff(attempt, hint)) {
			return
		}
	}
}

// wait waits d; false if ctx ended first.
func (s *Sender) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *Sender) needResync() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resync
}

// resyncKeys brings the stream key up to the ledger (StreamKeys.Refresh:
// a new epoch's key made, wrapped, uploaded and announced) and seals
// again, under the same sequence numbers, the readings of the outbox that
// need it (sealed under an older epoch, or holding a field now private in
// clear). A reading the ledger committed meanwhile (its answer was lost)
// is removed as delivered instead: it is never sent with other bytes.
// Then the keys of older epochs are deleted. Record waits meanwhile, so
// no reading is sealed with a key about to go.
func (s *Sender) resyncKeys(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, s.sendTimeout)
	defer cancel()
	_, err := s.keys.Refresh(rctx)
	if errors.Is(err, ErrNotPrivate) {
		// Nothing is sealed for a device without private fields: its
		// readings go as they are.
		if f := s.keys.Fields(); len(f) > 0 {
			s.log.Warn("device: Options.Private names fields to seal, but the device has no private fields on the ledger, so no stream key; its owner names them first", "device", s.ID(), "err", err)
		}
		s.mu.Lock()
		s.resync = false
		s.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	s.recMu.Lock()
	defer s.recMu.Unlock()
	s.mu.Lock()
	queue := slices.Clone(s.queue)
	s.mu.Unlock()
	var gone []uint64
	for _, seq := range queue {
		raw, err := s.box.read(seq)
		if err != nil || !s.keys.NeedsReseal(raw) {
			continue // read errors are the drainer's to handle
		}
		committed, err := s.committed(rctx, seq)
		if err != nil {
			return err
		}
		if committed {
			if err := s.box.remove(seq); err != nil {
				return err
			}
			gone = append(gone, seq)
			s.count(func(st *Stats) { st.Acknowledged++; st.Duplicates++ })
			continue
		}
		fresh, err := s.keys.Reseal(raw)
		if errors.Is(err, ErrKeyLost) || errors.Is(err, ErrNotPrivate) {
			s.log.Error("device: a reading cannot be sealed again; moved to the dead letters", "seq", seq, "err", err)
			if berr := s.box.bury(seq, "stream_key_lost", err.Error()); berr != nil {
				return berr
			}
			gone = append(gone, seq)
			s.count(func(st *Stats) { st.Rejected++ })
			continue
		}
		if err != nil {
			return err
		}
		if err := s.box.keep(seq, fresh); err != nil {
			return err
		}
		s.count(func(st *Stats) { st.Resealed++ })
	}
	if len(gone) > 0 {
		if err := s.box.sync(); err != nil {
			return err
		}
	}
	if err := s.keys.Forget(); err != nil {
		return err
	}
	s.mu.Lock()
	s.resync = false
	if len(gone) > 0 {
		s.queue = slices.DeleteFunc(s.queue, func(q uint64) bool { return slices.Contains(gone, q) })
		if len(s.queue) == 0 {
			close(s.empty)
		}
	}
	s.mu.Unlock()
	return nil
}

// committed reports whether the ledger holds reading seq of the device.
func (s *Sender) committed(ctx context.Context, seq uint64) (bool, error) {
	p, err := s.api.Readings(ctx, s.ID(), client.ReadingQuery{From: seq, To: seq, Limit: 1})
	if err != nil {
		return false, fmt.Errorf("device: is reading %d committed? %w", seq, err)
	}
	return len(p.Readings) > 0 && p.Readings[0].Seq == seq, nil
}

// head returns the first batch of the queue.
func (s *Sender) head() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queue[:min(len(s.queue), s.batch)])
}

// fate is what a round decided for one reading of the head.
type fate int

const (
	keep   fate = iota // stays in the outbox, sent again
	remove             // acknowledged: removed from the outbox
	bury               // rejected: moved to the dead letters
	gone               // no longer in the outbox (removed by hand)
)

// round sends one batch and acts on its answers. It returns how many
// readings it kept and the longest wait the node asked for.
func (s *Sender) round(ctx context.Context, seqs []uint64) (kept int, hint time.Duration) {
	fates := make([]fate, len(seqs))
	var raws [][]byte
	var sent []int // indexes into seqs of raws
	for i, seq := range seqs {
		raw, err := s.box.read(seq)
		switch {
		case errors.Is(err, os.ErrNotExist):
			s.log.Warn("device: reading vanished from the outbox", "seq", seq)
			fates[i] = gone
		case err != nil:
			s.log.Error("device: unreadable reading in the outbox: moving it to the dead letters", "seq", seq, "err", err)
			fates[i] = s.buryOrKeep(seq, "unreadable", err.Error())
		default:
			raws = append(raws, raw)
			sent = append(sent, i)
		}
	}
	var answers []Answer
	var err error
	if len(raws) > 0 {
		s.count(func(st *Stats) { st.Sent += uint64(len(raws)) })
		sctx, cancel := context.WithTimeout(ctx, s.sendTimeout)
		answers, err = s.tr.Send(sctx, raws)
		cancel()
		if err == nil && len(answers) != len(raws) {
			err = fmt.Errorf("device: transport answered %d readings of %d", len(answers), len(raws))
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("device: send failed; will send again", "readings", len(raws), "from_seq", seqs[sent[0]], "err", err)
		}
		if re, ok := errors.AsType[*RetryError](err); ok {
			hint = re.After
		}
		// fates of the sent readings stay keep.
	} else {
		removed := false
		for j, a := range answers {
			i, seq := sent[j], seqs[sent[j]]
			switch {
			case a.Status == Accepted || a.Status == Duplicate:
				if rerr := s.box.remove(seq); rerr != nil {
					s.log.Error("device: cannot remove an acknowledged reading; will send it again", "seq", seq, "err", rerr)
					continue
				}
				fates[i], removed = remove, true
				s.count(func(st *Stats) {
					st.Acknowledged++
					if a.Status == Duplicate {
						st.Duplicates++
					}
				})
			case a.Status == Rejected && s.keys != nil && slices.Contains(privateReasons, a.Reason):
				// The stream key is behind the ledger: refresh it, seal
				// the reading again (same seq) and send it again.
				s.log.Info("device: reading refused for its stream key; refreshing it", "seq", seq, "reason", a.Reason)
				s.mu.Lock()
				s.resync = true
				s.mu.Unlock()
			case a.Status == Rejected && !slices.Contains(s.retry, a.Reason):
				s.log.Error("device: reading rejected; moved to the dead letters", "seq", seq, "reason", a.Reason, "detail", a.Detail)
				fates[i] = s.buryOrKeep(seq, a.Reason, a.Detail)
			default: // Pending, a rejection to retry, or a status this package does not know
				hint = max(hint, a.RetryAfter)
			}
		}
		if removed {
			if serr := s.box.sync(); serr != nil {
				// The removals may come undone in a crash: the readings
				// are then sent again and answered Duplicate.
				s.log.Warn("device: sync outbox", "err", serr)
			}
		}
	}
	s.settle(seqs, fates)
	for _, f := range fates {
		if f == keep {
			kept++
		}
	}
	return kept, hint
}

// buryOrKeep moves reading seq to the dead letters, or keeps it if that
// fails.
func (s *Sender) buryOrKeep(seq uint64, reason, detail string) fate {
	if err := s.box.bury(seq, reason, detail); err != nil {
		s.log.Error("device: cannot move a rejected reading to the dead letters; will send it again", "seq", seq, "err", err)
		return keep
	}
	s.count(func(st *Stats) { st.Rejected++ })
	return bury
}

// settle takes the head batch seqs out of the queue but for the readings
// kept, and wakes Flush when the outbox is empty.
func (s *Sender) settle(seqs []uint64, fates []fate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := make([]uint64, 0, len(s.queue))
	for i, seq := range seqs {
		if fates[i] == keep {
			q = append(q, seq)
		}
	}
	kept := len(q)
	s.queue = append(q, s.queue[len(seqs):]...)
	s.stats.Retries += uint64(kept)
	if len(s.queue) == 0 {
		close(s.empty)
	}
}

func (s *Sender) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}
