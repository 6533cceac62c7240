package query

// SetMaxFeedScan lowers the feeds one DeviceChanges call reads, until the
// returned function restores it.
func SetMaxFeedScan(n int) (restore func()) {
	old := maxFeedScan
	maxFeedScan = n
	return func() { maxFeedScan = old }
}
