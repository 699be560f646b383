package state

import (
	"errors"
	"os"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// bReceived is the bucket a synthetic schema version 2 adds: an index of
// items by received time that version 1 files lack.
var bReceived = []byte("idx_received")

func buildReceivedIndex(tx *bolt.Tx) error {
	idx, err := tx.CreateBucket(bReceived)
	if err != nil {
		return err
	}
	return tx.Bucket(bMailboxes).ForEachBucket(func(mbID []byte) error {
		return tx.Bucket(bMailboxes).Bucket(mbID).Bucket(bItems).ForEach(func(k, v []byte) error {
			it, err := decodeItem(string(mbID), string(k), v)
			if err != nil {
				return err
			}
			key := append(u64(uint64(it.Received.UnixNano())), joinRef(nil, it.Mailbox, it.ID)...)
			return idx.Put(key, nil)
		})
	})
}

func schemaV2(run func(tx *bolt.Tx) error) schema {
	s := currentSchema()
	s.version = 2
	s.buckets = append(s.buckets, bReceived)
	s.migrations = append(s.migrations, migration{from: 1, about: "index items by received time", run: run})
	return s
}

func TestMigrationBacksUpFirst(t *testing.T) {
	c := newClock()
	path := populated(t)
	var lineage string
	db := mustOpen(t, path, Options{ReadOnly: true})
	mustView(t, db, func(tx *ReadTx) error { lineage = tx.Meta().Lineage; return nil })
	db.Close()

	backup := BackupPath(path, 1, c.Now())
	if !strings.HasSuffix(backup, ".backup-v1-20260301T093000Z") {
		t.Fatalf("backup path %s", backup)
	}
	sawBackup := false
	sch := schemaV2(func(tx *bolt.Tx) error {
		// The copy is complete and durable before the first change.
		sawBackup = preflight(backup) == nil
		return buildReceivedIndex(tx)
	})
	opts := testOptions(c)
	db, err := open(path, opts, sch)
	if err != nil {
		t.Fatalf("open with migration: %v", err)
	}
	if !sawBackup {
		t.Error("the migration ran before the backup was written")
	}
	var n int
	mustView(t, db, func(tx *ReadTx) error {
		if m := tx.Meta(); m.SchemaVersion != 2 || m.Lineage != lineage {
			t.Errorf("meta after migration: %+v", m)
		}
		n = tx.tx.Bucket(bReceived).Stats().KeyN
		return nil
	})
	if n != 300 {
		t.Errorf("the migration indexed %d items, want 300", n)
	}
	db.Close()

	// The backup is the old file, still readable by this collect as version 1.
	bdb := mustOpen(t, backup, Options{ReadOnly: true})
	mustView(t, bdb, func(tx *ReadTx) error {
		if m := tx.Meta(); m.SchemaVersion != 1 || m.Lineage != lineage || tx.LastSeq() != 300 {
			t.Errorf("backup meta %+v, last seq %d", m, tx.LastSeq())
		}
		return nil
	})

	// The upgraded file is now newer than this collect.
	_, err = Open(path, Options{ReadOnly: true})
	var se *SchemaError
	if !errors.As(err, &se) || se.Found != 2 {
		t.Fatalf("current collect on an upgraded file: %v", err)
	}
}

func TestMigrationFailureLeavesFile(t *testing.T) {
	c := newClock()
	path := populated(t)
	before, _ := os.ReadFile(path)
	sch := schemaV2(func(tx *bolt.Tx) error {
		if err := buildReceivedIndex(tx); err != nil {
			return err
		}
		return errors.New("disk says no")
	})
	_, err := open(path, testOptions(c), sch)
	backup := BackupPath(path, 1, c.Now())
	if err == nil || !strings.Contains(err.Error(), "disk says no") || !strings.Contains(err.Error(), backup) ||
		!strings.Contains(err.Error(), "still at version 1") {
		t.Fatalf("failed migration: %v", err)
	}
	db := mustOpen(t, path, Options{ReadOnly: true})
	mustView(t, db, func(tx *ReadTx) error {
		if m := tx.Meta(); m.SchemaVersion != 1 || tx.tx.Bucket(bReceived) != nil {
			t.Errorf("a failed migration left changes: %+v", m)
		}
		return nil
	})
	db.Close()
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a failed migration changed the file")
	}
	if _, err := os.Stat(LockFilePath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left after a failed open: %v", err)
	}
}

func TestMigrationNeedsBackup(t *testing.T) {
	c := newClock()
	path := populated(t)
	before, _ := os.ReadFile(path)
	// A file already where the backup would go is never overwritten, and
	// without a backup there is no migration.
	backup := BackupPath(path, 1, c.Now())
	if err := os.WriteFile(backup, []byte("earlier backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	ran := false
	_, err := open(path, testOptions(c), schemaV2(func(tx *bolt.Tx) error { ran = true; return nil }))
	if err == nil || ran || !strings.Contains(err.Error(), "back up") {
		t.Fatalf("migration without a backup: ran %v, err %v", ran, err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Error("the file changed although the backup failed")
	}
	if b, _ := os.ReadFile(backup); string(b) != "earlier backup" {
		t.Error("an existing backup was overwritten")
	}
}

func TestMigrationSeveralSteps(t *testing.T) {
	c := newClock()
	path := populated(t)
	var order []int
	sch := currentSchema()
	sch.version = 3
	for _, from := range []int{2, 1} { // registered out of order on purpose
		sch.migrations = append(sch.migrations, migration{from: from, about: "step", run: func(tx *bolt.Tx) error {
			v := tx.Bucket(bMeta).Get(kSchema)
			order = append(order, int(v[7]))
			return nil
		}})
	}
	db, err := open(path, testOptions(c), sch)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if len(order) != 2 || order[0] != 1 || order[1] != 2 {
		t.Fatalf("steps ran from versions %v", order)
	}
	if _, err := os.Stat(BackupPath(path, 1, c.Now())); err != nil {
		t.Errorf("no backup: %v", err)
	}
}

func TestOlderSchema(t *testing.T) {
	path := populated(t)
	setSchemaVersion(t, path, 0)
	before, _ := os.ReadFile(path)
	var se *SchemaError
	// Read-only: the file is not upgraded; the error says how it will be.
	_, err := Open(path, Options{ReadOnly: true})
	if !errors.As(err, &se) || se.Found != 0 || se.NoUpgrade || !strings.Contains(err.Error(), "collect apply") {
		t.Fatalf("read-only open of an older file: %v", err)
	}
	// Read-write, with no upgrade from version 0 known: refused, unchanged.
	_, err = Open(path, testOptions(newClock()))
	if !errors.As(err, &se) || !se.NoUpgrade || !strings.Contains(err.Error(), "cannot upgrade") {
		t.Fatalf("read-write open of a file with no upgrade path: %v", err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Error("the file changed")
	}
}

// A synthetic version 0 lacked the SHA-256 index; its migration to the
// current version rebuilds the index from the items.
func TestMigrationFromV0RebuildsIndex(t *testing.T) {
	c := newClock()
	path := populated(t)
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bBySHA256); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchema, u64(0))
	})
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	sch := currentSchema()
	sch.migrations = append(sch.migrations, migration{from: 0, about: "index natives by SHA-256", run: func(tx *bolt.Tx) error {
		idx, err := tx.CreateBucket(bBySHA256)
		if err != nil {
			return err
		}
		return tx.Bucket(bMailboxes).ForEachBucket(func(mbID []byte) error {
			return tx.Bucket(bMailboxes).Bucket(mbID).Bucket(bItems).ForEach(func(k, v []byte) error {
				it, err := decodeItem(string(mbID), string(k), v)
				if err != nil || !it.Collected() {
					return err
				}
				return idx.Put(append(sha256Key(it.SHA256), u64(it.Seq)...), nil)
			})
		})
	}})
	db, err := open(path, testOptions(c), sch)
	if err != nil {
		t.Fatalf("open a version 0 file: %v", err)
	}
	defer db.Close()
	want := collectedItem(17, c)
	mustView(t, db, func(tx *ReadTx) error {
		refs, err := tx.ItemsBySHA256(want.SHA256)
		if err != nil || len(refs) != 1 || refs[0].ID != want.ID {
			t.Errorf("after the migration, ItemsBySHA256 = %v, %v", refs, err)
		}
		if v := tx.Meta().SchemaVersion; v != SchemaVersion {
			t.Errorf("schema version %d", v)
		}
		return nil
	})
	if _, err := os.Stat(BackupPath(path, 0, c.Now())); err != nil {
		t.Errorf("no backup of the version 0 file: %v", err)
	}
}
