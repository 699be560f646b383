package plan_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/plan"
)

const febToApril = `
window "w" {
  start = "2024-02-01"
  end   = "2024-04-01"
}
`

func TestFirstPlanListsEveryInWindowMessagePerFolder(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	w.populate(ann, "inbox", 60, day("2024-01-01"), day("2024-05-01"))
	w.populate(ann, "sentitems", 25, day("2024-01-15"), day("2024-04-15"))
	w.populate(ann, "archive", 10, day("2023-01-01"), day("2023-12-01"))
	w.matter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	p := w.plan()
	if !p.Complete() || len(p.Errors) > 0 {
		t.Fatalf("plan has errors: %+v", p.Errors)
	}
	mb := mailboxPlan(t, p, ann)
	var want int64
	for _, tc := range []struct{ path, wellKnown string }{{"Inbox", "inbox"}, {"Sent Items", "sentitems"}, {"Archive", "archive"}} {
		f := folderPlan(t, mb, tc.path)
		exp := w.inWindow(ann, tc.wellKnown, day("2024-02-01"), day("2024-04-01"))
		total := len(w.all(ann, tc.wellKnown))
		if got := fetchIDs(f); !same(got, exp) {
			t.Errorf("%s: plan fetches %d messages, the tenant holds %d in the window", tc.path, len(got), len(exp))
		}
		if f.OutOfWindow != int64(total-len(exp)) || f.Seen != int64(len(exp)) || f.AlreadyCollected != 0 {
			t.Errorf("%s: seen %d, out of window %d, collected %d; want %d, %d, 0", tc.path, f.Seen, f.OutOfWindow, f.AlreadyCollected, len(exp), total-len(exp))
		}
		if f.Cursor != "" || f.NewCursor == "" || f.WellKnown != tc.wellKnown {
			t.Errorf("%s: cursor %q, new cursor %q, well-known %q", tc.path, f.Cursor, f.NewCursor, f.WellKnown)
		}
		want += int64(len(exp))
	}
	if len(w.inWindow(ann, "inbox", day("2024-02-01"), day("2024-04-01"))) == 0 || len(folderPlan(t, mb, "Archive").Fetch) != 0 {
		t.Fatal("the test tenant does not exercise both sides of the window")
	}
	if c := p.Counts(); c.ToCollect != want || c.Mailboxes != 1 {
		t.Errorf("counts %+v, want %d to collect in 1 mailbox", c, want)
	}
	if mb.WindowCounts["w"] != want {
		t.Errorf("window counts %v, want w=%d", mb.WindowCounts, want)
	}
	// Every folder of the mailbox is in scope without a filter, hidden
	// ones and Recoverable Items/Deletions included, each once.
	paths := map[string]int{}
	for _, f := range mb.Folders {
		paths[f.Path]++
	}
	for _, path := range []string{"Inbox", "Drafts", "Deleted Items", "Junk Email", "Sync Issues/Conflicts", "Clutter", "Recoverable Items/Deletions"} {
		if paths[path] != 1 {
			t.Errorf("folder %q is in the plan %d times, want once", path, paths[path])
		}
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings: %+v", p.Warnings)
	}
}

func rawMessage(id, date string) []byte {
	return []byte("From: Someone <someone@example.com>\r\nTo: ann@" + domain + "\r\nSubject: raw " + id +
		"\r\nDate: " + date + "\r\nMessage-ID: <" + id + "@example.com>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n")
}

func TestWindowDateFieldAndDrafts(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob := w.user("ann"), w.user("bob")
	var early, late [2]string // sent before the window, received in it; both in it
	for i, who := range []string{ann, bob} {
		r1, err := w.tn.Deliver(who, w.folder(who, "inbox"), graphsim.MessageSpec{
			MIME: rawMessage(fmt.Sprintf("early%d", i), "Wed, 31 Jan 2024 22:00:00 +0000"), Received: day("2024-02-01").Add(3 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := w.tn.Deliver(who, w.folder(who, "inbox"), graphsim.MessageSpec{
			MIME: rawMessage(fmt.Sprintf("late%d", i), "Mon, 5 Feb 2024 10:00:00 +0000"), Received: day("2024-02-05").Add(11 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		early[i], late[i] = r1.ImmutableID, r2.ImmutableID
	}
	// Drafts are placed by their last modified time: old drafts are out,
	// a draft saved now (2024-06-01) is in the open window.
	if err := w.tn.Populate(ann, w.folder(ann, "drafts"), graphsim.Populate{Count: 3, Drafts: 3, From: day("2023-01-01"), To: day("2023-02-01")}); err != nil {
		t.Fatal(err)
	}
	fresh, err := w.tn.Deliver(ann, w.folder(ann, "drafts"), graphsim.MessageSpec{Draft: true, Received: day("2023-01-10")})
	if err != nil {
		t.Fatal(err)
	}
	w.matter(`
window "received" {
  start = "2024-02-01"
}
window "sent" {
  start = "2024-02-01"
  date  = "sent"
}
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.received]
}
custodian "bob" {
  name    = "Bob"
  email   = "` + bob + `"
  windows = [window.sent]
}
`)
	p := w.plan()
	annInbox := fetchIDs(folderPlan(t, mailboxPlan(t, p, ann), "Inbox"))
	if !same(annInbox, sortedIDs(early[0], late[0])) {
		t.Errorf("received window: fetches %v, want both messages received in it", annInbox)
	}
	bobInbox := fetchIDs(folderPlan(t, mailboxPlan(t, p, bob), "Inbox"))
	if !same(bobInbox, []string{late[1]}) {
		t.Errorf("sent window: fetches %v, want only the message sent in it (%s)", bobInbox, late[1])
	}
	drafts := folderPlan(t, mailboxPlan(t, p, ann), "Drafts")
	if got := fetchIDs(drafts); !same(got, []string{fresh.ImmutableID}) || drafts.OutOfWindow != 3 {
		t.Errorf("drafts: fetches %v with %d out of window; want only the draft modified in the window, 3 out", got, drafts.OutOfWindow)
	}
}

func sortedIDs(ids ...string) []string {
	out := append([]string(nil), ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func folderPaths(m *plan.Mailbox) []string {
	var out []string
	for _, f := range m.Folders {
		out = append(out, f.Path)
	}
	return out
}

func TestFolderFilters(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob := w.user("ann"), w.user("bob")
	for _, who := range []string{ann, bob} {
		w.mkdir(who, "inbox", "Projects")
		w.mkdir(who, "Inbox/Projects", "Globex")
		w.mkdir(who, "inbox", "Noise")
		w.mkdir(who, "archive", "2023")
		w.mkdir(who, "archive", "2022")
		w.mkdir(who, "deleteditems", "Old")
		w.populate(who, "Inbox/Projects/Globex", 4, day("2024-01-01"), day("2024-02-01"))
		w.populate(who, "Inbox/Noise", 4, day("2024-01-01"), day("2024-02-01"))
	}
	w.matter(`
custodian "ann" {
  name  = "Ann"
  email = "` + ann + `"
  folders {
    include = ["inbox", "Archive/2023", "sentitems"]
    exclude = ["Inbox/Noise"]
  }
}
custodian "bob" {
  name  = "Bob"
  email = "` + bob + `"
  folders {
    exclude = ["deleteditems", "junkemail", "Sync Issues"]
  }
}
`)
	p := w.plan()
	got := folderPaths(mailboxPlan(t, p, ann))
	want := []string{"Archive/2023", "Inbox", "Inbox/Projects", "Inbox/Projects/Globex", "Sent Items"}
	if !same(got, want) {
		t.Errorf("ann's folders %q, want %q", got, want)
	}
	if n := len(folderPlan(t, mailboxPlan(t, p, ann), "Inbox/Projects/Globex").Fetch); n != 4 {
		t.Errorf("a nested folder under an included well-known folder plans %d messages, want 4", n)
	}
	bobFolders := folderPaths(mailboxPlan(t, p, bob))
	for _, path := range bobFolders {
		if strings.HasPrefix(path, "Deleted Items") || path == "Junk Email" || strings.HasPrefix(path, "Sync Issues") {
			t.Errorf("excluded folder %q (or a folder under it) is in scope", path)
		}
	}
	for _, path := range []string{"Inbox/Noise", "Archive/2022", "Recoverable Items/Deletions", "Clutter"} {
		found := false
		for _, f := range bobFolders {
			found = found || f == path
		}
		if !found {
			t.Errorf("folder %q should be in scope with only excludes; have %q", path, bobFolders)
		}
	}
}

func TestTargets(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob, legal := w.user("ann"), w.user("bob"), w.user("legal")
	w.mkdir(ann, "inbox", "Projects")
	w.populate(ann, "Inbox/Projects", 5, day("2024-01-01"), day("2024-02-01"))
	w.populate(ann, "inbox", 5, day("2024-01-01"), day("2024-02-01"))
	m := w.matter(`
custodian "ann" {
  name  = "Ann"
  email = "` + ann + `"
}
custodian "bob" {
  name  = "Bob"
  email = "` + bob + `"
}
mailbox "legal_shared" {
  address    = "` + legal + `"
  type       = "shared"
  custodians = [custodian.ann]
}
`)
	for _, tc := range []struct{ in, addr, folder, err string }{
		{"custodian.ann", "custodian.ann", "", ""},
		{"custodian.ann.mailbox.primary", "custodian.ann.mailbox.primary", "", ""},
		{"mailbox.legal_shared", "mailbox.legal_shared", "", ""},
		{`custodian.ann.mailbox.primary["Inbox/Projects"]`, "custodian.ann.mailbox.primary", "Inbox/Projects", ""},
		{"custodian.anne", "", "", `did you mean "custodian.ann"?`},
		{"mailbox.legal_share", "", "", `did you mean "mailbox.legal_shared"?`},
		{"something.else.entirely", "", "", "addresses look like custodian.jdoe"},
		{`custodian.ann["Inbox"]`, "", "", "a folder target must name a mailbox"},
		{`custodian.ann.mailbox.primary["Inbox"`, "", "", "unclosed ["},
		{`custodian.ann.mailbox.primary[Inbox]`, "", "", "must be a quoted display path"},
	} {
		tg, err := plan.ParseTarget(tc.in, m)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseTarget(%s): err %v, want one saying %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("ParseTarget(%s): %v", tc.in, err)
		case tc.err == "" && (tg.Addr != tc.addr || tg.Folder != tc.folder):
			t.Errorf("ParseTarget(%s) = %+v", tc.in, tg)
		}
	}

	tg, err := plan.ParseTarget(`custodian.ann.mailbox.primary["Inbox/Projects"]`, m)
	if err != nil {
		t.Fatal(err)
	}
	p := w.plan(tg)
	if len(p.Mailboxes) != 1 || p.Mailboxes[0].Email != ann {
		t.Fatalf("a folder target planned %d mailboxes", len(p.Mailboxes))
	}
	if got := folderPaths(p.Mailboxes[0]); !same(got, []string{"Inbox/Projects"}) {
		t.Errorf("folder target planned folders %q", got)
	}
	if c := p.Counts(); c.ToCollect != 5 {
		t.Errorf("folder target plans %d messages, want the folder's 5", c.ToCollect)
	}
	if len(p.Targets) != 1 || p.Targets[0] != `custodian.ann.mailbox.primary["Inbox/Projects"]` {
		t.Errorf("plan records targets %q", p.Targets)
	}
	tg, _ = plan.ParseTarget("custodian.bob", m)
	if p := w.plan(tg); len(p.Mailboxes) != 1 || p.Mailboxes[0].Email != bob || len(p.Orphans) != 0 {
		t.Errorf("custodian target: %d mailboxes, %d orphans", len(p.Mailboxes), len(p.Orphans))
	}
}

func TestReplanAfterApplyHasNoChangesAndOneRoundPerFolder(t *testing.T) {
	w := newWorld(t, graphsim.Config{DuplicateRate: 0.2})
	ann := w.user("ann")
	w.populate(ann, "inbox", 40, day("2024-01-01"), day("2024-05-01"))
	w.populate(ann, "sentitems", 15, day("2024-01-01"), day("2024-05-01"))
	w.matter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	p := w.plan()
	res := w.apply(p)
	if res.Collected != p.Counts().ToCollect || res.Collected == 0 {
		t.Fatalf("apply collected %d of %d", res.Collected, p.Counts().ToCollect)
	}
	w.src.reset()
	before := w.tn.Counters()
	p2 := w.plan()
	rounds, fetches := w.src.reset()
	if p2.HasChanges() || fetches != 0 {
		t.Errorf("re-plan after apply: changes %v, fetches %d", p2.Counts(), fetches)
	}
	mb := mailboxPlan(t, p2, ann)
	for _, f := range mb.Folders {
		if rounds[f.ID] != 1 {
			t.Errorf("folder %q: %d delta rounds, want exactly 1", f.Path, rounds[f.ID])
		}
		if f.Cursor == "" || f.Reset {
			t.Errorf("folder %q: started from cursor %q (reset %v); want the stored cursor", f.Path, f.Cursor, f.Reset)
		}
	}
	// A quiet folder's round is one page: one request per folder.
	after := w.tn.Counters()
	if got := after.ByRoute[graphsim.RouteDelta] - before.ByRoute[graphsim.RouteDelta]; got != int64(len(mb.Folders)) {
		t.Errorf("%d delta requests for %d quiet folders", got, len(mb.Folders))
	}
	if mb.WindowCounts != nil || len(p2.Warnings) != 0 {
		t.Errorf("a re-plan reports window counts %v and warnings %+v", mb.WindowCounts, p2.Warnings)
	}
}

func TestMutationsShowAsCollectMovesAndTombstones(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	w.populate(ann, "inbox", 30, day("2024-02-01"), day("2024-03-01"))
	w.matter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	w.apply(w.plan())
	refs := w.all(ann, "inbox")
	fresh, err := w.tn.Deliver(ann, w.folder(ann, "inbox"), graphsim.MessageSpec{Subject: "new", Received: day("2024-03-10")})
	if err != nil {
		t.Fatal(err)
	}
	late, err := w.tn.Deliver(ann, w.folder(ann, "inbox"), graphsim.MessageSpec{Subject: "after the window", Received: day("2024-04-10")})
	if err != nil {
		t.Fatal(err)
	}
	moved, deleted := refs[3], refs[7]
	if _, err := w.tn.Move(ann, moved, w.folder(ann, "archive")); err != nil {
		t.Fatal(err)
	}
	if err := w.tn.Delete(ann, deleted); err != nil {
		t.Fatal(err)
	}
	p := w.plan()
	mb := mailboxPlan(t, p, ann)
	inbox, archive := folderPlan(t, mb, "Inbox"), folderPlan(t, mb, "Archive")
	if got := fetchIDs(inbox); !same(got, []string{fresh.ImmutableID}) {
		t.Errorf("inbox fetches %v, want only the new message %s", got, fresh.ImmutableID)
	}
	if inbox.OutOfWindow != 1 {
		t.Errorf("inbox: %d out of window, want the one after the window (%s)", inbox.OutOfWindow, late.ImmutableID)
	}
	if len(inbox.Tombstones) != 1 || inbox.Tombstones[0].ID != deleted || inbox.Tombstones[0].Reason != "deleted" {
		t.Errorf("inbox tombstones %+v, want the deleted message", inbox.Tombstones)
	}
	if len(archive.Fetch) != 0 {
		t.Errorf("the moved message is fetched again: %+v", archive.Fetch)
	}
	if len(archive.Moves) != 1 || archive.Moves[0].ID != moved || archive.Moves[0].FromPath != "Inbox" {
		t.Errorf("archive moves %+v, want the moved message from Inbox", archive.Moves)
	}
	if c := p.Counts(); c.ToCollect != 1 || c.Tombstones != 1 || c.Moves != 1 {
		t.Errorf("counts %+v, want 1 to collect, 1 tombstone, 1 move", c)
	}
	if res := w.apply(p); res.Collected != 1 || res.Observations != 2 {
		t.Errorf("apply of the changes: %d collected, %d observations; want 1 and the move and the tombstone", res.Collected, res.Observations)
	}
	if p := w.plan(); p.HasChanges() {
		t.Errorf("after applying the changes, a re-plan still has %+v", p.Counts())
	}
}

func TestSyncStateGoneReenumeratesWithoutRefetching(t *testing.T) {
	w := newWorld(t, graphsim.Config{SyncResetCode: "resyncRequired"})
	ann := w.user("ann")
	w.populate(ann, "inbox", 25, day("2024-02-01"), day("2024-03-01"))
	w.matter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	w.apply(w.plan())
	fresh, err := w.tn.Deliver(ann, w.folder(ann, "inbox"), graphsim.MessageSpec{Received: day("2024-03-15")})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.tn.ExpireDeltaTokens(ann); err != nil {
		t.Fatal(err)
	}
	w.src.reset()
	p := w.plan()
	rounds, _ := w.src.reset()
	mb := mailboxPlan(t, p, ann)
	inbox := folderPlan(t, mb, "Inbox")
	if !inbox.Reset || inbox.Cursor == "" || inbox.NewCursor == "" || inbox.NewCursor == inbox.Cursor {
		t.Errorf("inbox after 410: reset %v, cursor %q -> %q", inbox.Reset, inbox.Cursor, inbox.NewCursor)
	}
	if got := fetchIDs(inbox); !same(got, []string{fresh.ImmutableID}) {
		t.Errorf("inbox after 410 fetches %d messages, want only the new one", len(got))
	}
	if inbox.AlreadyCollected != 25 || inbox.Seen != 26 {
		t.Errorf("inbox after 410: seen %d, already collected %d; want 26, 25", inbox.Seen, inbox.AlreadyCollected)
	}
	for _, f := range mb.Folders {
		if rounds[f.ID] != 2 || !f.Reset {
			t.Errorf("folder %q: %d rounds (reset %v), want the expired one and a fresh one", f.Path, rounds[f.ID], f.Reset)
		}
	}
	res := w.apply(p)
	if res.Collected != 1 {
		t.Errorf("apply after 410 collected %d, want 1", res.Collected)
	}
	if p := w.plan(); p.HasChanges() || folderPlan(t, mailboxPlan(t, p, ann), "Inbox").Reset {
		t.Error("the cursor stored after a reset is not used")
	}
}

func TestWindowWidensAndNarrows(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	w.populate(ann, "inbox", 50, day("2024-01-01"), day("2024-05-01"))
	custodian := `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`
	w.matter(febToApril + custodian)
	w.apply(w.plan())
	collected := w.inWindow(ann, "inbox", day("2024-02-01"), day("2024-04-01"))

	// Widened to January: the older mail is planned, nothing collected is.
	w.matter(`
window "w" {
  start = "2024-01-01"
  end   = "2024-04-01"
}
` + custodian)
	p := w.plan()
	inbox := folderPlan(t, mailboxPlan(t, p, ann), "Inbox")
	older := w.inWindow(ann, "inbox", day("2024-01-01"), day("2024-02-01"))
	if len(older) == 0 {
		t.Fatal("no mail in January: the widening is not exercised")
	}
	if got := fetchIDs(inbox); !same(got, older) {
		t.Errorf("widened window fetches %d messages, want the %d January ones", len(got), len(older))
	}
	if inbox.Cursor != "" || inbox.AlreadyCollected != int64(len(collected)) {
		t.Errorf("widened window: cursor %q (want none: another scope), already collected %d (want %d)", inbox.Cursor, inbox.AlreadyCollected, len(collected))
	}
	w.apply(p)

	// Narrowed to March: nothing new, nothing deleted.
	w.matter(`
window "w" {
  start = "2024-03-01"
  end   = "2024-04-01"
}
` + custodian)
	p = w.plan()
	if c := p.Counts(); c.ToCollect != 0 || c.Tombstones != 0 || c.Moves != 0 {
		t.Errorf("narrowed window: %+v, want nothing to collect or record", c)
	}
	if p.HasChanges() {
		t.Error("a narrowed window has changes")
	}
}

func TestDroppedMailboxIsAnOrphanWithItsKeptCount(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob := w.user("ann"), w.user("bob")
	w.populate(ann, "inbox", 5, day("2024-02-01"), day("2024-03-01"))
	w.populate(bob, "inbox", 9, day("2024-02-01"), day("2024-03-01"))
	ca := `
custodian "ann" {
  name  = "Ann"
  email = "` + ann + `"
}
`
	w.matter(ca + `
custodian "bob" {
  name  = "Bob"
  email = "` + bob + `"
}
`)
	w.apply(w.plan())
	w.matter(ca)
	p := w.plan()
	if len(p.Orphans) != 1 {
		t.Fatalf("orphans %+v, want bob's mailbox", p.Orphans)
	}
	o := p.Orphans[0]
	bobUser, _ := w.tn.User(bob)
	if o.MailboxID != bobUser.ID || o.Address != bob || o.Items != 9 || len(o.References) != 1 || o.References[0] != "custodian.bob.mailbox.primary" {
		t.Errorf("orphan %+v, want bob with 9 items kept", o)
	}
	if p.HasChanges() || !p.Applyable() {
		t.Errorf("an orphan alone changes nothing: changes %v, applyable %v", p.HasChanges(), p.Applyable())
	}
}

func TestTwoAddressesOfOneMailboxAreAnError(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann", "a.lee")
	w.matter(`
custodian "ann" {
  name  = "Ann"
  email = "` + ann + `"
}
mailbox "also_ann" {
  address    = "A.Lee@` + domain + `"
  type       = "shared"
  custodians = [custodian.ann]
}
`)
	p := w.plan()
	if p.Applyable() || len(p.Errors) != 1 {
		t.Fatalf("errors %+v, want one", p.Errors)
	}
	e := p.Errors[0]
	if e.Addr != "mailbox.also_ann" || !strings.Contains(e.Summary, "same mailbox") ||
		!strings.Contains(e.Detail, "custodian.ann.mailbox.primary") || !strings.Contains(e.Detail, "Name each mailbox once") {
		t.Errorf("error %+v does not say which addresses collide and what to do", e)
	}
	if mailboxPlan(t, p, "a.lee@"+domain).Resolved.ResolvedVia != "alias" {
		t.Error("the alias did not resolve as an alias")
	}
}

func TestUnreadableMailboxesSayWhatToDo(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	if _, err := w.tn.AddUser(graphsim.UserSpec{UPN: addr("guest"), Kind: graphsim.NoMailbox}); err != nil {
		t.Fatal(err)
	}
	ceo := w.user("ceo")
	if err := w.tn.SetMailboxAccess(w.tn.Credentials().ClientID, ceo, false); err != nil {
		t.Fatal(err)
	}
	w.populate(ann, "inbox", 3, day("2024-02-01"), day("2024-03-01"))
	w.matter(`
custodian "ann" {
  name  = "Ann"
  email = "` + ann + `"
}
custodian "nobody" {
  name  = "Nobody"
  email = "` + addr("nobody") + `"
}
custodian "guest" {
  name  = "Guest"
  email = "` + addr("guest") + `"
}
custodian "ceo" {
  name  = "CEO"
  email = "` + ceo + `"
}
`)
	p := w.plan()
	// Unreadable mailboxes are failed scope: the plan is incomplete, yet
	// applyable for the readable ones.
	if p.Complete() || !p.Applyable() || len(p.FailedScope()) != 3 {
		t.Fatalf("complete %v, applyable %v, failed scope %+v; want an incomplete, applyable plan with 3 failed mailboxes",
			p.Complete(), p.Applyable(), p.FailedScope())
	}
	byAddr := map[string]plan.Message{}
	for _, e := range p.Errors {
		byAddr[e.Addr] = e
	}
	// The plan keeps the facts; what to do is the command's to say, by kind.
	for _, tc := range []struct {
		addr    string
		kind    graph.Kind
		summary string
		detail  string
	}{
		{"custodian.nobody.mailbox.primary", graph.KindNotFound, "No mailbox found for " + addr("nobody"), addr("nobody")},
		{"custodian.guest.mailbox.primary", graph.KindMailboxNotEnabled, "Cannot read mailbox " + addr("guest"), "MailboxNotEnabledForRESTAPI"},
		{"custodian.ceo.mailbox.primary", graph.KindAccessDenied, "Cannot read mailbox " + ceo, "ErrorAccessDenied"},
	} {
		e, ok := byAddr[tc.addr]
		if !ok {
			t.Errorf("no error for %s; errors %+v", tc.addr, p.Errors)
			continue
		}
		if e.Kind != tc.kind || e.Summary != tc.summary || !strings.Contains(e.Detail, tc.detail) {
			t.Errorf("%s: %+v; want kind %q, summary %q, detail mentioning %q", tc.addr, e, tc.kind, tc.summary, tc.detail)
		}
	}
	if len(p.Errors) != 3 {
		t.Errorf("%d errors, want 3", len(p.Errors))
	}
	// The readable mailbox is still planned in full.
	if n := len(folderPlan(t, mailboxPlan(t, p, ann), "Inbox").Fetch); n != 3 {
		t.Errorf("the readable mailbox plans %d messages, want 3", n)
	}
}

func TestMovedThenDeletedIsTombstonedWhereItWasLastSeen(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	w.populate(ann, "inbox", 6, day("2024-02-01"), day("2024-03-01"))
	w.matter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	w.apply(w.plan())
	id := w.all(ann, "inbox")[2]
	if _, err := w.tn.Move(ann, id, w.folder(ann, "archive")); err != nil {
		t.Fatal(err)
	}
	w.apply(w.plan())
	if err := w.tn.Delete(ann, id); err != nil {
		t.Fatal(err)
	}
	p := w.plan()
	archive := folderPlan(t, mailboxPlan(t, p, ann), "Archive")
	if len(archive.Tombstones) != 1 || archive.Tombstones[0].ID != id {
		t.Errorf("a message moved to Archive and deleted there: archive tombstones %+v, want it", archive.Tombstones)
	}
	if c := p.Counts(); c.Tombstones != 1 || c.Moves != 0 || c.ToCollect != 0 {
		t.Errorf("counts %+v, want exactly one tombstone", c)
	}
}

func TestFolderTargetThatNamesNoFolderIsAnError(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	w.mkdir(ann, "inbox", "Projects")
	w.populate(ann, "inbox", 4, day("2024-02-01"), day("2024-03-01"))
	m := w.matter(`
custodian "ann" {
  name  = "Ann"
  email = "` + ann + `"
  folders {
    exclude = ["Archive"]
  }
}
`)
	for _, tc := range []struct {
		target string
		ok     bool
	}{
		{`custodian.ann.mailbox.primary["Inbox/Projetcs"]`, false}, // a typo
		{`custodian.ann.mailbox.primary["Archive"]`, false},        // excluded by the matter
		{`custodian.ann.mailbox.primary["inbox/projects"]`, true},  // paths match case-insensitively
		{`custodian.ann.mailbox.primary["sentitems"]`, true},       // a well-known name
	} {
		tg, err := plan.ParseTarget(tc.target, m)
		if err != nil {
			t.Fatal(err)
		}
		p := w.plan(tg)
		if tc.ok {
			if !p.Applyable() || len(p.Mailboxes[0].Folders) == 0 {
				t.Errorf("%s: errors %+v, %d folders", tc.target, p.Errors, len(p.Mailboxes[0].Folders))
			}
			continue
		}
		if p.Applyable() || len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Detail, tg.Folder) {
			t.Errorf("%s: a folder target that selects nothing plans %d folders with errors %+v; want an error naming the folder",
				tc.target, len(p.Mailboxes[0].Folders), p.Errors)
		}
	}
}

// expireMidRound expires the mailbox's delta tokens after the first page
// of the first round of the folder that starts from a cursor.
type expireMidRound struct {
	*countingSource
	tn      *graphsim.Tenant
	mailbox string
	folder  string
	done    bool
}

func (e *expireMidRound) Delta(ctx context.Context, mb graph.Mailbox, f graph.Folder, cursor string, page func(graph.DeltaPage) error) (string, error) {
	first := cursor != "" && f.ID == e.folder && !e.done
	return e.countingSource.Delta(ctx, mb, f, cursor, func(p graph.DeltaPage) error {
		if err := page(p); err != nil {
			return err
		}
		if first {
			first, e.done = false, true
			return e.tn.ExpireDeltaTokens(e.mailbox)
		}
		return nil
	})
}

func TestSyncStateGoneMidRoundLosesNothing(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	w.populate(ann, "inbox", 5, day("2024-02-01"), day("2024-02-10"))
	w.matter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	w.apply(w.plan())
	old := w.all(ann, "inbox")
	w.populate(ann, "inbox", 30, day("2024-02-10"), day("2024-03-01"))
	if err := w.tn.Delete(ann, old[0]); err != nil {
		t.Fatal(err)
	}
	var fresh []string
	for _, id := range w.all(ann, "inbox") {
		if !sliceHas(old, id) {
			fresh = append(fresh, id)
		}
	}
	src := &expireMidRound{countingSource: w.src, tn: w.tn, mailbox: ann, folder: w.folder(ann, "inbox")}
	db := w.open(true)
	p, err := plan.Make(context.Background(), w.m, db, src, plan.Options{})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !src.done {
		t.Fatal("the tokens were not expired mid-round")
	}
	inbox := folderPlan(t, mailboxPlan(t, p, ann), "Inbox")
	if !inbox.Reset {
		t.Fatal("the folder was not enumerated again after the 410")
	}
	if got := fetchIDs(inbox); !same(got, sortedIDs(fresh...)) {
		t.Errorf("after a 410 in the middle of a round the plan fetches %d messages, want all %d new ones", len(got), len(fresh))
	}
	if inbox.Seen != 34 || inbox.AlreadyCollected != 4 {
		t.Errorf("seen %d, already collected %d; want 34 and 4", inbox.Seen, inbox.AlreadyCollected)
	}
}

func sliceHas(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// A message deleted while the folder's cursor could not be used (the
// server forgot it, or the window changed) is not in any delta removal:
// the full enumeration that replaces the cursor round shows it missing.
func TestDeletionMissedByAFullEnumerationIsStillATombstone(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	w.populate(ann, "inbox", 10, day("2024-02-01"), day("2024-03-01"))
	custodian := `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`
	w.matter(febToApril + custodian)
	w.apply(w.plan())
	ids := w.all(ann, "inbox")
	if err := w.tn.Delete(ann, ids[0]); err != nil {
		t.Fatal(err)
	}
	// Moved out of Inbox into Archive during the gap: a move, not a tombstone.
	if _, err := w.tn.Move(ann, ids[1], w.folder(ann, "archive")); err != nil {
		t.Fatal(err)
	}
	if err := w.tn.ExpireDeltaTokens(ann); err != nil {
		t.Fatal(err)
	}
	p := w.plan()
	mb := mailboxPlan(t, p, ann)
	inbox := folderPlan(t, mb, "Inbox")
	if !inbox.Reset || len(inbox.Tombstones) != 1 || inbox.Tombstones[0].ID != ids[0] {
		t.Fatalf("after a reset: tombstones %+v, want the message deleted meanwhile", inbox.Tombstones)
	}
	if mv := folderPlan(t, mb, "Archive").Moves; len(mv) != 1 || mv[0].ID != ids[1] {
		t.Errorf("after a reset: archive moves %+v, want the moved message", mv)
	}
	w.apply(p)
	// Recorded once: another reset does not tombstone it again.
	if err := w.tn.ExpireDeltaTokens(ann); err != nil {
		t.Fatal(err)
	}
	if p := w.plan(); p.HasChanges() {
		t.Errorf("a second reset reports %+v again", p.Counts())
	}

	// The same through a window change, which also enumerates again; a
	// narrowed window keeps out-of-window mail without tombstoning it.
	if err := w.tn.Delete(ann, ids[2]); err != nil {
		t.Fatal(err)
	}
	w.matter(`
window "w" {
  start = "2024-02-15"
  end   = "2024-04-01"
}
` + custodian)
	p = w.plan()
	c := p.Counts()
	if tb := folderPlan(t, mailboxPlan(t, p, ann), "Inbox").Tombstones; c.Tombstones != 1 || len(tb) != 1 || tb[0].ID != ids[2] || c.ToCollect != 0 {
		t.Errorf("window changed after a deletion: %+v, tombstones %+v; want only the deleted message", c, tb)
	}
}

// A full mailbox refuses delta: every folder is listed in full instead,
// nothing in scope is missed, a collected message missing from the listing
// is tombstoned, and the stored cursors are kept for later.
func TestFullMailboxIsListedInstead(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	w.populate(ann, "inbox", 30, day("2024-01-01"), day("2024-05-01"))
	w.matter(febToApril + `
custodian "ann" {
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	w.apply(w.plan())
	if err := w.tn.SetQuotaExceeded(ann, true); err != nil {
		t.Fatal(err)
	}
	newOnes, err := w.tn.Deliver(ann, w.folder(ann, "inbox"), graphsim.MessageSpec{Received: day("2024-03-03")})
	if err != nil {
		t.Fatal(err)
	}
	gone := w.inWindow(ann, "inbox", day("2024-02-01"), day("2024-04-01"))[0]
	if err := w.tn.Delete(ann, gone); err != nil {
		t.Fatal(err)
	}
	p := w.plan()
	if !p.Complete() {
		t.Fatalf("a full mailbox makes the plan incomplete: %+v", p.Errors)
	}
	inbox := folderPlan(t, mailboxPlan(t, p, ann), "Inbox")
	if !inbox.Listed || inbox.NewCursor != "" {
		t.Errorf("inbox: listed %v, new cursor %q; want listed with no cursor", inbox.Listed, inbox.NewCursor)
	}
	if ids := fetchIDs(inbox); len(ids) != 1 || ids[0] != newOnes.ImmutableID {
		t.Errorf("to collect %v, want only the new message %s", ids, newOnes.ImmutableID)
	}
	if len(inbox.Tombstones) != 1 || inbox.Tombstones[0].ID != gone {
		t.Errorf("tombstones %+v, want the deleted %s", inbox.Tombstones, gone)
	}
	warned := false
	for _, m := range p.Warnings {
		warned = warned || strings.Contains(m.Summary, "over its quota")
	}
	if !warned {
		t.Errorf("no warning about the full mailbox: %+v", p.Warnings)
	}
	w.apply(p)
	// With room again, the kept cursor carries on: nothing is planned twice.
	if err := w.tn.SetQuotaExceeded(ann, false); err != nil {
		t.Fatal(err)
	}
	again := folderPlan(t, mailboxPlan(t, w.plan(), ann), "Inbox")
	if again.Listed || len(again.Fetch) != 0 || len(again.Tombstones) != 0 {
		t.Errorf("after the quota is raised: listed %v, %d to collect, %d tombstones; want a delta round with nothing new",
			again.Listed, len(again.Fetch), len(again.Tombstones))
	}
}
