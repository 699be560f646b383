package store

// SetSyncData replaces how Seal flushes staged bytes, so that a test can
// fail it the way a full disk fails an fsync.
func (s *Store) SetSyncData(f func(dir string, files []string) error) { s.syncData = f }
