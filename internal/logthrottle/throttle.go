// Package logthrottle keeps a log readable while something fails over and
// over: a slog.Handler that lets the same warning or error through at most
// a few times a second and then writes one line saying how many more it
// held back.
//
// Two records are the same when they have the same level, the same
// "module" and "component" attributes (from Logger.With or the record
// itself) and the same message once every run of digits is read as one
// number: a message formatted with a changing file or job number, such as
// Pebble's "background error: ... 000123.sst ...", is one message. Each
// message gets Burst records in each window (by default 5 a second),
// counted from its first record; the rest of the window is held back, and
// once the window ends one record at the same level, through the same
// logger, says
//
//	<message> (<n> more like this in 1s, not shown)
//
// with the attribute suppressed=<n>. That line is written by the next
// record of any message after the window, or by a timer at the window's
// end, whichever comes first; Flush writes any still due (before the
// process exits). Records below MinLevel (debug, by default) pass
// untouched: debug logging is asked for on purpose.
package logthrottle

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultBurst  = 5
	DefaultWindow = time.Second
)

// maxKeys bounds the messages tracked at once; beyond it, those whose
// window has ended and held nothing back are forgotten.
const maxKeys = 4096

// Options configure a Handler. The zero value is usable.
type Options struct {
	// Burst is how many records of one message pass in each window; zero
	// means DefaultBurst.
	Burst int
	// Window is the span Burst counts over; zero means DefaultWindow.
	Window time.Duration
	// MinLevel is the lowest level throttled; records below it always
	// pass. Nil means slog.LevelWarn: warnings and errors.
	MinLevel slog.Leveler
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AfterFunc runs f after d, as time.AfterFunc does (nil means
	// time.AfterFunc); the handler uses it to write a held-back count when
	// no later record comes.
	AfterFunc func(d time.Duration, f func())
}

// Handler throttles repeated records before passing them to another
// handler. It is safe for concurrent use; handlers made from it by
// WithAttrs and WithGroup share its counts.
type Handler struct {
	inner slog.Handler
	st    *state
	scope string // module and component attributes given to WithAttrs, and groups
}

// New returns a Handler that writes to inner.
func New(inner slog.Handler, opts Options) *Handler {
	if opts.Burst <= 0 {
		opts.Burst = DefaultBurst
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.MinLevel == nil {
		opts.MinLevel = slog.LevelWarn
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AfterFunc == nil {
		opts.AfterFunc = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	return &Handler{inner: inner, st: &state{opts: opts, keys: map[key]*entry{}}}
}

type key struct {
	level slog.Level
	scope string
	msg   string // the message, digit runs read as one "#"
}

// entry is one message's window.
type entry struct {
	start  time.Time
	passed int
	held   int
	// Of the last record held back: the handler it came through (with its
	// logger's attributes) and its message, for the line that counts them.
	h   slog.Handler
	msg string
}

type state struct {
	opts Options

	mu      sync.Mutex
	keys    map[key]*entry
	holding int  // entries with held > 0
	timer   bool // a timer is set to write held-back counts
}

// summary is a held-back count to write.
type summary struct {
	h     slog.Handler
	level slog.Level
	msg   string
	held  int
}

// Enabled reports whether inner handles level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle passes r on unless its message passed Burst times in its window
// already; it first writes the counts of windows that have ended.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.st.opts.MinLevel.Level() {
		return h.inner.Handle(ctx, r)
	}
	k := key{level: r.Level, scope: h.scope + recordScope(r), msg: normalize(r.Message)}
	due, pass := h.st.admit(k, h.inner, r.Message)
	h.st.write(ctx, due)
	if !pass {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs returns a Handler whose records carry attrs; a "module" or
// "component" among them tells its messages apart from others'.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	scope := h.scope
	for _, a := range attrs {
		scope += scopeOf(a)
	}
	return &Handler{inner: h.inner.WithAttrs(attrs), st: h.st, scope: scope}
}

// WithGroup returns a Handler that puts later attributes in group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), st: h.st, scope: h.scope + "/" + name}
}

// Flush writes the count of every message held back so far, whether or
// not its window has ended. Call it before the process exits.
func (h *Handler) Flush(ctx context.Context) {
	h.st.mu.Lock()
	due := h.st.takeDue(time.Time{}, true)
	h.st.mu.Unlock()
	h.st.write(ctx, due)
}

// admit counts a record of k and reports whether it passes, with the
// counts that are due to be written first.
func (s *state) admit(k key, h slog.Handler, msg string) (due []summary, pass bool) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holding > 0 {
		due = s.takeDue(now, false)
	}
	e, ok := s.keys[k]
	if ok && now.Sub(e.start) >= s.opts.Window {
		// Its window ended (takeDue took its count, if any): start anew.
		ok = false
	}
	if !ok {
		if len(s.keys) >= maxKeys {
			s.prune(now)
		}
		s.keys[k] = &entry{start: now, passed: 1}
		return due, true
	}
	if e.passed < s.opts.Burst {
		e.passed++
		return due, true
	}
	if e.held == 0 {
		s.holding++
	}
	e.held++
	e.h, e.msg = h, msg
	if !s.timer {
		s.timer = true
		s.opts.AfterFunc(e.start.Add(s.opts.Window).Sub(now), s.onTimer)
	}
	return due, false
}

// onTimer writes the counts of windows that have ended, and sets the timer
// again while any message is still held back.
func (s *state) onTimer() {
	now := s.opts.Now()
	s.mu.Lock()
	s.timer = false
	due := s.takeDue(now, false)
	if s.holding > 0 {
		var next time.Time
		for _, e := range s.keys {
			if e.held > 0 && (next.IsZero() || e.start.Before(next)) {
				next = e.start
			}
		}
		s.timer = true
		s.opts.AfterFunc(next.Add(s.opts.Window).Sub(now), s.onTimer)
	}
	s.mu.Unlock()
	s.write(context.Background(), due)
}

// takeDue removes and returns the counts of messages held back in windows
// that ended by now (all of them with all). s.mu is held.
func (s *state) takeDue(now time.Time, all bool) []summary {
	var due []summary
	for k, e := range s.keys {
		if e.held == 0 || (!all && now.Sub(e.start) < s.opts.Window) {
			continue
		}
		due = append(due, summary{h: e.h, level: k.level, msg: e.msg, held: e.held})
		s.holding--
		delete(s.keys, k)
	}
	return due
}

// prune forgets the messages whose window ended with nothing held back.
// s.mu is held.
func (s *state) prune(now time.Time) {
	for k, e := range s.keys {
		if e.held == 0 && now.Sub(e.start) >= s.opts.Window {
			delete(s.keys, k)
		}
	}
}

func (s *state) write(ctx context.Context, due []summary) {
	for _, d := range due {
		r := slog.NewRecord(s.opts.Now(), d.level, fmt.Sprintf("%s (%d more like this in %v, not shown)", d.msg, d.held, s.opts.Window), 0)
		r.AddAttrs(slog.Int("suppressed", d.held))
		_ = d.h.Handle(ctx, r)
	}
}

// scopeOf is the part of a message's identity an attribute gives.
func scopeOf(a slog.Attr) string {
	if a.Key == "module" || a.Key == "component" {
		return a.Key + "=" + a.Value.String() + ";"
	}
	return ""
}

func recordScope(r slog.Record) string {
	var s string
	r.Attrs(func(a slog.Attr) bool {
		s += scopeOf(a)
		return true
	})
	return s
}

// normalize reads every run of digits in msg as one "#".
func normalize(msg string) string {
	if !strings.ContainsAny(msg, "0123456789") {
		return msg
	}
	var b strings.Builder
	b.Grow(len(msg))
	inDigits := false
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c >= '0' && c <= '9' {
			if !inDigits {
				b.WriteByte('#')
			}
			inDigits = true
			continue
		}
		inDigits = false
		b.WriteByte(c)
	}
	return b.String()
}
