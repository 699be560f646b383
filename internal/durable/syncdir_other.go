//go:build !windows

package durable

import "os"

// SyncDir makes the entries of a folder (a rename, a new file) durable.
func SyncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
