//go:build !unix

package node

import "os"

// tryLock does not lock without flock; Pebble's own lock on the store
// still refuses a second node.
func tryLock(*os.File) (held bool, err error) { return false, nil }
