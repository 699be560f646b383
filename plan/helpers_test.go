package plan_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

const domain = "sim.collect.invalid"

func addr(local string) string { return local + "@" + domain }

// now is the simulated tenant's time: every test's mail is older.
var now = time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)

func day(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

// countingSource counts delta rounds per folder and fetches, and lets a
// test break in before a fetch.
type countingSource struct {
	graph.Source
	mu      sync.Mutex
	rounds  map[string]int // folder ID -> Delta calls
	fetches int
}

func (c *countingSource) Delta(ctx context.Context, mb graph.Mailbox, f graph.Folder, cursor string, page func(graph.DeltaPage) error) (string, error) {
	c.mu.Lock()
	c.rounds[f.ID]++
	c.mu.Unlock()
	return c.Source.Delta(ctx, mb, f, cursor, page)
}

func (c *countingSource) FetchMIME(ctx context.Context, mb graph.Mailbox, id string, w io.Writer) (int64, error) {
	c.mu.Lock()
	c.fetches++
	c.mu.Unlock()
	return c.Source.FetchMIME(ctx, mb, id, w)
}

func (c *countingSource) reset() (rounds map[string]int, fetches int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rounds, fetches = c.rounds, c.fetches
	c.rounds, c.fetches = map[string]int{}, 0
	return rounds, fetches
}

// world is a simulated tenant, a matter folder and its state and output.
type world struct {
	t    *testing.T
	tn   *graphsim.Tenant
	src  *countingSource
	dir  string
	m    *config.Matter
	runs int
}

func newWorld(t *testing.T, cfg graphsim.Config) *world {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 11
	}
	cfg.Clock = graphsim.NewFakeClock(now)
	if cfg.DeltaPageSize == 0 {
		cfg.DeltaPageSize = 7 // several pages per folder
	}
	tn := graphsim.New(cfg)
	return &world{t: t, tn: tn, dir: t.TempDir(),
		src: &countingSource{Source: tn.Source(graphsim.SourceOptions{}), rounds: map[string]int{}}}
}

func (w *world) user(local string, aliases ...string) string {
	w.t.Helper()
	var full []string
	for _, a := range aliases {
		full = append(full, addr(a))
	}
	if _, err := w.tn.AddUser(graphsim.UserSpec{UPN: addr(local), Aliases: full}); err != nil {
		w.t.Fatal(err)
	}
	return addr(local)
}

func (w *world) folder(mailbox, pathOrWellKnown string) string {
	w.t.Helper()
	id, err := w.tn.FolderID(mailbox, pathOrWellKnown)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *world) mkdir(mailbox, parent, name string) string {
	w.t.Helper()
	id, err := w.tn.CreateFolder(mailbox, w.folder(mailbox, parent), name, false)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *world) populate(mailbox, folder string, n int, from, to time.Time) {
	w.t.Helper()
	if err := w.tn.Populate(mailbox, w.folder(mailbox, folder), graphsim.Populate{Count: n, From: from, To: to}); err != nil {
		w.t.Fatal(err)
	}
}

// matter writes body (after a tenant block) as the matter and loads it.
func (w *world) matter(body string) *config.Matter {
	w.t.Helper()
	src := "matter \"test\" {\n  time_zone = \"UTC\"\n}\n\ntenant {\n  tenant_id = \"contoso.onmicrosoft.com\"\n" +
		"  client_id = \"00000000-0000-0000-0000-000000000001\"\n  auth = \"client_secret\"\n}\n\n" + body
	if err := os.WriteFile(filepath.Join(w.dir, "matter.collect.hcl"), []byte(src), 0o600); err != nil {
		w.t.Fatal(err)
	}
	m, _, diags := config.Load(w.dir, config.LoadOptions{Now: now})
	if diags.HasErrors() {
		w.t.Fatalf("matter does not load: %v\n%s", diags, src)
	}
	w.m = m
	return m
}

func (w *world) open(readOnly bool) *state.DB {
	w.t.Helper()
	db, err := state.Open(w.m.State.Path, state.Options{ReadOnly: readOnly, Operation: "test", ToolVersion: "test"})
	if err != nil {
		w.t.Fatal(err)
	}
	return db
}

func (w *world) plan(targets ...plan.Target) *plan.Plan {
	w.t.Helper()
	db := w.open(true)
	defer db.Close()
	p, err := plan.Make(context.Background(), w.m, db, w.src, plan.Options{Targets: targets, Now: func() time.Time { return now }, ToolVersion: "test"})
	if err != nil {
		w.t.Fatalf("plan: %v", err)
	}
	return p
}

func (w *world) apply(p *plan.Plan) *apply.Result {
	w.t.Helper()
	if !p.Applyable() {
		w.t.Fatalf("plan is not applyable: %+v", p.Errors)
	}
	db := w.open(false)
	defer db.Close()
	st, err := store.Open(w.m.Output.Path, store.Options{Hashes: w.m.Output.Hashes})
	if err != nil {
		w.t.Fatal(err)
	}
	w.runs++
	res, err := apply.Apply(context.Background(), p, db, st, w.src, apply.Options{RunID: fmt.Sprintf("run-%d", w.runs), Backoff: time.Millisecond})
	if err != nil {
		w.t.Fatalf("apply: %v", err)
	}
	if !res.Complete {
		w.t.Fatalf("apply incomplete: %+v", res)
	}
	return res
}

// inWindow lists the immutable IDs of a folder's messages received in [from, to).
func (w *world) inWindow(mailbox, folder string, from, to time.Time) []string {
	w.t.Helper()
	refs, err := w.tn.Messages(mailbox, w.folder(mailbox, folder))
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, r := range refs {
		if !r.Received.Before(from) && r.Received.Before(to) {
			out = append(out, r.ImmutableID)
		}
	}
	sort.Strings(out)
	return out
}

func (w *world) all(mailbox, folder string) []string {
	return w.inWindow(mailbox, folder, time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
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
