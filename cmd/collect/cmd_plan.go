package main

import (
	"fmt"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
)

const planHelp = `Usage: collect [global options] plan [options]

  Refreshes the inventory of every mailbox in the matter from Microsoft
  Graph, compares it with the state, and shows what apply would do: the
  messages to collect, and the removals and moves to record. Nothing is
  fetched or written, except the plan file with -out.

Options:
  -out=FILE            Save the plan, so that apply FILE does exactly it.
  -detailed-exitcode   Exit 0 with no changes, 2 with changes, 1 on error.
  -json                Print the plan as JSON (format_version 1).
  -target=ADDR         Only plan this address: custodian.jdoe,
                       custodian.jdoe.mailbox.primary, mailbox.legal_shared,
                       or a folder: custodian.jdoe.mailbox.primary["Inbox"].
                       Repeatable.
  -var 'name=value'    Set a variable. Repeatable.
  -var-file=FILE       Set variables from a file.
  -lock-timeout=D      Wait up to D for the state lock (default 0: fail at once).
  -input=false         Never ask questions (for CI).
  -parallelism=N       Read N mailboxes at once (default 10).
  -no-color            Do not color the output.
`

func runPlan(s *streams, args []string) int {
	opts, diags := ParsePlan(args)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	if opts.NoColor {
		s.color = false
	}
	m := loadMatter(s, opts.Vars)
	if m == nil {
		return exitError
	}
	targets, ok := parseTargets(s, m, opts.Targets)
	if !ok {
		return exitError
	}
	db, code := openState(s, m, true, opts.LockTimeout, "plan")
	if db == nil {
		return code
	}
	defer db.Close()
	if !stateMatchesOutput(s, m, db) {
		return exitError
	}
	p, code := makePlan(s, m, db, targets, opts.Parallelism, opts.JSON)
	if p == nil {
		return code
	}
	if opts.JSON {
		if err := writeJSON(s.stdout, p.Doc()); err != nil {
			return exitError
		}
	} else {
		renderPlan(s, p)
	}
	if !p.Applyable() {
		if opts.Out != "" && !opts.JSON {
			fmt.Fprintf(s.stderr, "The plan was not saved: it cannot be applied. Fix the errors above.\n")
		}
		return exitError
	}
	if opts.Out != "" {
		if _, err := plan.Write(opts.Out, p); err != nil {
			s.errorf("Cannot save the plan", "%v.", err)
			return exitError
		}
		if !opts.JSON {
			fmt.Fprintf(s.stdout, "\nSaved the plan to: %s\n\nTo collect exactly these messages, run:\n  collect apply %q\n", opts.Out, opts.Out)
			if n := len(p.FailedScope()); n > 0 {
				fmt.Fprintf(s.stderr, "\nWarning: the saved plan skips %s that could not be read. collect apply %q collects "+
					"the others, lists the skipped ones as failed scope and exits 4.\n", plural(n, "mailbox", "mailboxes"), opts.Out)
			}
		}
	}
	if !p.Complete() {
		return exitError // failed scope: shown above, and apply would skip it
	}
	if opts.DetailedExitcode && p.HasChanges() {
		return exitChanges
	}
	return exitOK
}

// makePlan connects to the matter's tenant and makes the plan. It returns
// nil and an exit code when it cannot.
func makePlan(s *streams, m *config.Matter, db *state.DB, targets []plan.Target, parallelism int, asJSON bool) (*plan.Plan, int) {
	conn, err := connect(s, m, toolVersion())
	if err != nil {
		s.errorf("Cannot connect to the tenant", "%s", sentence(err.Error()))
		return nil, exitError
	}
	defer conn.close()
	if conn.demo && !asJSON {
		fmt.Fprintln(s.stdout, demoBanner) // JSON output says "demo": true instead
	}
	ctx, stop := interruptible(s, "Interrupted: stopping the plan.")
	defer stop()
	p, err := plan.Make(ctx, m, db, conn.src, plan.Options{
		Targets: targets, Parallelism: parallelism, ToolVersion: toolVersion(),
	})
	if err != nil {
		s.errorf("Cannot make the plan", "%s", sentence(err.Error()))
		return nil, exitError
	}
	return p, exitOK
}
