package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/collect-ediscovery/collect/plan"
)

// renderPlan prints a plan for a person, the way terraform plan does: one
// line per address that changes, then warnings, errors and a summary.
func renderPlan(s *streams, p *plan.Plan) {
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
			c := f.Counts()
			var parts []string
			if c.ToCollect > 0 {
				parts = append(parts, commas(c.ToCollect)+" to collect")
			}
			if c.Tombstones > 0 {
				parts = append(parts, plural(int(c.Tombstones), "tombstone", "tombstones")+" to record")
			}
			if c.Moves > 0 {
				parts = append(parts, plural(int(c.Moves), "move", "moves")+" to record")
			}
			if len(parts) == 0 {
				continue
			}
			sign := "+"
			if c.ToCollect == 0 {
				sign = "~"
			}
			note := ""
			switch {
			case f.Reset:
				note = " (the server reset its delta cursor: enumerated again)"
			case f.Listed:
				note = " (listed in full: the mailbox is over its quota)"
			}
			lines = append(lines, fmt.Sprintf("  %s %s[%s]: %s%s", s.paint(sign), mb.Addr, strconv.Quote(f.Path), strings.Join(parts, ", "), note))
		}
	}
	for _, o := range p.Orphans {
		lines = append(lines, fmt.Sprintf("  %s %s (%s): no longer in the matter: %s kept",
			s.paint("!"), strings.Join(o.References, ", "), o.Address, plural(int(o.Items), "item", "items")))
	}
	if len(lines) > 0 {
		fmt.Fprintln(w, "\ncollect will do the following:")
		fmt.Fprintln(w)
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
	for _, m := range p.Warnings {
		fmt.Fprintf(s.stderr, "\nWarning: %s\n\n  on %s:\n  %s\n", m.Summary, m.Addr, m.Detail)
	}
	for _, m := range p.Errors {
		detail := m.Detail
		if m.RequestID != "" && !strings.Contains(detail, m.RequestID) {
			detail += " [request-id " + m.RequestID + "]"
		}
		fmt.Fprintf(s.stderr, "\nError: %s\n\n  on %s:\n  %s\n", m.Summary, m.Addr, detail)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, planSummary(p))
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
