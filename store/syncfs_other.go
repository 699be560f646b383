//go:build !linux

package store

import (
	"os"

	"github.com/collect-ediscovery/collect/internal/durable"
)

// syncData makes the bytes of the given files durable, one by one.
func syncData(_ string, files []string) error {
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// syncNames makes renames and new entries in the given folders durable.
func syncNames(_ string, dirs []string) error {
	for _, d := range dirs {
		if err := durable.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}
