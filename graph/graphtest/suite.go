// Package graphtest is the conformance suite every graph.Source must pass:
// the SDK-backed client and any fake run the same cases against the
// simulator (graph/graphsim) over real HTTP, the way rclone's fstests hold
// every backend to one standard.
//
// An implementation's test calls Run with a Harness that opens a Source on
// the environment the suite prepares:
//
//	func TestConformance(t *testing.T) {
//		graphtest.Run(t, graphtest.Harness{Open: func(t *testing.T, env graphtest.Env) graph.Source { ... }})
//	}
//
// Politeness is checked on both sides of the wire: the simulator counts
// requests in flight and requests that arrived early, and the Transport the
// suite hands the Source records, per mailbox, requests open at once and
// requests set off after a 429 or 503 arrived and before its Retry-After
// elapsed. Up to three such requests per throttled answer are excused: a
// client with four slots may have admitted them before it could read the
// answer. With one request at a time no excuse applies.
//
// The suite imports only the standard library, graph and graphsim, so a
// fake's tests never link the Graph SDK.
package graphtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
)

// Env is what a Source under test is opened on.
type Env struct {
	Tenant      *graphsim.Tenant
	URL         string               // server root: Graph under URL+"/v1.0", the token endpoint under URL
	Credentials graphsim.Credentials // the tenant's default app (client secret)
	// Transport must carry every request of the Source (token requests
	// included): the suite watches concurrency and Retry-After through it.
	Transport http.RoundTripper
	PageSize  int // odata.maxpagesize the Source should ask for delta pages
}

// Harness adapts one implementation of graph.Source to the suite.
type Harness struct {
	// Open returns a Source for env. It should retry quickly (back-off
	// bases of milliseconds) and allow at least 20 attempts per request:
	// the suite injects storms of faults.
	Open func(t *testing.T, env Env) graph.Source
}

// Run runs every conformance case as a subtest.
func Run(t *testing.T, h Harness) {
	t.Run("Resolve", func(t *testing.T) { testResolve(t, h) })
	t.Run("ResolveFailures", func(t *testing.T) { testResolveFailures(t, h) })
	t.Run("Folders", func(t *testing.T) { testFolders(t, h) })
	t.Run("FoldersKnowingWellKnown", func(t *testing.T) { testWellKnown(t, h) })
	t.Run("DeltaRounds", func(t *testing.T) { testDeltaRounds(t, h) })
	t.Run("DeltaSyncStateGone", func(t *testing.T) { testSyncStateGone(t, h) })
	t.Run("DeltaQuotaExceeded", func(t *testing.T) { testQuota(t, h) })
	t.Run("ItemClasses", func(t *testing.T) { testItemClasses(t, h) })
	t.Run("FetchMIME", func(t *testing.T) { testFetch(t, h) })
	t.Run("ThrottleStorm", func(t *testing.T) { testThrottleStorm(t, h) })
	t.Run("ConcurrencyLimit", func(t *testing.T) { testConcurrencyLimit(t, h) })
	t.Run("TruncatedBodies", func(t *testing.T) { testTruncated(t, h) })
	t.Run("TokenExpiry", func(t *testing.T) { testTokenExpiry(t, h) })
	t.Run("TransientFailures", func(t *testing.T) { testTransient(t, h) })
	t.Run("ConcurrentUse", func(t *testing.T) { testConcurrentUse(t, h) })
}

const domain = "sim.collect.invalid"

// world is one tenant served over HTTP with a Source opened on it.
type world struct {
	tn   *graphsim.Tenant
	src  graph.Source
	wire *wire
	env  Env
}

func newWorld(t *testing.T, h Harness, cfg graphsim.Config, pageSize int, setup func(tn *graphsim.Tenant)) *world {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	if cfg.Limits.RetryAfterStyle == 0 {
		cfg.Limits.RetryAfterStyle = graphsim.RetryAfterFractional
	}
	if cfg.Limits.ConcurrencyWait == 0 {
		cfg.Limits.ConcurrencyWait = 50 * time.Millisecond
	}
	if cfg.Faults.RetryAfter == 0 {
		cfg.Faults.RetryAfter = 50 * time.Millisecond
	}
	tn := graphsim.New(cfg)
	if setup != nil {
		setup(tn)
	}
	srv := httptest.NewServer(tn.Handler())
	t.Cleanup(srv.Close)
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	w := &world{tn: tn, wire: newWire(base)}
	w.env = Env{Tenant: tn, URL: srv.URL, Credentials: tn.Credentials(), Transport: w.wire, PageSize: pageSize}
	w.src = h.Open(t, w.env)
	return w
}

// must unwraps a setup step's result; a failing setup step panics, which
// fails the test with the step's error and stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("graphtest setup: %v", err))
	}
	return v
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func addr(local string) string { return local + "@" + domain }

func (w *world) resolve(t *testing.T, address string) graph.Mailbox {
	t.Helper()
	mb, err := w.src.ResolveMailbox(context.Background(), address)
	if err != nil {
		t.Fatalf("ResolveMailbox(%s): %v", address, err)
	}
	return mb
}

func (w *world) folder(t *testing.T, mb graph.Mailbox, wellKnownOrPath string) graph.Folder {
	t.Helper()
	id := must(w.tn.FolderID(mb.UserPrincipalName, wellKnownOrPath))
	return graph.Folder{ID: id}
}

// round runs a delta round and returns the pages it saw.
func (w *world) round(t *testing.T, mb graph.Mailbox, f graph.Folder, cursor string) ([]graph.DeltaPage, string, error) {
	t.Helper()
	var pages []graph.DeltaPage
	next, err := w.src.Delta(context.Background(), mb, f, cursor, func(p graph.DeltaPage) error {
		pages = append(pages, p)
		return nil
	})
	return pages, next, err
}

func messagesOf(pages []graph.DeltaPage) map[string]graph.Message {
	out := map[string]graph.Message{}
	for _, p := range pages {
		for _, m := range p.Messages {
			out[m.ID] = m // duplicates within a round are tolerated
		}
	}
	return out
}

func removalsOf(pages []graph.DeltaPage) map[string]string {
	out := map[string]string{}
	for _, p := range pages {
		for _, r := range p.Removed {
			out[r.ID] = r.Reason
		}
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func testResolve(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{}, 10, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann"), Mail: addr("ann.lee"), DisplayName: "Ann Lee",
			Aliases: []string{addr("al"), addr("Legal.Hold")}}))
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("shared.box"), Kind: graphsim.SharedMailbox}))
	})
	ann := must(w.tn.User(addr("ann")))
	for _, tc := range []struct{ asked, via string }{
		{addr("ann"), "upn"},
		{strings.ToUpper(addr("ann")), "upn"},
		{addr("ann.lee"), "mail"},
		{addr("al"), "alias"},
		{"LEGAL.HOLD@" + domain, "alias"},
	} {
		mb := w.resolve(t, tc.asked)
		if mb.ID != ann.ID || !strings.EqualFold(mb.UserPrincipalName, ann.UPN) || mb.Address != addr("ann.lee") || mb.DisplayName != "Ann Lee" {
			t.Errorf("%s resolved to %+v, want the directory's %+v", tc.asked, mb, ann)
		}
		if mb.ResolvedVia != tc.via {
			t.Errorf("%s resolved via %q, want %q", tc.asked, mb.ResolvedVia, tc.via)
		}
		if !slices.Contains(mb.Aliases, addr("al")) || !slices.Contains(mb.Aliases, addr("legal.hold")) {
			t.Errorf("%s: aliases %v lack the smtp proxy addresses", tc.asked, mb.Aliases)
		}
	}
	shared := w.resolve(t, addr("shared.box"))
	if shared.ID == "" || shared.Address != addr("shared.box") {
		t.Errorf("shared mailbox resolved to %+v", shared)
	}
}

func testResolveFailures(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{}, 10, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("guest"), Kind: graphsim.NoMailbox}))
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("onprem"), Kind: graphsim.OnPremisesMailbox}))
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ceo")}))
	})
	if err := w.tn.SetMailboxAccess(w.env.Credentials.ClientID, addr("ceo"), false); err != nil {
		t.Fatal(err)
	}
	_, err := w.src.ResolveMailbox(context.Background(), addr("nobody"))
	if graph.KindOf(err) != graph.KindNotFound {
		t.Errorf("unknown address: kind %v (%v), want not found", graph.KindOf(err), err)
	} else if !strings.Contains(err.Error(), addr("nobody")) {
		t.Errorf("the error does not name the address: %v", err)
	}
	// A mailbox that cannot be read fails when resolved or, at the
	// latest, when its folders are listed.
	for who, want := range map[string]graph.Kind{
		addr("guest"):  graph.KindMailboxNotEnabled,
		addr("onprem"): graph.KindMailboxNotEnabled,
		addr("ceo"):    graph.KindAccessDenied,
	} {
		mb, err := w.src.ResolveMailbox(context.Background(), who)
		if err == nil {
			_, err = w.src.ListFolders(context.Background(), mb)
		}
		if graph.KindOf(err) != want {
			t.Errorf("%s: kind %v (%v), want %v", who, graph.KindOf(err), err, want)
		}
	}
}

func testFolders(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{}, 10, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		u := addr("ann")
		inbox := must(tn.FolderID(u, "inbox"))
		root := must(tn.FolderID(u, "msgfolderroot"))
		projects := must(tn.CreateFolder(u, inbox, "Projects", false))
		globex := must(tn.CreateFolder(u, projects, "Globex", false))
		must(tn.CreateFolder(u, globex, "2024 — Q3 ünïcode", false))
		hidden := must(tn.CreateFolder(u, root, "Hidden Stuff", true))
		must(tn.CreateFolder(u, hidden, "Under Hidden", false))
		many := must(tn.CreateFolder(u, inbox, "Many", false))
		for i := range 263 { // more than a page of child folders
			must(tn.CreateFolder(u, many, fmt.Sprintf("m%03d", i), i%50 == 0))
		}
		ok(t, tn.Populate(u, globex, graphsim.Populate{Count: 7}))
	})
	mb := w.resolve(t, addr("ann"))
	got := must(w.src.ListFolders(context.Background(), mb))
	w.checkFolders(t, got)
	for _, path := range []string{"Inbox/Projects/Globex/2024 — Q3 ünïcode", "Hidden Stuff/Under Hidden", "Inbox/Many/m262", "Recoverable Items/Deletions"} {
		found := false
		for _, f := range got {
			found = found || f.Path == path
		}
		if !found {
			t.Errorf("no folder with path %q", path)
		}
	}
}

// checkFolders compares a listing of ann's folders with the simulator's:
// every folder of the tree once, with its path, parent, well-known name
// and counts, each after its parent.
func (w *world) checkFolders(t *testing.T, got []graph.Folder) {
	t.Helper()
	all := must(w.tn.Folders(addr("ann")))
	want := map[string]graphsim.FolderInfo{}
	for _, f := range all {
		// The folder tree under the root of the mailbox, plus Recoverable
		// Items Deletions; not the root itself nor the rest of
		// Recoverable Items.
		inIPM := f.Path != "" && !strings.HasPrefix(f.Path, "Recoverable Items")
		if inIPM || f.WellKnownName == "recoverableitemsdeletions" {
			want[f.ID] = f
		}
	}
	seen := map[string]bool{}
	pos := map[string]int{}
	for i, f := range got {
		if seen[f.ID] {
			t.Errorf("folder %s (%s) listed twice", f.ID, f.Path)
		}
		seen[f.ID] = true
		pos[f.ID] = i
		wf, ok := want[f.ID]
		if !ok {
			t.Errorf("unexpected folder %+v", f)
			continue
		}
		if f.Path != wf.Path || f.DisplayName != wf.DisplayName || f.ParentID != wf.ParentID || f.Hidden != wf.Hidden ||
			f.WellKnownName != wf.WellKnownName || f.ChildCount != wf.ChildCount || f.TotalCount != int64(wf.TotalCount) {
			t.Errorf("folder %s:\n got  %+v\n want %+v", f.ID, f, wf)
		}
	}
	for id, wf := range want {
		if !seen[id] {
			t.Errorf("missing folder %q (hidden %v)", wf.Path, wf.Hidden)
		}
	}
	for _, f := range got {
		if p, ok := pos[f.ParentID]; ok && p > pos[f.ID] {
			t.Errorf("folder %q comes before its parent", f.Path)
		}
	}
}

// testWellKnown lists folders with what an earlier listing learned of the
// well-known ones: the listing is the same as without, a re-listing of an
// unchanged tree sends no request for a well-known name but Recoverable
// Items Deletions (outside the tree) and one page per level ($top large
// enough for 40 siblings), and a renamed, moved or created folder, a known
// ID the tree no longer holds or a name missing from what is known is
// answered right.
func testWellKnown(t *testing.T, h Harness) {
	var projects, globex string
	w := newWorld(t, h, graphsim.Config{}, 10, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		u := addr("ann")
		inbox := must(tn.FolderID(u, "inbox"))
		projects = must(tn.CreateFolder(u, inbox, "Projects", false))
		globex = must(tn.CreateFolder(u, projects, "Globex", false))
		for i := range 40 {
			must(tn.CreateFolder(u, projects, fmt.Sprintf("p%02d", i), i%10 == 0))
		}
	})
	lister, isLister := w.src.(graph.WellKnownLister)
	if !isLister {
		t.Skip("the Source does not implement graph.WellKnownLister")
	}
	ctx := context.Background()
	mb := w.resolve(t, addr("ann"))
	list := func(known graph.WellKnownFolders) ([]graph.Folder, graph.WellKnownFolders, graphsim.Counters) {
		t.Helper()
		before := w.tn.Counters()
		got, learned, err := lister.ListFoldersKnowing(ctx, mb, known)
		ok(t, err)
		after := w.tn.Counters()
		for r, n := range before.ByRoute {
			after.ByRoute[r] -= n
		}
		w.checkFolders(t, got)
		return got, learned, after
	}
	parents := func(got []graph.Folder) int64 {
		n := int64(0)
		for _, f := range got {
			if f.ChildCount > 0 {
				n++
			}
		}
		return n
	}

	got, first, _ := list(graph.WellKnownFolders{})
	for _, name := range graph.WellKnownNames {
		if _, ok := first.IDs[name]; !ok {
			t.Errorf("learned nothing of %q: %v", name, first.IDs)
		}
	}
	if id := must(w.tn.FolderID(addr("ann"), "inbox")); first.IDs["inbox"] != id {
		t.Errorf("learned inbox = %q, want %q", first.IDs["inbox"], id)
	}
	if id := first.IDs["scheduled"]; id != "" {
		t.Errorf("learned scheduled = %q; the mailbox has no such folder", id)
	}

	again, second, c := list(first)
	if !reflect.DeepEqual(second, first) {
		t.Errorf("a listing of the same tree learned\n %v\nafter\n %v", second, first)
	}
	if n := c.ByRoute[graphsim.RouteMailFolder]; n > 1 {
		t.Errorf("the re-listing asked for %d folders by name; only Recoverable Items Deletions needs asking", n)
	}
	if n, max := c.ByRoute[graphsim.RouteChildFolders], parents(again); n > max {
		t.Errorf("the re-listing sent %d childFolders requests for %d folders with children: more than a page each", n, max)
	}
	if n := c.ByRoute[graphsim.RouteMailFolders]; n > 1 {
		t.Errorf("the re-listing sent %d mailFolders requests, want one page", n)
	}
	if len(again) != len(got) {
		t.Errorf("the re-listing has %d folders, the first %d", len(again), len(got))
	}

	ok(t, w.tn.RenameFolder(addr("ann"), globex, "Globex Renamed"))
	ok(t, w.tn.MoveFolder(addr("ann"), projects, "msgfolderroot"))
	_, moved, c := list(first)
	if moved.Tree != first.Tree {
		t.Errorf("a rename and a move changed the tree digest; the set of folders is the same")
	}
	if n := c.ByRoute[graphsim.RouteMailFolder]; n > 1 {
		t.Errorf("after a rename and a move, %d folders asked by name, want at most 1", n)
	}

	must(w.tn.CreateFolder(addr("ann"), "inbox", "New", false))
	_, created, _ := list(moved)
	if created.Tree == moved.Tree {
		t.Errorf("a created folder left the tree digest as it was")
	}

	stale := graph.WellKnownFolders{IDs: maps.Clone(created.IDs), Tree: created.Tree}
	stale.IDs["inbox"] = stale.IDs["sentitems"] + "-gone" // not in the tree any more
	delete(stale.IDs, "drafts")
	_, fixed, _ := list(stale)
	if !reflect.DeepEqual(fixed, created) {
		t.Errorf("from a stale record the listing learned\n %v\nwant\n %v", fixed, created)
	}
}

func testDeltaRounds(t *testing.T, h Harness) {
	const n = 1000
	w := newWorld(t, h, graphsim.Config{DuplicateRate: 0.03}, 40, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		inbox := must(tn.FolderID(addr("ann"), "inbox"))
		ok(t, tn.Populate(addr("ann"), inbox, graphsim.Populate{Count: n, Drafts: 5}))
	})
	mb := w.resolve(t, addr("ann"))
	inbox, archive := w.folder(t, mb, "inbox"), w.folder(t, mb, "archive")
	if !strings.ContainsAny(inbox.ID+archive.ID, "/+=") {
		t.Errorf("folder IDs %q and %q hold no '/', '+' or '=': their escaping is not exercised", inbox.ID, archive.ID)
	}
	before := w.tn.Counters().ByRoute[graphsim.RouteDelta]

	pages, cursor, err := w.round(t, mb, inbox, "")
	if err != nil {
		t.Fatalf("first round: %v", err)
	}
	if cursor == "" {
		t.Fatal("a completed round returned no cursor")
	}
	if len(pages) < n/40 {
		t.Errorf("%d pages for %d messages at 40 a page", len(pages), n)
	}
	if reqs := w.tn.Counters().ByRoute[graphsim.RouteDelta] - before; reqs != int64(len(pages)) {
		t.Errorf("%d delta requests for %d pages", reqs, len(pages))
	}
	got := messagesOf(pages)
	total := 0
	for _, p := range pages {
		total += len(p.Messages)
	}
	if total == len(got) {
		t.Errorf("no duplicate was served (%d items): the duplicate case was not exercised", total)
	}
	refs := must(w.tn.Messages(addr("ann"), inbox.ID))
	if len(got) != n || len(refs) != n {
		t.Fatalf("round saw %d distinct messages, the folder holds %d (want %d)", len(got), len(refs), n)
	}
	drafts := 0
	for _, r := range refs {
		m, ok := got[r.ImmutableID]
		if !ok {
			t.Errorf("message %s missing from the round (or not by immutable ID)", r.ImmutableID)
			continue
		}
		if strings.Trim(m.InternetMessageID, "<>") != strings.Trim(r.InternetMessageID, "<>") || m.Subject != r.Subject || m.IsDraft != r.IsDraft ||
			m.ParentFolderID != inbox.ID || !m.LastModified.Equal(r.LastModified) || m.ChangeKey == "" || m.ChangeKey != r.ChangeKey ||
			m.ConversationID == "" || m.ConversationID != r.ConversationID ||
			(!r.IsDraft && !m.Received.Equal(r.Received)) {
			t.Errorf("message %s:\n got  %+v\n want %+v", r.ImmutableID, m, r)
		}
		if m.IsDraft {
			drafts++
		}
	}
	if drafts != 5 {
		t.Errorf("%d drafts, want 5", drafts)
	}

	// Between rounds: two new messages, one moved to Archive, one deleted.
	n1 := must(w.tn.Deliver(addr("ann"), inbox.ID, graphsim.MessageSpec{Subject: "new one"}))
	n2 := must(w.tn.Deliver(addr("ann"), inbox.ID, graphsim.MessageSpec{Subject: "new two"}))
	reply := must(w.tn.Deliver(addr("ann"), inbox.ID, graphsim.MessageSpec{Subject: "RE: new one"}))
	moved := must(w.tn.Move(addr("ann"), refs[10].ImmutableID, archive.ID))
	if err := w.tn.Delete(addr("ann"), refs[20].ImmutableID); err != nil {
		t.Fatal(err)
	}
	pages, cursor2, err := w.round(t, mb, inbox, cursor)
	if err != nil {
		t.Fatalf("second round: %v", err)
	}
	if cursor2 == "" {
		t.Error("second round returned no cursor")
	}
	added, removed := messagesOf(pages), removalsOf(pages)
	if fmt.Sprint(keys(added)) != fmt.Sprint(sorted(n1.ImmutableID, n2.ImmutableID, reply.ImmutableID)) {
		t.Errorf("second round added %v, want the three new messages %v", keys(added), sorted(n1.ImmutableID, n2.ImmutableID, reply.ImmutableID))
	}
	// A reply is in its original's conversation, another thread is not.
	if c1, c2, cr := added[n1.ImmutableID].ConversationID, added[n2.ImmutableID].ConversationID, added[reply.ImmutableID].ConversationID; c1 == "" || cr != c1 || c2 == c1 {
		t.Errorf("conversation IDs: original %q, its reply %q, another thread %q; want the reply's the original's and the other different", c1, cr, c2)
	}
	if fmt.Sprint(keys(removed)) != fmt.Sprint(sorted(moved.ImmutableID, refs[20].ImmutableID)) {
		t.Errorf("second round removed %v, want the moved and the deleted %v", removed, sorted(moved.ImmutableID, refs[20].ImmutableID))
	}
	if moved.ImmutableID != refs[10].ImmutableID {
		t.Errorf("the simulator changed an immutable ID on move")
	}
	// The moved message shows up in Archive under the same immutable ID.
	pages, _, err = w.round(t, mb, archive, "")
	if err != nil {
		t.Fatalf("archive round: %v", err)
	}
	if m, ok := messagesOf(pages)[moved.ImmutableID]; !ok || m.ParentFolderID != archive.ID {
		t.Errorf("moved message not in Archive's round with its immutable ID: %v", keys(messagesOf(pages)))
	}
	// A third round with nothing new reports nothing.
	pages, _, err = w.round(t, mb, inbox, cursor2)
	if err != nil {
		t.Fatalf("third round: %v", err)
	}
	if len(messagesOf(pages))+len(removalsOf(pages)) != 0 {
		t.Errorf("a quiet folder reported changes: %+v", pages)
	}
	// A flag, a category and a draft edit each give a new changeKey, which
	// the next round reports with the message.
	var draft graphsim.MessageRef
	for i, r := range refs {
		if r.IsDraft && i > 2 && i != 10 && i != 20 { // 10 was moved, 20 deleted
			draft = r
			break
		}
	}
	flagged := must(w.tn.Flag(addr("ann"), refs[1].ImmutableID, true))
	tagged := must(w.tn.Categorize(addr("ann"), refs[2].ImmutableID, "Privileged"))
	edited := must(w.tn.EditDraft(addr("ann"), draft.ImmutableID))
	pages, _, err = w.round(t, mb, inbox, cursor2)
	if err != nil {
		t.Fatalf("round after changes: %v", err)
	}
	changed := messagesOf(pages)
	for _, c := range []struct{ before, after graphsim.MessageRef }{{refs[1], flagged}, {refs[2], tagged}, {draft, edited}} {
		m, ok := changed[c.after.ImmutableID]
		if !ok || m.ChangeKey != c.after.ChangeKey || m.ChangeKey == c.before.ChangeKey || !m.LastModified.After(c.before.LastModified) {
			t.Errorf("changed message %s: got %+v (reported %v), want changeKey %q after %q", c.after.ImmutableID, m, ok, c.after.ChangeKey, c.before.ChangeKey)
		}
	}
	// A page callback's error stops the round without a cursor.
	stop := errors.New("stop here")
	c, err := w.src.Delta(context.Background(), mb, inbox, "", func(graph.DeltaPage) error { return stop })
	if !errors.Is(err, stop) || c != "" {
		t.Errorf("callback error: cursor %q, err %v", c, err)
	}
}

func sorted(s ...string) []string {
	sort.Strings(s)
	return s
}

func testSyncStateGone(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{}, 25, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		ok(t, tn.Populate(addr("ann"), must(tn.FolderID(addr("ann"), "inbox")), graphsim.Populate{Count: 60}))
	})
	mb := w.resolve(t, addr("ann"))
	inbox := w.folder(t, mb, "inbox")
	_, cursor, err := w.round(t, mb, inbox, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.tn.ExpireDeltaTokens(addr("ann")); err != nil {
		t.Fatal(err)
	}
	_, c, err := w.round(t, mb, inbox, cursor)
	if graph.KindOf(err) != graph.KindSyncStateGone || c != "" {
		t.Fatalf("expired cursor: kind %v (%v), cursor %q; want sync state gone", graph.KindOf(err), err, c)
	}
	// The skip token expires between two pages of a round.
	seenPages := 0
	c, err = w.src.Delta(context.Background(), mb, inbox, "", func(graph.DeltaPage) error {
		seenPages++
		if seenPages == 1 {
			return w.tn.ExpireDeltaTokens(addr("ann"))
		}
		return nil
	})
	if graph.KindOf(err) != graph.KindSyncStateGone || c != "" || seenPages != 1 {
		t.Fatalf("token expired mid-round: kind %v (%v), cursor %q after %d pages; want sync state gone after 1",
			graph.KindOf(err), err, c, seenPages)
	}
	pages, c, err := w.round(t, mb, inbox, "")
	if err != nil || c == "" {
		t.Fatalf("fresh round after 410: %v", err)
	}
	if got := len(messagesOf(pages)); got != 60 {
		t.Errorf("fresh round saw %d messages, want 60", got)
	}
}

func testQuota(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{}, 10, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		ok(t, tn.Populate(addr("ann"), must(tn.FolderID(addr("ann"), "inbox")), graphsim.Populate{Count: 23}))
	})
	mb := w.resolve(t, addr("ann"))
	if err := w.tn.SetQuotaExceeded(addr("ann"), true); err != nil {
		t.Fatal(err)
	}
	_, _, err := w.round(t, mb, w.folder(t, mb, "inbox"), "")
	if graph.KindOf(err) != graph.KindQuotaExceeded {
		t.Errorf("full mailbox: kind %v (%v), want quota exceeded", graph.KindOf(err), err)
	}
	// The plain listing still works, across pages, and reports every message.
	inbox := w.folder(t, mb, "inbox")
	want := map[string]bool{}
	conversations := map[string]string{}
	for _, r := range must(w.tn.Messages(addr("ann"), inbox.ID)) {
		want[r.ImmutableID] = true
		conversations[r.ImmutableID] = r.ConversationID
	}
	got := map[string]bool{}
	pages := 0
	if err := w.src.List(context.Background(), mb, inbox, func(p graph.DeltaPage) error {
		pages++
		for _, m := range p.Messages {
			if m.ID == "" || m.Received.IsZero() {
				t.Errorf("listed message without ID or received time: %+v", m)
			}
			if m.ConversationID == "" || m.ConversationID != conversations[m.ID] {
				t.Errorf("listed message %s: conversation ID %q, want %q", m.ID, m.ConversationID, conversations[m.ID])
			}
			got[m.ID] = true
		}
		return nil
	}); err != nil {
		t.Fatalf("List on a full mailbox: %v", err)
	}
	if len(got) != len(want) || len(want) != 23 {
		t.Errorf("List reported %d messages, the folder holds %d (want 23)", len(got), len(want))
	}
	for id := range want {
		if !got[id] {
			t.Errorf("List missed %s", id)
			break
		}
	}
	if pages < 3 {
		t.Errorf("23 messages came in %d pages of 10", pages)
	}
}

// testItemClasses: what a mail folder holds beside mail comes with its
// item class, in delta rounds and in listings, so that collect can leave
// it out.
func testItemClasses(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{}, 3, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		ok(t, tn.Populate(addr("ann"), "deleteditems", graphsim.Populate{Count: 2}))
		ok(t, tn.AddOtherItems(addr("ann"), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)))
	})
	mb := w.resolve(t, addr("ann"))
	for _, path := range []string{"deleteditems", "Conversation History/Team Chat"} {
		f := w.folder(t, mb, path)
		want := map[string]string{}
		for _, r := range must(w.tn.Messages(addr("ann"), f.ID)) {
			want[r.ImmutableID] = r.ItemClass
		}
		pages, _, err := w.round(t, mb, f, "")
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		listed := map[string]graph.Message{}
		ok(t, w.src.List(context.Background(), mb, f, func(p graph.DeltaPage) error {
			for _, m := range p.Messages {
				listed[m.ID] = m
			}
			return nil
		}))
		for how, got := range map[string]map[string]graph.Message{"delta": messagesOf(pages), "list": listed} {
			if len(got) != len(want) {
				t.Errorf("%s %s: %d items, the folder holds %d", path, how, len(got), len(want))
			}
			for id, m := range got {
				if m.ItemClass != want[id] {
					t.Errorf("%s %s: item %s has class %q, want %q", path, how, id, m.ItemClass, want[id])
				}
			}
		}
	}
}

// fetchAll runs a delta round of the folder and returns its messages'
// immutable IDs.
func (w *world) ids(t *testing.T, mb graph.Mailbox, f graph.Folder) []string {
	t.Helper()
	pages, _, err := w.round(t, mb, f, "")
	if err != nil {
		t.Fatal(err)
	}
	return keys(messagesOf(pages))
}

func (w *world) checkFetch(t *testing.T, mb graph.Mailbox, id string) error {
	t.Helper()
	var buf bytes.Buffer
	n, err := w.src.FetchMIME(context.Background(), mb, id, &buf)
	if err != nil {
		return err
	}
	want, err := w.tn.MIME(mb.UserPrincipalName, id)
	if err != nil {
		return fmt.Errorf("simulator has no MIME for %s: %w", id, err)
	}
	if n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("message %s: %d bytes (reported %d), want %d identical bytes", id, buf.Len(), n, len(want))
	}
	return nil
}

func testFetch(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{}, 100, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		inbox := must(tn.FolderID(addr("ann"), "inbox"))
		ok(t, tn.Populate(addr("ann"), inbox, graphsim.Populate{Count: 30, Large: 1, LargeSize: 6 << 20}))
	})
	mb := w.resolve(t, addr("ann"))
	ids := w.ids(t, mb, w.folder(t, mb, "inbox"))
	special := 0
	for _, id := range ids {
		if strings.ContainsAny(id, "/+=") {
			special++
		}
		if err := w.checkFetch(t, mb, id); err != nil {
			t.Errorf("FetchMIME(%s): %v", id, err)
		}
	}
	if special == 0 {
		t.Errorf("no message ID with '/', '+' or '=' was exercised")
	}
	large := false
	for _, id := range ids {
		if r := must(w.tn.Message(addr("ann"), id)); r.Size >= 5<<20 {
			large = true
		}
	}
	if !large {
		t.Errorf("no multi-megabyte message was fetched")
	}
	// A message that is gone is KindNotFound, not a failure of the run.
	gone := ids[0]
	if err := w.tn.Delete(addr("ann"), gone); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.src.FetchMIME(context.Background(), mb, gone, &buf); graph.KindOf(err) != graph.KindNotFound {
		t.Errorf("deleted message: kind %v (%v), want not found", graph.KindOf(err), err)
	}
}

// fetchConcurrently fetches every ID from many goroutines at once,
// retrying a fetch that failed with a transient error (as apply does).
func (w *world) fetchConcurrently(t *testing.T, mb graph.Mailbox, ids []string, workers int) {
	t.Helper()
	work := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				for try := 0; ; try++ {
					err := w.checkFetch(t, mb, id)
					if err == nil {
						break
					}
					if graph.KindOf(err) != graph.KindTransient || try == 10 {
						t.Errorf("FetchMIME(%s): %v", id, err)
						break
					}
				}
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
}

func testThrottleStorm(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{Faults: graphsim.FaultRates{Throttle: 0.08, StormLength: 3, Unavailable: 0.03}}, 20,
		func(tn *graphsim.Tenant) {
			for _, u := range []string{"ann", "bob"} {
				must(tn.AddUser(graphsim.UserSpec{UPN: addr(u)}))
				ok(t, tn.Populate(addr(u), must(tn.FolderID(addr(u), "inbox")), graphsim.Populate{Count: 60}))
			}
		})
	ann, bob := w.resolve(t, addr("ann")), w.resolve(t, addr("bob"))
	// One request at a time first: then not a single request may reach
	// the server before a Retry-After it was given has elapsed.
	annIDs := w.ids(t, ann, w.folder(t, ann, "inbox"))
	bobIDs := w.ids(t, bob, w.folder(t, bob, "inbox"))
	if len(annIDs) != 60 || len(bobIDs) != 60 {
		t.Fatalf("rounds under throttling saw %d and %d messages, want 60 each", len(annIDs), len(bobIDs))
	}
	for _, id := range annIDs[:20] {
		if err := w.checkFetch(t, ann, id); err != nil {
			t.Fatalf("FetchMIME(%s): %v", id, err)
		}
	}
	sim := w.tn.Counters()
	if sim.Mailboxes[addr("ann")].Throttled == 0 {
		t.Fatal("no 429 in the sequential phase: the storm did not happen")
	}
	for who, c := range sim.Mailboxes {
		if c.EarlyRetries != 0 {
			t.Errorf("%s: %d requests reached the server before Retry-After elapsed", who, c.EarlyRetries)
		}
	}
	if early := w.wire.report().Early; len(early) > 0 {
		t.Errorf("requests sent while throttled: %v", early)
	}

	// Then ten callers per mailbox, two mailboxes at once.
	if err := w.tn.InjectFaults(addr("ann"), graphsim.Fault{Kind: graphsim.FaultTooManyObjectsOpened, Route: graphsim.RouteValue}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); w.fetchConcurrently(t, ann, annIDs, 10) }()
	go func() { defer wg.Done(); w.fetchConcurrently(t, bob, bobIDs, 10) }()
	wg.Wait()

	rep := w.wire.report()
	sim = w.tn.Counters()
	for _, line := range rep.Early {
		t.Errorf("request sent while throttled: %s", line)
	}
	for mbx, n := range rep.MaxInFlight {
		if n > 4 {
			t.Errorf("mailbox %s had %d requests in flight, the limit is 4", mbx, n)
		}
	}
	for who, c := range sim.Mailboxes {
		if c.MaxInFlight > 4 {
			t.Errorf("simulator saw %d requests in flight for %s", c.MaxInFlight, who)
		}
	}
	t.Logf("429s: %d; requests: %d; per mailbox %v", sim.Throttled, sim.Requests, rep.Sent)
}

func testConcurrencyLimit(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{Limits: graphsim.Limits{MaxConcurrent: -1}}, 100, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		ok(t, tn.Populate(addr("ann"), must(tn.FolderID(addr("ann"), "inbox")), graphsim.Populate{Count: 24}))
	})
	mb := w.resolve(t, addr("ann"))
	ids := w.ids(t, mb, w.folder(t, mb, "inbox"))
	hold := must(w.tn.HoldRequests(addr("ann")))
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.fetchConcurrently(t, mb, ids, 12)
	}()
	hold.Wait(4) // four requests are held by the server...
	if got := w.wire.report().MaxInFlight[strings.ToLower(mb.ID)]; got != 4 {
		t.Errorf("%d requests in flight while the server holds four; twelve callers wait", got)
	}
	hold.Release()
	<-done
	rep := w.wire.report()
	if got := rep.MaxInFlight[strings.ToLower(mb.ID)]; got != 4 {
		t.Errorf("max in flight %d, want exactly the limit of 4", got)
	}
	if c := w.tn.Counters().Mailboxes[addr("ann")]; c.MaxInFlight > 4 {
		t.Errorf("simulator saw %d in flight", c.MaxInFlight)
	}
}

func testTruncated(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{Faults: graphsim.FaultRates{Truncate: 0.25}}, 100, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		ok(t, tn.Populate(addr("ann"), must(tn.FolderID(addr("ann"), "inbox")), graphsim.Populate{Count: 40, Large: 2, LargeSize: 2 << 20}))
	})
	mb := w.resolve(t, addr("ann"))
	ids := w.ids(t, mb, w.folder(t, mb, "inbox"))
	if err := w.tn.InjectFaults(addr("ann"), graphsim.Fault{Kind: graphsim.FaultTruncate, Route: graphsim.RouteValue}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := w.src.FetchMIME(context.Background(), mb, ids[0], &buf)
	if graph.KindOf(err) != graph.KindTransient {
		t.Fatalf("truncated body: %d bytes, err %v; want a transient error", n, err)
	}
	// Under random truncation every fetch ends either with the exact bytes
	// or with a transient error, and retrying gets the exact bytes.
	truncated := 0
	for _, id := range ids {
		for try := 0; ; try++ {
			var buf bytes.Buffer
			_, err := w.src.FetchMIME(context.Background(), mb, id, &buf)
			if err == nil {
				want := must(w.tn.MIME(addr("ann"), id))
				if !bytes.Equal(buf.Bytes(), want) {
					t.Fatalf("message %s: a fetch succeeded with %d bytes, want %d identical (sha256 %x vs %x)",
						id, buf.Len(), len(want), sha256.Sum256(buf.Bytes()), sha256.Sum256(want))
				}
				break
			}
			if graph.KindOf(err) != graph.KindTransient || try == 20 {
				t.Fatalf("message %s: %v", id, err)
			}
			truncated++
		}
	}
	if truncated == 0 {
		t.Error("no truncated body was served: the fault did not happen")
	}
}

func testTokenExpiry(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{}, 10, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		ok(t, tn.Populate(addr("ann"), must(tn.FolderID(addr("ann"), "inbox")), graphsim.Populate{Count: 50}))
	})
	mb := w.resolve(t, addr("ann"))
	inbox := w.folder(t, mb, "inbox")
	tokens := w.tn.Counters().ByRoute[graphsim.RouteToken]
	// The token is revoked in the middle of a round.
	ok(t, w.tn.InjectFaults(addr("ann"), graphsim.Fault{Kind: graphsim.FaultUnauthorized, Route: graphsim.RouteDelta}))
	pages, cursor, err := w.round(t, mb, inbox, "")
	if err != nil || cursor == "" {
		t.Fatalf("round with a revoked token: %v", err)
	}
	if got := len(messagesOf(pages)); got != 50 {
		t.Errorf("round saw %d messages, want 50", got)
	}
	if got := w.tn.Counters().ByRoute[graphsim.RouteToken] - tokens; got != 1 {
		t.Errorf("%d token requests after one 401, want exactly 1", got)
	}
	// Every token revoked between calls.
	w.tn.RevokeAccessTokens()
	if err := w.checkFetch(t, mb, keys(messagesOf(pages))[0]); err != nil {
		t.Errorf("fetch after revocation: %v", err)
	}
}

func testTransient(t *testing.T, h Harness) {
	w := newWorld(t, h, graphsim.Config{}, 10, func(tn *graphsim.Tenant) {
		must(tn.AddUser(graphsim.UserSpec{UPN: addr("ann")}))
		ok(t, tn.Populate(addr("ann"), must(tn.FolderID(addr("ann"), "inbox")), graphsim.Populate{Count: 35}))
	})
	mb := w.resolve(t, addr("ann"))
	inbox := w.folder(t, mb, "inbox")
	faults := []graphsim.Fault{
		{Kind: graphsim.FaultUnavailable, Route: graphsim.RouteDelta},
		{Kind: graphsim.FaultServerError, Route: graphsim.RouteDelta},
		{Kind: graphsim.FaultBadGateway, Route: graphsim.RouteDelta},
		{Kind: graphsim.FaultGatewayTimeout, Route: graphsim.RouteDelta},
		{Kind: graphsim.FaultReset, Route: graphsim.RouteDelta},
		{Kind: graphsim.FaultReset, Route: graphsim.RouteValue},
		{Kind: graphsim.FaultServerError, Route: graphsim.RouteValue},
		{Kind: graphsim.FaultThrottle, Route: graphsim.RouteValue},
	}
	ok(t, w.tn.InjectFaults(addr("ann"), faults...))
	pages, cursor, err := w.round(t, mb, inbox, "")
	if err != nil || cursor == "" {
		t.Fatalf("round through 5xx and a reset: %v", err)
	}
	ids := keys(messagesOf(pages))
	if len(ids) != 35 {
		t.Errorf("round saw %d messages, want 35", len(ids))
	}
	if err := w.checkFetch(t, mb, ids[0]); err != nil {
		t.Errorf("fetch through a reset, a 500 and a 429: %v", err)
	}
	c := w.tn.Counters().Mailboxes[addr("ann")]
	if c.Faults != int64(len(faults)) {
		t.Errorf("%d faults served, want %d: some were not reached", c.Faults, len(faults))
	}
	if early := w.wire.report().Early; len(early) > 0 {
		t.Errorf("requests sent before Retry-After elapsed: %v", early)
	}
}

// testConcurrentUse runs every call on several mailboxes at once, as plan
// and apply do: a Source must be safe for concurrent use (run under -race).
func testConcurrentUse(t *testing.T, h Harness) {
	names := []string{"ann", "bob", "cy", "dee"}
	w := newWorld(t, h, graphsim.Config{}, 10, func(tn *graphsim.Tenant) {
		for _, n := range names {
			must(tn.AddUser(graphsim.UserSpec{UPN: addr(n), Aliases: []string{addr(n + ".alias")}}))
			inbox := must(tn.FolderID(addr(n), "inbox"))
			ok(t, tn.Populate(addr(n), inbox, graphsim.Populate{Count: 25}))
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, len(names)*2)
	for _, n := range names {
		for _, asked := range []string{addr(n), addr(n + ".alias")} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := context.Background()
				mb, err := w.src.ResolveMailbox(ctx, asked)
				if err != nil {
					errs <- err
					return
				}
				folders, err := w.src.ListFolders(ctx, mb)
				if err != nil {
					errs <- err
					return
				}
				for _, f := range folders {
					if f.WellKnownName != "inbox" {
						continue
					}
					var ids []string
					if _, err := w.src.Delta(ctx, mb, f, "", func(p graph.DeltaPage) error {
						for _, m := range p.Messages {
							ids = append(ids, m.ID)
						}
						return nil
					}); err != nil {
						errs <- err
						return
					}
					for _, id := range ids[:5] {
						if _, err := w.src.FetchMIME(ctx, mb, id, io.Discard); err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
