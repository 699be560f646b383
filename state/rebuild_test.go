package state

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/internal/clock"
)

func TestRestoreItemKeepsItsSeq(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		it := collectedItem(1, c)
		it.Seq = 4
		return tx.RestoreItem(it)
	})
	tombstone := Item{Mailbox: testMailbox, ID: immutableID(9)}
	restoredAgain := collectedItem(1, c)
	restoredAgain.Seq = 5
	below := collectedItem(2, c)
	below.Seq = 4
	for name, it := range map[string]Item{"not collected": tombstone, "recorded already": restoredAgain, "seq not above the last": below} {
		err := db.Update(func(tx *Tx) error { return tx.RestoreItem(it) })
		if err == nil {
			t.Errorf("%s: restored", name)
		}
	}
	var seq uint64
	mustUpdate(t, db, func(tx *Tx) error {
		rec, _, err := tx.PutItem(collectedItem(3, c))
		seq = rec.Seq
		return err
	})
	mustView(t, db, func(r *ReadTx) error {
		got, ok, err := r.Item(testMailbox, immutableID(1))
		if err != nil || !ok || got.Seq != 4 {
			t.Errorf("restored item: %+v %v %v, want seq 4", got, ok, err)
		}
		if refs, _ := r.ItemsBySHA256(got.SHA256); len(refs) != 1 {
			t.Errorf("the SHA-256 index lacks the restored item: %v", refs)
		}
		return nil
	})
	if seq != 5 {
		t.Errorf("the item collected after a restore has seq %d, want 5", seq)
	}
}

const rebuiltLineage = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"

// fillOne records one mailbox and one restored item.
func fillOne(c *clock.Fake) func(*DB) error {
	return func(db *DB) error {
		return db.Update(func(tx *Tx) error {
			if err := tx.PutMailbox(testMailboxRecord()); err != nil {
				return err
			}
			it := collectedItem(1, c)
			it.Seq = 1
			return tx.RestoreItem(it)
		})
	}
}

func metaOf(t *testing.T, path string) (Meta, uint64) {
	t.Helper()
	db := mustOpen(t, path, Options{ReadOnly: true})
	defer db.Close()
	var m Meta
	var last uint64
	mustView(t, db, func(r *ReadTx) error { m, last = r.Meta(), r.LastSeq(); return nil })
	return m, last
}

func TestRebuild(t *testing.T) {
	opts := func(c *clock.Fake) Options {
		o := testOptions(c)
		o.Lineage = rebuiltLineage
		return o
	}
	t.Run("no state", func(t *testing.T) {
		c := newClock()
		path := statePath(t)
		res, err := Rebuild(path, opts(c), false, fillOne(c))
		if err != nil || res.Aside != "" {
			t.Fatalf("Rebuild: %+v %v", res, err)
		}
		if m, last := metaOf(t, path); m.Lineage != rebuiltLineage || last != 1 {
			t.Fatalf("rebuilt state: lineage %s, last seq %d", m.Lineage, last)
		}
	})
	t.Run("damaged state is moved aside", func(t *testing.T) {
		c := newClock()
		path := populated(t)
		os.Truncate(path, 4096)
		damaged, _ := os.ReadFile(path)
		res, err := Rebuild(path, opts(c), false, fillOne(c))
		if err != nil || !res.Damaged || !strings.HasPrefix(res.Aside, path+".damaged-") {
			t.Fatalf("Rebuild: %+v %v", res, err)
		}
		if kept, _ := os.ReadFile(res.Aside); !slices.Equal(kept, damaged) {
			t.Fatal("the damaged file was not kept as it was")
		}
		if m, _ := metaOf(t, path); m.Lineage != rebuiltLineage {
			t.Fatalf("rebuilt state has lineage %s", m.Lineage)
		}
	})
	t.Run("healthy state needs force", func(t *testing.T) {
		c := newClock()
		path := populated(t)
		before, _ := os.ReadFile(path)
		_, err := Rebuild(path, opts(c), false, fillOne(c))
		var he *HealthyError
		if !errors.As(err, &he) || he.Items != 300 || !strings.Contains(err.Error(), "-force") {
			t.Fatalf("Rebuild of a healthy state without force: %v", err)
		}
		if after, _ := os.ReadFile(path); !slices.Equal(before, after) {
			t.Fatal("a refused rebuild changed the state")
		}
		res, err := Rebuild(path, opts(c), true, fillOne(c))
		if err != nil || res.Damaged || !strings.HasPrefix(res.Aside, path+".replaced-") {
			t.Fatalf("Rebuild -force: %+v %v", res, err)
		}
		if _, last := metaOf(t, res.Aside); last != 300 {
			t.Fatalf("the replaced state kept aside holds %d items, want 300", last)
		}
		if m, last := metaOf(t, path); m.Lineage != rebuiltLineage || last != 1 {
			t.Fatalf("rebuilt state: lineage %s, last seq %d", m.Lineage, last)
		}
		// Again within the same second: the first file kept aside stays.
		again, err := Rebuild(path, opts(c), true, fillOne(c))
		if err != nil || again.Aside != res.Aside+"-2" {
			t.Fatalf("second Rebuild -force: %+v %v", again, err)
		}
		if _, last := metaOf(t, res.Aside); last != 300 {
			t.Fatalf("the first state kept aside now holds %d items", last)
		}
	})
	t.Run("a failed fill changes nothing", func(t *testing.T) {
		c := newClock()
		path := populated(t)
		before, _ := os.ReadFile(path)
		entries := dirNames(t, filepath.Dir(path))
		boom := errors.New("boom")
		if _, err := Rebuild(path, opts(c), true, func(*DB) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("Rebuild with a failing fill: %v", err)
		}
		if after, _ := os.ReadFile(path); !slices.Equal(before, after) {
			t.Fatal("a failed rebuild changed the state")
		}
		if got := dirNames(t, filepath.Dir(path)); !slices.Equal(got, entries) {
			t.Fatalf("a failed rebuild left files: %v, was %v", got, entries)
		}
	})
	t.Run("lineage must be a UUID", func(t *testing.T) {
		o := testOptions(newClock())
		o.Lineage = "not-a-uuid"
		if _, err := Open(statePath(t), o); err == nil || !strings.Contains(err.Error(), "not a UUID") {
			t.Fatalf("Open with a bad lineage: %v", err)
		}
	})
}
