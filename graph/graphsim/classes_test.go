package graphsim

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/graph"
)

// The selection collect sends on delta and listings: the item class as a
// single-value extended property (PidTagMessageClass).
const classExpand = "singleValueExtendedProperties($filter=id eq 'String 0x001A')"

// Items that are not mail come through the message routes as Graph serves
// them: as messages (meeting messages as eventMessages) that carry their
// item class when it is expanded, in every page of a delta round.
func TestOtherItemsOnTheWire(t *testing.T) {
	s := newSim(t, Config{Seed: 71})
	const mb = "ann@sim.collect.invalid"
	if _, err := s.tn.AddUser(UserSpec{UPN: mb}); err != nil {
		t.Fatal(err)
	}
	if err := s.tn.Populate(mb, "deleteditems", Populate{Count: 3, From: t0.AddDate(-1, 0, 0), To: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.tn.AddOtherItems(mb, t0.AddDate(-1, 0, 0), t0); err != nil {
		t.Fatal(err)
	}
	// Team Chat is a hidden child of Conversation History.
	status, _, body := s.get("/v1.0/users/" + mb + "/mailFolders/conversationhistory/childFolders?includeHiddenFolders=true")
	var kids struct {
		Value []struct {
			DisplayName string `json:"displayName"`
			IsHidden    bool   `json:"isHidden"`
		} `json:"value"`
	}
	mustJSON(t, body, &kids)
	if status != 200 || len(kids.Value) != 1 || kids.Value[0].DisplayName != "Team Chat" || !kids.Value[0].IsHidden {
		t.Fatalf("Conversation History's children: %d %s", status, body)
	}

	want := map[string]string{} // immutable ID -> class
	for _, folder := range []string{"deleteditems", "Conversation History/Team Chat"} {
		refs, err := s.tn.Messages(mb, folder)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			want[r.ImmutableID] = r.ItemClass
		}
	}
	deltaPath := func(folder string) string {
		fid, err := s.tn.FolderID(mb, folder)
		if err != nil {
			t.Fatal(err)
		}
		return "/v1.0/users/" + mb + "/mailFolders/" + esc(fid) + "/messages/delta?$select=id,subject,from,internetMessageId,sentDateTime,isDraft&$expand=" + url.QueryEscape(classExpand)
	}
	seen := map[string]bool{}
	for _, folder := range []string{"deleteditems", "Conversation History/Team Chat"} {
		items, _, _, pages := s.deltaRound(deltaPath(folder), immutable, "Prefer: odata.maxpagesize=2")
		if pages < 2 {
			t.Fatalf("%s: %d pages: the class is not checked past the first page", folder, pages)
		}
		for _, it := range items {
			id := it["id"].(string)
			class, ok := want[id]
			if !ok {
				t.Fatalf("unknown item %s", id)
			}
			seen[id] = true
			props, _ := it["singleValueExtendedProperties"].([]any)
			if len(props) != 1 {
				t.Fatalf("%s (%s): singleValueExtendedProperties %v", id, class, it["singleValueExtendedProperties"])
			}
			p := props[0].(map[string]any)
			if p["id"] != "String 0x1a" || p["value"] != class {
				t.Errorf("%s: property %v, want String 0x1a = %s", id, p, class)
			}
			wantType := map[string]string{
				"IPM.Schedule.Meeting.Request":  "#microsoft.graph.eventMessageRequest",
				"IPM.Schedule.Meeting.Resp.Pos": "#microsoft.graph.eventMessageResponse",
			}[class]
			if wantType == "" {
				wantType = "#microsoft.graph.message"
			}
			if it["@odata.type"] != wantType {
				t.Errorf("%s: @odata.type %v, want %s", class, it["@odata.type"], wantType)
			}
			// Notes, tasks, contacts and calendar items were never sent.
			neverSent := class == "IPM.StickyNote" || class == "IPM.Task" || class == "IPM.Contact" || class == "IPM.Appointment"
			if got := it["from"] == nil && it["internetMessageId"] == nil && it["sentDateTime"] == nil; got != neverSent {
				t.Errorf("%s: from %v, internetMessageId %v, sentDateTime %v", class, it["from"], it["internetMessageId"], it["sentDateTime"])
			}
		}
	}
	if len(seen) != len(want) || len(want) != 3+4+6 {
		t.Errorf("delta rounds saw %d of %d items (want 13)", len(seen), len(want))
	}

	// Without $expand no extended property comes; an $expand the
	// simulator cannot serve is refused.
	fid, _ := s.tn.FolderID(mb, "deleteditems")
	items, _, _, _ := s.deltaRound("/v1.0/users/"+mb+"/mailFolders/"+esc(fid)+"/messages/delta", immutable)
	for _, it := range items {
		if _, ok := it["singleValueExtendedProperties"]; ok {
			t.Fatalf("extended properties without $expand: %v", it)
		}
	}
	status, h, body := s.get("/v1.0/users/"+mb+"/mailFolders/"+esc(fid)+"/messages/delta?$expand=attachments", immutable)
	wantError(t, status, h, body, 400, "BadRequest")

	// A listing keeps $expand in its nextLink.
	var list struct {
		NextLink string           `json:"@odata.nextLink"`
		Value    []map[string]any `json:"value"`
	}
	status, _, body = s.get("/v1.0/users/"+mb+"/mailFolders/"+esc(fid)+"/messages?$top=4&$expand="+url.QueryEscape(classExpand), immutable)
	mustJSON(t, body, &list)
	if status != 200 || len(list.Value) != 4 || !strings.Contains(list.NextLink, "expand=") {
		t.Fatalf("listing: %d, %d items, next %q", status, len(list.Value), list.NextLink)
	}
	status, _, body = s.get(list.NextLink, immutable)
	mustJSON(t, body, &list)
	if status != 200 || len(list.Value) == 0 || list.Value[0]["singleValueExtendedProperties"] == nil {
		t.Fatalf("listing's second page: %d %s", status, body)
	}

	// The in-process Source reports the same classes.
	src := s.tn.Source(SourceOptions{PageSize: 3})
	gm, err := src.ResolveMailbox(context.Background(), mb)
	if err != nil {
		t.Fatal(err)
	}
	for _, folder := range []string{"deleteditems", "Conversation History/Team Chat"} {
		fid, _ := s.tn.FolderID(mb, folder)
		if _, err := src.Delta(context.Background(), gm, graph.Folder{ID: fid}, "", func(p graph.DeltaPage) error {
			for _, m := range p.Messages {
				if m.ItemClass != want[m.ID] {
					t.Errorf("in-process %s: class %q, want %q", m.ID, m.ItemClass, want[m.ID])
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}
