package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/internal/jsondoc"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/hashicorp/hcl/v2"
)

// planView shows what plan found. Plan is called once, with nil when no
// plan could be made (the diagnostics say why); Saved or NotSaved may
// follow it with -out.
type planView interface {
	Demo()
	Plan(p *plan.Plan, m *config.Matter)
	// Saved says where the plan was saved; failedScope counts the
	// mailboxes it skips because they could not be read.
	Saved(path string, failedScope int)
	NotSaved()
}

func newPlanView(s *streams, asJSON bool) planView {
	if asJSON {
		return &planJSON{s: s, diags: s.collectJSONDiags()}
	}
	return planHuman{s}
}

type planHuman struct{ s *streams }

func (v planHuman) Demo() { fmt.Fprintln(v.s.stdout, demoBanner) }

func (v planHuman) Plan(p *plan.Plan, m *config.Matter) {
	if p == nil {
		return
	}
	renderPlanWith(v.s, p, m)
}

func (v planHuman) Saved(path string, failedScope int) {
	fmt.Fprintf(v.s.stdout, "\nSaved the plan to: %s\n\nTo collect exactly these messages, run:\n  collect apply %q\n", path, path)
	if failedScope > 0 {
		v.s.warnf("The saved plan skips failed scope", "The saved plan skips %s that could not be read. collect apply %q collects "+
			"the others, lists the skipped ones as failed scope and exits 4.", plural(failedScope, "mailbox", "mailboxes"), path)
	}
}

func (v planHuman) NotSaved() {
	fmt.Fprintf(v.s.stderr, "The plan was not saved: it cannot be applied. Fix the errors above.\n")
}

// planDoc is plan -json and show -json PLANFILE: the plan document of a
// plan file, with the command's diagnostics.
type planDoc struct {
	plan.Document
	Diagnostics []jsonDiagnostic `json:"diagnostics"`
}

type planJSON struct {
	s     *streams
	diags *[]jsonDiagnostic
}

func (v *planJSON) Demo() {} // the document says "demo": true

// Plan prints the plan document. Without a plan (the matter is invalid,
// sign-in failed) it is a document that says only that, with the
// diagnostics: a reader of plan -json always gets one document.
func (v *planJSON) Plan(p *plan.Plan, m *config.Matter) {
	failed := p == nil
	if failed {
		p = &plan.Plan{CreatedAt: time.Now().UTC(), ToolVersion: toolVersion(), Mailboxes: []*plan.Mailbox{}}
		if m != nil {
			p.Matter, p.Demo = m.Name, m.Tenant.Demo()
		}
	} else {
		v.s.writeDiags(planProblems(p, m, v.s.advice), nil)
	}
	doc := planDoc{Document: p.Doc()}
	if failed {
		doc.Complete, doc.Applyable = false, false
	}
	doc.Diagnostics = *v.diags
	jsondoc.Write(v.s.stdout, doc)
}

func (v *planJSON) Saved(string, int) {}
func (v *planJSON) NotSaved()         {}

// renderPlan prints a plan for a person, the way terraform plan does: one
// line per address that changes, then warnings, errors and a summary.
func renderPlan(s *streams, p *plan.Plan) { renderPlanWith(s, p, nil) }

// renderPlanWith renders p; the plan's problems point into m's files when
// the matter is known.
func renderPlanWith(s *streams, p *plan.Plan, m *config.Matter) {
	w := s.stdout
	var lines []string
	for _, mb := range p.Mailboxes {
		if mb.Error != nil {
			continue
		}
		if mb.Resolved.ResolvedVia == "alias" {
			lines = append(lines, fmt.Sprintf("  # %s: %s is an alias of %s", mb.Addr, mb.Email, mb.Resolved.Address))
		}
		for _, f := range mb.Folders {
			if l := folderLine(s, mb, f); l != "" {
				lines = append(lines, l)
			}
			if f.NotMail > 0 {
				lines = append(lines, fmt.Sprintf("  # %s[%s]: %s excluded: not mail (notes, tasks, calendar items, contacts, Teams chats)",
					mb.Addr, strconv.Quote(f.Path), plural(int(f.NotMail), "item", "items")))
			}
		}
	}
	for _, o := range p.Orphans {
		lines = append(lines, fmt.Sprintf("  %s %s (%s): no longer in the matter: %s kept",
			s.paint("!"), strings.Join(o.References, ", "), o.Address, plural(int(o.Items), "item", "items")))
	}
	// A plan without changes says only that: the alias notes and orphans
	// are news only beside something to do.
	if p.HasChanges() || len(p.Orphans) > 0 {
		fmt.Fprintln(w, "\ncollect will do the following:")
		fmt.Fprintln(w)
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
	s.writeDiags(planProblems(p, m, s.advice), nil)
	fmt.Fprintln(w)
	fmt.Fprintln(w, planSummary(p))
}

// folderLine is a folder's line in the plan, or "" when nothing changes.
func folderLine(s *streams, mb *plan.Mailbox, f *plan.Folder) string {
	c := f.Counts()
	var parts []string
	if n := c.ToCollect - c.ChangedDrafts - c.ChangedMessages; n > 0 {
		parts = append(parts, commas(n)+" to collect")
	}
	if c.ChangedDrafts > 0 {
		parts = append(parts, plural(int(c.ChangedDrafts), "changed draft", "changed drafts")+" to collect")
	}
	if c.ChangedMessages > 0 {
		parts = append(parts, plural(int(c.ChangedMessages), "changed message", "changed messages")+" to collect")
	}
	if c.Tombstones > 0 {
		parts = append(parts, plural(int(c.Tombstones), "tombstone", "tombstones")+" to record")
	}
	if c.Moves > 0 {
		parts = append(parts, plural(int(c.Moves), "move", "moves")+" to record")
	}
	if c.Changes > 0 {
		parts = append(parts, plural(int(c.Changes), "change", "changes")+" to record")
	}
	if len(parts) == 0 {
		return ""
	}
	// + adds messages; ~ records changes, new versions included.
	sign := "+"
	if c.ToCollect == c.ChangedDrafts+c.ChangedMessages {
		sign = "~"
	}
	note := ""
	switch {
	case f.Reset:
		note = " (the server reset its delta cursor: enumerated again)"
	case f.Listed:
		note = " (listed in full: the mailbox is over its quota)"
	}
	return fmt.Sprintf("  %s %s[%s]: %s%s", s.paint(sign), mb.Addr, strconv.Quote(f.Path), strings.Join(parts, ", "), note)
}

// planProblems are the plan's warnings and errors as diagnostics, each
// pointing at the block of the matter that declares the mailbox when the
// matter is known.
func planProblems(p *plan.Plan, m *config.Matter, f adviceFacts) hcl.Diagnostics {
	ranges := map[string]*hcl.Range{}
	if m != nil {
		for _, mb := range m.Mailboxes {
			r := mb.DeclRange
			ranges[mb.Addr] = &r
		}
	}
	var diags hcl.Diagnostics
	add := func(sev hcl.DiagnosticSeverity, msg plan.Problem) {
		diags = append(diags, &hcl.Diagnostic{Severity: sev, Summary: msg.Summary, Detail: problemDetail(msg, f), Subject: ranges[msg.Addr]})
	}
	for _, msg := range p.Warnings {
		add(hcl.DiagWarning, msg)
	}
	for _, msg := range p.Errors {
		add(hcl.DiagError, msg)
	}
	return diags
}

// problemDetail is the body of a plan problem's diagnostic: the address it
// is about, what happened (with the request-id Microsoft support asks
// for), and for an error from Graph what to do about its kind, the
// mailbox filled in. Kind zero is also what the plan's own problems
// carry: their detail says what to do.
func problemDetail(msg plan.Problem, f adviceFacts) string {
	detail := msg.Detail
	if msg.Addr != "" {
		detail = msg.Addr + ": " + detail
	}
	if msg.Kind == graph.KindOther {
		return detail
	}
	f.Mailbox, f.RequestID = msg.Mailbox, msg.RequestID
	return sentence(detail) + " " + adviceFor(msg.Kind, f)
}

// planSummary is the plan's last line: what apply would do, after what it
// would skip.
func planSummary(p *plan.Plan) string {
	c := p.Counts()
	if !p.Applyable() {
		return "The plan cannot be applied: fix the errors above. Nothing would be collected."
	}
	skipped := ""
	if n := len(p.FailedScope()); n > 0 {
		skipped = fmt.Sprintf("The plan is incomplete: %s could not be read. Nothing would be collected from %s; "+
			"apply collects the others and reports %s as failed scope.\n", plural(n, "mailbox", "mailboxes"),
			map[bool]string{true: "it", false: "them"}[n == 1], map[bool]string{true: "it", false: "them"}[n == 1])
	}
	if !p.HasChanges() {
		if skipped != "" {
			return skipped + "No changes in the mailboxes that could be read."
		}
		return "No changes. The collection is up to date."
	}
	mailboxes := 0
	for _, mb := range p.Mailboxes {
		if mb.Error == nil && mb.Counts().ToCollect > 0 {
			mailboxes++
		}
	}
	line := fmt.Sprintf("Plan: %s to collect in %s, %s to record",
		plural(int(c.ToCollect), "message", "messages"), plural(mailboxes, "mailbox", "mailboxes"),
		plural(int(c.Tombstones), "tombstone", "tombstones"))
	if c.Moves > 0 {
		line += fmt.Sprintf(", %s to record", plural(int(c.Moves), "move", "moves"))
	}
	if c.Changes > 0 {
		line += fmt.Sprintf(", %s to record", plural(int(c.Changes), "change", "changes"))
	}
	if v := c.ChangedDrafts + c.ChangedMessages; v > 0 {
		line += fmt.Sprintf(" (%s of the messages: new versions of changed ones, the old versions kept)", commas(v))
	}
	return skipped + line + "."
}

// paint colors a plan sign when color is on.
func (s *streams) paint(sign string) string {
	if !s.color {
		return sign
	}
	code := map[string]string{"+": "32", "~": "33", "!": "31"}[sign]
	return "\x1b[" + code + "m" + sign + "\x1b[0m"
}
