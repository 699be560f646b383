package main

import (
	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
	"github.com/hashicorp/hcl/v2"
)

const planHelp = `Usage: collect [global options] plan [options]

  Refreshes the inventory of every mailbox in the matter from Microsoft
  Graph, compares it with the state, and shows what apply would do: the
  messages to collect, and the removals and moves to record. Nothing is
  fetched or written, except the plan file with -out.

Options:
  -out=FILE            Save the plan, so that apply FILE does exactly it.
  -detailed-exitcode   Exit 0 with no changes, 2 with changes, 1 on error.
  -json                Print the plan as one JSON document.
  -target=ADDR         Only plan this address: custodian.jdoe,
                       custodian.jdoe.mailbox.primary, mailbox.legal_shared,
                       or a folder: custodian.jdoe.mailbox.primary["Inbox"].
                       Repeatable.
  -var 'name=value'    Set a variable. Repeatable.
  -var-file=FILE       Set variables from a file.
  -shard=I/N           With a backend: work on shard I of N only (default:
                       COLLECT_SHARD, or JOB_COMPLETION_INDEX and COLLECT_SHARDS).
  -backend-config=K=V  Override a backend block argument. Repeatable.
  -lock-timeout=D      Wait up to D for the state lock (default 0: fail at once).
  -input=false         Never ask questions (for CI).
  -parallelism=N       Read N mailboxes at once (default 10).
  -no-color            Do not color the output.
`

func runPlan(s *streams, args []string) int {
	opts, diags := ParsePlan(args)
	v := newPlanView(s, opts.JSON)
	if opts.NoColor {
		s.color = false
	}
	p, m, code := planCommand(s, v, opts, diags)
	v.Plan(p, m)
	if p == nil {
		return code
	}
	if !p.Applyable() {
		if opts.Out != "" {
			v.NotSaved()
		}
		return exitError
	}
	if opts.Out != "" {
		if _, err := plan.Write(opts.Out, p); err != nil {
			s.errorf("Cannot save the plan", "%v.", err)
			return exitError
		}
		v.Saved(opts.Out, len(p.FailedScope()))
	}
	if !p.Complete() {
		return exitError // failed scope: shown above, and apply would skip it
	}
	if opts.DetailedExitcode && p.HasChanges() {
		return exitChanges
	}
	return exitOK
}

// planCommand makes the plan of plan's options; a nil plan comes with the
// exit code, its reasons gone to the diagnostics.
func planCommand(s *streams, v planView, opts Plan, diags hcl.Diagnostics) (*plan.Plan, *config.Matter, int) {
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return nil, nil, exitError
	}
	m := loadMatter(s, opts.Vars)
	if m == nil {
		return nil, nil, exitError
	}
	targets, ok := parseTargets(s, m, opts.Targets)
	if !ok {
		return nil, m, exitError
	}
	db, code := openState(s, m, true, opts.LockTimeout, "plan")
	if db == nil {
		return nil, m, code
	}
	defer db.Close()
	if !stateMatchesOutput(s, m, db) {
		return nil, m, exitError
	}
	p, code := makePlan(s, v, m, db, targets, opts.Parallelism)
	return p, m, code
}

// makePlan connects to the matter's tenant and makes the plan. It returns
// nil and an exit code when it cannot.
func makePlan(s *streams, v interface{ Demo() }, m *config.Matter, db *state.DB, targets []plan.Target, parallelism int) (*plan.Plan, int) {
	conn, err := connect(s, m, toolVersion())
	if err != nil {
		s.errorf("Cannot connect to the tenant", "%s", problem(err, s.advice))
		return nil, exitCode(err)
	}
	defer conn.close()
	if conn.demo {
		v.Demo()
	}
	ctx, stop := interruptible(s, "Interrupted: stopping the plan.")
	defer stop()
	p, err := plan.Make(ctx, m, db, conn.src, plan.Options{
		Targets: targets, Parallelism: parallelism, ToolVersion: toolVersion(),
	})
	if err != nil {
		s.errorf("Cannot make the plan", "%s", problem(err, s.advice))
		return nil, exitCode(err)
	}
	return p, exitOK
}
