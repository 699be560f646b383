package graphsim

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph"
)

func sourceTenant(t *testing.T, cfg Config) (*sim, *Source, graph.Mailbox, graph.Folder) {
	t.Helper()
	s := newSim(t, cfg)
	if _, err := s.tn.AddUser(UserSpec{UPN: "ann@sim.collect.invalid", Aliases: []string{"a.lee@sim.collect.invalid"}}); err != nil {
		t.Fatal(err)
	}
	inbox, _ := s.tn.FolderID("ann@sim.collect.invalid", "inbox")
	if err := s.tn.Populate("ann@sim.collect.invalid", inbox, Populate{Count: 45, Drafts: 2, Large: 1, LargeSize: 300 << 10}); err != nil {
		t.Fatal(err)
	}
	src := s.tn.Source(SourceOptions{PageSize: 10})
	mb, err := src.ResolveMailbox(context.Background(), "A.LEE@sim.collect.invalid")
	if err != nil {
		t.Fatal(err)
	}
	if mb.ResolvedVia != "alias" || mb.UserPrincipalName != "ann@sim.collect.invalid" || len(mb.Aliases) != 1 {
		t.Fatalf("resolved %+v", mb)
	}
	return s, src, mb, graph.Folder{ID: inbox}
}

func srcRound(t *testing.T, src *Source, mb graph.Mailbox, f graph.Folder, cursor string) ([]graph.Message, []graph.Removal, string, int) {
	t.Helper()
	var msgs []graph.Message
	var rem []graph.Removal
	pages := 0
	next, err := src.Delta(context.Background(), mb, f, cursor, func(p graph.DeltaPage) error {
		pages++
		msgs = append(msgs, p.Messages...)
		rem = append(rem, p.Removed...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs, rem, next, pages
}

// The in-process Source and the HTTP routes report the same rounds, and
// their cursors are interchangeable.
func TestSourceDeltaMatchesHTTP(t *testing.T) {
	s, src, mb, inbox := sourceTenant(t, Config{Seed: 31, DuplicateRate: 0.2})
	path := "/v1.0/users/" + esc(mb.ID) + "/mailFolders/" + esc(inbox.ID) + "/messages/delta"
	items, _, link, httpPages := s.deltaRound(path, immutable, "Prefer: odata.maxpagesize=10")
	msgs, _, cursor, pages := srcRound(t, src, mb, inbox, "")
	if pages != httpPages || len(msgs) != len(items) {
		t.Fatalf("in-process: %d pages, %d items; HTTP: %d pages, %d items", pages, len(msgs), httpPages, len(items))
	}
	for i, m := range msgs {
		h := items[i]
		sent, _ := h["sentDateTime"].(string)
		if m.ID != h["id"] || m.InternetMessageID != h["internetMessageId"] || m.Subject != h["subject"] ||
			m.Received.Format(time.RFC3339) != h["receivedDateTime"] || m.LastModified.Format(time.RFC3339) != h["lastModifiedDateTime"] ||
			m.IsDraft != h["isDraft"] || m.ParentFolderID != h["parentFolderId"] || (sent != "" && m.Sent.Format(time.RFC3339) != sent) {
			t.Errorf("item %d differs:\n in-process %+v\n HTTP       %v", i, m, h)
		}
		from := h["from"].(map[string]any)["emailAddress"].(map[string]any)["address"]
		if m.From != from {
			t.Errorf("item %d: from %q, HTTP %q", i, m.From, from)
		}
	}
	dups := len(msgs) - distinct(msgs)
	if dups == 0 {
		t.Error("no duplicate served: the duplicate case is not exercised")
	}

	refs, _ := s.tn.Messages(mb.UserPrincipalName, inbox.ID)
	if _, err := s.tn.Move(mb.UserPrincipalName, refs[4].ImmutableID, "archive"); err != nil {
		t.Fatal(err)
	}
	if err := s.tn.Delete(mb.UserPrincipalName, refs[5].ImmutableID); err != nil {
		t.Fatal(err)
	}
	n, _ := s.tn.Deliver(mb.UserPrincipalName, inbox.ID, MessageSpec{Subject: "new"})
	// The HTTP deltaLink as an in-process cursor, and the other way round.
	for _, c := range []string{link, cursor} {
		msgs, rem, next, _ := srcRound(t, src, mb, inbox, c)
		var removed []string
		for _, r := range rem {
			removed = append(removed, r.ID+" "+r.Reason)
		}
		sort.Strings(removed)
		want := []string{refs[4].ImmutableID + " deleted", refs[5].ImmutableID + " deleted"}
		sort.Strings(want)
		if len(msgs) != 1 || msgs[0].ID != n.ImmutableID || strings.Join(removed, ",") != strings.Join(want, ",") || next == "" {
			t.Errorf("second round from %.30q...: %d items, removed %v", c, len(msgs), removed)
		}
	}
	// The in-process cursor as a deltaLink over HTTP.
	items, removed, _, _ := s.deltaRound(path+"?$deltatoken="+cursor, immutable)
	if len(items) != 1 || items[0]["id"] != n.ImmutableID || len(removed) != 2 {
		t.Errorf("HTTP round from the in-process cursor: %d items, %d removed", len(items), len(removed))
	}
}

func distinct(msgs []graph.Message) int {
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.ID] = true
	}
	return len(seen)
}

func TestSourceFetchSameBytesAsValue(t *testing.T) {
	s, src, mb, inbox := sourceTenant(t, Config{Seed: 32})
	refs, _ := s.tn.Messages(mb.UserPrincipalName, inbox.ID)
	before := s.tn.Counters().Mailboxes[mb.Address]
	var total int64
	got := make([][]byte, len(refs))
	for i, r := range refs {
		var buf bytes.Buffer
		n, err := src.FetchMIME(context.Background(), mb, r.ImmutableID, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != r.Size || int64(buf.Len()) != n {
			t.Fatalf("%s: %d bytes (reported %d), size %d", r.ImmutableID, buf.Len(), n, r.Size)
		}
		got[i] = buf.Bytes()
		total += n
	}
	// The in-process Source counts a request before it returns.
	after := s.tn.Counters().Mailboxes[mb.Address]
	if n := after.ByRoute[RouteValue] - before.ByRoute[RouteValue]; n != int64(len(refs)) {
		t.Errorf("%d $value requests counted, want %d", n, len(refs))
	}
	if n := after.ValueBytes - before.ValueBytes; n != total {
		t.Errorf("%d value bytes counted, want %d", n, total)
	}
	for i, r := range refs {
		status, _, body := s.get("/v1.0/users/"+esc(mb.ID)+"/messages/"+esc(r.ImmutableID)+"/$value", immutable)
		if status != 200 || !bytes.Equal(got[i], body) {
			t.Fatalf("%s: in-process bytes differ from $value over HTTP (%d vs %d bytes, status %d)", r.ImmutableID, len(got[i]), len(body), status)
		}
	}
	// Gone and malformed IDs.
	if err := s.tn.Delete(mb.UserPrincipalName, refs[0].ImmutableID); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := src.FetchMIME(context.Background(), mb, refs[0].ImmutableID, &buf); graph.KindOf(err) != graph.KindNotFound || buf.Len() != 0 {
		t.Errorf("deleted message: %v, %d bytes", err, buf.Len())
	}
	if _, err := src.FetchMIME(context.Background(), mb, "not-an-id", &buf); graph.KindOf(err) != graph.KindMalformedID {
		t.Errorf("malformed ID: %v", err)
	}
}

func TestSourceFaultsWithoutRetries(t *testing.T) {
	s, src, mb, inbox := sourceTenant(t, Config{Seed: 33, Faults: FaultRates{RetryAfter: 1500 * time.Millisecond}})
	upn := mb.UserPrincipalName
	refs, _ := s.tn.Messages(upn, inbox.ID)
	id := refs[1].ImmutableID
	want, _ := s.tn.MIME(upn, id)
	fetch := func() (int64, []byte, error) {
		var buf bytes.Buffer
		n, err := src.FetchMIME(context.Background(), mb, id, &buf)
		return n, buf.Bytes(), err
	}
	for _, tc := range []struct {
		fault  FaultKind
		kind   graph.Kind
		status int
		retry  time.Duration
	}{
		{FaultThrottle, graph.KindThrottled, 429, 1500 * time.Millisecond},
		{FaultTooManyObjectsOpened, graph.KindThrottled, 429, 0},
		{FaultUnavailable, graph.KindTransient, 503, 1500 * time.Millisecond},
		{FaultServerError, graph.KindTransient, 500, 0},
		{FaultGatewayTimeout, graph.KindTransient, 504, 0},
		{FaultReset, graph.KindTransient, 0, 0},
	} {
		if err := s.tn.InjectFaults(upn, Fault{Kind: tc.fault, Route: RouteValue}); err != nil {
			t.Fatal(err)
		}
		n, b, err := fetch()
		var ge *graph.Error
		if !errors.As(err, &ge) || ge.Kind != tc.kind || ge.Status != tc.status || ge.RetryAfter != tc.retry || n != 0 || len(b) != 0 {
			t.Errorf("fault %d: %d bytes, %#v; want kind %v, status %d, Retry-After %v", tc.fault, n, err, tc.kind, tc.status, tc.retry)
		}
	}
	// A truncated body: half written, then a transient error.
	if err := s.tn.InjectFaults(upn, Fault{Kind: FaultTruncate, Route: RouteValue}); err != nil {
		t.Fatal(err)
	}
	n, b, err := fetch()
	if graph.KindOf(err) != graph.KindTransient || n != int64(len(want))/2 || !bytes.Equal(b, want[:len(want)/2]) {
		t.Errorf("truncation: %d of %d bytes, %v", n, len(want), err)
	}
	// A 401 is answered by one refresh, invisibly; two in a row are not.
	_ = s.tn.InjectFaults(upn, Fault{Kind: FaultUnauthorized, Route: RouteValue})
	if n, b, err := fetch(); err != nil || !bytes.Equal(b, want) || n != int64(len(want)) {
		t.Errorf("after one 401: %v", err)
	}
	_ = s.tn.InjectFaults(upn, Fault{Kind: FaultUnauthorized}, Fault{Kind: FaultUnauthorized})
	if _, _, err := fetch(); graph.KindOf(err) != graph.KindTokenExpired {
		t.Errorf("after two 401s: %v", err)
	}
	// The throttling answers set the simulator's Retry-After: a request
	// inside it counts as early.
	_ = s.tn.InjectFaults(upn, Fault{Kind: FaultThrottle, Route: RouteValue})
	_, _, _ = fetch()
	_, _, _ = fetch()
	if c := s.tn.Counters().Mailboxes[mb.Address]; c.EarlyRetries == 0 || c.Throttled < 3 {
		t.Errorf("counters %+v: the early request or the 429s were not counted", c)
	}
	// Faults on delta pages, and a full mailbox.
	_ = s.tn.InjectFaults(upn, Fault{Kind: FaultBadGateway, Route: RouteDelta})
	if _, err := src.Delta(context.Background(), mb, inbox, "", func(graph.DeltaPage) error { return nil }); graph.KindOf(err) != graph.KindTransient {
		t.Errorf("delta through a 502: %v", err)
	}
	_ = s.tn.SetQuotaExceeded(upn, true)
	if _, err := src.Delta(context.Background(), mb, inbox, "", func(graph.DeltaPage) error { return nil }); graph.KindOf(err) != graph.KindQuotaExceeded {
		t.Errorf("delta of a full mailbox: %v", err)
	}
}

func TestSourceResolveAndAccess(t *testing.T) {
	s, src, _, _ := sourceTenant(t, Config{Seed: 34})
	for _, u := range []UserSpec{
		{UPN: "guest@sim.collect.invalid", Kind: NoMailbox},
		{UPN: "old@sim.collect.invalid", Kind: OnPremisesMailbox},
		{UPN: "ceo@sim.collect.invalid", Mail: "chief@sim.collect.invalid"},
	} {
		if _, err := s.tn.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.tn.SetMailboxAccess(s.tn.Credentials().ClientID, "ceo@sim.collect.invalid", false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for who, want := range map[string]graph.Kind{
		"nobody@sim.collect.invalid": graph.KindNotFound,
		"guest@sim.collect.invalid":  graph.KindMailboxNotEnabled,
		"old@sim.collect.invalid":    graph.KindMailboxNotEnabled,
		"CHIEF@sim.collect.invalid":  graph.KindAccessDenied,
	} {
		mb, err := src.ResolveMailbox(ctx, who)
		if graph.KindOf(err) != want || !strings.Contains(err.Error(), who) {
			t.Errorf("%s: %v, want %v naming the address", who, err, want)
		}
		if want != graph.KindNotFound && mb.ID == "" {
			t.Errorf("%s: the mailbox found is not returned with the error", who)
		}
	}
	if mb, err := src.ResolveMailbox(ctx, "chief@sim.collect.invalid"); mb.ResolvedVia != "mail" || mb.Address != "chief@sim.collect.invalid" {
		t.Errorf("primary address resolved %+v (%v)", mb, err)
	}
	// Another app without the ceo restriction reads it.
	if err := s.tn.AddApp(AppSpec{ClientID: "other-app", ClientSecret: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.tn.Source(SourceOptions{ClientID: "other-app"}).ResolveMailbox(ctx, "ceo@sim.collect.invalid"); err != nil {
		t.Errorf("other app: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := src.ResolveMailbox(cctx, "ann@sim.collect.invalid"); graph.KindOf(err) != graph.KindCanceled || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

func TestSourceFoldersMatchTheModel(t *testing.T) {
	s, src, mb, _ := sourceTenant(t, Config{Seed: 35})
	upn := mb.UserPrincipalName
	p, _ := s.tn.CreateFolder(upn, "inbox", "Projects", false)
	_, _ = s.tn.CreateFolder(upn, p, "Globex", true)
	got, err := src.ListFolders(context.Background(), mb)
	if err != nil {
		t.Fatal(err)
	}
	model, _ := s.tn.Folders(upn)
	byID := map[string]FolderInfo{}
	for _, f := range model {
		byID[f.ID] = f
	}
	pos := map[string]int{}
	var paths []string
	for i, f := range got {
		m := byID[f.ID]
		if f.Path != m.Path || f.ParentID != m.ParentID || f.Hidden != m.Hidden || f.WellKnownName != m.WellKnownName || f.TotalCount != int64(m.TotalCount) {
			t.Errorf("folder %+v, model %+v", f, m)
		}
		if j, ok := pos[f.ParentID]; ok && j > i {
			t.Errorf("%s before its parent", f.Path)
		}
		pos[f.ID] = i
		paths = append(paths, f.Path)
	}
	joined := strings.Join(paths, "|")
	for _, want := range []string{"Inbox/Projects/Globex", "Sync Issues/Conflicts", "Clutter", "Recoverable Items/Deletions"} {
		if !strings.Contains("|"+joined+"|", "|"+want+"|") {
			t.Errorf("no folder %q in %s", want, joined)
		}
	}
	if strings.Contains(joined, "Top of Information Store") || strings.Contains(joined, "Recoverable Items/Purges") {
		t.Errorf("folders outside the listed tree: %s", joined)
	}
}

// MailboxConcurrency holds the Source to that many requests in flight per
// mailbox, so the simulator never throttles it for concurrency.
func TestSourceMailboxConcurrency(t *testing.T) {
	s, _, mb, inbox := sourceTenant(t, Config{Seed: 36})
	src := s.tn.Source(SourceOptions{MailboxConcurrency: 4})
	refs, _ := s.tn.Messages(mb.UserPrincipalName, inbox.ID)
	hold, err := s.tn.HoldRequests(mb.UserPrincipalName)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for _, r := range refs[:12] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			if _, err := src.FetchMIME(context.Background(), mb, r.ImmutableID, &buf); err != nil {
				errs <- err
			}
		}()
	}
	hold.Wait(4)
	hold.Release()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("fetch: %v", err)
	}
	c := s.tn.Counters().Mailboxes[mb.Address]
	if c.MaxInFlight != 4 || c.Throttled != 0 {
		t.Errorf("max in flight %d with %d 429s; want exactly 4 and none", c.MaxInFlight, c.Throttled)
	}
}

// A request over HTTP and an in-process call pass the same admission:
// the same mailbox lookup, access checks, limits and faults give the same
// status, code and Retry-After, and are counted alike.
func TestAdmissionSameOverHTTPAndInProcess(t *testing.T) {
	const ann = "ann@sim.collect.invalid"
	for _, tc := range []struct {
		name   string
		cfg    Config
		setup  func(t *testing.T, s *sim) string // the mailbox key both requests name
		status int
		code   string
		retry  time.Duration
	}{
		{"unknown user", Config{}, func(*testing.T, *sim) string { return "nobody@sim.collect.invalid" }, 404, "ErrorInvalidUser", 0},
		{"alias is not a mailbox key", Config{}, func(*testing.T, *sim) string { return "a.lee@sim.collect.invalid" }, 404, "ErrorInvalidUser", 0},
		{"no mailbox", Config{}, func(t *testing.T, s *sim) string {
			return addUser(t, s, UserSpec{UPN: "guest@sim.collect.invalid", Kind: NoMailbox})
		}, 404, "MailboxNotEnabledForRESTAPI", 0},
		{"on-premises", Config{}, func(t *testing.T, s *sim) string {
			return addUser(t, s, UserSpec{UPN: "old@sim.collect.invalid", Kind: OnPremisesMailbox})
		}, 404, "MailboxNotEnabledForRESTAPI", 0},
		{"access policy", Config{}, func(t *testing.T, s *sim) string {
			if err := s.tn.SetMailboxAccess(s.tn.Credentials().ClientID, ann, false); err != nil {
				t.Fatal(err)
			}
			return ann
		}, 403, "ErrorAccessDenied", 0},
		{"window spent", Config{Limits: Limits{WindowRequests: 1}}, func(t *testing.T, s *sim) string {
			// The mailbox was opened when sourceTenant resolved it: that
			// was the window's one request.
			if c := s.tn.Counters().Mailboxes[ann]; c.Requests != 1 || c.Throttled != 0 {
				t.Fatalf("counters before: %+v", c)
			}
			return ann
		}, 429, "ApplicationThrottled", 10 * time.Minute},
		{"throttle fault", Config{}, injectTwice(Fault{Kind: FaultThrottle, RetryAfter: 3 * time.Second}), 429, "TooManyRequests", 3 * time.Second},
		{"too many objects", Config{}, injectTwice(Fault{Kind: FaultTooManyObjectsOpened}), 429, "ErrorTooManyObjectsOpened", 0},
		{"unavailable", Config{}, injectTwice(Fault{Kind: FaultUnavailable}), 503, "serviceNotAvailable", 2 * time.Second},
		{"server error", Config{}, injectTwice(Fault{Kind: FaultServerError}), 500, "generalException", 0},
		{"bad gateway", Config{}, injectTwice(Fault{Kind: FaultBadGateway}), 502, "BadGateway", 0},
		{"gateway timeout", Config{}, injectTwice(Fault{Kind: FaultGatewayTimeout}), 504, "GatewayTimeout", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Seed = 37
			s, src, mb, inbox := sourceTenant(t, tc.cfg)
			refs, _ := s.tn.Messages(mb.UserPrincipalName, inbox.ID)
			key := tc.setup(t, s)

			before := s.tn.Counters()
			status, h, body := s.get("/v1.0/users/"+esc(key)+"/messages/"+esc(refs[0].ImmutableID)+"/$value", immutable)
			overHTTP := s.tn.Counters()
			e := wantError(t, status, h, body, tc.status, tc.code)
			var ra time.Duration
			if v := h.Get("Retry-After"); v != "" {
				n, err := time.ParseDuration(v + "s")
				if err != nil {
					t.Fatalf("Retry-After %q: %v", v, err)
				}
				ra = n
			}
			if ra != tc.retry {
				t.Errorf("HTTP Retry-After %v, want %v", ra, tc.retry)
			}

			var buf bytes.Buffer
			_, err := src.FetchMIME(context.Background(), graph.Mailbox{ID: key}, refs[0].ImmutableID, &buf)
			inProcess := s.tn.Counters()
			var ge *graph.Error
			if !errors.As(err, &ge) || ge.Status != tc.status || ge.Code != tc.code || ge.RetryAfter != tc.retry || ge.Message != e.Error.Message {
				t.Fatalf("in-process: %#v; HTTP: %d %s %q, Retry-After %v", err, status, e.Error.Code, e.Error.Message, ra)
			}
			if buf.Len() != 0 {
				t.Errorf("in-process call wrote %d bytes", buf.Len())
			}
			for _, c := range []struct {
				name         string
				http, inproc int64
			}{
				{"requests", overHTTP.Requests - before.Requests, inProcess.Requests - overHTTP.Requests},
				{"429s", overHTTP.Throttled - before.Throttled, inProcess.Throttled - overHTTP.Throttled},
				{"mailbox requests", overHTTP.Mailboxes[mb.Address].Requests - before.Mailboxes[mb.Address].Requests,
					inProcess.Mailboxes[mb.Address].Requests - overHTTP.Mailboxes[mb.Address].Requests},
				{"mailbox faults", overHTTP.Mailboxes[mb.Address].Faults - before.Mailboxes[mb.Address].Faults,
					inProcess.Mailboxes[mb.Address].Faults - overHTTP.Mailboxes[mb.Address].Faults},
			} {
				if c.http != c.inproc || c.http > 1 {
					t.Errorf("%s counted: %d for the HTTP request, %d for the in-process call", c.name, c.http, c.inproc)
				}
			}
		})
	}
}

func addUser(t *testing.T, s *sim, u UserSpec) string {
	t.Helper()
	if _, err := s.tn.AddUser(u); err != nil {
		t.Fatal(err)
	}
	return u.UPN
}

// injectTwice queues a fault for the HTTP request and one for the
// in-process call.
func injectTwice(f Fault) func(*testing.T, *sim) string {
	return func(t *testing.T, s *sim) string {
		if err := s.tn.InjectFaults("ann@sim.collect.invalid", f, f); err != nil {
			t.Fatal(err)
		}
		return "ann@sim.collect.invalid"
	}
}
