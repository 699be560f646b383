package state

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// serialOf reads the serial of the state file at path, read-only.
func serialOf(t *testing.T, path string) uint64 {
	t.Helper()
	db := mustOpen(t, path, Options{ReadOnly: true})
	defer db.Close()
	var serial uint64
	mustView(t, db, func(r *ReadTx) error { serial = r.Meta().Serial; return nil })
	return serial
}

func bump(t *testing.T, db *DB) {
	t.Helper()
	mustUpdate(t, db, func(tx *Tx) error { _, err := tx.BumpSerial(); return err })
}

func TestBackupReplacedOnlyAfterKeep(t *testing.T) {
	path := statePath(t)
	db := mustOpen(t, path, testOptions(newClock()))
	bump(t, db) // serial 1

	b, err := db.Backup()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(BackupFilePath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the backup is in place before Keep: %v", err)
	}
	bump(t, db) // serial 2: the change the backup guards
	if err := b.Keep(); err != nil {
		t.Fatal(err)
	}
	if got := serialOf(t, BackupFilePath(path)); got != 1 {
		t.Fatalf("backup has serial %d, want the state before the change (1)", got)
	}
	if _, err := os.Stat(nextBackupPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the copy is still under its temporary name: %v", err)
	}

	// A change that stops before its first commit (a crash) leaves the
	// previous backup as it was, and its copy is replaced by the next one.
	if _, err := db.Backup(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(nextBackupPath(path)); err != nil {
		t.Fatalf("the copy is not on disk before the commit: %v", err)
	}
	if got := serialOf(t, BackupFilePath(path)); got != 1 {
		t.Fatalf("an uncommitted change replaced the backup: serial %d, want 1", got)
	}
	b, err = db.Backup()
	if err != nil {
		t.Fatalf("a copy left by an uncommitted change stops the next backup: %v", err)
	}
	bump(t, db) // serial 3
	if err := b.Keep(); err != nil {
		t.Fatal(err)
	}
	if got := serialOf(t, BackupFilePath(path)); got != 2 {
		t.Fatalf("backup has serial %d, want 2", got)
	}

	// Discard after a failed commit removes the copy and keeps the backup.
	b, err = db.Backup()
	if err != nil {
		t.Fatal(err)
	}
	b.Discard()
	if _, err := os.Stat(nextBackupPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Discard left the copy: %v", err)
	}
	if got := serialOf(t, BackupFilePath(path)); got != 2 {
		t.Fatalf("Discard changed the backup: serial %d, want 2", got)
	}
}

func TestBackupNeedsAWriteOpen(t *testing.T) {
	path := populated(t)
	db := mustOpen(t, path, Options{ReadOnly: true})
	if _, err := db.Backup(); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Backup of a read-only state: %v, want ErrReadOnly", err)
	}
}

func TestCorruptErrorAdvice(t *testing.T) {
	for _, withBackup := range []bool{false, true} {
		p := statePath(t)
		if withBackup {
			db := mustOpen(t, p, testOptions(newClock()))
			b, err := db.Backup()
			if err != nil {
				t.Fatal(err)
			}
			bump(t, db)
			if err := b.Keep(); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}
		os.WriteFile(p, []byte("x"), 0o600)
		_, err := Open(p, Options{ReadOnly: true})
		advice := "collect state rebuild"
		if withBackup {
			advice = "Restore it from a backup"
		}
		if err == nil || !strings.Contains(err.Error(), advice) {
			t.Fatalf("error does not say what to do (%s): %v", advice, err)
		}
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("error %T, want *CorruptError", err)
		}
		// The advice names only files that exist.
		if withBackup {
			if ce.Backup != BackupFilePath(p) || !strings.Contains(err.Error(), BackupFilePath(p)) {
				t.Fatalf("the advice does not name the backup %s: %v", BackupFilePath(p), err)
			}
			if _, serr := os.Stat(ce.Backup); serr != nil {
				t.Fatalf("the named backup does not exist: %v", serr)
			}
		} else if ce.Backup != "" || strings.Contains(err.Error(), ".backup") {
			t.Fatalf("the advice names a backup that does not exist: %v", err)
		}
	}
}
