package apply_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/custody"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/internal/testworld"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

func TestEveryPlannedItemIsCollectedExactlyOnce(t *testing.T) {
	w := newWorld(t, graphsim.Config{DuplicateRate: 0.1})
	ann, bob := w.User("ann"), w.User("bob")
	w.Populate(ann, "inbox", 40)
	w.Populate(ann, "sentitems", 20)
	w.Populate(bob, "inbox", 15)
	w.LoadMatterOf(ann, bob)
	p := w.ApplyablePlan()
	planned := p.Counts().ToCollect
	if planned != 75 {
		t.Fatalf("planned %d, want 75", planned)
	}
	res := w.Apply(p)
	if !res.Complete || res.Collected != 75 || res.Planned != 75 || res.Failed != 0 || res.Remaining != 0 {
		t.Fatalf("result %+v", res)
	}
	items := w.Items()
	lines := w.Manifest()
	if len(items) != 75 || len(lines) != 75 {
		t.Fatalf("%d state items, %d manifest lines; want 75 each", len(items), len(lines))
	}
	seen := map[string]bool{}
	for i, it := range items {
		if it.Seq != uint64(i+1) || lines[i].Seq != it.Seq || lines[i].GraphID != it.ID || lines[i].SHA256 != it.SHA256 {
			t.Errorf("item %d: seq %d, manifest line seq %d (%s)", i, it.Seq, lines[i].Seq, lines[i].GraphID)
		}
		if seen[it.Mailbox+"/"+it.ID] {
			t.Errorf("item %s recorded twice", it.ID)
		}
		seen[it.Mailbox+"/"+it.ID] = true
		if it.MD5 == "" || lines[i].MD5 != it.MD5 {
			t.Errorf("item %s: md5 %q, line %q", it.ID, it.MD5, lines[i].MD5)
		}
	}
	for _, mb := range p.Mailboxes {
		for _, f := range mb.Folders {
			for _, it := range f.Fetch {
				if !seen[mb.Resolved.ID+"/"+it.ID] {
					t.Errorf("planned item %s of %s was not collected", it.ID, f.Path)
				}
			}
		}
	}
	w.CheckNatives(items, w.UPNs(ann, bob))
	if rep := w.Verify(); rep.Verified != rep.Natives || rep.Items != 75 || rep.ManifestLines != 75 {
		t.Errorf("verify: %d items, %d of %d natives verified, %d lines", rep.Items, rep.Verified, rep.Natives, rep.ManifestLines)
	}

	// Every folder's cursor is stored with the window scope it was made for.
	db := w.OpenState(false)
	err := db.View(func(r *state.ReadTx) error {
		for _, mb := range p.Mailboxes {
			for _, f := range mb.Folders {
				sf, ok, err := r.Folder(mb.Resolved.ID, f.ID)
				if err != nil {
					return err
				}
				if !ok || sf.Cursor != f.NewCursor || sf.CursorIDType != state.IDTypeImmutable || sf.Scope != mb.Scope {
					t.Errorf("folder %s of %s: stored %+v, want the plan's new cursor", f.Path, mb.Email, sf)
				}
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	// Applying the same plan again, and a new plan, collect nothing.
	before, _ := os.ReadFile(filepath.Join(w.Matter.Output.Path, store.ManifestFile))
	again := w.Apply(p)
	if again.Collected != 0 || again.Failed != 0 {
		t.Errorf("the same plan applied twice collected %d more (failed %d)", again.Collected, again.Failed)
	}
	p2 := w.ApplyablePlan()
	if p2.HasChanges() {
		t.Errorf("re-plan after apply has changes: %+v", p2.Counts())
	}
	if res := w.Apply(p2); res.Collected != 0 || res.Planned != 0 {
		t.Errorf("empty plan applied: %+v", res)
	}
	after, _ := os.ReadFile(filepath.Join(w.Matter.Output.Path, store.ManifestFile))
	if !bytes.Equal(before, after) || len(w.Items()) != 75 {
		t.Error("re-applying changed the manifest or the state's items")
	}
	w.Verify()
}

func TestMessageDeletedBeforeFetchIsATombstone(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 12)
	w.LoadMatterOf(ann)
	p := w.ApplyablePlan()
	refs, _ := w.Tenant.Messages(ann, w.Folder(ann, "inbox"))
	gone := []string{refs[2].ImmutableID, refs[9].ImmutableID}
	for _, id := range gone {
		if err := w.Tenant.Delete(ann, id); err != nil {
			t.Fatal(err)
		}
	}
	res := w.Apply(p)
	if res.Tombstoned != 2 || res.Collected != 10 || res.Failed != 0 || !res.Complete {
		t.Fatalf("result %+v, want 10 collected and 2 tombstoned", res)
	}
	db := w.OpenState(false)
	annID := p.Mailboxes[0].Resolved.ID
	err := db.View(func(r *state.ReadTx) error {
		for _, id := range gone {
			it, ok, err := r.Item(annID, id)
			if err != nil {
				return err
			}
			if !ok || it.Collected() || len(it.Observations) != 1 || it.Observations[0].Kind != state.DeletedBeforeCollection ||
				it.Observations[0].FromFolder != "Inbox" || it.Observations[0].RunID != res.RunID {
				t.Errorf("item %s: %+v, want a deleted-before-collection tombstone", id, it)
			}
			if _, failed, _ := r.Failure(annID, id); failed {
				t.Errorf("item %s recorded as a failure", id)
			}
		}
		inbox, _, err := r.Folder(annID, w.Folder(ann, "inbox"))
		if err != nil {
			return err
		}
		if inbox.Cursor == "" {
			t.Error("the folder's cursor was not advanced after a tombstone")
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if p := w.ApplyablePlan(); p.HasChanges() {
		t.Errorf("re-plan after tombstones: %+v", p.Counts())
	}
	w.Verify()
}

func TestFailedItemsKeepTheCursorAndAreRetried(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob := w.User("ann"), w.User("bob")
	w.Populate(ann, "inbox", 8)
	w.Populate(ann, "sentitems", 4)
	w.Populate(bob, "inbox", 6)
	w.LoadMatterOf(ann, bob)
	p := w.ApplyablePlan()
	// Access to ann's mailbox is withdrawn between plan and apply.
	if err := w.Tenant.SetMailboxAccess(w.Tenant.Credentials().ClientID, ann, false); err != nil {
		t.Fatal(err)
	}
	res := w.Apply(p)
	if res.Failed != 12 || res.Collected != 6 || res.Complete {
		t.Fatalf("result %+v, want ann's 12 failed and bob's 6 collected", res)
	}
	for _, f := range res.Failures {
		if f.Code != "ErrorAccessDenied" || f.Mailbox != ann || f.GraphID == "" {
			t.Errorf("failure %+v", f)
		}
	}
	annID, bobID := p.Mailboxes[0].Resolved.ID, p.Mailboxes[1].Resolved.ID
	db := w.OpenState(false)
	err := db.View(func(r *state.ReadTx) error {
		for _, f := range p.Mailboxes[0].Folders {
			sf, _, err := r.Folder(annID, f.ID)
			if err != nil {
				return err
			}
			if len(f.Fetch) > 0 && sf.Cursor != "" {
				t.Errorf("ann's %s: cursor stored although its items failed", f.Path)
			}
			for _, it := range f.Fetch {
				fl, ok, err := r.Failure(annID, it.ID)
				if err != nil {
					return err
				}
				if !ok || fl.Code != "ErrorAccessDenied" || fl.RunID != res.RunID {
					t.Errorf("failure of %s: %+v", it.ID, fl)
				}
			}
		}
		sf, _, err := r.Folder(bobID, w.Folder(bob, "inbox"))
		if err != nil {
			return err
		}
		if sf.Cursor == "" {
			t.Error("bob's inbox cursor was not stored: one mailbox's failure held up another")
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	// Access restored: the re-plan picks the failed items up again.
	if err := w.Tenant.SetMailboxAccess(w.Tenant.Credentials().ClientID, ann, true); err != nil {
		t.Fatal(err)
	}
	p2 := w.ApplyablePlan()
	if c := p2.Counts(); c.ToCollect != 12 {
		t.Fatalf("re-plan: %d to collect, want ann's 12", c.ToCollect)
	}
	res = w.Apply(p2)
	if !res.Complete || res.Collected != 12 {
		t.Fatalf("second apply %+v", res)
	}
	db = w.OpenState(false)
	_ = db.View(func(r *state.ReadTx) error {
		return r.Failures(annID, func(f state.Failure) error {
			t.Errorf("failure of %s still recorded after collection", f.ItemID)
			return nil
		})
	})
	db.Close()
	w.Verify()
}

func TestTransientFailureOfOneMessage(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 5)
	w.Populate(ann, "sentitems", 3)
	w.LoadMatterOf(ann)
	p := w.ApplyablePlan()
	var faults []graphsim.Fault
	for range 3 {
		faults = append(faults, graphsim.Fault{Kind: graphsim.FaultServerError, Route: graphsim.RouteValue})
	}
	if err := w.Tenant.InjectFaults(ann, faults...); err != nil {
		t.Fatal(err)
	}
	// One request at a time: the first message (of Inbox) meets every fault.
	res, err := w.ApplyWith(context.Background(), p, apply.Options{Concurrency: 1, Parallelism: 1, FetchAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 1 || res.Collected != 7 || len(res.Failures) != 1 || res.Failures[0].Code != "generalException" {
		t.Fatalf("result %+v, failures %+v", res, res.Failures)
	}
	annID := p.Mailboxes[0].Resolved.ID
	db := w.OpenState(false)
	_ = db.View(func(r *state.ReadTx) error {
		for _, f := range p.Mailboxes[0].Folders {
			sf, _, _ := r.Folder(annID, f.ID)
			switch f.Path {
			case "Inbox":
				if sf.Cursor != "" {
					t.Error("Inbox cursor stored with a failed item")
				}
			case "Sent Items":
				if sf.Cursor == "" {
					t.Error("Sent Items cursor not stored though all its items were collected")
				}
			}
		}
		return nil
	})
	db.Close()
	p2 := w.ApplyablePlan()
	if c := p2.Counts(); c.ToCollect != 1 {
		t.Errorf("re-plan: %d to collect, want the failed one", c.ToCollect)
	}
	if res := w.Apply(p2); res.Collected != 1 || !res.Complete {
		t.Errorf("retry: %+v", res)
	}
	w.Verify()
}

func TestReconcileRestoresManifestLinesLostInACrash(t *testing.T) {
	w, path, full := collectedManifest(t, 20)
	cut := func(n int) {
		t.Helper()
		lines := bytes.SplitAfter(full, []byte("\n"))
		lines = lines[:len(lines)-1] // the empty piece after the last newline
		if err := os.WriteFile(path, bytes.Join(lines[:len(lines)-n], nil), 0o600); err != nil {
			t.Fatal(err)
		}
		// The run that died wrote no checkpoint, and its custody log is
		// never ahead of the manifest: both follow the manifest's appends.
		if err := os.RemoveAll(filepath.Join(w.Matter.Output.Path, custody.Dir)); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(filepath.Join(w.Matter.Output.Path, custody.HashFile), 0); err != nil {
			t.Fatal(err)
		}
	}
	// The state committed; the process died before the manifest append.
	cut(5)
	st := w.Store()
	man, err := st.OpenManifest()
	if err != nil {
		t.Fatal(err)
	}
	db := w.OpenState(false)
	added, err := apply.Reconcile(db, man)
	man.Close()
	db.Close()
	if err != nil || added != 5 {
		t.Fatalf("Reconcile added %d lines (%v), want 5", added, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, full) {
		t.Error("the reconciled manifest differs from the one written in one go")
	}
	// The next apply reconciles by itself before anything else.
	cut(3)
	if res := w.Apply(w.ApplyablePlan()); res.Collected != 0 {
		t.Errorf("apply after the crash collected %d", res.Collected)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, full) {
		t.Error("apply did not restore the lines missing from the manifest")
	}
	w.Verify()
}

func TestCanceledApplyLeavesAConsistentCollection(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob := w.User("ann"), w.User("bob")
	w.Populate(ann, "inbox", 40)
	w.Populate(bob, "inbox", 40)
	w.LoadMatterOf(ann, bob)
	p := w.ApplyablePlan()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.Src.Before = func(n int) {
		if n == 17 {
			cancel()
		}
	}
	res, err := w.ApplyWith(ctx, p, apply.Options{BatchSize: 4})
	w.Src.Before = nil
	if !errors.Is(err, context.Canceled) || !res.Interrupted() || res.Complete {
		t.Fatalf("canceled apply: err %v, result %+v", err, res)
	}
	items := w.Items()
	if int64(len(items)) != res.Collected || res.Collected == 0 || res.Collected >= 80 {
		t.Fatalf("%d items in the state, the result says %d collected", len(items), res.Collected)
	}
	if lines := w.Manifest(); len(lines) != len(items) {
		t.Errorf("%d manifest lines for %d items", len(lines), len(items))
	}
	if res.Remaining != 80-res.Collected-res.Failed-res.Tombstoned {
		t.Errorf("remaining %d of %+v", res.Remaining, res)
	}
	w.Verify()
	// The run record says how it ended.
	run, err := w.Store().ReadRun(res.RunID)
	if err != nil || run.Complete || run.Counts.Collected != res.Collected {
		t.Errorf("run record %+v (%v)", run, err)
	}

	p2 := w.ApplyablePlan()
	if c := p2.Counts(); c.ToCollect != 80-res.Collected {
		t.Errorf("re-plan: %d to collect, want the %d left", c.ToCollect, 80-res.Collected)
	}
	res2 := w.Apply(p2)
	if !res2.Complete {
		t.Fatalf("second apply %+v", res2)
	}
	items = w.Items()
	if len(items) != 80 {
		t.Fatalf("%d items after the second apply, want 80", len(items))
	}
	ids := map[string]bool{}
	for _, it := range items {
		ids[it.ID] = true
	}
	if len(ids) != 80 {
		t.Errorf("%d distinct items for 80 records", len(ids))
	}
	w.CheckNatives(items, w.UPNs(ann, bob))
	w.Verify()
}

func TestIdenticalBytesInTwoMailboxesAreStoredOnce(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob := w.User("ann"), w.User("bob")
	raw := []byte("From: Someone <someone@example.com>\r\nTo: team@" + testworld.Domain + "\r\nSubject: to both\r\n" +
		"Date: Mon, 5 Feb 2024 10:00:00 +0000\r\nMessage-ID: <both@example.com>\r\n\r\nSame bytes.\r\n")
	for _, who := range []string{ann, bob} {
		if _, err := w.Tenant.Deliver(who, w.Folder(who, "inbox"), graphsim.MessageSpec{MIME: raw}); err != nil {
			t.Fatal(err)
		}
	}
	w.Populate(bob, "inbox", 3)
	w.LoadMatterOf(ann, bob)
	res := w.Apply(w.ApplyablePlan())
	if res.Collected != 5 || res.Deduplicated != 1 {
		t.Fatalf("result %+v, want 5 collected, 1 deduplicated", res)
	}
	var shared []state.Item
	for _, it := range w.Items() {
		if it.InternetMessageID == "<both@example.com>" {
			shared = append(shared, it)
		}
	}
	if len(shared) != 2 || shared[0].Mailbox == shared[1].Mailbox || shared[0].Native != shared[1].Native || shared[0].SHA256 != shared[1].SHA256 {
		t.Fatalf("the shared message's records: %+v", shared)
	}
	var natives []string
	_ = filepath.WalkDir(filepath.Join(w.Matter.Output.Path, store.NativesDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			natives = append(natives, p)
		}
		return nil
	})
	if len(natives) != 4 {
		t.Errorf("%d natives on disk for 5 items with one shared, want 4", len(natives))
	}
	if run, err := w.Store().ReadRun(res.RunID); err != nil || run.Counts.Deduplicated != 1 {
		t.Errorf("run record counts %+v (%v)", run.Counts, err)
	}
	w.Verify()
}

func TestRunRecordInStateAndOutput(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 9)
	w.LoadMatterOf(ann)
	p := w.ApplyablePlan()
	res, err := w.ApplyWith(context.Background(), p, apply.Options{RunID: "20240601T090000Z-abcd", Record: record.Run{ToolVersion: "1.2.3",
		User: "examiner", Host: "lab-1", MatterHash: w.Matter.Hash(), PlanHash: "feed"}})
	if err != nil {
		t.Fatal(err)
	}
	db := w.OpenState(false)
	var run record.Run
	var found bool
	_ = db.View(func(r *state.ReadTx) error {
		run, found, err = r.Run(res.RunID)
		return err
	})
	db.Close()
	if !found || run.Operation != "apply" || run.Collected != 9 || run.Planned != 9 ||
		run.User != "examiner" || run.Finished.IsZero() || len(run.Failures) != 0 || run.Status != record.StatusComplete {
		t.Errorf("state run record %+v", run)
	}
	rec, err := w.Store().ReadRun(res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	// One record: the state, the output folder and the result say the same.
	if !reflect.DeepEqual(rec, res.Run) || !reflect.DeepEqual(run.Counts, res.Counts) {
		t.Errorf("runs/%s.json\n %+v\nresult\n %+v\nstate counts %+v", res.RunID, rec, res.Run, run.Counts)
	}
	if !rec.Complete || rec.Counts.Collected != 9 || rec.Counts.Planned != 9 || rec.Counts.Bytes != res.Bytes || res.Bytes == 0 ||
		rec.MatterHash != w.Matter.Hash() || rec.PlanHash != "feed" || rec.Host != "lab-1" || rec.ToolVersion != "1.2.3" {
		t.Errorf("runs/%s.json: %+v", res.RunID, rec)
	}
	names, _ := os.ReadDir(filepath.Join(w.Matter.Output.Path, store.RunsDir))
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	sort.Strings(got)
	if len(got) != 1 || !strings.HasPrefix(got[0], res.RunID) {
		t.Errorf("runs folder holds %q", got)
	}
}

// userGone answers every fetch of one mailbox as Exchange does once the
// user was deleted: 404 ErrorInvalidUser.
type userGone struct {
	*testworld.Source
	mailboxID string
}

func (u userGone) FetchMIME(ctx context.Context, mb graph.Mailbox, id string, w io.Writer) (int64, error) {
	if mb.ID == u.mailboxID {
		return 0, &graph.Error{Op: "fetch $value", Kind: graph.Classify(404, "ErrorInvalidUser"), Status: 404,
			Code: "ErrorInvalidUser", Message: "The requested user '" + mb.ID + "' is invalid."}
	}
	return u.Source.FetchMIME(ctx, mb, id, w)
}

// A mailbox that disappears between plan and apply is a failure of its
// items, not a tombstone per message: the messages were not deleted, and
// the folder's cursor must not move past them.
func TestMailboxGoneBetweenPlanAndApplyFailsItsItems(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob := w.User("ann"), w.User("bob")
	w.Populate(ann, "inbox", 6)
	w.Populate(bob, "inbox", 4)
	w.LoadMatterOf(ann, bob)
	p := w.ApplyablePlan()
	annID := p.Mailboxes[0].Resolved.ID
	db := w.OpenState(false)
	res, err := apply.Apply(context.Background(), p, db, w.Store(), userGone{w.Src, annID}, apply.Options{RunID: "gone", Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tombstoned != 0 || res.Failed != 6 || res.Collected != 4 || res.Complete {
		t.Errorf("result %+v: want ann's 6 items failed, none tombstoned", res)
	}
	_ = db.View(func(r *state.ReadTx) error {
		sf, _, err := r.Folder(annID, w.Folder(ann, "inbox"))
		if err == nil && sf.Cursor != "" {
			t.Error("the cursor of a mailbox that could not be read was stored")
		}
		return r.ItemsOfMailbox(annID, func(it state.Item) error {
			if len(it.Observations) > 0 {
				t.Errorf("item %s observed %+v", it.ID, it.Observations)
			}
			return nil
		})
	})
	db.Close()
	for _, f := range res.Failures {
		if f.Code != "ErrorInvalidUser" {
			t.Errorf("failure %+v", f)
		}
	}
}

// A message's thread (Graph's conversationId) and whether it is a draft
// reach the state from the plan, for export to read.
func TestConversationAndDraftAreRecorded(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	inbox, drafts := w.Folder(ann, "inbox"), w.Folder(ann, "drafts")
	deliver := func(folder string, spec graphsim.MessageSpec) graphsim.MessageRef {
		t.Helper()
		ref, err := w.Tenant.Deliver(ann, folder, spec)
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	received := day("2024-02-05")
	original := deliver(inbox, graphsim.MessageSpec{Subject: "Budget review", Received: received})
	reply := deliver(inbox, graphsim.MessageSpec{Subject: "RE: Budget review", Received: received.Add(time.Hour)})
	other := deliver(inbox, graphsim.MessageSpec{Subject: "Offsite dates", Received: received.Add(2 * time.Hour)})
	draft := deliver(drafts, graphsim.MessageSpec{Subject: "Budget notes", Draft: true})
	w.LoadMatterOf(ann)
	p := w.ApplyablePlan()
	res := w.Apply(p)
	if res.Collected != 4 {
		t.Fatalf("result %+v, want 4 collected", res)
	}
	byID := map[string]state.Item{}
	for _, it := range w.Items() {
		byID[it.ID] = it
	}
	for _, c := range []struct {
		ref   graphsim.MessageRef
		draft bool
	}{{original, false}, {reply, false}, {other, false}, {draft, true}} {
		it, ok := byID[c.ref.ImmutableID]
		if !ok {
			t.Fatalf("%q was not collected", c.ref.Subject)
		}
		if it.ConversationID == "" || it.ConversationID != c.ref.ConversationID {
			t.Errorf("%q: conversation ID %q in the state, the server gave %q", c.ref.Subject, it.ConversationID, c.ref.ConversationID)
		}
		if it.IsDraft != c.draft {
			t.Errorf("%q: IsDraft %v in the state, want %v", c.ref.Subject, it.IsDraft, c.draft)
		}
	}
	if a, b, o := byID[original.ImmutableID].ConversationID, byID[reply.ImmutableID].ConversationID, byID[other.ImmutableID].ConversationID; a != b || a == o {
		t.Errorf("conversation IDs: original %q, reply %q, other thread %q; want the reply in the original's thread only", a, b, o)
	}
}
