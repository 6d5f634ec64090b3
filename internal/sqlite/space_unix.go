//go:build unix

package sqlite

import "golang.org/x/sys/unix"

// freeBytes is the space left to unprivileged writers on the file system
// holding path; ok is false when it cannot be told.
func freeBytes(path string) (free uint64, ok bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}
