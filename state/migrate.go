package state

import (
	"fmt"
	"io"
	"time"

	"github.com/collect-ediscovery/collect/internal/durable"
	bolt "go.etcd.io/bbolt"
)

// schema is a layout version with the top-level buckets it has and the
// migrations that bring an older file up to it.
type schema struct {
	version    int
	buckets    [][]byte
	migrations []migration
}

// migration upgrades a file from version from to from+1. It runs in one
// write transaction together with the version bump, so a failed migration
// leaves the file as it was.
type migration struct {
	from  int
	about string
	run   func(tx *bolt.Tx) error
}

// currentSchema is the layout this collect writes. Version 1 is the first
// released layout, so there is nothing to migrate from yet; a change to the
// layout adds a migration here and bumps SchemaVersion.
func currentSchema() schema {
	return schema{
		version:    SchemaVersion,
		buckets:    [][]byte{bMeta, bMailboxes, bRuns, bByIMID, bBySHA256, bBySeq},
		migrations: nil,
	}
}

// BackupPath is where the file at path is copied before it is upgraded
// from schema version from.
func BackupPath(path string, from int, at time.Time) string {
	return fmt.Sprintf("%s.backup-v%d-%s", path, from, at.UTC().Format("20060102T150405Z"))
}

func (db *DB) migrate(sch schema, found int, now time.Time) error {
	steps := make([]migration, 0, sch.version-found)
	for v := found; v < sch.version; v++ {
		var step *migration
		for i := range sch.migrations {
			if sch.migrations[i].from == v {
				step = &sch.migrations[i]
			}
		}
		if step == nil {
			return &SchemaError{Path: db.path, Found: found, Supported: sch.version, NoUpgrade: true}
		}
		steps = append(steps, *step)
	}
	backup := BackupPath(db.path, found, now)
	if err := db.backup(backup); err != nil {
		return fmt.Errorf("back up state file %s before upgrading it from schema version %d: %w; the file was not modified",
			db.path, found, err)
	}
	for _, m := range steps {
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			if err := m.run(tx); err != nil {
				return err
			}
			return tx.Bucket(bMeta).Put(kSchema, u64(uint64(m.from+1)))
		})
		if err != nil {
			return fmt.Errorf("upgrade state file %s from schema version %d (%s): %w; "+
				"the file is still at version %d and a copy from before the upgrade is in %s",
				db.path, m.from, m.about, err, m.from, backup)
		}
	}
	return nil
}

// backup writes a consistent copy of the file to dst, durably, never
// replacing an existing file.
func (db *DB) backup(dst string) error {
	return durable.Options{NoReplace: true}.Write(dst, 0o600, func(w io.Writer) error {
		return db.bolt.View(func(tx *bolt.Tx) error {
			_, err := tx.WriteTo(w)
			return err
		})
	})
}
