// Package lint holds no code, only tests that guard rules of the code base
// which the compiler does not check.
//
// The determinism guard (lint_test.go) parses every non-test Go file of the
// packages that run inside consensus (internal/app, internal/contract,
// internal/state, internal/query, internal/audit, internal/tlog) and
// fails, naming file and line, if one of them:
//
//   - imports a source of randomness or of the outside world: math/rand,
//     math/rand/v2, crypto/rand, net, net/http, os/exec;
//   - reads the wall clock or waits on it: time.Now, time.Since, time.Until,
//     time.Tick, time.After, time.AfterFunc, time.NewTimer, time.NewTicker,
//     time.Sleep (the time package itself is allowed: block time arrives as
//     a time.Time), or dot-imports time, which would hide such calls.
//
// Ranging over a map is not checked: telling a map from a slice needs type
// information, and golang.org/x/tools/go/packages is not a dependency of the
// module. Code in those packages sorts map keys before it relies on their
// order; reviewers keep it that way.
package lint
