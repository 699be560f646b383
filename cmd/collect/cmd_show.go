package main

import (
	"fmt"

	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
)

const showHelp = `Usage: collect [global options] show [options] [PLANFILE]

  With PLANFILE, shows a saved plan as plan showed it. Without, shows a
  summary of the state: its lineage and serial, the mailboxes collected
  and the last runs.

Options:
  -json   Print it as JSON.
`

type stateSummary struct {
	FormatVersion string            `json:"format_version"`
	Exists        bool              `json:"exists"`
	Lineage       string            `json:"lineage,omitempty"`
	Serial        uint64            `json:"serial"`
	SchemaVersion int               `json:"schema_version,omitempty"`
	ToolVersion   string            `json:"tool_version,omitempty"`
	Mailboxes     []mailboxSummary  `json:"mailboxes"`
	Runs          []record.Run      `json:"runs"`
	Counts        map[string]uint64 `json:"counts"`
	// FailedScope lists the mailboxes the last apply could not read.
	FailedScope []record.Failure `json:"failed_scope"`
}

type mailboxSummary struct {
	Addresses  []string `json:"addresses"`
	Email      string   `json:"email"`
	Collected  int64    `json:"collected"`
	Bytes      int64    `json:"bytes"`
	Tombstones int64    `json:"tombstones"`
	Failures   int64    `json:"failures"`
}

func runShow(s *streams, args []string) int {
	opts, diags := ParseShow(args)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	if opts.PlanFile != "" {
		p, _, err := plan.Read(opts.PlanFile)
		if err != nil {
			s.errorf("Cannot read the saved plan", "%s", sentence(err.Error()))
			return exitError
		}
		if opts.JSON {
			writeJSON(s.stdout, p.Doc())
			return exitOK
		}
		if p.Demo {
			fmt.Fprintln(s.stdout, demoBanner)
		}
		fmt.Fprintf(s.stdout, "Saved plan for matter %q, made %s by collect %s against state serial %d.\n",
			p.Matter, p.CreatedAt.Format("2006-01-02 15:04:05 MST"), p.ToolVersion, p.State.Serial)
		renderPlan(s, p)
		return exitOK
	}
	m := loadMatter(s, opts.Vars)
	if m == nil {
		return exitError
	}
	db, code := openStateToRead(s, m, opts.LockTimeout, "show")
	if db == nil {
		return code
	}
	defer db.Close()
	sum := stateSummary{FormatVersion: "1", Mailboxes: []mailboxSummary{}, Runs: []record.Run{}, Counts: map[string]uint64{}}
	err := db.View(func(r *state.ReadTx) error {
		meta := r.Meta()
		sum.Exists, sum.Lineage, sum.Serial = meta.Exists(), meta.Lineage, meta.Serial
		sum.SchemaVersion, sum.ToolVersion = meta.SchemaVersion, meta.ToolVersion
		if err := r.Mailboxes(func(mb state.Mailbox) error {
			_, _, total, err := stateFolders(r, mb)
			if err != nil {
				return err
			}
			sum.Mailboxes = append(sum.Mailboxes, mailboxSummary{
				Addresses: mb.References, Email: mb.Address, Collected: total.collected,
				Bytes: total.bytes, Tombstones: total.tombstones, Failures: total.failures,
			})
			sum.Counts["collected"] += uint64(total.collected)
			sum.Counts["bytes"] += uint64(total.bytes)
			return nil
		}); err != nil {
			return err
		}
		return r.Runs(func(run record.Run) error { sum.Runs = append(sum.Runs, run); return nil })
	})
	if err != nil {
		s.errorf("Cannot read the state", "%s", sentence(err.Error()))
		return exitError
	}
	sum.FailedScope = lastFailedScope(sum.Runs)
	if opts.JSON {
		writeJSON(s.stdout, sum)
		return exitOK
	}
	if !sum.Exists {
		fmt.Fprintln(s.stdout, "No state yet: nothing has been collected. Run collect plan, then collect apply.")
		return exitOK
	}
	fmt.Fprintf(s.stdout, "State %s\n  lineage %s, serial %d, written by collect %s\n", rel(m.State.Path), sum.Lineage, sum.Serial, sum.ToolVersion)
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
		fmt.Fprintf(s.stdout, "  %s; the last, %s, %s by %s on %s\n", plural(n, "run", "runs"), last.RunID, last.Operation, last.User, last.Host)
	}
	if n := len(sum.FailedScope); n > 0 {
		fmt.Fprintf(s.stdout, "  failed scope: the last apply could not read %s (collect apply tries again):\n", plural(n, "mailbox", "mailboxes"))
		for _, f := range sum.FailedScope {
			fmt.Fprintf(s.stdout, "    %s %s: %s\n", f.Scope, f.Mailbox, f.Code)
		}
	}
	return exitOK
}

// lastFailedScope lists the mailboxes the last apply could not read:
// failed scope until an apply reads them.
func lastFailedScope(runs []record.Run) []record.Failure {
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Operation != "apply" {
			continue
		}
		if runs[i].FailedScope != nil {
			return runs[i].FailedScope
		}
		break
	}
	return []record.Failure{}
}

func mailboxLabel(refs []string, email string) string {
	if len(refs) > 0 {
		return refs[0]
	}
	return email
}
