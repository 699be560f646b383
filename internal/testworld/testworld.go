// Package testworld is the world the plan and apply tests run in: a
// simulated tenant (graphsim) on a fake clock, a matter folder written and
// loaded the way a user's is, and the matter's real state file and
// evidence store on disk. It links the simulator only, never the Graph SDK.
package testworld

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/custody"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/clock"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// Domain is the simulated tenant's mail domain.
const Domain = "sim.collect.invalid"

// Addr is the address of a user of the simulated tenant.
func Addr(local string) string { return local + "@" + Domain }

// Now is the simulated tenant's time when a world is made: every test's
// mail is older.
var Now = time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)

// Day parses a date written 2006-01-02 (midnight UTC).
func Day(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

// Source is the tenant's in-process Source, counting delta rounds per
// folder and fetches, with a hook a test can use to act before a fetch.
type Source struct {
	graph.Source
	mu      sync.Mutex
	rounds  map[string]int // folder ID -> Delta calls
	fetches int
	// Before, when set, is called before each fetch with its number from 1.
	Before func(n int)
}

func (s *Source) Delta(ctx context.Context, mb graph.Mailbox, f graph.Folder, cursor string, page func(graph.DeltaPage) error) (string, error) {
	s.mu.Lock()
	s.rounds[f.ID]++
	s.mu.Unlock()
	return s.Source.Delta(ctx, mb, f, cursor, page)
}

func (s *Source) FetchMIME(ctx context.Context, mb graph.Mailbox, id string, w io.Writer) (int64, error) {
	s.mu.Lock()
	s.fetches++
	n, before := s.fetches, s.Before
	s.mu.Unlock()
	if before != nil {
		before(n)
	}
	return s.Source.FetchMIME(ctx, mb, id, w)
}

// Reset returns the delta rounds per folder and the fetches counted since
// the last Reset, and starts counting again.
func (s *Source) Reset() (rounds map[string]int, fetches int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rounds, fetches = s.rounds, s.fetches
	s.rounds, s.fetches = map[string]int{}, 0
	return rounds, fetches
}

// World is a simulated tenant, a matter folder and the matter's state and
// output.
type World struct {
	T      testing.TB
	Tenant *graphsim.Tenant
	Clock  *clock.Fake // the tenant's and the planner's clock, at Now
	Src    *Source
	Dir    string         // the matter folder
	Matter *config.Matter // set by LoadMatter
	runs   int
}

// New makes a world. The zero Seed and DeltaPageSize of cfg take seed and
// pageSize, so that each package keeps the mail its assertions were written
// for; the clock is always a fake one at Now.
func New(t testing.TB, cfg graphsim.Config, seed int64, pageSize int) *World {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = seed
	}
	if cfg.DeltaPageSize == 0 {
		cfg.DeltaPageSize = pageSize
	}
	clk := clock.NewFake(Now)
	cfg.Clock = clk
	tn := graphsim.New(cfg)
	return &World{T: t, Tenant: tn, Clock: clk, Dir: t.TempDir(),
		Src: &Source{Source: tn.Source(graphsim.SourceOptions{}), rounds: map[string]int{}}}
}

// User adds a user (and mailbox) with the given aliases and returns its address.
func (w *World) User(local string, aliases ...string) string {
	w.T.Helper()
	var full []string
	for _, a := range aliases {
		full = append(full, Addr(a))
	}
	if _, err := w.Tenant.AddUser(graphsim.UserSpec{UPN: Addr(local), Aliases: full}); err != nil {
		w.T.Fatal(err)
	}
	return Addr(local)
}

// Folder returns the ID of a mailbox's folder, by path or well-known name.
func (w *World) Folder(mailbox, pathOrWellKnown string) string {
	w.T.Helper()
	id, err := w.Tenant.FolderID(mailbox, pathOrWellKnown)
	if err != nil {
		w.T.Fatal(err)
	}
	return id
}

// Mkdir creates a folder name under parent and returns its ID.
func (w *World) Mkdir(mailbox, parent, name string) string {
	w.T.Helper()
	id, err := w.Tenant.CreateFolder(mailbox, w.Folder(mailbox, parent), name, false)
	if err != nil {
		w.T.Fatal(err)
	}
	return id
}

// Populate adds n messages to a folder, received in February 2024.
func (w *World) Populate(mailbox, folder string, n int) {
	w.PopulateBetween(mailbox, folder, n, Day("2024-02-01"), Day("2024-03-01"))
}

// PopulateBetween adds n messages to a folder, received in [from, to).
func (w *World) PopulateBetween(mailbox, folder string, n int, from, to time.Time) {
	w.T.Helper()
	if err := w.Tenant.Populate(mailbox, w.Folder(mailbox, folder), graphsim.Populate{Count: n, From: from, To: to}); err != nil {
		w.T.Fatal(err)
	}
}

// LoadMatter writes body, after a matter and a tenant block, as the matter
// and loads it.
func (w *World) LoadMatter(body string) *config.Matter {
	w.T.Helper()
	src := "matter \"test\" {\n  time_zone = \"UTC\"\n}\n\ntenant {\n  tenant_id = \"contoso.onmicrosoft.com\"\n" +
		"  client_id = \"00000000-0000-0000-0000-000000000001\"\n  auth = \"client_secret\"\n}\n\n" + body
	if err := os.WriteFile(filepath.Join(w.Dir, "matter.collect.hcl"), []byte(src), 0o600); err != nil {
		w.T.Fatal(err)
	}
	m, _, diags := config.Load(w.Dir, config.LoadOptions{Now: Now})
	if diags.HasErrors() {
		w.T.Fatalf("matter does not load: %v\n%s", diags, src)
	}
	w.Matter = m
	return m
}

// LoadMatterOf loads a matter with one custodian per address and all of
// their mail in scope, hashed with sha256 and md5.
func (w *World) LoadMatterOf(addresses ...string) *config.Matter {
	w.T.Helper()
	body := "output {\n  hashes = [\"sha256\", \"md5\"]\n}\n"
	for i, a := range addresses {
		body += fmt.Sprintf("custodian \"c%d\" {\n  name = \"C%d\"\n  email = %q\n}\n", i, i, a)
	}
	return w.LoadMatter(body)
}

// OpenState opens the matter's state file; the caller closes it.
func (w *World) OpenState(readOnly bool) *state.DB {
	w.T.Helper()
	db, err := state.Open(w.Matter.State.Path, state.Options{ReadOnly: readOnly, Operation: "test", ToolVersion: "test"})
	if err != nil {
		w.T.Fatal(err)
	}
	return db
}

// Store opens the matter's output folder.
func (w *World) Store() *store.Store {
	w.T.Helper()
	st, err := store.Open(w.Matter.Output.Path, store.Options{Hashes: w.Matter.Output.Hashes})
	if err != nil {
		w.T.Fatal(err)
	}
	return st
}

// Plan makes a plan of the matter against its state, applyable or not.
func (w *World) Plan(targets ...plan.Target) *plan.Plan {
	w.T.Helper()
	db := w.OpenState(true)
	defer db.Close()
	p, err := plan.Make(context.Background(), w.Matter, db, w.Src, plan.Options{Targets: targets, Clock: w.Clock, ToolVersion: "test"})
	if err != nil {
		w.T.Fatalf("plan: %v", err)
	}
	return p
}

// ApplyablePlan makes a plan and fails the test unless it can be applied.
func (w *World) ApplyablePlan() *plan.Plan {
	w.T.Helper()
	p := w.Plan()
	if !p.Applyable() {
		w.T.Fatalf("plan errors: %+v", p.Errors)
	}
	return p
}

// ApplyWith applies p with opts; a run gets the ID run-N and a back-off of
// a millisecond unless opts say otherwise.
func (w *World) ApplyWith(ctx context.Context, p *plan.Plan, opts apply.Options) (*apply.Result, error) {
	w.T.Helper()
	db := w.OpenState(false)
	defer db.Close()
	w.runs++
	if opts.RunID == "" {
		opts.RunID = fmt.Sprintf("run-%d", w.runs)
	}
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	return apply.Apply(ctx, p, db, w.Store(), w.Src, opts)
}

// Apply applies p and fails the test when apply returns an error.
func (w *World) Apply(p *plan.Plan) *apply.Result {
	w.T.Helper()
	res, err := w.ApplyWith(context.Background(), p, apply.Options{})
	if err != nil {
		w.T.Fatalf("apply: %v", err)
	}
	return res
}

// ApplyComplete applies an applyable p and fails the test unless every
// planned item was collected.
func (w *World) ApplyComplete(p *plan.Plan) *apply.Result {
	w.T.Helper()
	if !p.Applyable() {
		w.T.Fatalf("plan is not applyable: %+v", p.Errors)
	}
	res := w.Apply(p)
	if !res.Complete {
		w.T.Fatalf("apply incomplete: %+v", res)
	}
	return res
}

// InWindow lists the immutable IDs of a folder's messages received in [from, to).
func (w *World) InWindow(mailbox, folder string, from, to time.Time) []string {
	w.T.Helper()
	refs, err := w.Tenant.Messages(mailbox, w.Folder(mailbox, folder))
	if err != nil {
		w.T.Fatal(err)
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

// All lists the immutable IDs of a folder's messages.
func (w *World) All(mailbox, folder string) []string {
	return w.InWindow(mailbox, folder, time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
}

// Items lists the state's collected items in collection order.
func (w *World) Items() []state.Item {
	w.T.Helper()
	db := w.OpenState(false)
	defer db.Close()
	var out []state.Item
	if err := db.View(func(r *state.ReadTx) error {
		return r.ItemsSince(0, func(it state.Item) error { out = append(out, it); return nil })
	}); err != nil {
		w.T.Fatal(err)
	}
	return out
}

// Manifest reads the output folder's manifest.
func (w *World) Manifest() []store.ManifestEntry {
	w.T.Helper()
	var out []store.ManifestEntry
	err := store.ReadManifest(filepath.Join(w.Matter.Output.Path, store.ManifestFile), func(e store.ManifestEntry) error {
		out = append(out, e)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		w.T.Fatal(err)
	}
	return out
}

// Verify checks every native and manifest line against the state, and
// reports a failed check as a test error.
func (w *World) Verify() store.Report {
	w.T.Helper()
	db := w.OpenState(false)
	defer db.Close()
	var rep store.Report
	var iterErr error
	err := db.View(func(r *state.ReadTx) error {
		var err error
		rep, err = store.Verify(context.Background(), w.Matter.Output.Path, apply.Expected(r, &iterErr), store.VerifyOptions{})
		return err
	})
	if err != nil || iterErr != nil {
		w.T.Fatalf("verify: %v %v", err, iterErr)
	}
	if !rep.OK() {
		w.T.Errorf("verify: missing %v, changed %v, unexpected %v, manifest %v, state %v", rep.Missing, rep.Changed, rep.Unexpected, rep.Manifest, rep.State)
	}
	// Every apply leaves a custody log that covers the whole manifest.
	crep, err := custody.Verify(w.Matter.Output.Path, custody.VerifyOptions{})
	if err != nil {
		w.T.Fatalf("verify -custody: %v", err)
	}
	if !crep.OK() || crep.Lines != int64(rep.ManifestLines) || (crep.Lines > 0 && crep.Included != crep.Lines) {
		w.T.Errorf("verify -custody: %d of %d lines included, problems %v", crep.Included, crep.Lines, crep.Problems)
	}
	return rep
}

// CheckNatives compares every collected native with the bytes $value
// serves; upnOf maps mailbox IDs to addresses (see UPNs).
func (w *World) CheckNatives(items []state.Item, upnOf map[string]string) {
	w.T.Helper()
	for _, it := range items {
		want, err := w.Tenant.MIME(upnOf[it.Mailbox], it.ID)
		if err != nil {
			continue // gone since: its bytes were checked by hash at collection
		}
		got, err := os.ReadFile(filepath.Join(w.Matter.Output.Path, filepath.FromSlash(it.Native)))
		if err != nil {
			w.T.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			w.T.Errorf("native of %s differs from the message's bytes (%d vs %d bytes)", it.ID, len(got), len(want))
		}
	}
}

// UPNs maps the mailbox IDs of the given addresses to the addresses.
func (w *World) UPNs(addresses ...string) map[string]string {
	out := map[string]string{}
	for _, a := range addresses {
		u, err := w.Tenant.User(a)
		if err != nil {
			w.T.Fatal(err)
		}
		out[u.ID] = a
	}
	return out
}
