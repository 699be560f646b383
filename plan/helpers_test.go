package plan_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/testworld"
	"github.com/collect-ediscovery/collect/plan"
)

var (
	addr = testworld.Addr
	day  = testworld.Day
	now  = testworld.Now
)

// newWorld is the shared test world with the mail these tests were written
// for: seed 11, and delta pages of 7 so that every folder takes several.
func newWorld(t *testing.T, cfg graphsim.Config) *testworld.World {
	return testworld.New(t, cfg, 11, 7)
}

func mailboxPlan(t *testing.T, p *plan.Plan, email string) *plan.Mailbox {
	t.Helper()
	for _, m := range p.Mailboxes {
		if strings.EqualFold(m.Email, email) {
			return m
		}
	}
	t.Fatalf("no mailbox %s in the plan", email)
	return nil
}

func folderPlan(t *testing.T, m *plan.Mailbox, path string) *plan.Folder {
	t.Helper()
	for _, f := range m.Folders {
		if f.Path == path {
			return f
		}
	}
	var paths []string
	for _, f := range m.Folders {
		paths = append(paths, f.Path)
	}
	t.Fatalf("no folder %q in the plan of %s (has %q)", path, m.Email, paths)
	return nil
}

func fetchIDs(f *plan.Folder) []string {
	out := []string{}
	for _, it := range f.Fetch {
		out = append(out, it.ID)
	}
	sort.Strings(out)
	return out
}

func same(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
