//go:build windows

package durable

// SyncDir does nothing on Windows: NTFS journals renames and new entries,
// and the os package cannot open a folder for flushing.
func SyncDir(path string) error { return nil }
