package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncData makes the bytes of the given files durable. On Linux one
// syncfs of the output folder's file system does it for all of them.
func syncData(dir string, _ []string) error { return syncFS(dir) }

// syncNames makes renames and new entries in the given folders durable.
func syncNames(dir string, _ []string) error { return syncFS(dir) }

func syncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
