package graphsim

import (
	"strings"
	"testing"
)

type folderJSONT struct {
	ID               string `json:"id"`
	DisplayName      string `json:"displayName"`
	ParentFolderID   string `json:"parentFolderId"`
	ChildFolderCount int    `json:"childFolderCount"`
	TotalItemCount   int    `json:"totalItemCount"`
	UnreadItemCount  int    `json:"unreadItemCount"`
	IsHidden         bool   `json:"isHidden"`
}

// listFolders follows a folder listing through its pages.
func (s *sim) listFolders(start string) ([]folderJSONT, int) {
	s.t.Helper()
	var all []folderJSONT
	pages := 0
	for link := start; link != ""; {
		status, _, body := s.get(link)
		if status != 200 {
			s.t.Fatalf("%s: %d %s", link, status, body)
		}
		var p struct {
			NextLink string        `json:"@odata.nextLink"`
			Value    []folderJSONT `json:"value"`
		}
		mustJSON(s.t, body, &p)
		all = append(all, p.Value...)
		link = p.NextLink
		pages++
	}
	return all, pages
}

func names(fs []folderJSONT) string {
	var n []string
	for _, f := range fs {
		n = append(n, f.DisplayName)
	}
	return strings.Join(n, ",")
}

func TestFolders(t *testing.T) {
	s := newSim(t, Config{Seed: 5})
	const mb = "ann@sim.collect.invalid"
	if _, err := s.tn.AddUser(UserSpec{UPN: mb}); err != nil {
		t.Fatal(err)
	}
	inbox, _ := s.tn.FolderID(mb, "inbox")
	proj, err := s.tn.CreateFolder(mb, inbox, "Projects", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.tn.CreateFolder(mb, proj, "Globex", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.tn.CreateFolder(mb, inbox, "Secret", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.tn.CreateFolder(mb, "msgfolderroot", "Hidden Top", true); err != nil {
		t.Fatal(err)
	}
	if err := s.tn.Populate(mb, inbox, Populate{Count: 7}); err != nil {
		t.Fatal(err)
	}

	top, _ := s.listFolders("/v1.0/users/" + mb + "/mailFolders")
	if got := names(top); got != "Archive,Conversation History,Deleted Items,Drafts,Inbox,Junk Email,Outbox,Sent Items" {
		t.Fatalf("top level without hidden: %s", got)
	}
	top, pages := s.listFolders("/v1.0/users/" + mb + "/mailFolders?includeHiddenFolders=true&$top=3")
	if got := names(top); got != "Archive,Clutter,Conversation History,Deleted Items,Drafts,Hidden Top,Inbox,Junk Email,Outbox,Sent Items,Sync Issues" || pages != 4 {
		t.Fatalf("top level with hidden, %d pages: %s", pages, got)
	}
	var inboxJ folderJSONT
	for _, f := range top {
		if f.DisplayName == "Inbox" {
			inboxJ = f
		}
		if !strings.ContainsAny(f.ID, "/+=") {
			t.Fatalf("folder ID %q has none of / + =", f.ID)
		}
	}
	if inboxJ.ID != inbox || inboxJ.ChildFolderCount != 2 || inboxJ.TotalItemCount != 7 || inboxJ.UnreadItemCount > 7 {
		t.Fatalf("inbox: %+v", inboxJ)
	}
	kids, _ := s.listFolders("/v1.0/users/" + mb + "/mailFolders/" + esc(inbox) + "/childFolders")
	if names(kids) != "Projects" {
		t.Fatalf("children without hidden: %s", names(kids))
	}
	kids, _ = s.listFolders("/v1.0/users/" + mb + "/mailFolders/" + esc(inbox) + "/childFolders?includeHiddenFolders=true")
	if names(kids) != "Projects,Secret" || kids[0].ParentFolderID != inbox || !kids[1].IsHidden {
		t.Fatalf("children with hidden: %+v", kids)
	}
	// Recoverable Items Deletions is reachable by name but not listed.
	status, _, body := s.get("/v1.0/users/" + mb + "/mailFolders/recoverableitemsdeletions")
	var del folderJSONT
	mustJSON(t, body, &del)
	if status != 200 || del.DisplayName != "Deletions" || strings.Contains(names(top), "Deletions") {
		t.Fatalf("recoverableitemsdeletions: %d %s", status, body)
	}
	// $select keeps only the fields asked for, id always, through the pages.
	sel, _ := s.listFolders("/v1.0/users/" + mb + "/mailFolders?$top=2&$select=displayName,isHidden")
	if len(sel) != 8 || sel[0].ID == "" || sel[0].DisplayName != "Archive" || sel[0].ParentFolderID != "" {
		t.Fatalf("selected folders: %+v", sel)
	}
	status, h, body := s.get("/v1.0/users/" + mb + "/mailFolders/inbox?$select=wellKnownName")
	wantError(t, status, h, body, 400, "RequestBroker--ParseUri")
	// OData key syntax, as some links are written.
	if status, _, body := s.get("/v1.0/users/" + mb + "/mailFolders('" + esc(inbox) + "')"); status != 200 {
		t.Fatalf("key syntax: %d %s", status, body)
	}
	kids, _ = s.listFolders("/v1.0/users/" + mb + "/mailFolders/syncissues/childFolders")
	if names(kids) != "Conflicts,Local Failures,Server Failures" {
		t.Fatalf("Sync Issues children: %s", names(kids))
	}
	status, h, body = s.get("/v1.0/users/" + mb + "/mailFolders/scheduled")
	wantError(t, status, h, body, 404, "ErrorItemNotFound")
	status, h, body = s.get("/v1.0/users/" + mb + "/mailFolders/notafolder")
	wantError(t, status, h, body, 400, "ErrorInvalidIdMalformed")
	other := New(Config{Seed: 99})
	_, _ = other.AddUser(UserSpec{UPN: mb})
	foreign, _ := other.FolderID(mb, "inbox")
	status, h, body = s.get("/v1.0/users/" + mb + "/mailFolders/" + esc(foreign) + "/messages/delta")
	wantError(t, status, h, body, 400, "ErrorInvalidIdMalformed")

	infos, err := s.tn.Folders(mb)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, f := range infos {
		paths[f.Path] = true
	}
	for _, p := range []string{"Inbox/Projects/Globex", "Inbox/Secret", "Recoverable Items/Deletions"} {
		if !paths[p] {
			t.Fatalf("Folders lacks %s: %v", p, paths)
		}
	}
}
