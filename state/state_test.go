package state

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/record"
)

func TestCreateRecordsMeta(t *testing.T) {
	c := newClock()
	path := statePath(t)
	db := mustOpen(t, path, testOptions(c))
	var m Meta
	mustView(t, db, func(tx *ReadTx) error { m = tx.Meta(); return nil })
	if m.SchemaVersion != SchemaVersion || m.Serial != 0 || m.ToolVersion != "v0.1.0-test" || !m.CreatedAt.Equal(c.Now()) {
		t.Fatalf("meta of a new file = %+v", m)
	}
	if len(m.Lineage) != 36 || !m.Exists() {
		t.Fatalf("lineage %q is not a UUID", m.Lineage)
	}
	var serial uint64
	mustUpdate(t, db, func(tx *Tx) error {
		var err error
		serial, err = tx.BumpSerial()
		return err
	})
	if serial != 1 {
		t.Fatalf("first BumpSerial = %d, want 1", serial)
	}
	db.Close()

	// A later version of collect writing the file is recorded; the lineage
	// and the serial survive reopening.
	opts := testOptions(c)
	opts.ToolVersion = "v0.2.0"
	db = mustOpen(t, path, opts)
	mustUpdate(t, db, func(tx *Tx) error { _, err := tx.BumpSerial(); return err })
	var m2 Meta
	mustView(t, db, func(tx *ReadTx) error { m2 = tx.Meta(); return nil })
	if m2.Lineage != m.Lineage || m2.Serial != 2 || m2.ToolVersion != "v0.2.0" || !m2.CreatedAt.Equal(m.CreatedAt) {
		t.Fatalf("meta after reopen = %+v, was %+v", m2, m)
	}
}

func TestLineageDiffersBetweenFiles(t *testing.T) {
	c := newClock()
	opts := testOptions(c)
	opts.Rand = nil // crypto/rand
	var lineages []string
	for range 2 {
		db := mustOpen(t, statePath(t), opts)
		mustView(t, db, func(tx *ReadTx) error { lineages = append(lineages, tx.Meta().Lineage); return nil })
	}
	if lineages[0] == lineages[1] {
		t.Fatalf("two new files share lineage %s", lineages[0])
	}
}

func TestRoundTrip(t *testing.T) {
	c := newClock()
	path := statePath(t)
	db := mustOpen(t, path, testOptions(c))
	it := collectedItem(1, c)
	it.Observations = []Observation{{Kind: Moved, At: c.Now(), RunID: "r1", FromFolder: "Inbox", ToFolder: "Archive", Reason: "moved by user"}}
	folder := Folder{ID: inboxID, Path: "Inbox", Cursor: "https://graph.microsoft.com/v1.0/users/x/mailFolders/y/messages/delta?$deltatoken=abc", CursorIDType: IDTypeImmutable, LastCompleted: c.Now()}
	run := record.Run{RunID: "run-1", Operation: "apply", Status: record.StatusIncomplete, Started: c.Now(), Finished: c.Now().Add(time.Minute),
		ToolVersion: "v0.1.0-test", User: "alice", Host: "ws1", Counts: record.Counts{Planned: 2, Collected: 1, Failed: 1},
		Failures: []record.Failure{{Mailbox: "john.doe@contoso.example", GraphID: immutableID(2), Code: "ErrorItemNotFound", Message: "gone"}}}
	fail := Failure{Mailbox: testMailbox, ItemID: immutableID(2), Code: "ErrorItemNotFound", Message: "The specified object was not found in the store.", RequestID: "req-1", RunID: "run-1", At: c.Now()}
	var seq uint64
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		if err := tx.PutFolder(testMailbox, folder); err != nil {
			return err
		}
		stored, isNew, err := tx.PutItem(it)
		if err != nil {
			return err
		}
		if !isNew {
			t.Error("PutItem of an item never recorded said it was not new")
		}
		seq = stored.Seq
		if err := tx.PutRun(run); err != nil {
			return err
		}
		return tx.RecordFailure(fail)
	})
	if seq != 1 {
		t.Fatalf("seq of the first collected item = %d", seq)
	}
	db.Close()

	ro := testOptions(c)
	ro.ReadOnly = true
	db = mustOpen(t, path, ro)
	mustView(t, db, func(tx *ReadTx) error {
		mb, ok, err := tx.Mailbox(testMailbox)
		if err != nil || !ok || !reflect.DeepEqual(mb, testMailboxRecord()) {
			t.Errorf("Mailbox = %+v, %v, %v", mb, ok, err)
		}
		f, ok, err := tx.Folder(testMailbox, inboxID)
		if err != nil || !ok || f.Cursor != folder.Cursor || f.CursorIDType != IDTypeImmutable || !f.LastCompleted.Equal(c.Now()) || f.Path != "Inbox" {
			t.Errorf("Folder = %+v, %v, %v", f, ok, err)
		}
		got, ok, err := tx.Item(testMailbox, it.ID)
		want := it
		want.Seq = 1
		if err != nil || !ok || !itemsEqual(got, want) {
			t.Errorf("Item =\n %+v\nwant\n %+v (%v, %v)", got, want, ok, err)
		}
		if !tx.HasItem(testMailbox, it.ID) || tx.HasItem(testMailbox, immutableID(2)) || tx.HasItem("other", it.ID) {
			t.Error("HasItem wrong")
		}
		r, ok, err := tx.Run("run-1")
		if err != nil || !ok || !reflect.DeepEqual(r, run) {
			t.Errorf("Run = %+v, %v, %v", r, ok, err)
		}
		fl, ok, err := tx.Failure(testMailbox, immutableID(2))
		if err != nil || !ok || fl != fail {
			t.Errorf("Failure = %+v, %v, %v", fl, ok, err)
		}
		return nil
	})
}

// itemsEqual compares items with times compared as instants.
func itemsEqual(a, b Item) bool {
	norm := func(it Item) Item {
		it.Received, it.Sent, it.CollectedAt = it.Received.UTC(), it.Sent.UTC(), it.CollectedAt.UTC()
		it.Observations = slices.Clone(it.Observations)
		for i := range it.Observations {
			it.Observations[i].At = it.Observations[i].At.UTC()
		}
		return it
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestIndexes(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	other := Mailbox{ID: "9a0b1c2d-0000-4000-8000-000000000002", Address: "shared@contoso.example"}
	a := collectedItem(1, c)
	b := collectedItem(2, c) // same message delivered to a second mailbox
	b.Mailbox, b.ID = other.ID, immutableID(99)
	b.InternetMessageID, b.SHA256, b.MD5, b.SHA1, b.Native = a.InternetMessageID, a.SHA256, a.MD5, a.SHA1, a.Native
	b.Size = a.Size
	mustUpdate(t, db, func(tx *Tx) error {
		for _, m := range []Mailbox{testMailboxRecord(), other} {
			if err := tx.PutMailbox(m); err != nil {
				return err
			}
		}
		for _, it := range []Item{a, b, collectedItem(3, c)} {
			if _, _, err := tx.PutItem(it); err != nil {
				return err
			}
		}
		return nil
	})
	want := []ItemRef{{testMailbox, a.ID}, {other.ID, b.ID}}
	slices.SortFunc(want, func(x, y ItemRef) int { return strings.Compare(x.Mailbox, y.Mailbox) })
	mustView(t, db, func(tx *ReadTx) error {
		got, err := tx.ItemsByInternetMessageID(a.InternetMessageID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ItemsByInternetMessageID = %v, %v; want %v", got, err, want)
		}
		got, err = tx.ItemsBySHA256(strings.ToUpper(a.SHA256))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ItemsBySHA256 = %v, %v; want %v", got, err, want)
		}
		if got, err := tx.ItemsByInternetMessageID("<nope@x>"); err != nil || len(got) != 0 {
			t.Errorf("unknown internetMessageId = %v, %v", got, err)
		}
		if _, err := tx.ItemsBySHA256("abc"); err == nil {
			t.Error("a malformed SHA-256 was accepted")
		}
		return nil
	})

	// Moving an item moves it in the folder index, not anywhere else.
	archive := "AAMkAGI2THVSAAA-Archive-folder"
	mustUpdate(t, db, func(tx *Tx) error {
		moved := Item{Mailbox: testMailbox, ID: a.ID, FolderID: archive, FolderPath: "Archive"}
		_, _, err := tx.PutItem(moved)
		return err
	})
	mustView(t, db, func(tx *ReadTx) error {
		var inbox, arch []string
		tx.ItemsInFolder(testMailbox, inboxID, func(it Item) error { inbox = append(inbox, it.ID); return nil })
		tx.ItemsInFolder(testMailbox, archive, func(it Item) error { arch = append(arch, it.ID); return nil })
		if !reflect.DeepEqual(inbox, []string{immutableID(3)}) || !reflect.DeepEqual(arch, []string{a.ID}) {
			t.Errorf("folder index: inbox %v, archive %v", inbox, arch)
		}
		it, _, _ := tx.Item(testMailbox, a.ID)
		if it.SHA256 != a.SHA256 || it.FolderPath != "Archive" || it.Seq != 1 || it.Subject != a.Subject {
			t.Errorf("after a move the item is %+v", it)
		}
		return nil
	})
}

func TestSeqMonotonicAcrossReopen(t *testing.T) {
	c := newClock()
	path := statePath(t)
	var seqs []uint64
	for round := range 3 {
		db := mustOpen(t, path, testOptions(c))
		mustUpdate(t, db, func(tx *Tx) error {
			if err := tx.PutMailbox(testMailboxRecord()); err != nil {
				return err
			}
			for i := range 3 {
				stored, _, err := tx.PutItem(collectedItem(round*10+i, c))
				if err != nil {
					return err
				}
				seqs = append(seqs, stored.Seq)
			}
			// A tombstone gets no sequence number.
			return tx.AddObservation(testMailbox, immutableID(round*10+9), Observation{Kind: DeletedBeforeCollection, RunID: "r"})
		})
		// Putting a collected item again keeps its number.
		mustUpdate(t, db, func(tx *Tx) error {
			stored, isNew, err := tx.PutItem(collectedItem(round*10, c))
			if err == nil && stored.Seq != seqs[len(seqs)-3] {
				t.Errorf("re-put changed seq to %d", stored.Seq)
			}
			if err == nil && isNew {
				t.Error("re-put of a collected item said it was new")
			}
			return err
		})
		// A rolled-back transaction uses up no number that is ever seen.
		db.Update(func(tx *Tx) error {
			tx.PutItem(collectedItem(500+round, c))
			return errors.New("roll back")
		})
		db.Close()
	}
	if !slices.Equal(seqs, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("seqs = %v", seqs)
	}
	ro := testOptions(c)
	ro.ReadOnly = true
	db := mustOpen(t, path, ro)
	mustView(t, db, func(tx *ReadTx) error {
		var got []uint64
		var ids []string
		err := tx.ItemsSince(4, func(it Item) error { got = append(got, it.Seq); ids = append(ids, it.ID); return nil })
		if err != nil || !slices.Equal(got, []uint64{5, 6, 7, 8, 9}) {
			t.Errorf("ItemsSince(4) = %v, %v", got, err)
		}
		if ids[0] != immutableID(11) {
			t.Errorf("seq 5 is %s", ids[0])
		}
		if tx.LastSeq() != 9 {
			t.Errorf("LastSeq = %d", tx.LastSeq())
		}
		n := 0
		tx.ItemsSince(9, func(Item) error { n++; return nil })
		if n != 0 {
			t.Errorf("ItemsSince(last) gave %d items", n)
		}
		stop := errors.New("stop")
		if err := tx.ItemsSince(0, func(Item) error { return stop }); err != stop {
			t.Errorf("callback error = %v", err)
		}
		return nil
	})
}

func TestTombstoneThenCollected(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	it := collectedItem(7, c)
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		if err := tx.RecordFailure(Failure{Mailbox: testMailbox, ItemID: it.ID, Code: "ErrorItemNotFound", RunID: "r1"}); err != nil {
			return err
		}
		return tx.AddObservation(testMailbox, it.ID, Observation{Kind: DeletedBeforeCollection, RunID: "r1", Reason: "deleted"})
	})
	mustView(t, db, func(tx *ReadTx) error {
		ts, ok, err := tx.Item(testMailbox, it.ID)
		if err != nil || !ok || ts.Collected() || ts.Seq != 0 || len(ts.Observations) != 1 || !ts.Observations[0].At.Equal(c.Now()) {
			t.Errorf("tombstone = %+v, %v, %v", ts, ok, err)
		}
		if tx.HasItem(testMailbox, it.ID) {
			t.Error("HasItem is true for a tombstone")
		}
		if f, ok, _ := tx.Failure(testMailbox, it.ID); !ok || f.At.IsZero() {
			t.Errorf("failure not recorded with a time: %+v", f)
		}
		if n := countSince(tx); n != 0 {
			t.Errorf("ItemsSince lists %d items for a tombstone", n)
		}
		return nil
	})
	c.Advance(time.Hour)
	mustUpdate(t, db, func(tx *Tx) error { _, _, err := tx.PutItem(it); return err })
	mustView(t, db, func(tx *ReadTx) error {
		got, _, _ := tx.Item(testMailbox, it.ID)
		if !got.Collected() || got.Seq != 1 || len(got.Observations) != 1 || got.Observations[0].Kind != DeletedBeforeCollection {
			t.Errorf("collected tombstone = %+v", got)
		}
		if _, ok, _ := tx.Failure(testMailbox, it.ID); ok {
			t.Error("the failure was not cleared by collecting the item")
		}
		refs, _ := tx.ItemsBySHA256(it.SHA256)
		if len(refs) != 1 {
			t.Errorf("sha index = %v", refs)
		}
		return nil
	})
}

func countSince(tx *ReadTx) int {
	n := 0
	tx.ItemsSince(0, func(Item) error { n++; return nil })
	return n
}

func TestCollectedNativeNeverReplaced(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	it := collectedItem(1, c)
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		_, _, err := tx.PutItem(it)
		return err
	})
	changed := collectedItem(2, c)
	changed.ID = it.ID
	err := db.Update(func(tx *Tx) error { _, _, err := tx.PutItem(changed); return err })
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Ref.ID != it.ID || !strings.Contains(err.Error(), it.SHA256) {
		t.Fatalf("replacing a native: err = %v", err)
	}
	// Without hashes, a put updates only what was seen of the item.
	seen := Item{Mailbox: testMailbox, ID: it.ID, Subject: "new subject", Custodians: []string{"asmith"}}
	mustUpdate(t, db, func(tx *Tx) error { _, _, err := tx.PutItem(seen); return err })
	mustView(t, db, func(tx *ReadTx) error {
		got, _, _ := tx.Item(testMailbox, it.ID)
		if got.SHA256 != it.SHA256 || got.Native != it.Native || got.Seq != 1 || got.Subject != "new subject" ||
			!slices.Equal(got.Custodians, []string{"jdoe", "asmith"}) {
			t.Errorf("item after update = %+v", got)
		}
		return nil
	})
}

func TestObservationsAppendOnly(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	it := collectedItem(1, c)
	o1 := Observation{Kind: Moved, At: c.Now(), RunID: "r1", FromFolder: "Inbox", ToFolder: "Archive"}
	o2 := Observation{Kind: RemovedOnServer, At: c.Now().Add(time.Hour), RunID: "r2", Reason: "deleted"}
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		if _, _, err := tx.PutItem(it); err != nil {
			return err
		}
		if err := tx.AddObservation(testMailbox, it.ID, o1); err != nil {
			return err
		}
		// The same observation again (a retried commit) is recorded once.
		if err := tx.AddObservation(testMailbox, it.ID, o1); err != nil {
			return err
		}
		return tx.AddObservation(testMailbox, it.ID, o2)
	})
	// A put whose record lacks the observations does not drop them.
	mustUpdate(t, db, func(tx *Tx) error { _, _, err := tx.PutItem(it); return err })
	mustView(t, db, func(tx *ReadTx) error {
		got, _, _ := tx.Item(testMailbox, it.ID)
		if len(got.Observations) != 2 || !got.Observations[0].equal(o1) || !got.Observations[1].equal(o2) {
			t.Errorf("observations = %+v", got.Observations)
		}
		return nil
	})
	err := db.Update(func(tx *Tx) error {
		return tx.AddObservation(testMailbox, it.ID, Observation{Kind: "purged"})
	})
	if err == nil || !strings.Contains(err.Error(), "purged") {
		t.Fatalf("unknown observation kind: %v", err)
	}
}

// TestNoMethodDeletes walks the whole write API: every exported method of
// Tx and DB is known here, and after every write method has been used on
// an item, the item, its native record and its observations are all there.
// A new method fails this test until it is reviewed and listed.
func TestNoMethodDeletes(t *testing.T) {
	writes := []string{"AddObservation", "BumpSerial", "PutFolder", "PutItem", "PutMailbox", "PutRun", "PutVersion", "RecordFailure", "RestoreItem", "SetCursor",
		"AssignControlNumber", "FirstWithKeyOrPut", "PutExportVolume", "PutWellKnownFolders"}
	reads := []string{"Failure", "Failures", "Folder", "Folders", "HasItem", "Item", "ItemsByInternetMessageID", "ItemsBySHA256",
		"InterruptedRuns", "ItemsInFolder", "ItemsOfMailbox", "ItemsSince", "LastSeq", "Mailbox", "Mailboxes", "Meta", "Run", "RunInProgress", "Runs",
		"ControlNumber", "LastControlNumber", "FirstWithKey", "ExportVolumes", "WellKnownFolders"}
	dbMethods := []string{"Backup", "Close", "Path", "ReadOnly", "Update", "View", "Writer"}
	check := func(typ reflect.Type, known []string) {
		for i := range typ.NumMethod() {
			name := typ.Method(i).Name
			if !slices.Contains(known, name) {
				t.Errorf("%s has a method %s this test does not know: review that it deletes nothing and list it", typ, name)
			}
			for _, bad := range []string{"Delete", "Remove", "Drop", "Purge", "Clear", "Truncate", "Compact"} {
				if strings.Contains(name, bad) {
					t.Errorf("%s.%s looks like it deletes", typ, name)
				}
			}
		}
	}
	check(reflect.TypeFor[*Tx](), append(slices.Clone(writes), reads...))
	check(reflect.TypeFor[*ReadTx](), reads)
	check(reflect.TypeFor[*DB](), dbMethods)

	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	it := collectedItem(1, c)
	obs := Observation{Kind: Moved, At: c.Now(), RunID: "r1"}
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		if err := tx.PutFolder(testMailbox, Folder{ID: inboxID, Path: "Inbox"}); err != nil {
			return err
		}
		if _, _, err := tx.PutItem(it); err != nil {
			return err
		}
		return tx.AddObservation(testMailbox, it.ID, obs)
	})
	// Every write method, with the emptiest arguments it takes.
	mustUpdate(t, db, func(tx *Tx) error {
		steps := []error{
			tx.PutMailbox(Mailbox{ID: testMailbox}),
			tx.PutFolder(testMailbox, Folder{ID: inboxID}),
			tx.SetCursor(testMailbox, inboxID, "", "", time.Time{}),
			func() error { _, _, err := tx.PutItem(Item{Mailbox: testMailbox, ID: it.ID}); return err }(),
			func() error { _, _, err := tx.PutVersion(it); return err }(),
			tx.AddObservation(testMailbox, it.ID, Observation{Kind: RemovedOnServer, RunID: "r2"}),
			tx.RecordFailure(Failure{Mailbox: testMailbox, ItemID: it.ID}),
			tx.PutRun(record.Run{RunID: "r2"}),
			func() error { _, err := tx.BumpSerial(); return err }(),
		}
		return errors.Join(steps...)
	})
	mustView(t, db, func(tx *ReadTx) error {
		got, ok, err := tx.Item(testMailbox, it.ID)
		if err != nil || !ok || got.SHA256 != it.SHA256 || got.Native != it.Native || got.Seq != 1 ||
			got.InternetMessageID != it.InternetMessageID || len(got.Observations) != 2 || !got.Observations[0].equal(obs) {
			t.Errorf("item after every write method: %+v (%v, %v)", got, ok, err)
		}
		mb, _, _ := tx.Mailbox(testMailbox)
		if !slices.Equal(mb.References, testMailboxRecord().References) || mb.Address != "" {
			t.Errorf("mailbox after an empty put: %+v", mb)
		}
		if f, _, _ := tx.Folder(testMailbox, inboxID); f.Path != "" || f.Cursor != "" {
			t.Errorf("folder after an empty put and a cleared cursor: %+v", f)
		}
		if refs, _ := tx.ItemsBySHA256(it.SHA256); len(refs) != 1 {
			t.Errorf("sha index lost the item: %v", refs)
		}
		if refs, _ := tx.ItemsByInternetMessageID(it.InternetMessageID); len(refs) != 1 {
			t.Errorf("internetMessageId index lost the item: %v", refs)
		}
		if countSince(tx) != 1 {
			t.Error("the sequence index lost the item")
		}
		return nil
	})
}

func TestIterations(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	mbs := []Mailbox{testMailboxRecord(), {ID: "00000000-0000-4000-8000-000000000001"}}
	mustUpdate(t, db, func(tx *Tx) error {
		for _, m := range mbs {
			if err := tx.PutMailbox(m); err != nil {
				return err
			}
		}
		for _, id := range []string{"F2", "F1"} {
			if err := tx.PutFolder(testMailbox, Folder{ID: id, Path: "P" + id}); err != nil {
				return err
			}
		}
		if err := tx.SetCursor(testMailbox, "F1", "cursor-1", IDTypeImmutable, c.Now()); err != nil {
			return err
		}
		for i := range 5 {
			if _, _, err := tx.PutItem(collectedItem(i, c)); err != nil {
				return err
			}
		}
		for _, r := range []record.Run{{RunID: "b", Started: c.Now()}, {RunID: "a", Started: c.Now().Add(time.Hour)}} {
			if err := tx.PutRun(r); err != nil {
				return err
			}
		}
		return tx.RecordFailure(Failure{Mailbox: testMailbox, ItemID: "x", Code: "E"})
	})
	mustView(t, db, func(tx *ReadTx) error {
		var ids []string
		tx.Mailboxes(func(m Mailbox) error { ids = append(ids, m.ID); return nil })
		if !slices.Equal(ids, []string{mbs[1].ID, testMailbox}) {
			t.Errorf("Mailboxes = %v", ids)
		}
		var folders []Folder
		tx.Folders(testMailbox, func(f Folder) error { folders = append(folders, f); return nil })
		if len(folders) != 2 || folders[0].ID != "F1" || folders[0].Cursor != "cursor-1" || folders[1].Cursor != "" {
			t.Errorf("Folders = %+v", folders)
		}
		n := 0
		tx.ItemsOfMailbox(testMailbox, func(Item) error { n++; return nil })
		if n != 5 {
			t.Errorf("ItemsOfMailbox gave %d", n)
		}
		var runs []string
		tx.Runs(func(r record.Run) error { runs = append(runs, r.RunID); return nil })
		if !slices.Equal(runs, []string{"b", "a"}) {
			t.Errorf("Runs not oldest first: %v", runs)
		}
		var fails []string
		tx.Failures(testMailbox, func(f Failure) error { fails = append(fails, f.ItemID); return nil })
		if !slices.Equal(fails, []string{"x"}) {
			t.Errorf("Failures = %v", fails)
		}
		return nil
	})
}

func TestWriteValidation(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	mustUpdate(t, db, func(tx *Tx) error { return tx.PutMailbox(testMailboxRecord()) })
	bad := collectedItem(1, c)
	bad.SHA256 = "zz"
	noNative := collectedItem(2, c)
	noNative.Native = ""
	noRun := collectedItem(3, c)
	noRun.RunID = ""
	noTime := collectedItem(4, c)
	noTime.CollectedAt = time.Time{}
	long := Item{Mailbox: testMailbox, ID: "long", Subject: strings.Repeat("é", 300)}
	cases := []struct {
		name string
		fn   func(*Tx) error
		want string
	}{
		{"unknown mailbox", func(tx *Tx) error { _, _, err := tx.PutItem(Item{Mailbox: "nobody", ID: "x"}); return err }, "PutMailbox first"},
		{"bad sha256", func(tx *Tx) error { _, _, err := tx.PutItem(bad); return err }, "sha256"},
		{"md5 without sha256", func(tx *Tx) error {
			_, _, err := tx.PutItem(Item{Mailbox: testMailbox, ID: "m", MD5: collectedItem(1, c).MD5})
			return err
		}, "SHA-256 too"},
		{"no native", func(tx *Tx) error { _, _, err := tx.PutItem(noNative); return err }, "native"},
		{"no run", func(tx *Tx) error { _, _, err := tx.PutItem(noRun); return err }, "run"},
		{"no collection time", func(tx *Tx) error { _, _, err := tx.PutItem(noTime); return err }, "time it was collected"},
		{"NUL in id", func(tx *Tx) error { _, _, err := tx.PutItem(Item{Mailbox: testMailbox, ID: "a\x00b"}); return err }, "NUL"},
		{"cursor without id type", func(tx *Tx) error {
			return tx.PutFolder(testMailbox, Folder{ID: "f", Cursor: "c"})
		}, "ID type"},
		{"cursor of unknown folder", func(tx *Tx) error { return tx.SetCursor(testMailbox, "nope", "c", IDTypeImmutable, c.Now()) }, "PutFolder first"},
		{"run without an id", func(tx *Tx) error { return tx.PutRun(record.Run{Operation: "apply"}) }, "run ID is empty"},
		{"empty mailbox id", func(tx *Tx) error { return tx.PutMailbox(Mailbox{}) }, "empty"},
	}
	for _, tc := range cases {
		err := db.Update(tc.fn)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	mustUpdate(t, db, func(tx *Tx) error { _, _, err := tx.PutItem(long); return err })
	mustView(t, db, func(tx *ReadTx) error {
		it, _, _ := tx.Item(testMailbox, "long")
		if len(it.Subject) > MaxShortText || len(it.Subject) < MaxShortText-1 || !strings.HasPrefix(long.Subject, it.Subject) {
			t.Errorf("subject kept %d bytes", len(it.Subject))
		}
		return nil
	})
}

func TestReadOnly(t *testing.T) {
	c := newClock()
	path := statePath(t)
	// A state that does not exist yet reads as empty and is not created.
	ro := testOptions(c)
	ro.ReadOnly = true
	db := mustOpen(t, path, ro)
	mustView(t, db, func(tx *ReadTx) error {
		if m := tx.Meta(); m.Exists() || m.Serial != 0 {
			t.Errorf("meta of a missing file = %+v", m)
		}
		if _, ok, err := tx.Item(testMailbox, "x"); ok || err != nil {
			t.Errorf("Item in empty state: %v %v", ok, err)
		}
		n := 0
		tx.Mailboxes(func(Mailbox) error { n++; return nil })
		tx.ItemsSince(0, func(Item) error { n++; return nil })
		if n != 0 || tx.HasItem(testMailbox, "x") || tx.LastSeq() != 0 {
			t.Error("the empty state is not empty")
		}
		return nil
	})
	if err := db.Update(func(*Tx) error { return nil }); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Update on an empty read-only state: %v", err)
	}
	db.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a read-only open created the file: %v", err)
	}
	if _, err := os.Stat(LockFilePath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a read-only open left a lock file: %v", err)
	}

	// An existing file opened read-only refuses writes and is unchanged.
	rw := mustOpen(t, path, testOptions(c))
	mustUpdate(t, rw, func(tx *Tx) error { return tx.PutMailbox(testMailboxRecord()) })
	rw.Close()
	before, _ := os.ReadFile(path)
	db = mustOpen(t, path, ro)
	err := db.Update(func(tx *Tx) error { return tx.PutMailbox(Mailbox{ID: "x"}) })
	if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), path) {
		t.Errorf("Update on a read-only state: %v", err)
	}
	mustView(t, db, func(tx *ReadTx) error {
		if _, ok, _ := tx.Mailbox(testMailbox); !ok {
			t.Error("read-only open does not see the mailbox")
		}
		return nil
	})
	db.Close()
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("a read-only open changed the file")
	}
}

func TestClosedDB(t *testing.T) {
	db, err := Open(statePath(t), testOptions(newClock()))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := db.View(func(*ReadTx) error { return nil }); err == nil {
		t.Error("View on a closed state worked")
	}
	if err := db.Update(func(*Tx) error { return nil }); err == nil {
		t.Error("Update on a closed state worked")
	}
	empty, err := Open(statePath(t), Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	empty.Close()
	if err := empty.View(func(*ReadTx) error { return nil }); err == nil {
		t.Error("View on a closed empty state worked")
	}
}

// Two writers racing to create the same new state file end up sharing
// one file and one lineage; no temporary file is left behind.
func TestConcurrentCreate(t *testing.T) {
	path := statePath(t)
	lineages := make(chan string, 2)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			opts := Options{LockTimeout: time.Minute, Operation: "apply"}
			db, err := Open(path, opts)
			if err != nil {
				errs <- err
				return
			}
			db.View(func(tx *ReadTx) error { lineages <- tx.Meta().Lineage; return nil })
			errs <- db.Close()
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	a, b := <-lineages, <-lineages
	if a == "" || a != b {
		t.Fatalf("lineages %q and %q", a, b)
	}
	if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, []string{"collect.state"}) {
		t.Fatalf("files left next to the state: %v", names)
	}
}

// The folder index is keyed by a hash of the folder ID; an entry of
// another folder under the same hash is skipped, not reported.
func TestItemsInFolderSkipsHashCollisions(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	other := collectedItem(2, c)
	other.FolderID = "another-folder"
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		for _, it := range []Item{collectedItem(1, c), other} {
			if _, _, err := tx.PutItem(it); err != nil {
				return err
			}
		}
		// Forge what a collision would look like: the other folder's item
		// under the inbox's hash.
		return tx.box(testMailbox).byFolder.Put(folderKey(inboxID, other.ID), nil)
	})
	mustView(t, db, func(tx *ReadTx) error {
		var ids []string
		err := tx.ItemsInFolder(testMailbox, inboxID, func(it Item) error { ids = append(ids, it.ID); return nil })
		if err != nil || !slices.Equal(ids, []string{immutableID(1)}) {
			t.Errorf("ItemsInFolder = %v, %v", ids, err)
		}
		return nil
	})
}

func TestCreateMakesTheStateFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "matter", "state", "collect.state")
	db := mustOpen(t, path, testOptions(newClock()))
	defer db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the state file was not created in a new folder: %v", err)
	}
}
