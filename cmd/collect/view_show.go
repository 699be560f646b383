package main

import (
	"fmt"

	"github.com/collect-ediscovery/collect/internal/jsondoc"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/plan"
)

// showView shows a saved plan or the state's summary. Exactly one of its
// methods is called, Failed when neither could be read.
type showView interface {
	Plan(p *plan.Plan)
	State(path string, sum stateSummary)
	Failed()
}

func newShowView(s *streams, asJSON bool) showView {
	if asJSON {
		return &showJSON{s: s, diags: s.collectJSONDiags()}
	}
	return showHuman{s}
}

type showHuman struct{ s *streams }

func (v showHuman) Plan(p *plan.Plan) {
	s := v.s
	if p.Demo {
		fmt.Fprintln(s.stdout, demoBanner)
	}
	fmt.Fprintf(s.stdout, "Saved plan for matter %q, made %s by collect %s against state serial %d.\n",
		p.Matter, p.CreatedAt.Format("2006-01-02 15:04:05 MST"), p.ToolVersion, p.State.Serial)
	renderPlan(s, p)
}

func (v showHuman) State(path string, sum stateSummary) {
	s := v.s
	if !sum.Exists {
		fmt.Fprintln(s.stdout, "No state yet: nothing has been collected. Run collect plan, then collect apply.")
		return
	}
	fmt.Fprintf(s.stdout, "State %s\n  lineage %s, serial %d, written by collect %s\n", path, sum.Lineage, sum.Serial, sum.ToolVersion)
	fmt.Fprintf(s.stdout, "  %s collected (%s) in %s\n", plural(int(sum.Counts["collected"]), "message", "messages"),
		byteSize(int64(sum.Counts["bytes"])), plural(len(sum.Mailboxes), "mailbox", "mailboxes"))
	for _, mb := range sum.Mailboxes {
		fmt.Fprintf(s.stdout, "    %s %s: %s collected", mailboxLabel(mb.Addresses, mb.Email), mb.Email, commas(mb.Collected))
		if mb.Tombstones > 0 {
			fmt.Fprintf(s.stdout, ", %s tombstones", commas(mb.Tombstones))
		}
		if mb.Failures > 0 {
			fmt.Fprintf(s.stdout, ", %s failed (apply retries them)", commas(mb.Failures))
		}
		fmt.Fprintln(s.stdout)
	}
	if n := len(sum.Runs); n > 0 {
		last := sum.Runs[n-1]
		fmt.Fprintf(s.stdout, "  %s; the last, %s, %s by %s on %s, %s\n", plural(n, "run", "runs"), last.RunID, last.Operation, last.User, last.Host, last.Status)
	}
	for _, run := range sum.Runs {
		if run.Status == record.StatusInterrupted {
			fmt.Fprintf(s.stdout, "  Run %s was interrupted (%s of %s planned messages collected); run collect apply to continue.\n",
				run.RunID, commas(run.Collected), commas(run.Planned))
		}
	}
	if n := len(sum.FailedScope); n > 0 {
		fmt.Fprintf(s.stdout, "  failed scope: the last apply could not read %s (collect apply tries again):\n", plural(n, "mailbox", "mailboxes"))
		for _, f := range sum.FailedScope {
			fmt.Fprintf(s.stdout, "    %s %s: %s\n", f.Scope, f.Mailbox, f.Code)
		}
	}
}

func (showHuman) Failed() {}

type showJSON struct {
	s     *streams
	diags *[]jsonDiagnostic
}

func (v *showJSON) Plan(p *plan.Plan) {
	jsondoc.Write(v.s.stdout, planDoc{Document: p.Doc(), Diagnostics: *v.diags})
}

// stateDoc is collect show -json without a plan file.
type stateDoc struct {
	stateSummary
	Diagnostics []jsonDiagnostic `json:"diagnostics"`
}

func (v *showJSON) State(_ string, sum stateSummary) {
	jsondoc.Write(v.s.stdout, stateDoc{stateSummary: sum, Diagnostics: *v.diags})
}

// Failed prints a document that says only what went wrong: a reader of
// show -json always gets one document.
func (v *showJSON) Failed() {
	jsondoc.Write(v.s.stdout, stateDoc{stateSummary: stateSummary{Mailboxes: []mailboxSummary{}, Runs: []record.Run{}, Counts: map[string]uint64{}}, Diagnostics: *v.diags})
}
