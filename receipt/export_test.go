package receipt

// ErrPanic marks a panic caught inside a check: tests fail on it.
var ErrPanic = errPanic
