package state

import (
	"fmt"
	"strings"
	"testing"
)

func docid(n uint64) string { return fmt.Sprintf("ACME%08d", n) }

// TestControlNumbers: a record keeps the DOCID it was first given, across
// transactions and reopenings of the file; new records continue the
// counter; no number is given twice.
func TestControlNumbers(t *testing.T) {
	path := statePath(t)
	c := newClock()
	db := mustOpen(t, path, testOptions(c))
	keys := []ControlKey{
		{Mailbox: "m1", ItemID: "a"}, {Mailbox: "m1", ItemID: "a", Part: "1"},
		{Mailbox: "m1", ItemID: "a", Part: "1.1"}, {Mailbox: "m2", ItemID: "a"},
	}
	got := map[ControlKey]string{}
	mustUpdate(t, db, func(tx *Tx) error {
		for _, k := range keys {
			id, fresh, err := tx.AssignControlNumber(k, docid)
			if err != nil || !fresh {
				t.Fatalf("assign %v: %q %v %v", k, id, fresh, err)
			}
			got[k] = id
		}
		return nil
	})
	if got[keys[0]] != "ACME00000001" || got[keys[3]] != "ACME00000004" {
		t.Fatalf("numbers %v", got)
	}
	db.Close()
	db = mustOpen(t, path, testOptions(c))
	mustUpdate(t, db, func(tx *Tx) error {
		for _, k := range keys {
			id, fresh, err := tx.AssignControlNumber(k, docid)
			if err != nil || fresh || id != got[k] {
				t.Errorf("re-assign %v = %q fresh %v err %v, want %q kept", k, id, fresh, err, got[k])
			}
		}
		id, fresh, err := tx.AssignControlNumber(ControlKey{Mailbox: "m3", ItemID: "b"}, docid)
		if err != nil || !fresh || id != "ACME00000005" {
			t.Errorf("next record = %q %v %v, want ACME00000005", id, fresh, err)
		}
		return nil
	})
	// A transaction that fails gives nothing away, not even its numbers.
	err := db.Update(func(tx *Tx) error {
		if _, _, err := tx.AssignControlNumber(ControlKey{Mailbox: "m4", ItemID: "c"}, docid); err != nil {
			return err
		}
		return fmt.Errorf("stop")
	})
	if err == nil {
		t.Fatal("the failing update succeeded")
	}
	err = db.View(func(r *ReadTx) error {
		if n := r.LastControlNumber(); n != 5 {
			t.Errorf("last control number = %d, want 5", n)
		}
		if _, found, _ := r.ControlNumber(ControlKey{Mailbox: "m4", ItemID: "c"}); found {
			t.Error("the failed update's number was kept")
		}
		id, found, err := r.ControlNumber(keys[1])
		if err != nil || !found || id != got[keys[1]] {
			t.Errorf("ControlNumber(%v) = %q %v %v", keys[1], id, found, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []ControlKey{{Mailbox: "", ItemID: "x"}, {Mailbox: "m", ItemID: "x\x00y"}} {
		err := db.Update(func(tx *Tx) error { _, _, err := tx.AssignControlNumber(bad, docid); return err })
		if err == nil {
			t.Errorf("AssignControlNumber(%q) succeeded", bad)
		}
	}
}

// TestFirstWithKeyAndVolumes: the first record of a dedupe key stays the
// first; a volume number is recorded once.
func TestFirstWithKeyAndVolumes(t *testing.T) {
	db := mustOpen(t, statePath(t), testOptions(newClock()))
	mustUpdate(t, db, func(tx *Tx) error {
		for _, c := range []struct{ key, docid, want string }{
			{"global\x00mih:1", "A1", "A1"}, {"global\x00mih:1", "A7", "A1"}, {"global\x00mih:2", "A7", "A7"},
		} {
			got, err := tx.FirstWithKeyOrPut(c.key, c.docid)
			if err != nil || got != c.want {
				t.Errorf("FirstWithKeyOrPut(%q, %s) = %s %v, want %s", c.key, c.docid, got, err, c.want)
			}
		}
		if err := tx.PutExportVolume(ExportVolume{Number: 1, Name: "VOL0001", Records: 3}); err != nil {
			return err
		}
		if err := tx.PutExportVolume(ExportVolume{Number: 1, Name: "VOL0001"}); err == nil || !strings.Contains(err.Error(), "already") {
			t.Errorf("a second volume 1 was recorded: %v", err)
		}
		return tx.PutExportVolume(ExportVolume{Number: 2, Name: "VOL0002"})
	})
	var names []string
	err := db.View(func(r *ReadTx) error {
		if first, ok := r.FirstWithKey("global\x00mih:1"); !ok || first != "A1" {
			t.Errorf("FirstWithKey = %q %v", first, ok)
		}
		return r.ExportVolumes(func(v ExportVolume) error { names = append(names, v.Name); return nil })
	})
	if err != nil || strings.Join(names, ",") != "VOL0001,VOL0002" {
		t.Errorf("volumes %v %v", names, err)
	}
}

// TestExportsOnAStateWithout: a state file made before any export (no
// exports bucket) reads as having exported nothing, read-only too.
func TestExportsOnAStateWithout(t *testing.T) {
	path := statePath(t)
	c := newClock()
	db := mustOpen(t, path, testOptions(c))
	db.Close()
	opts := testOptions(c)
	opts.ReadOnly = true
	ro := mustOpen(t, path, opts)
	err := ro.View(func(r *ReadTx) error {
		if n := r.LastControlNumber(); n != 0 {
			t.Errorf("last control number %d", n)
		}
		if _, found, err := r.ControlNumber(ControlKey{Mailbox: "m", ItemID: "i"}); found || err != nil {
			t.Errorf("found a control number: %v", err)
		}
		n := 0
		err := r.ExportVolumes(func(ExportVolume) error { n++; return nil })
		if n != 0 {
			t.Errorf("%d volumes", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
