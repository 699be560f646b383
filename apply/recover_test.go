package apply_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/internal/testworld"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// rebuild rebuilds the world's state from its output folder, as collect
// state rebuild does.
func rebuild(w *testworld.World, force bool) (apply.RebuildReport, error) {
	w.T.Helper()
	tail, _, err := store.ManifestTail(w.Matter.Output.Path)
	if err != nil {
		w.T.Fatal(err)
	}
	refs := map[string][]string{}
	for _, mb := range w.Matter.Mailboxes {
		refs[strings.ToLower(mb.Email)] = append(refs[strings.ToLower(mb.Email)], mb.Addr)
	}
	var rep apply.RebuildReport
	_, err = state.Rebuild(w.Matter.State.Path, state.Options{Operation: "test", Lineage: tail.Lineage}, force, func(db *state.DB) error {
		var err error
		rep, err = apply.Rebuild(context.Background(), db, w.Matter.Output.Path, refs)
		return err
	})
	return rep, err
}

func stateMeta(w *testworld.World) state.Meta {
	w.T.Helper()
	db := w.OpenState(false)
	defer db.Close()
	var m state.Meta
	if err := db.View(func(r *state.ReadTx) error { m = r.Meta(); return nil }); err != nil {
		w.T.Fatal(err)
	}
	return m
}

func TestManifestLinesNameTheStateLineageAndMailbox(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 4)
	w.LoadMatterOf(ann)
	w.Apply(w.ApplyablePlan())
	meta := stateMeta(w)
	u, err := w.Tenant.User(ann)
	if err != nil {
		t.Fatal(err)
	}
	lines := w.Manifest()
	if len(lines) != 4 {
		t.Fatalf("%d manifest lines, want 4", len(lines))
	}
	for _, l := range lines {
		if l.Lineage != meta.Lineage || l.MailboxID != u.ID {
			t.Errorf("line seq %d: lineage %q, mailbox_id %q; want %q, %q", l.Seq, l.Lineage, l.MailboxID, meta.Lineage, u.ID)
		}
	}
	w.Verify()
}

func TestRebuildGivesBackTheState(t *testing.T) {
	w := newWorld(t, graphsim.Config{DuplicateRate: 0.1})
	ann, bob := w.User("ann"), w.User("bob")
	w.Populate(ann, "inbox", 30)
	w.Populate(ann, "sentitems", 5)
	w.Populate(bob, "inbox", 9)
	w.LoadMatterOf(ann, bob)
	w.Apply(w.ApplyablePlan())
	w.Populate(bob, "inbox", 2)
	w.Apply(w.ApplyablePlan())
	before, meta := w.Items(), stateMeta(w)

	if err := os.Remove(w.Matter.State.Path); err != nil {
		t.Fatal(err)
	}
	// A crash cut the manifest's last append short: the torn line is not
	// an item, and is left for the next apply to cut.
	manifest := filepath.Join(w.Matter.Output.Path, store.ManifestFile)
	whole, _ := os.ReadFile(manifest)
	os.WriteFile(manifest, append(bytes.Clone(whole), `{"seq":47,"run_id":"r`...), 0o600)
	rep, err := rebuild(w, false)
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if rep.Items != 46 || rep.Mailboxes != 2 || rep.Runs != 2 || !rep.Verify.OK() || rep.Verify.Verified != 46 {
		t.Fatalf("rebuild report %+v", rep)
	}
	if got := stateMeta(w); got.Lineage != meta.Lineage || got.Serial <= meta.Serial {
		t.Errorf("rebuilt lineage %s, serial %d; want the collection's %s and a serial above the lost state's %d",
			got.Lineage, got.Serial, meta.Lineage, meta.Serial)
	}
	after := w.Items()
	if len(after) != len(before) {
		t.Fatalf("%d items rebuilt, %d before", len(after), len(before))
	}
	for i := range before {
		want := before[i]
		want.FolderID = "" // the manifest names the folder by its path only
		if !reflect.DeepEqual(after[i], want) {
			t.Errorf("item %d rebuilt as\n %+v\nwas\n %+v", i, after[i], want)
		}
	}
	db := w.OpenState(false)
	var runs int
	db.View(func(r *state.ReadTx) error { return r.Runs(func(record.Run) error { runs++; return nil }) })
	db.Close()
	if runs != 2 {
		t.Errorf("rebuilt state has %d runs, want 2", runs)
	}
	// The next round enumerates every folder again and fetches nothing.
	p := w.ApplyablePlan()
	if p.HasChanges() {
		t.Fatalf("plan after the rebuild has changes: %+v", p.Counts())
	}
	w.Populate(ann, "inbox", 1)
	if res := w.Apply(w.ApplyablePlan()); res.Collected != 1 {
		t.Fatalf("apply after the rebuild collected %d, want 1", res.Collected)
	}
	w.Verify()
}

func TestRebuildRefusesWhatItCannotRebuildFrom(t *testing.T) {
	w, path, full := collectedManifest(t, 3)
	rewrite := func(edit func(e map[string]any, i int)) {
		t.Helper()
		var out []byte
		for i, line := range bytes.Split(bytes.TrimSpace(full), []byte("\n")) {
			var e map[string]any
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatal(err)
			}
			edit(e, i)
			b, _ := json.Marshal(e)
			out = append(append(out, b...), '\n')
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stateBefore, err := os.ReadFile(w.Matter.State.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(e map[string]any, i int)
		want string
	}{
		{"lines of an older collect", func(e map[string]any, _ int) { delete(e, "mailbox_id"); delete(e, "lineage") }, "does not name its mailbox's ID"},
		{"two collections", func(e map[string]any, i int) {
			if i == 0 {
				e["lineage"] = "11111111-2222-4333-8444-555555555555"
			}
		}, "more than one collection"},
	} {
		rewrite(tc.edit)
		if _, err := rebuild(w, true); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: rebuild: %v, want an error saying %q", tc.name, err, tc.want)
		}
		if got, _ := os.ReadFile(w.Matter.State.Path); !bytes.Equal(got, stateBefore) {
			t.Fatalf("%s: a refused rebuild changed the state", tc.name)
		}
	}
}

func TestCheckOutputRefusesAStateWithoutTheCollection(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 3)
	w.LoadMatterOf(ann)
	w.Apply(w.ApplyablePlan())
	check := func() error {
		t.Helper()
		db, err := state.Open(w.Matter.State.Path, state.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		return apply.CheckOutput(db, w.Matter.Output.Path)
	}
	if err := check(); err != nil {
		t.Fatalf("the state of the collection is refused: %v", err)
	}
	good, _ := os.ReadFile(w.Matter.State.Path)

	// Lost: no state file.
	os.Remove(w.Matter.State.Path)
	var oe *apply.OutputError
	if err := check(); !errors.As(err, &oe) || !oe.NoState || !strings.Contains(err.Error(), "collect state rebuild") {
		t.Fatalf("no state: %v", err)
	}
	// Another collection's state, which holds items of its own.
	other := newWorld(t, graphsim.Config{Seed: 9})
	bob := other.User("bob")
	other.Populate(bob, "inbox", 5)
	other.LoadMatterOf(bob)
	other.Apply(other.ApplyablePlan())
	b, _ := os.ReadFile(other.Matter.State.Path)
	os.WriteFile(w.Matter.State.Path, b, 0o600)
	if err := check(); !errors.As(err, &oe) || oe.OutputLineage == oe.StateLineage || oe.Empty ||
		!strings.Contains(err.Error(), "written with another state") {
		t.Fatalf("another collection's state: %v", err)
	}
	// The state as it was before the apply: behind the manifest. apply
	// itself refuses it too, before it appends anything.
	os.WriteFile(w.Matter.State.Path, good, 0o600)
	backup, _ := os.ReadFile(state.BackupFilePath(w.Matter.State.Path))
	os.WriteFile(w.Matter.State.Path, backup, 0o600)
	if err := check(); !errors.As(err, &oe) || oe.OutputSeq != 3 || oe.StateSeq != 0 {
		t.Fatalf("older state: %v", err)
	}
	manifest, _ := os.ReadFile(filepath.Join(w.Matter.Output.Path, store.ManifestFile))
	if _, err := w.ApplyWith(context.Background(), w.ApplyablePlan(), apply.Options{}); !errors.As(err, &oe) {
		t.Fatalf("apply with a state behind the manifest: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(w.Matter.Output.Path, store.ManifestFile)); !bytes.Equal(got, manifest) {
		t.Fatal("apply with a state behind the manifest changed the manifest")
	}
}

func TestCheckOutputHoldsARunningApplysSnapshotToItsLineageOnly(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 3)
	w.LoadMatterOf(ann)
	w.Apply(w.ApplyablePlan())
	// An apply holds the lock and has appended a line its snapshot does
	// not have yet.
	writer := w.OpenState(false)
	defer writer.Close()
	lines := w.Manifest()
	next := lines[len(lines)-1]
	next.Seq++
	man, err := store.OpenManifest(filepath.Join(w.Matter.Output.Path, store.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := man.Append([]store.ManifestEntry{next}); err != nil {
		t.Fatal(err)
	}
	man.Close()
	reader, err := state.Open(w.Matter.State.Path, state.Options{ReadOnly: true, Snapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if reader.Writer() == nil {
		t.Fatal("the read-only open did not read the writer's snapshot")
	}
	if err := apply.CheckOutput(reader, w.Matter.Output.Path); err != nil {
		t.Fatalf("the snapshot of a running apply is refused: %v", err)
	}
	// Of another collection, it is refused all the same.
	next.Seq++
	next.Lineage = "11111111-2222-4333-8444-555555555555"
	man, err = store.OpenManifest(filepath.Join(w.Matter.Output.Path, store.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := man.Append([]store.ManifestEntry{next}); err != nil {
		t.Fatal(err)
	}
	man.Close()
	var oe *apply.OutputError
	if err := apply.CheckOutput(reader, w.Matter.Output.Path); !errors.As(err, &oe) {
		t.Fatalf("a snapshot of another lineage: %v", err)
	}
}
