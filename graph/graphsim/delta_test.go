package graphsim

import (
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

func ids(vs []map[string]any) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v["id"].(string))
	}
	sort.Strings(out)
	return out
}

func refIDs(refs []MessageRef, immutable bool) []string {
	var out []string
	for _, r := range refs {
		if immutable {
			out = append(out, r.ImmutableID)
		} else {
			out = append(out, r.ID)
		}
	}
	sort.Strings(out)
	return out
}

const sel = "$select=id,internetMessageId,receivedDateTime,sentDateTime,lastModifiedDateTime,isDraft,parentFolderId"

func TestDeltaRounds(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 21}, 25)
	archive, _ := s.tn.FolderID(mb, "archive")
	deleted, _ := s.tn.FolderID(mb, "deleteditems")
	start := "/v1.0/users/" + mb + "/mailFolders/" + esc(inbox) + "/messages/delta?" + sel
	items, removed, deltaLink, pages := s.deltaRound(start, immutable, "Prefer: odata.maxpagesize=7")
	refs, _ := s.tn.Messages(mb, inbox)
	if strings.Join(ids(items), ",") != strings.Join(refIDs(refs, true), ",") || len(removed) != 0 || pages != 4 {
		t.Fatalf("initial round: %d items, %d removed, %d pages", len(items), len(removed), pages)
	}
	for k := range items[0] {
		if !strings.Contains(sel+",@odata.type,@odata.etag", k) {
			t.Fatalf("field %q not selected: %v", k, items[0])
		}
	}
	if !strings.Contains(deltaLink, "$deltatoken=") {
		t.Fatalf("deltaLink %s", deltaLink)
	}
	// The function may be written as the SDK and OData write it.
	for _, form := range []string{"delta()", "microsoft.graph.delta()"} {
		alt, _, _, _ := s.deltaRound(strings.Replace(start, "/delta?", "/"+form+"?", 1), immutable, "Prefer: odata.maxpagesize=50")
		if len(alt) != len(items) {
			t.Fatalf("%s: %d items, want %d", form, len(alt), len(items))
		}
	}
	// The default page size is 10; without Prefer IdType regular IDs come.
	items2, _, _, pages2 := s.deltaRound(start)
	if pages2 != 3 || strings.Join(ids(items2), ",") != strings.Join(refIDs(refs, false), ",") {
		t.Fatalf("default page size or regular IDs: %d pages", pages2)
	}

	// Between rounds: two new, one moved out, one moved to Deleted Items,
	// one deleted for good, one draft moved in and then edited.
	n1, _ := s.tn.Deliver(mb, inbox, MessageSpec{Subject: "new one"})
	n2, _ := s.tn.Deliver(mb, inbox, MessageSpec{Subject: "new two"})
	movedOut, _ := s.tn.Move(mb, refs[3].ID, archive)
	binned, _ := s.tn.Move(mb, refs[4].ID, deleted)
	if err := s.tn.Delete(mb, refs[5].ImmutableID); err != nil {
		t.Fatal(err)
	}
	drafts, _ := s.tn.FolderID(mb, "drafts")
	d, _ := s.tn.Deliver(mb, drafts, MessageSpec{Draft: true})
	d, _ = s.tn.Move(mb, d.ID, inbox)
	s.clk.Advance(time.Minute)
	d, _ = s.tn.EditDraft(mb, d.ID)

	items, removed, deltaLink2, _ := s.deltaRound(deltaLink, immutable, "Prefer: odata.maxpagesize=2")
	wantItems := []string{n1.ImmutableID, n2.ImmutableID, d.ImmutableID}
	sort.Strings(wantItems)
	if strings.Join(ids(items), ",") != strings.Join(wantItems, ",") {
		t.Fatalf("changed items %v, want %v", ids(items), wantItems)
	}
	reasons := map[string]string{}
	for _, r := range removed {
		reasons[r["id"].(string)] = r["@removed"].(map[string]any)["reason"].(string)
	}
	want := map[string]string{movedOut.ImmutableID: "deleted", binned.ImmutableID: "changed", refs[5].ImmutableID: "deleted"}
	if len(reasons) != len(want) || len(removed) != len(want) {
		t.Fatalf("removed %v, want %v", reasons, want)
	}
	for id, r := range want {
		if reasons[id] != r {
			t.Fatalf("removed %v, want %v", reasons, want)
		}
	}
	for _, it := range items {
		if _, ok := it["isDraft"]; !ok || it["parentFolderId"] != inbox {
			t.Fatalf("item lacks selected fields: %v", it)
		}
	}
	// Nothing changed: an empty round, and a fresh deltaLink.
	items, removed, _, pages = s.deltaRound(deltaLink2, immutable)
	if len(items)+len(removed) != 0 || pages != 1 {
		t.Fatalf("quiet round: %d items, %d removed, %d pages", len(items), len(removed), pages)
	}
	// The destination folder sees the moved message as new, same immutable ID.
	items, _, _, _ = s.deltaRound("/v1.0/users/"+mb+"/mailFolders/archive/messages/delta?$select=subject", immutable)
	if len(items) != 1 || items[0]["id"] != refs[3].ImmutableID {
		t.Fatalf("archive: %v", items)
	}
	// Removals with regular IDs name the ID the item had in the folder.
	_, removed, _, _ = s.deltaRound(deltaLink)
	got := ids(removed)
	wantReg := []string{refs[3].ID, refs[4].ID, refs[5].ID}
	sort.Strings(wantReg)
	if strings.Join(got, ",") != strings.Join(wantReg, ",") {
		t.Fatalf("removed regular IDs %v, want %v", got, wantReg)
	}
}

func TestDeltaIsStableWhileTheFolderChanges(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 22}, 30)
	archive, _ := s.tn.FolderID(mb, "archive")
	refs, _ := s.tn.Messages(mb, inbox)
	start := "/v1.0/users/" + mb + "/mailFolders/" + esc(inbox) + "/messages/delta?$select=subject"
	status, _, body := s.get(start, immutable, "Prefer: odata.maxpagesize=10")
	var p deltaPage
	mustJSON(t, body, &p)
	if status != 200 || len(p.Value) != 10 || p.NextLink == "" {
		t.Fatalf("%d %s", status, body)
	}
	// Mid-round: one not yet sent moves out, one new arrives.
	moved, _ := s.tn.Move(mb, refs[25].ID, archive)
	fresh, _ := s.tn.Deliver(mb, inbox, MessageSpec{})
	items, removed, deltaLink, _ := s.deltaRound(p.NextLink, immutable, "Prefer: odata.maxpagesize=10")
	seen := map[string]bool{}
	for _, v := range append(p.Value, items...) {
		seen[v["id"].(string)] = true
	}
	if len(removed) != 0 || seen[fresh.ImmutableID] || seen[moved.ImmutableID] || len(seen) != 29 {
		t.Fatalf("round saw %d items, %d removed", len(seen), len(removed))
	}
	items, removed, _, _ = s.deltaRound(deltaLink, immutable)
	if len(items) != 1 || items[0]["id"] != fresh.ImmutableID || len(removed) != 1 || removed[0]["id"] != moved.ImmutableID {
		t.Fatalf("next round: %v %v", items, removed)
	}
}

func TestDeltaDuplicates(t *testing.T) {
	for _, rate := range []float64{0, 1} {
		s, mb, _ := mailTenant(t, Config{Seed: 23, DuplicateRate: rate}, 20)
		items, _, _, pages := s.deltaRound("/v1.0/users/"+mb+"/mailFolders/inbox/messages/delta", immutable, "Prefer: odata.maxpagesize=5")
		count := map[string]int{}
		for _, id := range ids(items) {
			count[id]++
		}
		dups := len(items) - len(count)
		if len(count) != 20 || (rate == 0 && dups != 0) || (rate == 1 && dups != pages-1) {
			t.Fatalf("rate %v: %d distinct, %d duplicates over %d pages", rate, len(count), dups, pages)
		}
	}
}

func TestDeltaTokenExpiry(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 24, DeltaTokenMaxAge: 24 * time.Hour}, 12)
	start := "/v1.0/users/" + mb + "/mailFolders/" + esc(inbox) + "/messages/delta"
	_, _, link, _ := s.deltaRound(start)
	status, _, body := s.get(start)
	var p deltaPage
	mustJSON(t, body, &p)
	skip := p.NextLink

	if err := s.tn.ExpireDeltaLink(link); err != nil {
		t.Fatal(err)
	}
	status, h, body := s.get(link)
	wantError(t, status, h, body, 410, "SyncStateNotFound")
	if loc := h.Get("Location"); !strings.HasSuffix(loc, "/messages/delta") {
		t.Fatalf("Location %q", loc)
	}
	if status, _, body := s.get(skip); status != 200 {
		t.Fatalf("another token was expired too: %d %s", status, body)
	}

	_, _, link, _ = s.deltaRound(start)
	if err := s.tn.ExpireDeltaTokens(mb); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{link, skip} {
		status, h, body := s.get(l)
		wantError(t, status, h, body, 410, "SyncStateNotFound")
	}

	_, _, link, _ = s.deltaRound(start)
	s.clk.Advance(24*time.Hour + time.Second)
	s.token = s.fetchToken()
	status, h, body = s.get(link)
	wantError(t, status, h, body, 410, "SyncStateNotFound")

	// A token that was tampered with, or used on another folder, is refused loudly.
	_, _, link, _ = s.deltaRound(start)
	u, _ := url.Parse(link)
	tok := u.Query().Get("$deltatoken")
	bad := strings.Replace(link, tok, tok[:len(tok)-2]+"AA", 1)
	status, h, body = s.get(bad)
	wantError(t, status, h, body, 400, "ErrorInvalidUrlQuery")
	status, h, body = s.get("/v1.0/users/" + mb + "/mailFolders/archive/messages/delta?$deltatoken=" + tok)
	wantError(t, status, h, body, 400, "ErrorInvalidUrlQuery")
}

func TestDeltaRefusalsAndQuota(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 25}, 5)
	base := "/v1.0/users/" + mb + "/mailFolders/" + esc(inbox) + "/messages"
	status, h, body := s.get(base + "/delta?$filter=" + url.QueryEscape("receivedDateTime ge 2024-01-01T00:00:00Z"))
	wantError(t, status, h, body, 400, "ErrorInvalidUrlQueryFilter")
	status, h, body = s.get(base + "/delta?$select=bogus")
	wantError(t, status, h, body, 400, "RequestBroker--ParseUri")
	if err := s.tn.SetQuotaExceeded(mb, true); err != nil {
		t.Fatal(err)
	}
	status, h, body = s.get(base + "/delta")
	wantError(t, status, h, body, 507, "ErrorQuotaExceeded")
	if status, _, body := s.get(base + "?$top=10"); status != 200 {
		t.Fatalf("listing a full mailbox: %d %s", status, body)
	}
	_ = s.tn.SetQuotaExceeded(mb, false)
	if status, _, body := s.get(base + "/delta"); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
}

func TestFolderDelta(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 26}, 3)
	if _, err := s.tn.CreateFolder(mb, inbox, "Projects", true); err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{"delta", "delta()", "microsoft.graph.delta()"} {
		items, removed, _, pages := s.deltaRound("/v1.0/users/"+mb+"/mailFolders/"+form, "Prefer: odata.maxpagesize=4")
		var got []string
		for _, it := range items {
			got = append(got, it["displayName"].(string))
		}
		sort.Strings(got)
		want := "Archive,Clutter,Conflicts,Conversation History,Deleted Items,Drafts,Inbox,Junk Email,Local Failures,Outbox,Projects,Sent Items,Server Failures,Sync Issues"
		if strings.Join(got, ",") != want || len(removed) != 0 || pages != 4 {
			t.Fatalf("%s: %d pages: %s", form, pages, strings.Join(got, ","))
		}
	}
	_, _, link, _ := s.deltaRound("/v1.0/users/" + mb + "/mailFolders/delta")
	archive, _ := s.tn.FolderID(mb, "archive")
	if _, err := s.tn.Deliver(mb, archive, MessageSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.tn.CreateFolder(mb, "sentitems", "2024", false); err != nil {
		t.Fatal(err)
	}
	items, _, _, _ := s.deltaRound(link)
	var got []string
	for _, it := range items {
		got = append(got, it["displayName"].(string))
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "2024,Archive,Sent Items" {
		t.Fatalf("changed folders: %v", got)
	}
	_ = s.tn.ExpireDeltaTokens(mb)
	status, h, body := s.get(link)
	wantError(t, status, h, body, 410, "SyncStateNotFound")
}

func TestDeltaIDTypeAndResetCode(t *testing.T) {
	s, mb, _ := mailTenant(t, Config{Seed: 27, StrictDeltaIDType: true, SyncResetCode: "resyncRequired"}, 4)
	start := "/v1.0/users/" + mb + "/mailFolders/inbox/messages/delta"
	_, _, regular, _ := s.deltaRound(start)
	_, _, immut, _ := s.deltaRound(start, immutable)
	status, h, body := s.get(regular, immutable)
	wantError(t, status, h, body, 410, "SyncStateInvalid")
	status, h, body = s.get(immut)
	wantError(t, status, h, body, 410, "SyncStateInvalid")
	if status, _, body := s.get(immut, immutable); status != 200 {
		t.Fatalf("same ID type: %d %s", status, body)
	}
	_ = s.tn.ExpireDeltaTokens(mb)
	status, h, body = s.get(immut, immutable)
	wantError(t, status, h, body, 410, "resyncRequired")

	// By default links work with either ID type, as the Graph docs say.
	lax, mb2, _ := mailTenant(t, Config{Seed: 27}, 4)
	_, _, regular, _ = lax.deltaRound("/v1.0/users/" + mb2 + "/mailFolders/inbox/messages/delta")
	if status, _, body := lax.get(regular, immutable); status != 200 {
		t.Fatalf("lax: %d %s", status, body)
	}
}
