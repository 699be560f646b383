package state

import (
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// releaseMapped drops this process's mapping of the state file's pages:
// they stay in the page cache, and the next read maps them again. bbolt
// reads through a shared, read-only memory map, so every page a commit or
// a lookup touched stays in the process's resident set: an apply of
// 100,000 messages held the whole state file there. A read transaction
// holds bbolt's mapping lock, so the map is not replaced meanwhile.
func releaseMapped(b *bolt.DB) {
	_ = b.View(func(tx *bolt.Tx) error {
		info, size := b.Info(), tx.Size()
		if info == nil || info.Data == 0 || size <= 0 {
			return nil
		}
		// The map is not Go memory: its address is passed as it is.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(size), unix.MADV_DONTNEED); errno != 0 {
			return errno
		}
		return nil
	})
}
