//go:build !windows

package store

import "os"

// syncDir makes the entries of a folder (a rename or a new file) durable.
func syncDir(path string) error {
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
