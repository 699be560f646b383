package plan_test

import (
	"sort"
	"testing"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/state"
)

// Notes, tasks, calendar items, contacts and Teams chat copies in mail
// folders are left out by item class and counted as not mail; meeting
// requests and responses are mail and collected.
func TestItemsThatAreNotMailAreExcludedAndCounted(t *testing.T) {
	w := newWorld(t, graphsim.Config{DuplicateRate: 0.3})
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 5, day("2024-02-05"), day("2024-03-20"))
	w.PopulateBetween(ann, "deleteditems", 3, day("2024-02-05"), day("2024-03-20"))
	if err := w.Tenant.AddOtherItems(ann, day("2024-02-05"), day("2024-03-20")); err != nil {
		t.Fatal(err)
	}
	w.LoadMatter(febToApril + `
custodian "ann" {
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	// What the tenant holds, by class.
	mail := map[string][]string{}
	var notMail int64
	for _, path := range []string{"Inbox", "Deleted Items", "Conversation History/Team Chat"} {
		refs, err := w.Tenant.Messages(ann, w.Folder(ann, path))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			if graph.IsMailClass(r.ItemClass) {
				mail[path] = append(mail[path], r.ImmutableID)
			} else {
				notMail++
			}
		}
		sort.Strings(mail[path])
	}
	if notMail != 8 || len(mail["Deleted Items"]) != 5 {
		t.Fatalf("the tenant holds %d items that are not mail and %d mail items in Deleted Items; want 8 and 5", notMail, len(mail["Deleted Items"]))
	}

	p := w.Plan()
	mb := mailboxPlan(t, p, ann)
	for _, tc := range []struct {
		path    string
		notMail int64
	}{{"Inbox", 0}, {"Deleted Items", 4}, {"Conversation History/Team Chat", 4}} {
		f := folderPlan(t, mb, tc.path)
		if got := fetchIDs(f); !same(got, mail[tc.path]) {
			t.Errorf("%s: plan fetches %d items, the folder holds %d mail items", tc.path, len(got), len(mail[tc.path]))
		}
		if f.NotMail != tc.notMail || f.Seen != int64(len(mail[tc.path])) {
			t.Errorf("%s: %d excluded as not mail, %d seen; want %d and %d", tc.path, f.NotMail, f.Seen, tc.notMail, len(mail[tc.path]))
		}
	}
	if c := p.Counts(); c.NotMail != 8 || c.ToCollect != 10 {
		t.Errorf("counts %+v: want 8 excluded as not mail, 10 to collect", c)
	}
	if mb.WindowCounts["w"] != 10 {
		t.Errorf("window counts %v: items that are not mail are counted", mb.WindowCounts)
	}

	res := w.ApplyComplete(p)
	if res.Collected != 10 {
		t.Errorf("apply collected %d, want the 10 mail items", res.Collected)
	}
	db := w.OpenState(true)
	err := db.View(func(r *state.ReadTx) error {
		for _, path := range []string{"Deleted Items", "Conversation History/Team Chat"} {
			refs, _ := w.Tenant.Messages(ann, w.Folder(ann, path))
			for _, ref := range refs {
				if graph.IsMailClass(ref.ItemClass) {
					continue
				}
				if _, found, err := r.Item(mb.Resolved.ID, ref.ImmutableID); err != nil || found {
					t.Errorf("%s %s is in the state (%v)", ref.ItemClass, ref.ImmutableID, err)
				}
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if p2 := w.Plan(); p2.HasChanges() || p2.Counts().NotMail != 0 {
		t.Errorf("second plan: %+v", p2.Counts())
	}
}
