package plan_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
)

func TestSavedPlanRoundTripAndFreshness(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 12, day("2024-02-01"), day("2024-03-01"))
	m := w.LoadMatter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	// Made before any state file existed.
	p := w.Plan()
	if p.State.Lineage != "" || p.State.Serial != 0 {
		t.Fatalf("plan against no state file records %+v", p.State)
	}
	path := filepath.Join(t.TempDir(), "saved.plan")
	hash, err := plan.Write(path, p)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode %v (%v), want 0600: it names custodians", fi.Mode(), err)
	}
	got, gotHash, err := plan.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if gotHash != hash || len(hash) != 64 {
		t.Errorf("hash on write %s, on read %s", hash, gotHash)
	}
	if !reflect.DeepEqual(got, p) {
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(got)
		t.Errorf("plan changed through its file:\n wrote %s\n read  %s", a, b)
	}
	var doc map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &doc); err != nil || doc["applyable"] != true || doc["complete"] != true {
		t.Errorf("the file does not spell out its verdicts: %v", err)
	}

	// Fresh against a state file that does not exist (serial 0) and one
	// apply just created (serial 0 too), stale once anything was applied.
	if err := got.CheckFresh(m.Name, m.Hash(), "", 0); err != nil {
		t.Errorf("fresh plan refused: %v", err)
	}
	if err := got.CheckFresh(m.Name, "another matter", "", 0); !errors.Is(err, plan.ErrStale) || !strings.Contains(err.Error(), "matter changed") {
		t.Errorf("other matter: %v", err)
	}
	var me *plan.MatterError
	if err := got.CheckFresh("globex", m.Hash(), "", 0); !errors.As(err, &me) || me.Plan != m.Name ||
		!strings.Contains(err.Error(), fmt.Sprintf("this plan is for matter %q", m.Name)) || strings.Contains(err.Error(), "changed") {
		t.Errorf("plan of another matter: %v", err)
	}
	w.ApplyComplete(got)
	var meta state.Meta
	db := w.OpenState(true)
	if err := db.View(func(r *state.ReadTx) error { meta = r.Meta(); return nil }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := got.CheckFresh(m.Name, m.Hash(), meta.Lineage, meta.Serial); !errors.Is(err, plan.ErrStale) || !strings.Contains(err.Error(), "before the state file existed") {
		t.Errorf("plan made before the state, applied once: %v", err)
	}

	// Made against the state: fresh at its serial only, and only for its lineage.
	p2 := w.Plan()
	if p2.State.Lineage != meta.Lineage || p2.State.Serial != meta.Serial {
		t.Fatalf("plan records state %+v, the state is %+v", p2.State, meta)
	}
	if err := p2.CheckFresh(m.Name, m.Hash(), meta.Lineage, meta.Serial); err != nil {
		t.Errorf("fresh plan refused: %v", err)
	}
	if err := p2.CheckFresh(m.Name, m.Hash(), "other-lineage", meta.Serial); !errors.Is(err, plan.ErrStale) || !strings.Contains(err.Error(), "another state file") {
		t.Errorf("other lineage: %v", err)
	}
	if err := p2.CheckFresh(m.Name, m.Hash(), meta.Lineage, meta.Serial+1); !errors.Is(err, plan.ErrStale) || !strings.Contains(err.Error(), "an apply ran in between") {
		t.Errorf("newer serial: %v", err)
	}
}

func TestReadRefusesNewerFormatsAndDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct{ name, body, want string }{
		{"newer.plan", `{"format_version": "2.0", "mailboxes": []}`, "newer collect (format 2.0; this collect reads format 1.x)"},
		{"junk.plan", `not json`, "is not a collect plan file"},
		{"noversion.plan", `{"mailboxes": []}`, "is not a collect plan file"},
		{"damaged.plan", `{"format_version": "1.0", "mailboxes": 7}`, "is damaged"},
		{"old.plan", `{"format_version": 1, "mailboxes": 7}`, "is damaged"},
	} {
		_, _, err := plan.Read(write(tc.name, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := plan.Read(filepath.Join(dir, "missing.plan")); err == nil {
		t.Error("a missing plan file reads")
	}
}

// TestPlanFilesStoreKindTokens: a problem's kind is written as its stable
// token, and a plan file written before tokens (a display name) still reads.
func TestPlanFilesStoreKindTokens(t *testing.T) {
	b, err := json.Marshal(plan.Problem{Summary: "Cannot read mailbox", Kind: graph.KindMailboxNotEnabled})
	if err != nil || !strings.Contains(string(b), `"kind":"mailbox_not_enabled"`) {
		t.Errorf("message JSON %s (%v), want the kind token", b, err)
	}
	var old plan.Problem
	if err := json.Unmarshal([]byte(`{"summary":"Cannot read mailbox","kind":"access denied"}`), &old); err != nil || old.Kind != graph.KindAccessDenied {
		t.Errorf("an old plan's kind reads as %v (%v)", old.Kind, err)
	}
	if err := json.Unmarshal([]byte(`{"summary":"x","kind":"meteor"}`), &old); err == nil {
		t.Error("an unknown kind was read")
	}
}
