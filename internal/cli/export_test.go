package cli

import "time"

// SetFollowInterval sets how often `contract events --follow` polls, for
// tests, and returns a function that restores it.
func SetFollowInterval(d time.Duration) (restore func()) {
	old := followInterval
	followInterval = d
	return func() { followInterval = old }
}

// SetProposalWait sets how long `validator approve` looks for a proposal
// the node does not know yet, and returns a function that restores it.
func SetProposalWait(d time.Duration) (restore func()) {
	old := proposalWait
	proposalWait = d
	return func() { proposalWait = old }
}
