package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

func mustLoad(t *testing.T, dir string, opts LoadOptions) *Matter {
	t.Helper()
	m, files, diags := Load(dir, opts)
	if diags.HasErrors() {
		var b strings.Builder
		wr := hcl.NewDiagnosticTextWriter(&b, files, 100, false)
		wr.WriteDiagnostics(diags)
		t.Fatalf("load %s:\n%s", dir, b.String())
	}
	return m
}

func TestExamplesLoad(t *testing.T) {
	dirs, _ := filepath.Glob("../examples/*")
	n := 0
	for _, d := range dirs {
		if fs, _ := filepath.Glob(filepath.Join(d, "*"+FileSuffix)); len(fs) == 0 {
			continue
		}
		n++
		t.Run(filepath.Base(d), func(t *testing.T) {
			m := mustLoad(t, d, LoadOptions{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
			if m.Name == "" || len(m.Mailboxes) == 0 {
				t.Fatalf("example %s loaded empty: %+v", d, m)
			}
		})
	}
	if n < 2 {
		t.Fatalf("found %d example matters, want at least 2", n)
	}
}

func TestAcmeResolved(t *testing.T) {
	m := mustLoad(t, "../examples/acme-v-globex", LoadOptions{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	ny, _ := time.LoadLocation("America/New_York")
	rel := m.Windows[0]
	if want := time.Date(2023, 6, 1, 0, 0, 0, 0, ny).UTC(); !rel.Start.Equal(want) {
		t.Errorf("relevant.start = %s, want %s (midnight in New York)", rel.Start, want)
	}
	if rel.Start.Hour() != 4 {
		t.Errorf("relevant.start in UTC = %s, want 04:00 (EDT)", rel.Start)
	}
	post := m.Windows[1]
	if !post.Open() || post.Date != DateSent {
		t.Errorf("post_hold = %+v, want open window by sent date", post)
	}
	var addrs []string
	for _, mb := range m.Mailboxes {
		addrs = append(addrs, mb.Addr+"="+mb.Email)
	}
	want := "custodian.jdoe.mailbox.primary=jane.doe@acme.example custodian.jsmith.mailbox.primary=john.smith@acme.example " +
		"custodian.mgarcia.mailbox.primary=m.garcia@acme.example custodian.wchen.mailbox.primary=wei.chen@acme.example " +
		"mailbox.legal_shared=legal@acme.example"
	if got := strings.Join(addrs, " "); got != want {
		t.Errorf("mailboxes:\n got %s\nwant %s", got, want)
	}
	shared := m.Mailbox("mailbox.legal_shared")
	if len(shared.Windows) != 2 || shared.Windows[0].Name != "relevant" || shared.Windows[1].Name != "post_hold" {
		t.Errorf("shared mailbox windows should be the union of its custodians' windows, got %v", shared.Windows)
	}
	if got := m.Output.Hashes; strings.Join(got, ",") != "sha256,md5" {
		t.Errorf("hashes = %v", got)
	}
	if m.State.Path != filepath.Join(m.Dir, "collect.state") {
		t.Errorf("state path = %s", m.State.Path)
	}
}

func TestVariablePrecedence(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "m.collect.hcl", `
matter "m" {}
tenant {
  cloud = "demo"
}
variable "start" {
  type    = string
  default = "2020-01-01"
}
variable "n" {
  type    = number
  default = 1
}
window "w" {
  start = var.start
}
`)
	write(t, dir, "a.vars.hcl", `start = "2021-01-01"`)
	write(t, dir, "b.vars.hcl", `start = "2023-01-01"`)
	year := func(opts LoadOptions) int {
		opts.Now = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		return mustLoad(t, dir, opts).Windows[0].Start.Year()
	}
	cases := []struct {
		name string
		opts LoadOptions
		want int
	}{
		{"default", LoadOptions{}, 2020},
		{"env", LoadOptions{Env: []string{"COLLECT_VAR_start=2022-01-01"}}, 2022},
		{"file beats env", LoadOptions{Env: []string{"COLLECT_VAR_start=2022-01-01"},
			Vars: []VarOption{{File: filepath.Join(dir, "a.vars.hcl")}}}, 2021},
		{"later -var beats file", LoadOptions{Vars: []VarOption{
			{File: filepath.Join(dir, "a.vars.hcl")}, {Assignment: "start=2024-01-01"}}}, 2024},
		{"later file beats -var", LoadOptions{Vars: []VarOption{
			{Assignment: "start=2024-01-01"}, {File: filepath.Join(dir, "b.vars.hcl")}}}, 2023},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := year(c.opts); got != c.want {
				t.Errorf("start year = %d, want %d", got, c.want)
			}
		})
	}
}

func TestFolderFilterMatch(t *testing.T) {
	f := FolderFilter{Include: []string{"inbox", "Archive/2024"}, Exclude: []string{"Inbox/Personal"}}
	cases := []struct {
		path      string
		wellKnown []string
		want      bool
	}{
		{"Inbox", []string{"inbox"}, true},
		{"Inbox/Projects/Globex", []string{"inbox"}, true},
		{"Inbox/Personal", []string{"inbox"}, false},
		{"Inbox/Personal/Deep", []string{"inbox"}, false},
		{"Inbox/PersonalStuff", []string{"inbox"}, true},
		{"archive/2024/q1", []string{"archive"}, true},
		{"Archive/2023", []string{"archive"}, false},
		{"Sent Items", []string{"sentitems"}, false},
	}
	for _, c := range cases {
		if got := f.Match(c.path, c.wellKnown); got != c.want {
			t.Errorf("Match(%q, %v) = %v, want %v", c.path, c.wellKnown, got, c.want)
		}
	}
	if !(FolderFilter{}).Match("Anything/At/All", nil) {
		t.Error("an empty filter must keep every folder")
	}
}

func TestWindowHalfOpen(t *testing.T) {
	w := &Window{Start: time.Date(2024, 1, 1, 5, 0, 0, 0, time.UTC), End: time.Date(2024, 7, 1, 4, 0, 0, 0, time.UTC)}
	if !w.Contains(w.Start) {
		t.Error("start is inclusive")
	}
	if w.Contains(w.End) {
		t.Error("end is exclusive")
	}
	if w.Contains(w.Start.Add(-time.Nanosecond)) {
		t.Error("before start is out")
	}
	mb := &Mailbox{Windows: []*Window{w}}
	inside, outside := w.Start.Add(time.Hour), w.End.Add(time.Hour)
	if !mb.InScope(outside, outside, inside, true) {
		t.Error("a draft is placed by its last modified time")
	}
	if mb.InScope(outside, inside, inside, false) {
		t.Error("a received-date window must not use the sent time")
	}
}

func TestHashIgnoresFormatting(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write(t, a, "m.collect.hcl", "matter \"m\" {}\ntenant {\n  cloud = \"demo\"\n}\nwindow \"w\" {\n  start = \"2024-01-01\"\n}\ncustodian \"c\" {\n  email = \"c@x.example\"\n  windows = [window.w]\n}\n")
	write(t, b, "m.collect.hcl", "# comment\nmatter   \"m\"   {}\ntenant { cloud = \"demo\" }\nlocals { s = \"2024-01-01\" }\nwindow \"w\" { start = local.s }\ncustodian \"c\" {\n email = \"C@X.example\"\n windows = [window.w]\n}\n")
	ha, hb := mustLoad(t, a, LoadOptions{}).Hash(), mustLoad(t, b, LoadOptions{}).Hash()
	if ha != hb {
		t.Errorf("same scope written differently hashes differently: %s vs %s", ha, hb)
	}
	write(t, b, "m.collect.hcl", "matter \"m\" {}\ntenant { cloud = \"demo\" }\nwindow \"w\" { start = \"2024-01-02\" }\ncustodian \"c\" {\n email = \"c@x.example\"\n windows = [window.w]\n}\n")
	if hc := mustLoad(t, b, LoadOptions{}).Hash(); hc == ha {
		t.Error("a changed window must change the hash")
	}
}

func write(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRecollectChanged(t *testing.T) {
	const rest = "tenant { cloud = \"demo\" }\ncustodian \"c\" {\n  email = \"c@x.example\"\n}\n"
	dir := t.TempDir()
	write(t, dir, "m.collect.hcl", "matter \"m\" {}\n"+rest)
	off := mustLoad(t, dir, LoadOptions{})
	write(t, dir, "m.collect.hcl", "matter \"m\" {\n  recollect_changed = true\n}\n"+rest)
	on := mustLoad(t, dir, LoadOptions{})
	if off.RecollectChanged || !on.RecollectChanged {
		t.Errorf("recollect_changed: off %v, on %v", off.RecollectChanged, on.RecollectChanged)
	}
	if off.Hash() == on.Hash() {
		t.Error("recollect_changed changes what apply collects: it must change the matter's hash")
	}
	write(t, dir, "m.collect.hcl", "matter \"m\" {\n  recollect_changed = \"sometimes\"\n}\n"+rest)
	if _, _, diags := Load(dir, LoadOptions{}); !diags.HasErrors() || !strings.Contains(diags.Error(), "recollect_changed") {
		t.Errorf("a string for recollect_changed: %v", diags)
	}
}
