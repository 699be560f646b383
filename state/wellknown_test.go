package state

import (
	"reflect"
	"strings"
	"testing"
)

func TestWellKnownFolders(t *testing.T) {
	c := newClock()
	path := statePath(t)
	db := mustOpen(t, path, testOptions(c))
	view := func(id string) (WellKnownFolders, bool) {
		t.Helper()
		var w WellKnownFolders
		var found bool
		if err := db.View(func(r *ReadTx) (err error) {
			w, found, err = r.WellKnownFolders(id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return w, found
	}
	if _, found := view("mbx-1"); found {
		t.Fatal("a mailbox never recorded has well-known folders")
	}
	err := db.Update(func(tx *Tx) error {
		return tx.PutWellKnownFolders("mbx-1", WellKnownFolders{IDs: map[string]string{"inbox": "F1"}})
	})
	if err == nil || !strings.Contains(err.Error(), "PutMailbox first") {
		t.Fatalf("well-known folders of an unknown mailbox: err = %v, want one that says to record the mailbox", err)
	}

	first := WellKnownFolders{IDs: map[string]string{"inbox": "F1", "scheduled": ""}, Tree: "t1"}
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(Mailbox{ID: "mbx-1", Address: "ann@example.com"}); err != nil {
			return err
		}
		return tx.PutWellKnownFolders("mbx-1", first)
	})
	if got, found := view("mbx-1"); !found || !reflect.DeepEqual(got, first) {
		t.Fatalf("got %+v (found %v), want %+v", got, found, first)
	}

	second := WellKnownFolders{IDs: map[string]string{"inbox": "F1", "scheduled": "F9"}, Tree: "t2"}
	mustUpdate(t, db, func(tx *Tx) error {
		// A mailbox recorded again keeps its well-known folders.
		if err := tx.PutMailbox(Mailbox{ID: "mbx-1", Address: "ann@example.com"}); err != nil {
			return err
		}
		return tx.PutWellKnownFolders("mbx-1", second)
	})
	db.Close()
	db = mustOpen(t, path, testOptions(c))
	if got, _ := view("mbx-1"); !reflect.DeepEqual(got, second) {
		t.Fatalf("after reopening: got %+v, want %+v", got, second)
	}
	var mbs int
	if err := db.View(func(r *ReadTx) error {
		return r.Mailboxes(func(Mailbox) error { mbs++; return nil })
	}); err != nil || mbs != 1 {
		t.Fatalf("mailboxes listed: %d (err %v), want 1", mbs, err)
	}
}
