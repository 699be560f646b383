package plan_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/testworld"
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
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 60, day("2024-01-01"), day("2024-05-01"))
	w.PopulateBetween(ann, "sentitems", 25, day("2024-01-15"), day("2024-04-15"))
	w.PopulateBetween(ann, "archive", 10, day("2023-01-01"), day("2023-12-01"))
	w.LoadMatter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	p := w.Plan()
	if !p.Complete() || len(p.Errors) > 0 {
		t.Fatalf("plan has errors: %+v", p.Errors)
	}
	mb := mailboxPlan(t, p, ann)
	var want int64
	for _, tc := range []struct{ path, wellKnown string }{{"Inbox", "inbox"}, {"Sent Items", "sentitems"}, {"Archive", "archive"}} {
		f := folderPlan(t, mb, tc.path)
		exp := w.InWindow(ann, tc.wellKnown, day("2024-02-01"), day("2024-04-01"))
		total := len(w.All(ann, tc.wellKnown))
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
	if len(w.InWindow(ann, "inbox", day("2024-02-01"), day("2024-04-01"))) == 0 || len(folderPlan(t, mb, "Archive").Fetch) != 0 {
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
	return []byte("From: Someone <someone@example.com>\r\nTo: ann@" + testworld.Domain + "\r\nSubject: raw " + id +
		"\r\nDate: " + date + "\r\nMessage-ID: <" + id + "@example.com>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n")
}

func TestWindowDateFieldAndDrafts(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob := w.User("ann"), w.User("bob")
	var early, late [2]string // sent before the window, received in it; both in it
	for i, who := range []string{ann, bob} {
		r1, err := w.Tenant.Deliver(who, w.Folder(who, "inbox"), graphsim.MessageSpec{
			MIME: rawMessage(fmt.Sprintf("early%d", i), "Wed, 31 Jan 2024 22:00:00 +0000"), Received: day("2024-02-01").Add(3 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := w.Tenant.Deliver(who, w.Folder(who, "inbox"), graphsim.MessageSpec{
			MIME: rawMessage(fmt.Sprintf("late%d", i), "Mon, 5 Feb 2024 10:00:00 +0000"), Received: day("2024-02-05").Add(11 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		early[i], late[i] = r1.ImmutableID, r2.ImmutableID
	}
	// Drafts are placed by their last modified time: old drafts are out,
	// a draft saved now (2024-06-01) is in the open window.
	if err := w.Tenant.Populate(ann, w.Folder(ann, "drafts"), graphsim.Populate{Count: 3, Drafts: 3, From: day("2023-01-01"), To: day("2023-02-01")}); err != nil {
		t.Fatal(err)
	}
	fresh, err := w.Tenant.Deliver(ann, w.Folder(ann, "drafts"), graphsim.MessageSpec{Draft: true, Received: day("2023-01-10")})
	if err != nil {
		t.Fatal(err)
	}
	w.LoadMatter(`
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
	p := w.Plan()
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
	ann, bob := w.User("ann"), w.User("bob")
	for _, who := range []string{ann, bob} {
		w.Mkdir(who, "inbox", "Projects")
		w.Mkdir(who, "Inbox/Projects", "Globex")
		w.Mkdir(who, "inbox", "Noise")
		w.Mkdir(who, "archive", "2023")
		w.Mkdir(who, "archive", "2022")
		w.Mkdir(who, "deleteditems", "Old")
		w.PopulateBetween(who, "Inbox/Projects/Globex", 4, day("2024-01-01"), day("2024-02-01"))
		w.PopulateBetween(who, "Inbox/Noise", 4, day("2024-01-01"), day("2024-02-01"))
	}
	w.LoadMatter(`
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
	p := w.Plan()
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
	ann, bob, legal := w.User("ann"), w.User("bob"), w.User("legal")
	w.Mkdir(ann, "inbox", "Projects")
	w.PopulateBetween(ann, "Inbox/Projects", 5, day("2024-01-01"), day("2024-02-01"))
	w.PopulateBetween(ann, "inbox", 5, day("2024-01-01"), day("2024-02-01"))
	m := w.LoadMatter(`
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
	p := w.Plan(tg)
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
	if p := w.Plan(tg); len(p.Mailboxes) != 1 || p.Mailboxes[0].Email != bob || len(p.Orphans) != 0 {
		t.Errorf("custodian target: %d mailboxes, %d orphans", len(p.Mailboxes), len(p.Orphans))
	}
}

func TestReplanAfterApplyHasNoChangesAndOneRoundPerFolder(t *testing.T) {
	w := newWorld(t, graphsim.Config{DuplicateRate: 0.2})
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 40, day("2024-01-01"), day("2024-05-01"))
	w.PopulateBetween(ann, "sentitems", 15, day("2024-01-01"), day("2024-05-01"))
	w.LoadMatter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	p := w.Plan()
	res := w.ApplyComplete(p)
	if res.Collected != p.Counts().ToCollect || res.Collected == 0 {
		t.Fatalf("apply collected %d of %d", res.Collected, p.Counts().ToCollect)
	}
	w.Src.Reset()
	before := w.Tenant.Counters()
	p2 := w.Plan()
	rounds, fetches := w.Src.Reset()
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
	after := w.Tenant.Counters()
	if got := after.ByRoute[graphsim.RouteDelta] - before.ByRoute[graphsim.RouteDelta]; got != int64(len(mb.Folders)) {
		t.Errorf("%d delta requests for %d quiet folders", got, len(mb.Folders))
	}
	if mb.WindowCounts != nil || len(p2.Warnings) != 0 {
		t.Errorf("a re-plan reports window counts %v and warnings %+v", mb.WindowCounts, p2.Warnings)
	}
}

func TestMutationsShowAsCollectMovesAndTombstones(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 30, day("2024-02-01"), day("2024-03-01"))
	w.LoadMatter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	w.ApplyComplete(w.Plan())
	refs := w.All(ann, "inbox")
	fresh, err := w.Tenant.Deliver(ann, w.Folder(ann, "inbox"), graphsim.MessageSpec{Subject: "new", Received: day("2024-03-10")})
	if err != nil {
		t.Fatal(err)
	}
	late, err := w.Tenant.Deliver(ann, w.Folder(ann, "inbox"), graphsim.MessageSpec{Subject: "after the window", Received: day("2024-04-10")})
	if err != nil {
		t.Fatal(err)
	}
	moved, deleted := refs[3], refs[7]
	if _, err := w.Tenant.Move(ann, moved, w.Folder(ann, "archive")); err != nil {
		t.Fatal(err)
	}
	if err := w.Tenant.Delete(ann, deleted); err != nil {
		t.Fatal(err)
	}
	p := w.Plan()
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
	if res := w.ApplyComplete(p); res.Collected != 1 || res.Observations != 2 {
		t.Errorf("apply of the changes: %d collected, %d observations; want 1 and the move and the tombstone", res.Collected, res.Observations)
	}
	if p := w.Plan(); p.HasChanges() {
		t.Errorf("after applying the changes, a re-plan still has %+v", p.Counts())
	}
}

func TestSyncStateGoneReenumeratesWithoutRefetching(t *testing.T) {
	w := newWorld(t, graphsim.Config{SyncResetCode: "resyncRequired"})
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 25, day("2024-02-01"), day("2024-03-01"))
	w.LoadMatter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	w.ApplyComplete(w.Plan())
	fresh, err := w.Tenant.Deliver(ann, w.Folder(ann, "inbox"), graphsim.MessageSpec{Received: day("2024-03-15")})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Tenant.ExpireDeltaTokens(ann); err != nil {
		t.Fatal(err)
	}
	w.Src.Reset()
	p := w.Plan()
	rounds, _ := w.Src.Reset()
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
	res := w.ApplyComplete(p)
	if res.Collected != 1 {
		t.Errorf("apply after 410 collected %d, want 1", res.Collected)
	}
	if p := w.Plan(); p.HasChanges() || folderPlan(t, mailboxPlan(t, p, ann), "Inbox").Reset {
		t.Error("the cursor stored after a reset is not used")
	}
}

func TestWindowWidensAndNarrows(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 50, day("2024-01-01"), day("2024-05-01"))
	custodian := `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`
	w.LoadMatter(febToApril + custodian)
	w.ApplyComplete(w.Plan())
	collected := w.InWindow(ann, "inbox", day("2024-02-01"), day("2024-04-01"))

	// Widened to January: the older mail is planned, nothing collected is.
	w.LoadMatter(`
window "w" {
  start = "2024-01-01"
  end   = "2024-04-01"
}
` + custodian)
	p := w.Plan()
	inbox := folderPlan(t, mailboxPlan(t, p, ann), "Inbox")
	older := w.InWindow(ann, "inbox", day("2024-01-01"), day("2024-02-01"))
	if len(older) == 0 {
		t.Fatal("no mail in January: the widening is not exercised")
	}
	if got := fetchIDs(inbox); !same(got, older) {
		t.Errorf("widened window fetches %d messages, want the %d January ones", len(got), len(older))
	}
	if inbox.Cursor != "" || inbox.AlreadyCollected != int64(len(collected)) {
		t.Errorf("widened window: cursor %q (want none: another scope), already collected %d (want %d)", inbox.Cursor, inbox.AlreadyCollected, len(collected))
	}
	w.ApplyComplete(p)

	// Narrowed to March: nothing new, nothing deleted.
	w.LoadMatter(`
window "w" {
  start = "2024-03-01"
  end   = "2024-04-01"
}
` + custodian)
	p = w.Plan()
	if c := p.Counts(); c.ToCollect != 0 || c.Tombstones != 0 || c.Moves != 0 {
		t.Errorf("narrowed window: %+v, want nothing to collect or record", c)
	}
	if p.HasChanges() {
		t.Error("a narrowed window has changes")
	}
}

func TestDroppedMailboxIsAnOrphanWithItsKeptCount(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob := w.User("ann"), w.User("bob")
	w.PopulateBetween(ann, "inbox", 5, day("2024-02-01"), day("2024-03-01"))
	w.PopulateBetween(bob, "inbox", 9, day("2024-02-01"), day("2024-03-01"))
	ca := `
custodian "ann" {
  name  = "Ann"
  email = "` + ann + `"
}
`
	w.LoadMatter(ca + `
custodian "bob" {
  name  = "Bob"
  email = "` + bob + `"
}
`)
	w.ApplyComplete(w.Plan())
	w.LoadMatter(ca)
	p := w.Plan()
	if len(p.Orphans) != 1 {
		t.Fatalf("orphans %+v, want bob's mailbox", p.Orphans)
	}
	o := p.Orphans[0]
	bobUser, _ := w.Tenant.User(bob)
	if o.MailboxID != bobUser.ID || o.Address != bob || o.Items != 9 || len(o.References) != 1 || o.References[0] != "custodian.bob.mailbox.primary" {
		t.Errorf("orphan %+v, want bob with 9 items kept", o)
	}
	if p.HasChanges() || !p.Applyable() {
		t.Errorf("an orphan alone changes nothing: changes %v, applyable %v", p.HasChanges(), p.Applyable())
	}
}

func TestTwoAddressesOfOneMailboxAreAnError(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann", "a.lee")
	w.LoadMatter(`
custodian "ann" {
  name  = "Ann"
  email = "` + ann + `"
}
mailbox "also_ann" {
  address    = "A.Lee@` + testworld.Domain + `"
  type       = "shared"
  custodians = [custodian.ann]
}
`)
	p := w.Plan()
	if p.Applyable() || len(p.Errors) != 1 {
		t.Fatalf("errors %+v, want one", p.Errors)
	}
	e := p.Errors[0]
	if e.Addr != "mailbox.also_ann" || !strings.Contains(e.Summary, "same mailbox") ||
		!strings.Contains(e.Detail, "custodian.ann.mailbox.primary") || !strings.Contains(e.Detail, "Name each mailbox once") {
		t.Errorf("error %+v does not say which addresses collide and what to do", e)
	}
	if mailboxPlan(t, p, "a.lee@"+testworld.Domain).Resolved.ResolvedVia != "alias" {
		t.Error("the alias did not resolve as an alias")
	}
}

func TestUnreadableMailboxesSayWhatToDo(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	if _, err := w.Tenant.AddUser(graphsim.UserSpec{UPN: addr("guest"), Kind: graphsim.NoMailbox}); err != nil {
		t.Fatal(err)
	}
	ceo := w.User("ceo")
	if err := w.Tenant.SetMailboxAccess(w.Tenant.Credentials().ClientID, ceo, false); err != nil {
		t.Fatal(err)
	}
	w.PopulateBetween(ann, "inbox", 3, day("2024-02-01"), day("2024-03-01"))
	w.LoadMatter(`
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
	p := w.Plan()
	// Unreadable mailboxes are failed scope: the plan is incomplete, yet
	// applyable for the readable ones.
	if p.Complete() || !p.Applyable() || len(p.FailedScope()) != 3 {
		t.Fatalf("complete %v, applyable %v, failed scope %+v; want an incomplete, applyable plan with 3 failed mailboxes",
			p.Complete(), p.Applyable(), p.FailedScope())
	}
	byAddr := map[string]plan.Problem{}
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
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 6, day("2024-02-01"), day("2024-03-01"))
	w.LoadMatter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	w.ApplyComplete(w.Plan())
	id := w.All(ann, "inbox")[2]
	if _, err := w.Tenant.Move(ann, id, w.Folder(ann, "archive")); err != nil {
		t.Fatal(err)
	}
	w.ApplyComplete(w.Plan())
	if err := w.Tenant.Delete(ann, id); err != nil {
		t.Fatal(err)
	}
	p := w.Plan()
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
	ann := w.User("ann")
	w.Mkdir(ann, "inbox", "Projects")
	w.PopulateBetween(ann, "inbox", 4, day("2024-02-01"), day("2024-03-01"))
	m := w.LoadMatter(`
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
		p := w.Plan(tg)
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
	*testworld.Source
	tn      *graphsim.Tenant
	mailbox string
	folder  string
	done    bool
}

func (e *expireMidRound) Delta(ctx context.Context, mb graph.Mailbox, f graph.Folder, cursor string, page func(graph.DeltaPage) error) (string, error) {
	first := cursor != "" && f.ID == e.folder && !e.done
	return e.Source.Delta(ctx, mb, f, cursor, func(p graph.DeltaPage) error {
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
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 5, day("2024-02-01"), day("2024-02-10"))
	w.LoadMatter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	w.ApplyComplete(w.Plan())
	old := w.All(ann, "inbox")
	w.PopulateBetween(ann, "inbox", 30, day("2024-02-10"), day("2024-03-01"))
	if err := w.Tenant.Delete(ann, old[0]); err != nil {
		t.Fatal(err)
	}
	var fresh []string
	for _, id := range w.All(ann, "inbox") {
		if !sliceHas(old, id) {
			fresh = append(fresh, id)
		}
	}
	src := &expireMidRound{Source: w.Src, tn: w.Tenant, mailbox: ann, folder: w.Folder(ann, "inbox")}
	db := w.OpenState(true)
	p, err := plan.Make(context.Background(), w.Matter, db, src, plan.Options{})
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
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 10, day("2024-02-01"), day("2024-03-01"))
	custodian := `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`
	w.LoadMatter(febToApril + custodian)
	w.ApplyComplete(w.Plan())
	ids := w.All(ann, "inbox")
	if err := w.Tenant.Delete(ann, ids[0]); err != nil {
		t.Fatal(err)
	}
	// Moved out of Inbox into Archive during the gap: a move, not a tombstone.
	if _, err := w.Tenant.Move(ann, ids[1], w.Folder(ann, "archive")); err != nil {
		t.Fatal(err)
	}
	if err := w.Tenant.ExpireDeltaTokens(ann); err != nil {
		t.Fatal(err)
	}
	p := w.Plan()
	mb := mailboxPlan(t, p, ann)
	inbox := folderPlan(t, mb, "Inbox")
	if !inbox.Reset || len(inbox.Tombstones) != 1 || inbox.Tombstones[0].ID != ids[0] {
		t.Fatalf("after a reset: tombstones %+v, want the message deleted meanwhile", inbox.Tombstones)
	}
	if mv := folderPlan(t, mb, "Archive").Moves; len(mv) != 1 || mv[0].ID != ids[1] {
		t.Errorf("after a reset: archive moves %+v, want the moved message", mv)
	}
	w.ApplyComplete(p)
	// Recorded once: another reset does not tombstone it again.
	if err := w.Tenant.ExpireDeltaTokens(ann); err != nil {
		t.Fatal(err)
	}
	if p := w.Plan(); p.HasChanges() {
		t.Errorf("a second reset reports %+v again", p.Counts())
	}

	// The same through a window change, which also enumerates again; a
	// narrowed window keeps out-of-window mail without tombstoning it.
	if err := w.Tenant.Delete(ann, ids[2]); err != nil {
		t.Fatal(err)
	}
	w.LoadMatter(`
window "w" {
  start = "2024-02-15"
  end   = "2024-04-01"
}
` + custodian)
	p = w.Plan()
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
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 30, day("2024-01-01"), day("2024-05-01"))
	w.LoadMatter(febToApril + `
custodian "ann" {
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	w.ApplyComplete(w.Plan())
	if err := w.Tenant.SetQuotaExceeded(ann, true); err != nil {
		t.Fatal(err)
	}
	newOnes, err := w.Tenant.Deliver(ann, w.Folder(ann, "inbox"), graphsim.MessageSpec{Received: day("2024-03-03")})
	if err != nil {
		t.Fatal(err)
	}
	gone := w.InWindow(ann, "inbox", day("2024-02-01"), day("2024-04-01"))[0]
	if err := w.Tenant.Delete(ann, gone); err != nil {
		t.Fatal(err)
	}
	p := w.Plan()
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
	w.ApplyComplete(p)
	// With room again, the kept cursor carries on: nothing is planned twice.
	if err := w.Tenant.SetQuotaExceeded(ann, false); err != nil {
		t.Fatal(err)
	}
	again := folderPlan(t, mailboxPlan(t, w.Plan(), ann), "Inbox")
	if again.Listed || len(again.Fetch) != 0 || len(again.Tombstones) != 0 {
		t.Errorf("after the quota is raised: listed %v, %d to collect, %d tombstones; want a delta round with nothing new",
			again.Listed, len(again.Fetch), len(again.Tombstones))
	}
}
