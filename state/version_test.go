package state

import (
	"errors"
	"testing"
	"time"
)

// A draft edited after it was collected is collected again as version 2:
// version 1 keeps its native, Seq and line; each version is one entry of
// ItemsSince; bytes that did not change make no version.
func TestPutVersionKeepsEveryVersion(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	v1 := collectedItem(1, c)
	v1.ChangeKey, v1.LastModified = "CQAAAA-1", c.Now().Add(-time.Hour)
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		_, _, err := tx.PutItem(v1)
		return err
	})
	edited := collectedItem(2, c) // other bytes
	edited.ID, edited.InternetMessageID = v1.ID, v1.InternetMessageID
	edited.Subject = "Draft: the edited text"
	edited.ChangeKey, edited.LastModified, edited.RunID = "CQAAAA-2", c.Now(), "run-2"
	var stored Item
	mustUpdate(t, db, func(tx *Tx) error {
		var isNew bool
		var err error
		stored, isNew, err = tx.PutVersion(edited)
		if err != nil || !isNew {
			t.Fatalf("PutVersion = %v, %v; want a new version", isNew, err)
		}
		return nil
	})
	if stored.VersionNumber() != 2 || stored.Seq != 2 || stored.SHA256 != edited.SHA256 || stored.ChangeKey != "CQAAAA-2" ||
		len(stored.Versions) != 1 || stored.Versions[0].SHA256 != v1.SHA256 || stored.Versions[0].Seq != 1 ||
		stored.Versions[0].VersionNumber() != 1 || stored.Versions[0].Subject != v1.Subject {
		t.Fatalf("stored %+v", stored)
	}

	// The same bytes again (a draft saved without change): no version; the
	// version's own key stays, as its manifest line has it.
	again := edited
	again.ChangeKey = "CQAAAA-3"
	mustUpdate(t, db, func(tx *Tx) error {
		it, isNew, err := tx.PutVersion(again)
		if err != nil || isNew || it.VersionNumber() != 2 || it.ChangeKey != "CQAAAA-2" {
			t.Errorf("PutVersion of the same bytes = %+v, %v, %v", it, isNew, err)
		}
		return nil
	})

	mustView(t, db, func(r *ReadTx) error {
		got, _, err := r.Item(testMailbox, v1.ID)
		if err != nil || got.VersionNumber() != 2 || len(got.Versions) != 1 || got.ChangeKey != "CQAAAA-2" {
			t.Errorf("read back %+v, %v", got, err)
		}
		var seqs []uint64
		var natives []string
		if err := r.ItemsSince(0, func(it Item) error {
			seqs, natives = append(seqs, it.Seq), append(natives, it.Native)
			if it.ID != v1.ID || it.Mailbox != testMailbox || len(it.Custodians) == 0 {
				t.Errorf("version %d lacks its keys or custodians: %+v", it.VersionNumber(), it)
			}
			return nil
		}); err != nil {
			return err
		}
		if len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 || natives[0] != v1.Native || natives[1] != edited.Native {
			t.Errorf("ItemsSince: seqs %v natives %v", seqs, natives)
		}
		for _, sum := range []string{v1.SHA256, edited.SHA256} {
			if refs, _ := r.ItemsBySHA256(sum); len(refs) != 1 {
				t.Errorf("sha index of %s: %v", sum, refs)
			}
		}
		return nil
	})

	// A version is not made up by a caller, and needs bytes.
	mustUpdate(t, db, func(tx *Tx) error {
		bad := edited
		bad.Versions = []Item{v1}
		if _, _, err := tx.PutItem(bad); err == nil {
			t.Error("PutItem took versions from its caller")
		}
		if _, _, err := tx.PutVersion(Item{Mailbox: testMailbox, ID: v1.ID}); err == nil {
			t.Error("PutVersion took a version without a native")
		}
		return nil
	})
}

// A change seen on the server without new bytes is an observation that
// records the key, so that the next plan compares with it; the collected
// version keeps its own.
func TestChangeObservationRecordsTheKey(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	it := collectedItem(1, c)
	it.ChangeKey = "CQAAAA-1"
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		if _, _, err := tx.PutItem(it); err != nil {
			return err
		}
		return tx.AddObservation(testMailbox, it.ID, Observation{Kind: ChangedOnServer, RunID: "r2", ChangeKey: "CQAAAA-2"})
	})
	mustView(t, db, func(r *ReadTx) error {
		got, _, err := r.Item(testMailbox, it.ID)
		if err != nil || got.ChangeKey != "CQAAAA-1" || got.AccountedChangeKey() != "CQAAAA-2" || got.VersionNumber() != 1 || len(got.Observations) != 1 ||
			got.Observations[0].ChangeKey != "CQAAAA-2" || got.SHA256 != it.SHA256 {
			t.Errorf("after a change observation: %+v, %v", got, err)
		}
		return nil
	})
	err := db.Update(func(tx *Tx) error {
		return tx.AddObservation(testMailbox, it.ID, Observation{Kind: "retagged"})
	})
	if err == nil || errors.Is(err, ErrReadOnly) {
		t.Errorf("unknown kind: %v", err)
	}
}
