//go:build linux || darwin || freebsd

package store

import "syscall"

// FreeSpace is how many bytes a process without special privileges can
// still write on the file system that holds dir.
func FreeSpace(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// CanWrite reports why this process may not create files in the folder
// dir, or nil when it may. It writes nothing: the operating system answers
// from the folder's permissions and the file system (read-only mounts
// included).
func CanWrite(dir string) error {
	const wOK, xOK = 0x2, 0x1
	return syscall.Access(dir, wOK|xOK)
}
