package cli

// NewLogger is the node's logger, for tests.
var NewLogger = newLogger
