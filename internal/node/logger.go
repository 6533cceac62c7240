package node

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// cometLogger sends CometBFT's log lines to slog, filtered by level.
type cometLogger struct {
	l        *slog.Logger
	level    int          // 0 none, 1 error, 2 info, 3 debug
	stopping *atomic.Bool // set when the node stops: errors are then debug
	// onFailure, when set, is called with the cause of a consensus
	// failure (consensusFailure), whatever the level; the node then logs
	// the one line that says what to do (halt.go), and CometBFT's own
	// line, with its stack trace, goes to debug.
	onFailure func(cause string)
}

// consensusFailure is the message CometBFT's consensus routine logs, with
// the panic as "err" and a stack trace as "stack", when it recovers a
// panic and stops (internal/consensus/state.go, receiveRoutine): the
// node's consensus has halted until it is restarted.
const consensusFailure = "CONSENSUS FAILURE!!!"

func newCometLogger(l *slog.Logger, level string) *cometLogger {
	lv := map[string]int{"none": 0, "error": 1, "info": 2, "debug": 3}[level]
	return &cometLogger{l: l.With("module", "cometbft"), level: lv, stopping: new(atomic.Bool)}
}

func (c *cometLogger) Debug(msg string, kv ...any) { c.log(3, slog.LevelDebug, msg, kv) }
func (c *cometLogger) Info(msg string, kv ...any)  { c.log(2, slog.LevelInfo, msg, kv) }
func (c *cometLogger) Error(msg string, kv ...any) {
	if msg == consensusFailure && c.onFailure != nil {
		c.onFailure(value(kv, "err"))
		c.log(3, slog.LevelDebug, msg, kv)
		return
	}
	if c.stopping.Load() {
		c.log(3, slog.LevelDebug, msg, kv)
		return
	}
	if c.onFailure != nil && strings.Contains(fmt.Sprint(kv...), noSpace) {
		// A write that found the disk full (the consensus WAL, flushed
		// again as consensus stops): a symptom of the failure that
		// follows, which the node reports in its one ERROR line.
		c.log(1, slog.LevelWarn, msg, kv)
		return
	}
	c.log(1, slog.LevelError, msg, kv)
}

func (c *cometLogger) log(need int, lv slog.Level, msg string, kv []any) {
	if c.level < need {
		return
	}
	c.l.Log(context.Background(), lv, msg, fixKV(kv)...)
}

func (c *cometLogger) With(kv ...any) cmtlog.Logger {
	return &cometLogger{l: c.l.With(fixKV(kv)...), level: c.level, stopping: c.stopping, onFailure: c.onFailure}
}

// value is the value of key in CometBFT's key/value list, printed; "" if
// the list has no such key.
func value(kv []any, key string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok && k == key {
			return fmt.Sprint(kv[i+1])
		}
	}
	return ""
}

// fixKV turns CometBFT's key/value list into slog attributes; keys that are
// not strings are printed.
func fixKV(kv []any) []any {
	out := make([]any, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			k = fmt.Sprint(kv[i])
		}
		out = append(out, slog.Any(k, kv[i+1]))
	}
	return out
}
