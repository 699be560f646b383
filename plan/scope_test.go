package plan_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/plan"
)

func TestUnmatchedEntriesNameTheNearestFolders(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Mkdir(ann, "inbox", "Projects")
	mb, err := w.Src.ResolveMailbox(context.Background(), ann)
	if err != nil {
		t.Fatal(err)
	}
	folders, err := w.Src.ListFolders(context.Background(), mb)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		filter  config.FolderFilter
		want    []plan.UnmatchedEntry
		nearest [][]string
	}{
		{"every entry matches, by well-known name, path or ancestor, in any case",
			config.FolderFilter{Include: []string{"inbox", "inbox/projects", "Sent Items"}, Exclude: []string{"junkemail", "/Deleted Items/"}}, nil, nil},
		{"a transposed well-known name",
			config.FolderFilter{Include: []string{"inbxo"}},
			[]plan.UnmatchedEntry{{Entry: "inbxo"}}, [][]string{{"Inbox"}}},
		{"a subfolder that does not exist: its parent and its siblings",
			config.FolderFilter{Include: []string{"sentitems", "Inbox/Typo"}},
			[]plan.UnmatchedEntry{{Entry: "Inbox/Typo"}}, [][]string{{"Inbox", "Inbox/Projects"}}},
		{"an exclude entry is reported apart",
			config.FolderFilter{Exclude: []string{"junkmail"}},
			[]plan.UnmatchedEntry{{Entry: "junkmail", Exclude: true}}, [][]string{{"junkemail", "Junk Email"}}},
		{"nothing near",
			config.FolderFilter{Include: []string{"Globex Litigation 2024"}},
			[]plan.UnmatchedEntry{{Entry: "Globex Litigation 2024"}}, [][]string{nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := plan.UnmatchedEntries(folders, tc.filter)
			if len(got) != len(tc.want) {
				t.Fatalf("unmatched %+v, want %+v", got, tc.want)
			}
			for i, u := range got {
				if u.Entry != tc.want[i].Entry || u.Exclude != tc.want[i].Exclude || !slices.Equal(u.Nearest, tc.nearest[i]) {
					t.Errorf("unmatched %+v, want entry %q (exclude %v) near %q", u, tc.want[i].Entry, tc.want[i].Exclude, tc.nearest[i])
				}
			}
		})
	}
}

func TestFolderIncludeThatMatchesNothingMakesThePlanUnusable(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	bob := w.User("bob")
	w.PopulateBetween(ann, "inbox", 4, day("2024-02-01"), day("2024-03-01"))
	w.PopulateBetween(bob, "inbox", 3, day("2024-02-01"), day("2024-03-01"))
	w.LoadMatter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
  folders {
    include = ["inbxo"]
  }
}
custodian "bob" {
  name    = "Bob"
  email   = "` + bob + `"
  windows = [window.w]
  folders {
    exclude = ["junkmail"]
  }
}
`)
	p := w.Plan()
	if p.Applyable() || len(p.Errors) != 1 || len(p.FailedScope()) != 0 {
		t.Fatalf("applyable %v, errors %+v; want one error that is not failed scope", p.Applyable(), p.Errors)
	}
	e := p.Errors[0]
	if e.Addr != "custodian.ann.mailbox.primary" || !strings.Contains(e.Summary, `"inbxo"`) || !strings.Contains(e.Summary, ann) ||
		!strings.Contains(e.Detail, `did you mean "Inbox"?`) {
		t.Errorf("error %+v does not name the entry, the mailbox and the nearest folder", e)
	}
	if len(p.Warnings) != 1 || p.Warnings[0].Addr != "custodian.bob.mailbox.primary" || !strings.Contains(p.Warnings[0].Summary, "folders.exclude") {
		t.Errorf("warnings %+v, want one about bob's exclude entry", p.Warnings)
	}
	if n := len(folderPlan(t, mailboxPlan(t, p, bob), "Inbox").Fetch); n != 3 {
		t.Errorf("bob plans %d messages, want 3", n)
	}
}

func TestEmptyWindowWarningsNameTheirCause(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob, cy := w.User("ann"), w.User("bob"), w.User("cy")
	w.PopulateBetween(ann, "inbox", 5, day("2023-03-01"), day("2023-05-01"))
	w.PopulateBetween(bob, "inbox", 6, day("2024-02-01"), day("2024-03-01"))
	w.LoadMatter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
custodian "bob" {
  name    = "Bob"
  email   = "` + bob + `"
  windows = [window.w]
  folders {
    include = ["sentitems"]
  }
}
custodian "cy" {
  name    = "Cy"
  email   = "` + cy + `"
  windows = [window.w]
}
`)
	p := w.Plan()
	got := map[string]string{}
	for _, m := range p.Warnings {
		if m.Summary != `0 messages in window "w"` {
			t.Errorf("warning %+v", m)
		}
		got[m.Addr] = m.Detail
	}
	for _, tc := range []struct {
		addr       string
		says       []string
		delegation bool
	}{
		{"custodian.ann.mailbox.primary", []string{"holds 5 messages", "none received in window", "the oldest was received 2023-0", "the newest 2023-0"}, false},
		{"custodian.bob.mailbox.primary", []string{"folder filter keeps 1 of", "leaves out hold 6 items"}, false},
		{"custodian.cy.mailbox.primary", []string{"shows no message at all", "24 hours"}, true},
	} {
		d, ok := got[tc.addr]
		if !ok {
			t.Errorf("no empty window warning for %s; warnings %+v", tc.addr, p.Warnings)
			continue
		}
		for _, s := range tc.says {
			if !strings.Contains(d, s) {
				t.Errorf("%s: %q does not say %q", tc.addr, d, s)
			}
		}
		if strings.Contains(d, "Full Access") != tc.delegation {
			t.Errorf("%s: %q; delegation named: %v, want %v", tc.addr, d, !tc.delegation, tc.delegation)
		}
	}
}
