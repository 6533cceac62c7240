//go:build unix

package node

import "golang.org/x/sys/unix"

// diskSpace is the bytes free for unprivileged users and the size of the
// file system that holds dir.
func diskSpace(dir string) (free, size uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), uint64(st.Blocks) * uint64(st.Bsize), nil
}
