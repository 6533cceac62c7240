// Package lint holds no code, only tests that guard rules of the code base
// which the compiler does not check.
//
// The determinism guard (lint_test.go) covers every package that block
// execution runs: internal/app and every package of this module it
// imports, directly or not, as `go list -deps` gives them when the test
// runs (today address, internal/audit, internal/contract, internal/dcbor, internal/query,
// internal/snapshot, internal/state, internal/tlog, internal/zip215, reading, receipt,
// receipt/format and tx), so a package added later is covered without a
// change here. It parses and type-checks every non-test Go file of those
// packages and fails, naming file, line and function, if one of them:
//
//   - imports a source of randomness or of the outside world: math/rand,
//     math/rand/v2, crypto/rand, net, net/http, os/exec;
//   - reads the wall clock or waits on it: time.Now, time.Since, time.Until,
//     time.Tick, time.After, time.AfterFunc, time.NewTimer, time.NewTicker,
//     time.Sleep (the time package itself is allowed: block time arrives as
//     a time.Time), or dot-imports time, which would hide such calls;
//   - ranges over a map (of any type whose underlying type is a map),
//     unless the loop only appends to one slice and the next statement
//     that uses the slice sorts it (sort.Strings, sort.Slice, slices.Sort
//     and the like): the common way to visit a map in key order.
//
// Where a package does one of these things outside block execution, or
// where the order of a map cannot change any result (a cache, a sum, a
// loop that treats each key on its own), the test's allowances list the
// function (for an import, the file), the map or call, and why. Each
// allowance must match something, so the list does not outlive the code;
// a new map range elsewhere in an allowed function is still reported.
//
// Self-tests feed the checker code that breaks each rule, so the guard
// cannot pass by checking nothing.
package lint
