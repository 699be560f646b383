package apply_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

var now = time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)

func day(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

// hookSource lets a test act before each fetch.
type hookSource struct {
	graph.Source
	mu      sync.Mutex
	fetches int
	before  func(n int) // called with the fetch's number, from 1
}

func (h *hookSource) FetchMIME(ctx context.Context, mb graph.Mailbox, id string, w io.Writer) (int64, error) {
	h.mu.Lock()
	h.fetches++
	n, before := h.fetches, h.before
	h.mu.Unlock()
	if before != nil {
		before(n)
	}
	return h.Source.FetchMIME(ctx, mb, id, w)
}

type world struct {
	t    testing.TB
	tn   *graphsim.Tenant
	src  *hookSource
	dir  string
	m    *config.Matter
	runs int
}

func newWorld(t testing.TB, cfg graphsim.Config) *world {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 5
	}
	cfg.Clock = graphsim.NewFakeClock(now)
	if cfg.DeltaPageSize == 0 {
		cfg.DeltaPageSize = 50
	}
	tn := graphsim.New(cfg)
	return &world{t: t, tn: tn, dir: t.TempDir(), src: &hookSource{Source: tn.Source(graphsim.SourceOptions{})}}
}

func (w *world) user(local string) string {
	w.t.Helper()
	if _, err := w.tn.AddUser(graphsim.UserSpec{UPN: addr(local)}); err != nil {
		w.t.Fatal(err)
	}
	return addr(local)
}

func (w *world) folder(mailbox, key string) string {
	w.t.Helper()
	id, err := w.tn.FolderID(mailbox, key)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *world) populate(mailbox, folder string, n int) {
	w.t.Helper()
	if err := w.tn.Populate(mailbox, w.folder(mailbox, folder), graphsim.Populate{Count: n, From: day("2024-02-01"), To: day("2024-03-01")}); err != nil {
		w.t.Fatal(err)
	}
}

// matter writes a matter with one custodian per address, all mail in
// scope, and loads it.
func (w *world) matter(addresses ...string) *config.Matter {
	w.t.Helper()
	src := "matter \"test\" {\n  time_zone = \"UTC\"\n}\ntenant {\n  tenant_id = \"contoso.onmicrosoft.com\"\n" +
		"  client_id = \"00000000-0000-0000-0000-000000000001\"\n  auth = \"client_secret\"\n}\n" +
		"output {\n  hashes = [\"sha256\", \"md5\"]\n}\n"
	for i, a := range addresses {
		src += fmt.Sprintf("custodian \"c%d\" {\n  name = \"C%d\"\n  email = %q\n}\n", i, i, a)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "matter.collect.hcl"), []byte(src), 0o600); err != nil {
		w.t.Fatal(err)
	}
	m, _, diags := config.Load(w.dir, config.LoadOptions{Now: now})
	if diags.HasErrors() {
		w.t.Fatalf("matter: %v", diags)
	}
	w.m = m
	return m
}

func (w *world) db() *state.DB {
	w.t.Helper()
	db, err := state.Open(w.m.State.Path, state.Options{Operation: "test", ToolVersion: "test"})
	if err != nil {
		w.t.Fatal(err)
	}
	return db
}

func (w *world) store() *store.Store {
	w.t.Helper()
	st, err := store.Open(w.m.Output.Path, store.Options{Hashes: w.m.Output.Hashes})
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func (w *world) plan() *plan.Plan {
	w.t.Helper()
	db := w.db()
	defer db.Close()
	p, err := plan.Make(context.Background(), w.m, db, w.src, plan.Options{ToolVersion: "test"})
	if err != nil {
		w.t.Fatal(err)
	}
	if !p.Applyable() {
		w.t.Fatalf("plan errors: %+v", p.Errors)
	}
	return p
}

func (w *world) applyCtx(ctx context.Context, p *plan.Plan, opts apply.Options) (*apply.Result, error) {
	w.t.Helper()
	db := w.db()
	defer db.Close()
	w.runs++
	if opts.RunID == "" {
		opts.RunID = fmt.Sprintf("run-%d", w.runs)
	}
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	return apply.Apply(ctx, p, db, w.store(), w.src, opts)
}

func (w *world) apply(p *plan.Plan) *apply.Result {
	w.t.Helper()
	res, err := w.applyCtx(context.Background(), p, apply.Options{})
	if err != nil {
		w.t.Fatalf("apply: %v", err)
	}
	return res
}

// items lists the state's collected items in collection order.
func (w *world) items() []state.Item {
	w.t.Helper()
	db := w.db()
	defer db.Close()
	var out []state.Item
	if err := db.View(func(r *state.ReadTx) error {
		return r.ItemsSince(0, func(it state.Item) error { out = append(out, it); return nil })
	}); err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *world) manifest() []store.ManifestEntry {
	w.t.Helper()
	var out []store.ManifestEntry
	err := store.ReadManifest(filepath.Join(w.m.Output.Path, store.ManifestFile), func(e store.ManifestEntry) error {
		out = append(out, e)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		w.t.Fatal(err)
	}
	return out
}

// verify checks every native and manifest line against the state and
// every native against the tenant's bytes.
func (w *world) verify() store.Report {
	w.t.Helper()
	db := w.db()
	defer db.Close()
	var rep store.Report
	var iterErr error
	err := db.View(func(r *state.ReadTx) error {
		var err error
		rep, err = store.Verify(context.Background(), w.m.Output.Path, apply.Expected(r, &iterErr), store.VerifyOptions{})
		return err
	})
	if err != nil || iterErr != nil {
		w.t.Fatalf("verify: %v %v", err, iterErr)
	}
	if !rep.OK() {
		w.t.Errorf("verify: missing %v, changed %v, unexpected %v, manifest %v, state %v", rep.Missing, rep.Changed, rep.Unexpected, rep.Manifest, rep.State)
	}
	return rep
}

// checkNatives compares every collected native with the bytes $value serves.
func (w *world) checkNatives(items []state.Item, upnOf map[string]string) {
	w.t.Helper()
	for _, it := range items {
		want, err := w.tn.MIME(upnOf[it.Mailbox], it.ID)
		if err != nil {
			continue // gone since: its bytes were checked by hash at collection
		}
		got, err := os.ReadFile(filepath.Join(w.m.Output.Path, filepath.FromSlash(it.Native)))
		if err != nil {
			w.t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			w.t.Errorf("native of %s differs from the message's bytes (%d vs %d bytes)", it.ID, len(got), len(want))
		}
	}
}

func (w *world) upns(addresses ...string) map[string]string {
	out := map[string]string{}
	for _, a := range addresses {
		u, err := w.tn.User(a)
		if err != nil {
			w.t.Fatal(err)
		}
		out[u.ID] = a
	}
	return out
}
