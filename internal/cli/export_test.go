package cli

import "time"

// SetFollowInterval sets how often `contract events --follow` polls, for
// tests, and returns a function that restores it.
func SetFollowInterval(d time.Duration) (restore func()) {
	old := followInterval
	followInterval = d
	return func() { followInterval = old }
}
