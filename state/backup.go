package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/collect-ediscovery/collect/internal/durable"
)

// BackupFilePath is the copy of the state file at path kept from before
// the last apply that changed it, as Terraform keeps
// terraform.tfstate.backup.
func BackupFilePath(path string) string { return path + ".backup" }

// nextBackupPath is where the copy is written until the change it guards
// is committed; only then does it replace the backup.
func nextBackupPath(path string) string { return BackupFilePath(path) + ".next" }

// Backup is a copy of the state taken before a change. It is durable on
// disk under a name of its own, and replaces BackupFilePath only when Keep
// is called, after the change's first commit: a change that never commits
// leaves the previous backup as it was.
type Backup struct {
	db   *DB
	next string
	done bool
}

// Backup writes a consistent copy of the state, as it is now, next to the
// file, and syncs it. Call it before the first Update of a change, then
// Keep once that Update succeeded, or Discard.
func (db *DB) Backup() (*Backup, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	if db.readOnly || db.bolt == nil {
		return nil, fmt.Errorf("back up state file %s: %w", db.path, ErrReadOnly)
	}
	next := nextBackupPath(db.path)
	// A copy left by a change that did not commit is only ever a copy:
	// the write lock says no other process is making one.
	if err := os.Remove(next); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("back up state file %s: remove the unused copy %s: %w", db.path, next, err)
	}
	if err := db.backup(next); err != nil {
		return nil, fmt.Errorf("back up state file %s to %s before changing it: %w; the state was not changed",
			db.path, next, err)
	}
	return &Backup{db: db, next: next}, nil
}

// Keep puts the copy in place of the previous backup, durably.
func (b *Backup) Keep() error {
	if b.done {
		return nil
	}
	b.done = true
	dst := BackupFilePath(b.db.path)
	if err := os.Rename(b.next, dst); err != nil {
		return fmt.Errorf("keep the backup of state file %s: %w", b.db.path, err)
	}
	if err := durable.SyncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("keep the backup of state file %s: %w", b.db.path, err)
	}
	return nil
}

// Discard removes the copy unless it was kept.
func (b *Backup) Discard() {
	if b == nil || b.done {
		return
	}
	b.done = true
	os.Remove(b.next)
}

// existingBackup returns the backup of the state file at path, or "" when
// there is none.
func existingBackup(path string) string {
	p := BackupFilePath(path)
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
		return p
	}
	return ""
}
