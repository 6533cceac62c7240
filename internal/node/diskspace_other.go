//go:build !unix

package node

import "errors"

func diskSpace(string) (free, size uint64, err error) {
	return 0, 0, errors.New("node: free disk space is not known on this platform")
}
